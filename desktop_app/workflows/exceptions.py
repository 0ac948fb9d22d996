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

from sync.outbox import RejectedMutation

log = logging.getLogger(__name__)

RESOLVER_ROLES = frozenset({"supervisor", "admin"})

ACTIONS = {
    "pick.confirm": "Pick confirmed",
    "pick.short": "Short pick",
    "pick.undo": "Pick undone",
    "tote.assign": "Tote assigned",
    "pack.confirm": "Parcel packed",
    "sample.check_in": "Sample checked in",
    "sample.check_out": "Sample checked out",
    "shot.qc": "Shot review",
    "asset.register": "Image assigned",
}


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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe(name: str, args: dict) -> str:
    """A short description of a mutation from the args it carries (missing ones are left out)."""
    a = args or {}
    parts: list[str] = []
    if name.startswith("pick."):
        if "task" in a:
            parts.append(f"task {a['task']}" + (f" at {a['location']}" if a.get("location") else ""))
        elif a.get("location"):
            parts.append(f"at {a['location']}")
        if "qty" in a:
            parts.append(_plural(a["qty"], "item"))
        if a.get("reason"):
            parts.append(str(a["reason"]).replace("_", " "))
    elif name == "tote.assign":
        for key in ("tote", "order", "batch"):
            if a.get(key):
                parts.append(f"{key} {a[key]}")
    elif name == "pack.confirm":
        if "order" in a:
            parts.append(f"order {a['order']}")
        parcels = a.get("parcels") or []
        if parcels:
            items = sum(i.get("qty", 0) for p in parcels for i in p.get("items") or [])
            parts.append(f"{_plural(len(parcels), 'parcel')}, {_plural(items, 'item')}")
    elif name.startswith("sample."):
        if a.get("barcode"):
            parts.append(f"sample {a['barcode']}")
        if a.get("sku"):
            parts.append(f"SKU {a['sku']}")
    elif name == "shot.qc":
        if "shot" in a:
            parts.append(f"shot {a['shot']}")
        if a.get("decision"):
            parts.append(a["decision"] + (f": {a['comment']}" if a.get("comment") else ""))
    elif name == "asset.register":
        if "asset" in a:
            parts.append(f"image {a['asset']}" + (f" as {a['angle']}" if a.get("angle") else ""))
        if "width_px" in a and "height_px" in a:
            parts.append(f"{a['width_px']}×{a['height_px']} px")
    else:
        parts = [f"{k} {v}" for k, v in a.items() if isinstance(v, str | int | float)]
    return ", ".join(p for p in parts if p)


def _at(args: dict, fallback: str = "its bin") -> str:
    return args.get("location") or fallback


def _tote(args: dict, first: bool = False) -> str:
    """The tote of a tote.assign, worded for the start (first) or middle of a sentence."""
    if args.get("tote"):
        return f"{'T' if first else 't'}ote {args['tote']}"
    return "The tote" if first else "the tote"


def advise(name: str, args: dict, code: str, message: str) -> str:
    """What a supervisor should do about one refusal, worded for the floor."""
    a = args or {}
    picking = name.startswith("pick.")
    if code == "order_cancelled":
        if name == "pick.confirm":
            return (f"Put the picked items back at {_at(a)} and scan the tote empty; "
                    "the order was cancelled after picking started.")
        if name == "pack.confirm":
            return "Do not ship this parcel: the order was cancelled. Unpack it and return the items to stock."
        if name == "tote.assign":
            return f"The order was cancelled: empty {_tote(a)} and use it for another order."
        return "The order was cancelled: put back anything already picked for it and scan the tote empty."
    if code == "lease_lost":
        back = f" to {a['location']}" if a.get("location") else ""
        return ("The batch was given to someone else while this device was offline: check the tote against "
                f"the new picker's list and return the items{back}.")
    if code == "over_pick":
        return f"More items were picked than ordered: put the extra back at {_at(a)}."
    if code == "wrong_location":
        return (f"The items were taken from {_at(a, 'another bin')}, not the task's bin: put them back there "
                "and pick from the bin named in the reason.")
    if code == "wrong_product":
        return f"The wrong product was picked: take it out of the tote, put it back at {_at(a)}, and pick again."
    if code == "order_closed":
        if name == "pick.undo":
            return ("The order was already packed when this undo arrived: check its parcel with the packing "
                    "desk before it ships.")
        if picking:
            return f"The order had already left picking: put the items back at {_at(a)}."
        return "The order was already packed or shipped: take the tote back empty."
    fixed = {
        "task_closed": "The task was already finished when this short pick arrived: count the bin if in doubt.",
        "nothing_to_undo": ("The server had no pick to take back: check that the bin and the tote hold what "
                            "the task says."),
        "tote_in_use": (f"{_tote(a, first=True)} already holds another order: move this order's items into "
                        "a free tote and scan that one for it."),
        "order_not_in_batch": "The order is no longer in this batch: hand its items to the order office.",
        "pack_mismatch": ("The parcel differs from what was picked: open it, count it against the order and "
                          "pack it again."),
        "already_packed": "The order was packed on another desk: make sure only one parcel ships and unpack the other.",
        "not_picked": "The order was packed before its picking was complete: hold the parcel and pack it again later.",
        "unknown_box_type": "Pack the order again with a box type from the list.",
        "already_checked_in": "The sample was already in the studio: look for a duplicate label.",
        "not_checked_in": "The sample was not booked into the studio: find it and check it in if it is here.",
        "sample_mismatch": "The sample's label belongs to another SKU: relabel it or check it in under the right SKU.",
        "comment_required": "Review the shot again and write what the photographer should redo.",
        "resolution_too_low": "The image is too small for this product: upload the full-size file or reshoot.",
        "unknown_angle": "Assign the image to one of the angles named in the reason.",
        "forbidden": "The person lacked the right to do this here: have someone with the right role redo it.",
        "unknown_user": "The user is unknown or disabled on the server: have an active user redo the action.",
        "unknown_mutation": "The server does not know this action: update Floorhand, then redo it by hand.",
        "invalid_args": "The action was malformed: redo it by hand and report the reason to IT.",
    }
    if code in fixed:
        return fixed[code]
    if code.startswith("unknown_"):
        thing = code.removeprefix("unknown_").replace("_", " ")
        return f"The server has no such {thing} (removed or mistyped): check with the order office."
    return f"Check the action with the order office; the server said: {message}"


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
        return f"today {clock}"
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
            raise NotAllowedToResolve(f"{by} may not mark refused actions as dealt with: "
                                      "that needs a supervisor or admin.")
        if all(r.mutation.id != mutation_id for r in self._outbox.rejected()):
            raise LookupError(f"No refused action {mutation_id} is waiting (already dealt with?).")
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
            mutation_id=m.id, seq=m.seq, action=ACTIONS.get(m.name, m.name), who=m.user, when=m.at,
            when_short=short_time(m.at, now, self._tz), what=describe(m.name, self._readable(m.args)), code=r.code,
            reason=r.message, next_step=advise(m.name, m.args, r.code, r.message))
