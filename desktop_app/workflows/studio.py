"""The photo studio at one station: the shot list, the active SKU, samples, captures and shot review.

A scan makes a product the active SKU: its GTIN or SKU, or the barcode of one of its
samples (which checks the sample in when the station says so). Captures the capture folder
hands over are checked against the style guide for that product and moved by the capture
ledger (sync/studio/captures.py) under the name of its next angle still needed; without an
active SKU they go to the Unassigned tray. A supervisor approves or rejects the SKUs that
are shot. What the screen shows is in studio_lines.py.

Everything is read from the local view, so the studio works offline. Samples have no
predicted effect in the local view (sync/catalogue/studio.py), so the session remembers
the check-ins and check-outs it queued until the feed brings the samples' new state.
"""

import logging
import re
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

from contract.actions import ACTIONS, Args, InvalidArgs, SampleCheckIn, SampleCheckOut, ShotQc
from desktop_app.i18n import translate
from desktop_app.workflows.devices import parse_time
from desktop_app.workflows.saving import write_problem
from desktop_app.workflows.studio_lines import (
    CTX, FILTERS, IN_STUDIO, ActiveSku, SampleLine, ShotLine, StudioOptions, StudioVerdict, TakenResult,
    shot_line, shot_list_key, time_here,
)
from scanners.classify import echo
from scanners.codes import (
    BenchCommand, Classified, LocationLabel, OrderNumber, ProductCode, ToteCode, Unrecognised, UserBadge,
)
from sync.outbox import utcnow
from sync.store.database import WriteFailed
from sync.studio.captures import TakenCapture
from sync.studio.hotfolder import Capture
from sync.studio.styleguide import StyleGuide, check as check_style

__all__ = ["ActiveSku", "CaptureNames", "SampleLine", "ShotLine", "StudioOptions", "StudioSession", "StudioVerdict",
           "TakenResult"]

log = logging.getLogger(__name__)

_AIM_PREFIX = re.compile(r"^\][A-Za-z][0-9A-Za-z]")  # AIM ISO/IEC 15424 symbology identifier
_QC_ROLES = frozenset(ACTIONS[ShotQc.NAME].roles) | {"admin"}  # admin may do every action (contract/actions.py)
_COMMENT_LONGEST = 500  # ShotQc.comment


class View(Protocol):
    """sync.view.LocalView: rows of the replica with the queued actions laid over them."""

    def rows(self, entity: str, **where) -> list[dict]: ...

    def row(self, entity: str, row_id: int) -> dict | None: ...


class Outbox(Protocol):
    """sync.outbox.Outbox, as the studio uses it."""

    def append(self, user: str, name: str, args: dict) -> object: ...


class StudioCore(Protocol):
    """The parts of sync.client.ClientCore that the studio needs."""

    outbox: Outbox
    view: View


class CaptureNames(Protocol):
    """sync.studio.captures.CaptureLedger, as the studio uses it."""

    def next_name(self, sku: str, angle: str | None, suffix: str) -> str: ...

    def take(self, capture: Capture, sku: str | None, angle: str | None = None) -> TakenCapture: ...

    def reassign(self, capture_id: int, sku: str | None, angle: str | None) -> TakenCapture: ...


def _gtin_forms(gtin14: str) -> list[str]:
    """The forms a catalogue may keep a GTIN-14 in: the EAN-13 it pads first (most do), as is, UPC-A, EAN-8."""
    shorter = [gtin14[-n:] for n in (13, 12, 8) if gtin14[:-n].strip("0") == ""]
    return shorter[:1] + [gtin14] + shorter[1:]


def _text_of(code: Classified) -> str | None:
    """What a scan that is not a GTIN said: a SKU or a sample's barcode may have any shape."""
    if isinstance(code, Unrecognised):
        return _AIM_PREFIX.sub("", code.raw.strip()).strip() or None
    if isinstance(code, ProductCode):
        return code.raw.strip() or None
    for kind, attribute in ((LocationLabel, "label"), (ToteCode, "code"), (UserBadge, "code"),
                            (OrderNumber, "number")):
        if isinstance(code, kind):
            return getattr(code, attribute)
    return None


class StudioSession:
    """One photographer or supervisor at the studio station; actions go through the durable outbox.

    take() and reassign() are called off the UI thread (the capture folder's); everything
    else on it. None of it touches Qt.
    """

    def __init__(self, core: StudioCore, ledger: CaptureNames, user: str, roles: Iterable[str],
                 options: StudioOptions = StudioOptions(), guide: StyleGuide = StyleGuide(),
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._view, self._outbox, self._ledger = core.view, core.outbox, ledger
        self.user, self.roles, self.options, self._guide, self._clock = user, frozenset(roles), options, guide, clock
        self._active: dict | None = None  # the active SKU's product row
        self._lock = threading.RLock()  # the capture folder's thread and the person's
        self._taken: dict[int, tuple[str | None, str | None]] = {}  # capture id -> (sku, angle), this session
        self._samples_moved: dict[str, tuple[str, datetime]] = {}  # barcode -> (status queued, when)

    # --- the shot list -----------------------------------------------------------------

    def shot_list(self, filter: str = "all", search: str = "") -> list[ShotLine]:  # noqa: A002 (the screen's word)
        """The SKUs to shoot: rejected first, then open, shot, approved; each by SKU."""
        if filter not in FILTERS:
            raise ValueError(f"shot list filter {filter!r} is not one of {', '.join(FILTERS)}")
        covered: dict[int, set[str]] = {}
        for asset in self._view.rows("asset"):
            if asset.get("angle") and asset.get("integrity") != "corrupt":
                covered.setdefault(asset["product_id"], set()).add(asset["angle"])
        wanted = search.strip().casefold()
        lines = [shot_line(row, covered.get(row["product_id"], set())) for row in self._view.rows("shot")]
        lines = [line for line in lines if (filter == "all" or line.status == filter)
                 and (not wanted or wanted in line.sku.casefold() or wanted in line.name.casefold())]
        return sorted(lines, key=shot_list_key)

    def waiting_for_review(self) -> list[ShotLine]:
        """SKUs whose every angle is shot, for a supervisor to approve or reject."""
        return self.shot_list("shot")

    # --- the active SKU ----------------------------------------------------------------

    def scan(self, code: Classified) -> StudioVerdict:
        """A product (GTIN or SKU) or a sample's barcode makes its product the active SKU."""
        if isinstance(code, BenchCommand):
            return StudioVerdict("reject", translate(CTX, "A packing bench command: scan a product or a sample."))
        if isinstance(code, ProductCode):
            product = self._product_by_gtin(code.gtin)
            if product is not None:
                return self._activate(product)
        text = _text_of(code)
        if text:
            sample = self._sample(text)
            if sample is not None:
                return self._sample_scanned(sample)
            product = self._product_by_sku(text)
            if product is not None:
                return self._activate(product)
        shown = code.gtin.lstrip("0") if isinstance(code, ProductCode) else echo(text or "")
        if isinstance(code, Unrecognised) and not text:
            return StudioVerdict("reject", code.said(translate))
        return StudioVerdict("reject", translate(CTX, "{code} is not a product or a sample this station knows.")
                             .format(code=shown))

    @property
    def active(self) -> ActiveSku | None:
        """The SKU captures are taken for, with the angles it still needs; None: captures go to the tray."""
        product = self._active
        return self._described(product) if product is not None else None

    def _described(self, product: dict) -> ActiveSku:
        shot = self._shot_of(product["id"])  # read again: a review may have changed it since the scan
        covered = self._covered(product["id"])
        line = shot_line(shot, covered) if shot is not None else None
        angles = line.angles if line is not None else tuple(product.get("shot_angles") or ())
        with self._lock:
            taken = {angle for sku, angle in self._taken.values() if sku == product["sku"] and angle}
        return ActiveSku(product["id"], product["sku"], product["name"], angles,
                         tuple(a for a in angles if a in covered), tuple(a for a in angles if a in taken), line)

    def next_angle(self) -> str | None:
        """The first angle the active SKU still needs; None when all are covered or no SKU is active."""
        active = self.active
        return active.still_needed[0] if active is not None and active.still_needed else None

    def next_name(self, suffix: str = ".jpg") -> str | None:
        """The exact name the next capture gets in the session folder; None without an active SKU (the tray)."""
        active = self.active
        if active is None:
            return None
        return self._ledger.next_name(active.sku, active.still_needed[0] if active.still_needed else None, suffix)

    def _activate(self, product: dict) -> StudioVerdict:
        self._active = product
        sku, name = product["sku"], product["name"]
        if self._shot_of(product["id"]) is None:
            return StudioVerdict("accept", translate(CTX, "{sku} {name} is not on the shot list; captures are "
                                                          "named for it all the same.").format(sku=sku, name=name))
        needed = self._described(product).still_needed
        if not needed:
            return StudioVerdict("accept", translate(CTX, "{sku} {name}: every angle is shot.").format(
                sku=sku, name=name))
        return StudioVerdict("accept", translate(CTX, "{sku} {name}: next angle {angle}.").format(
            sku=sku, name=name, angle=needed[0]))

    def _product_by_gtin(self, gtin14: str) -> dict | None:
        return next((rows[0] for gtin in _gtin_forms(gtin14) if (rows := self._view.rows("product", gtin=gtin))),
                    None)

    def _product_by_sku(self, text: str) -> dict | None:
        found = self._view.rows("product", sku=text) or self._view.rows("product", sku=text.upper())
        return found[0] if found else None

    def _shot_of(self, product_id: int) -> dict | None:
        found = self._view.rows("shot", product_id=product_id)
        return found[0] if found else None

    def _covered(self, product_id: int) -> set[str]:
        return {a["angle"] for a in self._view.rows("asset", product_id=product_id)
                if a.get("angle") and a.get("integrity") != "corrupt"}

    # --- samples -----------------------------------------------------------------------

    def _sample(self, barcode: str) -> dict | None:
        found = self._view.rows("sample", barcode=barcode) or self._view.rows("sample", barcode=barcode.upper())
        return found[0] if found else None

    def _in_studio(self, sample: dict) -> bool:
        moved = self._samples_moved.get(sample["barcode"])
        return (moved[0] if moved is not None else sample["status"]) == IN_STUDIO

    def _sample_scanned(self, sample: dict) -> StudioVerdict:
        product = self._view.row("product", sample["product_id"])
        if product is None:
            return StudioVerdict("reject", translate(CTX, "Sample {barcode} is of a product this station does not "
                                                          "know yet.").format(barcode=sample["barcode"]))
        verdict = self._activate(product)
        if not self.options.check_in_on_scan or self._in_studio(sample):
            return verdict
        refused = self._queue(SampleCheckIn(barcode=sample["barcode"], sku=product["sku"]))
        if refused is not None:
            return refused
        self._samples_moved[sample["barcode"]] = (IN_STUDIO, self._clock())
        return StudioVerdict("accept", translate(CTX, "Sample {barcode} checked in. {then}").format(
            barcode=sample["barcode"], then=verdict.words))

    def check_out(self, barcode: str) -> StudioVerdict:
        """The sample leaves the studio (sample.check_out)."""
        sample = self._sample(barcode.strip())
        if sample is None:
            return StudioVerdict("reject", translate(CTX, "No sample has the barcode {barcode}.").format(
                barcode=echo(barcode.strip())))
        if not self._in_studio(sample):
            return StudioVerdict("reject", translate(CTX, "Sample {barcode} is not in the studio.").format(
                barcode=sample["barcode"]))
        refused = self._queue(SampleCheckOut(barcode=sample["barcode"]))
        if refused is not None:
            return refused
        self._samples_moved[sample["barcode"]] = ("returned", self._clock())
        return StudioVerdict("accept", translate(CTX, "Sample {barcode} checked out.").format(
            barcode=sample["barcode"]))

    def samples_in_studio(self, now: datetime) -> list[SampleLine]:
        """The samples here now, the longest here first (now: an aware datetime)."""
        lines = []
        for sample in self._view.rows("sample"):
            if not self._in_studio(sample):
                continue
            moved = self._samples_moved.get(sample["barcode"])
            since = moved[1] if moved is not None else parse_time(sample.get("checked_in_at"))
            product = self._view.row("product", sample["product_id"]) or {}
            lines.append(SampleLine(sample["barcode"], sample["product_id"], product.get("sku", ""),
                                    product.get("name", ""), since, time_here(since, now)))
        return sorted(lines, key=lambda s: (s.checked_in_at is None, s.checked_in_at or now, s.barcode))

    # --- captures (off the UI thread) ---------------------------------------------------

    def take(self, capture: Capture) -> TakenResult:
        """Check a capture against the style guide and move it under the active SKU's next name.

        Runs on the capture folder's thread, never the UI's: it reads the file and moves it.
        Without an active SKU the capture goes to the Unassigned tray unchecked (it is checked
        once it is given a SKU). A capture that falls short of the style guide stays where it is.
        """
        name = capture.path.name
        product = self._active
        if product is None:
            return self._take(capture, None, None, translate(CTX, "{name} is in the Unassigned tray: scan a product, "
                                                                  "then assign it.").format(name=name))
        findings = check_style(capture.path, self._guide.for_product(self._shot_of(product["id"]) or product))
        if findings:
            # The style guide's findings are in English (sync/studio/styleguide.py has no translations).
            return TakenResult("held", translate(CTX, "{name} is held, not taken: {why}").format(
                name=name, why=" ".join(f.words for f in findings)), findings=tuple(findings))
        with self._lock:  # the next angle and the move as one step against a reassign meanwhile
            needed = self._described(product).still_needed  # of the product checked, whatever a scan did since
            return self._take(capture, product["sku"], needed[0] if needed else None, "")

    def _take(self, capture: Capture, sku: str | None, angle: str | None, words: str) -> TakenResult:
        try:
            taken = self._ledger.take(capture, sku, angle)
        except (OSError, ValueError, WriteFailed) as exc:
            log.error("capture %s could not be taken: %s", capture.path, exc)
            return TakenResult("failed", translate(CTX, "{name} could not be moved; it stays in the capture folder. "
                                                        "If it happens again, call IT.").format(name=capture.path.name))
        with self._lock:
            self._taken[taken.id] = (taken.sku, taken.angle)
        if sku is None:
            return TakenResult("unassigned", words, taken)
        return TakenResult("taken", translate(CTX, "{name} taken as {new}.").format(
            name=capture.path.name, new=taken.path.name), taken)

    def reassign(self, capture_id: int, sku: str | None, angle: str | None) -> TakenResult:
        """Give a taken capture another SKU or angle (sku None: back to the tray); off the UI thread, like take()."""
        with self._lock:
            try:
                taken = self._ledger.reassign(capture_id, sku, angle)
            except (KeyError, ValueError, OSError, WriteFailed) as exc:
                log.error("capture %d could not be reassigned to %s %s: %s", capture_id, sku, angle, exc)
                return TakenResult("failed", translate(CTX, "That capture could not be renamed: it may be on its "
                                                            "way to the server already."))
            self._taken[taken.id] = (taken.sku, taken.angle)
        if taken.sku is None:
            return TakenResult("unassigned", translate(CTX, "{new} is in the Unassigned tray.").format(
                new=taken.path.name), taken)
        return TakenResult("taken", translate(CTX, "Renamed to {new}.").format(new=taken.path.name), taken)

    # --- shot review (supervisors) ------------------------------------------------------

    @property
    def can_review(self) -> bool:
        """Whether this person approves and rejects shots (shot.qc)."""
        return bool(self.roles & _QC_ROLES)

    def approve(self, shot_id: int) -> StudioVerdict:
        """The SKU's images are good (shot.qc approve)."""
        return self._review(shot_id, "approve", "")

    def reject(self, shot_id: int, comment: str) -> StudioVerdict:
        """The SKU is to be shot again; the comment says what to redo (shot.qc reject)."""
        if not comment.strip():
            return StudioVerdict("reject", translate(CTX, "Say what to redo: a rejection needs a comment."))
        return self._review(shot_id, "reject", comment.strip())

    def _review(self, shot_id: int, decision: str, comment: str) -> StudioVerdict:
        if not self.can_review:
            return StudioVerdict("reject", translate(CTX, "Only a supervisor approves or rejects shots."))
        if len(comment) > _COMMENT_LONGEST:
            return StudioVerdict("reject", translate(CTX, "The comment is too long: at most %n characters.", None,
                                                     _COMMENT_LONGEST))
        shot = self._view.row("shot", shot_id)
        if shot is None:
            return StudioVerdict("reject", translate(CTX, "That SKU is no longer on the shot list."))
        refused = self._queue(ShotQc(shot=shot_id, decision=decision, comment=comment))
        if refused is not None:
            return refused
        if decision == "approve":
            return StudioVerdict("accept", translate(CTX, "{sku} approved.").format(sku=shot["sku"]))
        return StudioVerdict("accept", translate(CTX, "{sku} rejected: the photographer sees your comment.").format(
            sku=shot["sku"]))

    # --- the outbox ---------------------------------------------------------------------

    def _queue(self, args: Args) -> StudioVerdict | None:
        """Append one durable action; None when it is stored, else the refusal to show."""
        try:
            self._outbox.append(self.user, args.NAME, args.checked())
        except InvalidArgs as exc:
            log.warning("%s not queued: %s", args.NAME, exc)
            return StudioVerdict("reject", translate(CTX, "That cannot be recorded: a code or text is too long or "
                                                          "holds characters a label cannot."))
        except WriteFailed as exc:
            log.error("%s could not be stored: %s", args.NAME, exc)
            return StudioVerdict("reject", translate(CTX, "Could not save this on the device: {why}.").format(
                why=write_problem(exc)))
        return None
