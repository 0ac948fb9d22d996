"""Refused actions as cards a supervisor can act on: what happened, why, and what to do now.

The server refuses some queued actions for good (ARCHITECTURE.md §2): the goods have
usually moved already, so each refusal needs a person to put things right on the floor.
Cards are built from the mutation alone (its name and args), so the list works offline.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Protocol

from contract.rejections import Rejection as R
from desktop_app.i18n import translate
from sync.catalogue import CATALOGUE
from sync.catalogue.entry import QT_TRANSLATE_NOOP, WORDS
from sync.catalogue.packing import HOLD_WORDS
from sync.outbox import RejectedMutation

log = logging.getLogger(__name__)

RESOLVER_ROLES = frozenset({"supervisor", "admin"})

class RejectedActions(Protocol):
    """What the exceptions list needs of the outbox."""

    def rejected(self) -> list[RejectedMutation]: ...

    def resolve(self, mutation_id: str, by: str) -> None: ...


class NotAllowedToResolve(PermissionError):
    """Someone without the supervisor or admin role tried to mark a refused action as dealt with."""


@dataclass(frozen=True)
class ExceptionCard:
    """One refused action as a supervisor sees it."""

    mutation_id: str
    seq: int
    action: str
    who: str
    when: str  # the action's own time, ISO 8601 as the device recorded it
    when_short: str  # the same time for people: "today 14:32", "3 Jun 14:32"
    what: str
    code: str
    reason: str
    next_step: str


@dataclass(frozen=True)
class HeldOrder:
    """An order on the hold shelf, as a supervisor sees it: which, where, and why the packer stopped."""

    order_id: int
    number: str
    tote: str | None
    reason: str  # in words, translated


@dataclass(frozen=True)
class DamagedImage:
    """An uploaded image the server found damaged when it read it back: which file, for what, by whom."""

    asset_id: int
    filename: str
    sku: str
    product: str
    uploaded_by: str


class Orders(Protocol):
    """sync.view.LocalView, as far as the hold shelf needs it."""

    def rows(self, entity: str, **where) -> list[dict]: ...

    def row(self, entity: str, row_id: int) -> dict | None: ...


def held_orders(view: Orders) -> list[HeldOrder]:
    """The orders on the hold shelf, oldest first (local view: off the UI thread)."""
    rows = [r for r in view.rows("order", status="held") if r.get("status") == "held"]
    return [HeldOrder(r["id"], r["number"], r.get("tote"),
                      translate(WORDS, HOLD_WORDS.get(r.get("hold_reason"), HOLD_WORDS["other"])))
            for r in sorted(rows, key=lambda r: r["id"])]


def damaged_images(view: Orders) -> list[DamagedImage]:
    """The images the server's scrub found corrupt in its store, oldest first (local view: off the UI thread)."""
    found = []
    for r in sorted(view.rows("asset", integrity="corrupt"), key=lambda r: r["id"]):
        product = view.row("product", r["product_id"]) or {}
        found.append(DamagedImage(r["id"], r.get("filename") or translate(WORDS, "an image"),
                                  product.get("sku") or translate(WORDS, "an unknown product"),
                                  product.get("name") or "", r.get("uploaded_by") or translate(WORDS, "someone")))
    return found


class _Blank(dict):
    """Format fields: a field an action does not carry reads as nothing rather than failing."""

    def __missing__(self, key: str) -> str:
        return ""


def _fields(args: dict) -> _Blank:
    """The action's arguments plus the words the catalogue's texts put them in."""
    a = {k: v for k, v in args.items() if isinstance(v, str | int | float)}
    location, tote = a.get("location"), a.get("tote")
    return _Blank(
        a,
        at=location or translate(WORDS, "its bin"),
        at_other=location or translate(WORDS, "another bin"),
        back=translate(WORDS, " to {location}").format(location=location) if location else "",
        the_tote=translate(WORDS, "tote {tote}").format(tote=tote) if tote else translate(WORDS, "the tote"),
        The_tote=translate(WORDS, "Tote {tote}").format(tote=tote) if tote else translate(WORDS, "The tote"),
    )


def _say(text: str, fields: dict, n: int = -1) -> str:
    return translate(WORDS, text, None, n).format_map(fields)


def describe(name: str, args: dict) -> str:
    """A short description of a mutation from the args it carries (missing ones are left out)."""
    a = args or {}
    entry = CATALOGUE.get(name)
    if entry is None:
        return ", ".join(f"{k} {v}" for k, v in a.items() if isinstance(v, str | int | float))
    fields = _fields(a)
    return translate(WORDS, ", ").join(_say(w.text, fields, w.n) for w in entry.describe(a))


# What to do about a refusal, whatever the action (an action's catalogue entry may say better).
ADVICE: dict[str, str] = {
    R.LEASE_LOST: QT_TRANSLATE_NOOP(WORDS, "The batch was given to someone else while this device was offline: "
                                           "check the tote against the new picker's list and return the items{back}."),
    R.ORDER_CANCELLED: QT_TRANSLATE_NOOP(WORDS, "The order was cancelled: put back anything already picked for it "
                                                "and scan the tote empty."),
    R.ORDER_CLOSED: QT_TRANSLATE_NOOP(WORDS, "The order was already packed or shipped: take the tote back empty."),
    R.OVER_PICK: QT_TRANSLATE_NOOP(WORDS, "More items were picked than ordered: put the extra back at {at}."),
    R.WRONG_LOCATION: QT_TRANSLATE_NOOP(WORDS, "The items were taken from {at_other}, not the task's bin: put them "
                                               "back there and pick from the bin named in the reason."),
    R.WRONG_PRODUCT: QT_TRANSLATE_NOOP(WORDS, "The wrong product was picked: take it out of the tote, put it back "
                                              "at {at}, and pick again."),
    R.TASK_CLOSED: QT_TRANSLATE_NOOP(WORDS, "The task was already finished when this short pick arrived: count the "
                                            "bin if in doubt."),
    R.NOTHING_TO_UNDO: QT_TRANSLATE_NOOP(WORDS, "The server had no pick to take back: check that the bin and the "
                                                "tote hold what the task says."),
    R.TOTE_IN_USE: QT_TRANSLATE_NOOP(WORDS, "{The_tote} already holds another order: move this order's items into "
                                            "a free tote and scan that one for it."),
    R.ORDER_NOT_IN_BATCH: QT_TRANSLATE_NOOP(WORDS, "The order is no longer in this batch: hand its items to the "
                                                   "order office."),
    R.PACK_MISMATCH: QT_TRANSLATE_NOOP(WORDS, "The parcel differs from what was picked: open it, count it against "
                                              "the order and pack it again."),
    R.ALREADY_PACKED: QT_TRANSLATE_NOOP(WORDS, "The order was packed on another desk: make sure only one parcel "
                                               "ships and unpack the other."),
    R.ORDER_HELD: QT_TRANSLATE_NOOP(WORDS, "The order is on the hold shelf: sort out its problem there, then send it "
                                           "back to packing from the hold shelf card."),
    R.NOT_PACKED: QT_TRANSLATE_NOOP(WORDS, "The order had no packed parcels any more: look at its tote and pack it "
                                           "again if needed."),
    R.ALREADY_SHIPPED: QT_TRANSLATE_NOOP(WORDS, "The parcels had already shipped: they cannot be changed any more. Ask "
                                                "the customer service team."),
    R.NOT_HELD: QT_TRANSLATE_NOOP(WORDS, "The order was no longer on the hold shelf: nothing to do."),
    R.NOT_PICKED: QT_TRANSLATE_NOOP(WORDS, "The order was packed before its picking was complete: hold the parcel "
                                           "and pack it again later."),
    R.UNKNOWN_BOX_TYPE: QT_TRANSLATE_NOOP(WORDS, "Pack the order again with a box type from the list."),
    R.ALREADY_CHECKED_IN: QT_TRANSLATE_NOOP(WORDS, "The sample was already in the studio: look for a duplicate "
                                                   "label."),
    R.NOT_CHECKED_IN: QT_TRANSLATE_NOOP(WORDS, "The sample was not booked into the studio: find it and check it in "
                                               "if it is here."),
    R.SAMPLE_MISMATCH: QT_TRANSLATE_NOOP(WORDS, "The sample's label belongs to another SKU: relabel it or check it "
                                                "in under the right SKU."),
    R.COMMENT_REQUIRED: QT_TRANSLATE_NOOP(WORDS, "Review the shot again and write what the photographer should "
                                                 "redo."),
    R.RESOLUTION_TOO_LOW: QT_TRANSLATE_NOOP(WORDS, "The image is too small for this product: upload the full-size "
                                                   "file or reshoot."),
    R.UNKNOWN_ANGLE: QT_TRANSLATE_NOOP(WORDS, "Assign the image to one of the angles named in the reason."),
    R.FORBIDDEN: QT_TRANSLATE_NOOP(WORDS, "The person lacked the right to do this here: have someone with the "
                                          "right role redo it."),
    R.UNKNOWN_USER: QT_TRANSLATE_NOOP(WORDS, "The user is unknown or disabled on the server: have an active user "
                                             "redo the action."),
    R.UNKNOWN_MUTATION: QT_TRANSLATE_NOOP(WORDS, "The server does not know this action: update Floorhand, then redo "
                                                 "it by hand."),
    R.INVALID_ARGS: QT_TRANSLATE_NOOP(WORDS, "The action was malformed: redo it by hand and report the reason to "
                                             "IT."),
}
# A refusal because the thing an action names is gone (removed or mistyped on the server).
_MISSING: dict[str, str] = {
    R.UNKNOWN_TASK: QT_TRANSLATE_NOOP(WORDS, "pick task"), R.UNKNOWN_BATCH: QT_TRANSLATE_NOOP(WORDS, "batch"),
    R.UNKNOWN_ORDER: QT_TRANSLATE_NOOP(WORDS, "order"), R.UNKNOWN_SKU: QT_TRANSLATE_NOOP(WORDS, "SKU"),
    R.UNKNOWN_SAMPLE: QT_TRANSLATE_NOOP(WORDS, "sample"), R.UNKNOWN_SHOT: QT_TRANSLATE_NOOP(WORDS, "shot"),
    R.UNKNOWN_ASSET: QT_TRANSLATE_NOOP(WORDS, "image"),
}
_NO_SUCH = QT_TRANSLATE_NOOP(WORDS, "The server has no such {thing} (removed or mistyped): check with the order "
                                    "office.")
_ASK = QT_TRANSLATE_NOOP(WORDS, "Check the action with the order office; the server said: {message}")


def advise(name: str, args: dict, code: str, message: str) -> str:
    """What a supervisor should do about one refusal, worded for the floor."""
    fields = _fields(args or {})
    entry = CATALOGUE.get(name)
    special = entry.advice.get(code) if entry is not None else None
    if special or code in ADVICE:
        return _say(special or ADVICE[code], fields)
    if code in _MISSING:
        return _say(_NO_SUCH, _Blank(fields, thing=translate(WORDS, _MISSING[code])))
    return _say(_ASK, _Blank(fields, message=message))


def short_time(iso: str, now: datetime, tz: tzinfo | None = None) -> str:
    """A time for people: "today 14:32", "3 Jun 14:32" or "3 Jun 2023 14:32" (the ISO text if unreadable)."""
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)  # the outbox writes UTC
    at, now = at.astimezone(tz), now.astimezone(tz)
    clock = f"{at:%H:%M}"
    if at.date() == now.date():
        return translate("Exceptions", "today {clock}").format(clock=clock)
    if at.year == now.year:
        return f"{at.day} {at:%b} {clock}"
    return f"{at.day} {at:%b %Y} {clock}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


NameOf = Callable[[str, int], str | None]  # (entity, id) -> the name people know it by


class Exceptions:
    """The supervisor's list of refused actions: read as cards, mark as dealt with.

    Cards come in seq order, oldest first: that is the order the work happened on the
    floor, so putting things right follows it, and the oldest has waited longest.
    Reading and resolving touch the local database: call them off the UI thread.
    """

    def __init__(self, outbox: RejectedActions, clock: Callable[[], datetime] = _now,
                 tz: tzinfo | None = None, name_of: NameOf | None = None) -> None:
        self._outbox = outbox
        self._name_of = name_of  # the local view's names for ids (order number, batch code), if known
        self._clock = clock
        self._tz = tz  # None: the workstation's local time zone

    @staticmethod
    def can_resolve(roles: Iterable[str]) -> bool:
        """Whether a person with these roles may mark refused actions as dealt with."""
        return not RESOLVER_ROLES.isdisjoint(roles)

    def cards(self) -> list[ExceptionCard]:
        """The refused actions still waiting for a supervisor, oldest first."""
        now = self._clock()
        return [self._card(r, now) for r in sorted(self._outbox.rejected(), key=lambda r: r.mutation.seq)]

    def count(self) -> int:
        """How many refused actions are waiting."""
        return len(self._outbox.rejected())

    def resolve(self, mutation_id: str, by: str, roles: Iterable[str]) -> None:
        """Mark one refused action as dealt with by `by`; only a supervisor or admin may."""
        roles = list(roles)
        if not self.can_resolve(roles):
            raise NotAllowedToResolve(translate("Exceptions", "{person} may not mark refused actions as dealt with: "
                                                "that needs a supervisor or admin.").format(person=by))
        if all(r.mutation.id != mutation_id for r in self._outbox.rejected()):
            raise LookupError(translate("Exceptions", "This refused action was already dealt with."))
        self._outbox.resolve(mutation_id, by)
        log.info("Refused action %s marked as dealt with by %s", mutation_id, by)

    def _readable(self, args: dict) -> dict:
        """args with order and batch ids replaced by the number and code people know, where known."""
        if self._name_of is None:
            return args
        readable = dict(args)
        for key, entity in (("order", "order"), ("batch", "pick_batch")):
            if isinstance(args.get(key), int):
                readable[key] = self._name_of(entity, args[key]) or args[key]
        return readable

    def _card(self, r: RejectedMutation, now: datetime) -> ExceptionCard:
        m = r.mutation
        return ExceptionCard(
            mutation_id=m.id, seq=m.seq, action=translate(WORDS, CATALOGUE[m.name].label) if m.name in CATALOGUE else m.name, who=m.user, when=m.at,
            when_short=short_time(m.at, now, self._tz), what=describe(m.name, self._readable(m.args)), code=r.code,
            reason=r.message, next_step=advise(m.name, m.args, r.code, r.message))
