"""Packing at the bench: a state machine driven by scans, keys and the scale.

One order at a time. Every unit is verified by a scan (or a count, or a manual confirmation
with a reason) into the open parcel; a wrong item or one too many changes nothing. A parcel
closes with its box (suggested by desktop_app/workflows/packing_fit.py) and its weight
(from the scale, checked against what it should weigh); when the last parcel of the order
closes, the order becomes one durable pack.confirm and each parcel a job of the print
spool, in that order, so the next order can start at once and every label prints by itself,
online now or offline later. Which order a scan opens: desktop_app/workflows/packing_bench.py.
"""

import logging
from contract.actions import HOLD_REASONS, MANUAL_REASONS, REOPEN_REASONS, Args, PackHold, PackReopen
from desktop_app.i18n import translate
from desktop_app.workflows.packing_bench import Bench, BenchOrder
from desktop_app.workflows.packing_fit import Box, Gate, check_weight, smallest_fitting
from desktop_app.workflows.packing_state import LabelSpool, PackingCore, PackingOptions, Stage, Verdict
from desktop_app.workflows.packing_order import OrderDraft, Unit
from scanners.codes import BenchCommand, Classified, OrderNumber, ProductCode, ToteCode, Unrecognised, UserBadge
from desktop_app.workflows.saving import write_problem
from sync.store.database import WriteFailed

__all__ = ["LabelSpool", "PackingCore", "PackingOptions", "PackingSession", "Stage", "Verdict"]

log = logging.getLogger(__name__)
CTX = "Packing"


def _kg(grams: int) -> str:
    return f"{grams / 1000:.2f} kg"


class PackingSession:
    """One packer at the bench; actions go through the durable outbox, labels through the print spool."""

    def __init__(self, core: PackingCore, user: str, user_id, options: PackingOptions, spool: LabelSpool) -> None:
        self._core, self.user, self.user_id, self.options, self._spool = core, user, user_id, options, spool
        self.bench = Bench(core.view)
        self.stage = Stage.IDLE
        self.draft: OrderDraft | None = None
        self.choices: list[BenchOrder] = []  # Stage.CHOOSE_ORDER
        self.pending_item: ProductCode | None = None  # the item that asked which order
        self.current_line: int | None = None  # the line the last scan verified: count and manual apply to it
        self.box_choice: str | None = None  # the box the packer chose for the open parcel; None: the suggestion
        self.weight_g: int | None = None  # the last stable weight on the scale
        self.weight_fresh = False  # a stable weight came after the parcel was asked to close
        self.weight_warned = False  # a weight outside tolerance was shown once (gate warn: Enter closes anyway)
        self.last_packed: BenchOrder | None = None  # for F8 (reopen) right after closing
        self._closing_next = False  # the parcel waiting for its weight closes to start the next one
        self._weighed_units = -1  # units in the open parcel when the last stable weight came
        self.scale_ready = options.has_scale  # False while the scale is unplugged: the weight is typed then

    # --- what the screen shows ---------------------------------------------------------

    def boxes(self) -> list[Box]:
        return self.bench.boxes()

    def suggested_box(self) -> Box | None:
        if self.draft is None or not self.draft.parcel.units:
            return None
        return smallest_fitting(self.boxes(), self.draft.items_of(self.draft.parcel))

    def chosen_box(self) -> Box | None:
        boxes = {b.code: b for b in self.boxes()}
        return boxes.get(self.box_choice) if self.box_choice else self.suggested_box()

    def expected_weight(self) -> int | None:
        box = self.chosen_box()
        if self.draft is None or box is None:
            return None
        return box.tare_g + self.draft.contents_weight(self.draft.parcel)

    # --- scans ---------------------------------------------------------------------------

    def scan(self, code: Classified) -> Verdict:
        if isinstance(code, Unrecognised):
            return Verdict("reject", code.said(translate))
        if isinstance(code, UserBadge):
            return Verdict("reject", translate(CTX, "A badge: sign out first to hand over the bench."))
        if isinstance(code, BenchCommand):
            return self.command(code)
        if self.stage in (Stage.IDLE, Stage.CHOOSE_ORDER) or self.draft is None:
            return self._open(code)
        if isinstance(code, ProductCode):
            waiting, verdict = self.stage is Stage.WEIGH, self._verify(code)
            if waiting and verdict.kind == "accept":
                self.stage = Stage.PACKING  # one more item went in after all: the parcel is not closing yet
            return verdict
        if isinstance(code, (ToteCode, OrderNumber)):
            if self._matches_open(code):
                return Verdict("info", translate(CTX, "{order} is open: scan its items.").format(
                    order=self.draft.number))
            return Verdict("reject", translate(CTX, "Finish {order} first, or press F4 to put it on the hold "
                                                    "shelf.").format(order=self.draft.number))
        return Verdict("reject", translate(CTX, "Not a code for packing: scan an item of {order}.").format(
            order=self.draft.number))

    def _matches_open(self, code) -> bool:
        if isinstance(code, ToteCode):
            return (self.draft.tote or "").upper() == code.code.upper()
        return self.draft.number.upper() == code.number.upper()

    def _open(self, code: Classified) -> Verdict:
        if isinstance(code, ToteCode):
            order = self.bench.by_tote(code.code)
            if order is None:
                return Verdict("reject", translate(CTX, "No order waits in tote {tote}.").format(tote=code.code))
            return self._open_order(order)
        if isinstance(code, OrderNumber):
            order = self.bench.by_number(code.number)
            if order is None:
                return Verdict("reject", translate(CTX, "Order {order} is not waiting at the packing bench.")
                               .format(order=code.number))
            return self._open_order(order)
        if isinstance(code, ProductCode):
            orders = self.bench.by_item(code.gtin)
            if not orders:
                name = self.bench.product_name(code.gtin)
                return Verdict("reject", translate(CTX, "No waiting order has {item}: scan the tote.").format(
                    item=name or code.gtin.lstrip("0")))
            if len(orders) > 1:
                self.stage, self.choices, self.pending_item = Stage.CHOOSE_ORDER, orders[:9], code
                return Verdict("info", translate(CTX, "This item is in %n waiting order(s): press the number of "
                                                      "the one in front of you, or scan its tote.", None,
                                                 len(orders)))
            opened = self._open_order(orders[0])
            return self._verify(code) if self.draft is not None else opened
        return Verdict("reject", translate(CTX, "Scan a tote, an order number or an item to start packing."))

    def choose(self, n: int) -> Verdict:
        """Number key n (1-9): an order of the choice, a box, or a reason, whichever is asked for."""
        if self.stage is Stage.CHOOSE_ORDER:
            if not 1 <= n <= len(self.choices):
                return Verdict("reject", translate(CTX, "Press a number from 1 to {last}.").format(
                    last=len(self.choices)))
            item, order = self.pending_item, self.choices[n - 1]
            self.choices, self.pending_item = [], None
            self._open_order(order)
            return self._verify(item) if item is not None and self.draft is not None else Verdict(
                "accept", translate(CTX, "{order} open.").format(order=order.number))
        if self.stage in (Stage.MANUAL, Stage.HOLD, Stage.REOPEN):
            reasons = {Stage.MANUAL: MANUAL_REASONS, Stage.HOLD: HOLD_REASONS, Stage.REOPEN: REOPEN_REASONS}
            options = reasons[self.stage]
            if not 1 <= n <= len(options):
                return Verdict("reject", translate(CTX, "Press a number from 1 to {last}.").format(last=len(options)))
            return {Stage.MANUAL: self.confirm_by_hand, Stage.HOLD: self.hold,
                    Stage.REOPEN: self.reopen}[self.stage](options[n - 1])
        if self.draft is not None and self.stage in (Stage.PACKING, Stage.WEIGH):
            boxes = self.boxes()
            if not 1 <= n <= len(boxes):
                return Verdict("reject", translate(CTX, "There is no box {n}.").format(n=n))
            return self.choose_box(boxes[n - 1].code)
        return Verdict("reject", translate(CTX, "Nothing to choose now."))

    def _open_order(self, order: BenchOrder) -> Verdict:
        if order.status == "packed":
            self.last_packed = order
            return Verdict("reject", translate(CTX, "{order} is packed already. Press F8 to open its parcels "
                                                    "again.").format(order=order.number))
        self.draft = self.bench.draft(order)
        self.stage, self.current_line, self.box_choice = Stage.PACKING, None, None
        self.weight_fresh = self.weight_warned = False
        self._weighed_units = -1
        if not self.draft.lines:
            self.draft, self.stage = None, Stage.IDLE
            return Verdict("reject", translate(CTX, "{order} has nothing picked to pack.").format(order=order.number))
        return Verdict("accept", translate(CTX, "{order}: %n item(s) to pack.", None, self.draft.units_total)
                       .format(order=order.number))

    def _verify(self, code: ProductCode) -> Verdict:
        draft = self.draft
        lines = [line for line in draft.lines if line.gtin == code.gtin]
        if not lines:
            name = self.bench.product_name(code.gtin) or code.gtin.lstrip("0")
            expected = ", ".join(line.name for line in draft.lines if draft.remaining(line.id) > 0) or "-"
            return Verdict("reject", translate(CTX, "Wrong item: expected {expected}, this is {item}.").format(
                expected=expected, item=name))
        line = next((ln for ln in lines if draft.remaining(ln.id) > 0), None)
        if line is None:
            return Verdict("overscan", translate(CTX, "One too many: all %n of {item} are packed already. Put it "
                                                      "back in the tote.", None, sum(ln.qty for ln in lines))
                           .format(item=lines[0].name))
        count = code.quantity or 1
        if count > draft.remaining(line.id):
            return Verdict("overscan", translate(CTX, "Too many: {count} scanned, %n of {item} still to pack.", None,
                                                 draft.remaining(line.id)).format(count=count, item=line.name))
        if code.serial and code.serial in draft.serials(line.product_id):
            return Verdict("reject", translate(CTX, "Serial {serial} is scanned already: this is the same unit.")
                           .format(serial=code.serial))
        for i in range(count):
            serial = code.serial if i == 0 else None
            draft.parcel.units.append(Unit(line.id, lot=code.batch, serial=serial))
        self.current_line = line.id
        return self._after_unit(line)

    def _after_unit(self, line) -> Verdict:
        draft = self.draft
        if draft.complete and self.options.auto_close:
            return self.close_parcel()
        left = draft.remaining(line.id)
        if left:
            return Verdict("accept", translate(CTX, "{item}: %n more to pack.", None, left).format(item=line.name))
        return Verdict("accept", translate(CTX, "{item} complete.").format(item=line.name))

    def command(self, code: BenchCommand) -> Verdict:
        """A barcode of the command sheet."""
        if code.command == "box" and self.draft is not None:
            return self.choose_box(code.value)
        if code.command == "close" and self.draft is not None:
            return self.close_parcel()
        if code.command == "parcel" and self.draft is not None:
            return self.close_parcel(next_parcel=True)
        return Verdict("reject", translate(CTX, "That command needs an open order."))

    def choose_box(self, code: str) -> Verdict:
        boxes = {b.code: b for b in self.boxes()}
        if code not in boxes:
            return Verdict("reject", translate(CTX, "There is no box {box}.").format(box=code))
        self.box_choice = code
        self.weight_warned = False
        return Verdict("accept", translate(CTX, "Box {box}: {name}.").format(box=code, name=boxes[code].name))

    # --- count, manual confirmation ----------------------------------------------------------

    def start_count(self) -> Verdict:
        if self.draft is None or self.current_line is None:
            return Verdict("reject", translate(CTX, "Scan the item first, then press F2 to type how many."))
        self.stage = Stage.COUNT
        return Verdict("info", translate(CTX, "How many of {item} are in the box? Type the number, then Enter.")
                       .format(item=self.draft.line(self.current_line).name))

    def count(self, total: int) -> Verdict:
        """The packer counted `total` units of the current item in the open parcel (same rule as picking:
        never more than was picked)."""
        draft, line_id = self.draft, self.current_line
        self.stage = Stage.PACKING
        line = draft.line(line_id)
        in_parcel = draft.parcel.count(line_id)
        most = in_parcel + draft.remaining(line_id)
        if not 0 < total <= most:
            return Verdict("overscan" if total > most else "reject",
                           translate(CTX, "{count} is not possible: at most %n of {item} fit this parcel.", None,
                                     most).format(count=total, item=line.name))
        units = draft.parcel.units
        if total < in_parcel:
            plain = [u for u in units if u.line_id == line_id and not u.noted]
            if len(plain) < in_parcel - total:
                return Verdict("reject", translate(CTX, "Units with a serial number are counted one by one."))
            for u in plain[: in_parcel - total]:
                units.remove(u)
        units.extend(Unit(line_id) for _ in range(total - in_parcel))
        return self._after_unit(line)

    def start_manual(self) -> Verdict:
        if self.draft is None:
            return Verdict("reject", translate(CTX, "Open an order first."))
        if self.current_line is None or self.draft.remaining(self.current_line) == 0:
            self.current_line = next((ln.id for ln in self.draft.lines if self.draft.remaining(ln.id)), None)
        if self.current_line is None:
            return Verdict("reject", translate(CTX, "Every item is verified already."))
        self.stage = Stage.MANUAL
        return Verdict("info", translate(CTX, "Why can {item} not be scanned? Press the number of the reason.")
                       .format(item=self.draft.line(self.current_line).name))

    def confirm_by_hand(self, reason: str) -> Verdict:
        line = self.draft.line(self.current_line)
        self.stage = Stage.PACKING
        self.draft.parcel.units.append(Unit(line.id, manual=reason))
        return self._after_unit(line)

    def select_line(self, step: int) -> None:
        """Up/Down: the item that F2 and F3 apply to."""
        if self.draft is None:
            return
        ids = [line.id for line in self.draft.lines]
        at = ids.index(self.current_line) if self.current_line in ids else -1
        self.current_line = ids[(at + step) % len(ids)]

    def undo_last(self) -> Verdict:
        if self.draft is None or not self.draft.parcel.units:
            return Verdict("reject", translate(CTX, "Nothing to take back in this parcel."))
        unit = self.draft.parcel.units.pop()
        self.stage = Stage.PACKING
        return Verdict("info", translate(CTX, "Took back one {item}: take it out of the box.").format(
            item=self.draft.line(unit.line_id).name))

    # --- weight and closing ------------------------------------------------------------------

    def weighed(self, grams: int, stable: bool) -> Verdict | None:
        """A reading of the scale (or a typed weight, stable); closes a parcel that waits for its weight."""
        if not stable:
            return None
        self.weight_g = grams
        self._weighed_units = len(self.draft.parcel.units) if self.draft is not None else -1
        if self.stage is Stage.WEIGH and grams > 0:
            self.weight_fresh = True
            return self.close_parcel(next_parcel=self._closing_next)
        return None

    def close_parcel(self, next_parcel: bool = False) -> Verdict:
        """Close the open parcel: box, weight, the weight check; the last one closes the order."""
        draft = self.draft
        if draft is None:
            return Verdict("reject", translate(CTX, "No order is open."))
        if not draft.parcel.units:
            return Verdict("reject", translate(CTX, "This parcel is empty: scan an item first."))
        if not next_parcel and not draft.complete:
            left = draft.units_total - draft.units_verified
            return Verdict("reject", translate(CTX, "%n item(s) still to verify. F5 closes this parcel and starts "
                                                    "the next.", None, left))
        box = self.chosen_box()
        if box is None:
            return Verdict("reject", translate(CTX, "These items fit no box on its own: close this parcel with F5 "
                                                    "and pack the rest in the next."))
        self._closing_next = next_parcel
        # A box standing on the scale while it is filled: a stable weight that came after the last
        # unit went in is this parcel's, no need to wait for another one.
        settled = self.weight_g and self._weighed_units == len(draft.parcel.units) and not self.weight_warned
        if not (self.weight_fresh or settled) or not self.weight_g:
            self.stage = Stage.WEIGH
            return Verdict("info", translate(CTX, "Put the parcel on the scale.") if self.weighs_by_scale else
                           translate(CTX, "Type the parcel's weight in grams, then Enter."))
        expected = box.tare_g + draft.contents_weight(draft.parcel)
        check = check_weight(expected, self.weight_g, self.options.tolerance_pct, self.options.tolerance_min_g)
        if self.options.weight_gate is not Gate.OFF and not check.within:
            words = translate(CTX, "Weighs {weighed}, should weigh {expected} ± {tolerance}: check the items.").format(
                weighed=_kg(check.weighed_g), expected=_kg(expected), tolerance=_kg(check.tolerance_g))
            self.weight_fresh = False
            self.stage = Stage.WEIGH
            if self.options.weight_gate is Gate.BLOCK or not self.weight_warned:
                self.weight_warned = self.options.weight_gate is Gate.WARN
                hint = "" if self.options.weight_gate is Gate.BLOCK else " " + translate(
                    CTX, "Weigh again, or press Enter to close it anyway.")
                return Verdict("reject", words + hint)
        draft.parcel.box, draft.parcel.weight_g = box.code, self.weight_g
        self.box_choice, self.weight_fresh, self.weight_warned, self._weighed_units = None, False, False, -1
        if not draft.complete:
            draft.parcels.append(type(draft.parcel)())
            self.stage = Stage.PACKING
            return Verdict("done", translate(CTX, "Parcel {n} closed ({weight}). Parcel {next}: scan the next "
                                                  "item.").format(n=len(draft.parcels) - 1, weight=_kg(self.weight_g),
                                                                  next=len(draft.parcels)))
        return self._finish()

    @property
    def weighs_by_scale(self) -> bool:
        """Whether the weight comes from the scale now; otherwise the packer types it."""
        return self.options.has_scale and self.scale_ready

    def close_anyway(self) -> Verdict | None:
        """Enter on a weight warning (gate warn): close with the weight as it is."""
        if self.stage is Stage.WEIGH and self.weight_warned and self.weight_g:
            self.weight_fresh = True
            return self.close_parcel(next_parcel=self._closing_next)
        return None

    def _finish(self) -> Verdict:
        draft = self.draft
        action = draft.action()
        # The pack and its label jobs in one durable transaction: no label ever waits for a pack the
        # journal does not hold, and no pack is stored without its labels.
        labels = self._spool.labels_of([(p.ref, draft.number, n) for n, p in enumerate(draft.parcels, start=1)],
                                       str(self.user_id))
        try:
            self._core.outbox.append(self.user, action.NAME, action.checked(), along=labels)
        except WriteFailed as exc:
            return Verdict("reject", translate(CTX, "Could not save the parcels on this device: {why}. Nothing is "
                                                    "lost yet: once that is fixed, press Enter again.")
                           .format(why=write_problem(exc)))
        self._spool.labels_added()
        self.last_packed = BenchOrder(draft.order_id, draft.number, draft.tote, "packed", draft.note)
        parcels = len(draft.parcels)
        self.draft, self.stage, self.current_line = None, Stage.IDLE, None
        self.bench.changed()
        return Verdict("done", translate(CTX, "{order} packed: %n parcel(s). Labels are printing.", None, parcels)
                       .format(order=draft.number))

    def _queue(self, args: Args) -> None:
        self._core.outbox.append(self.user, args.NAME, args.checked())

    # --- hold, reopen, leave -----------------------------------------------------------------

    def start_hold(self) -> Verdict:
        if self.draft is None:
            return Verdict("reject", translate(CTX, "Open the order first: scan its tote."))
        self.stage = Stage.HOLD
        return Verdict("info", translate(CTX, "Why does {order} go to the hold shelf? Press the number of the "
                                              "reason.").format(order=self.draft.number))

    def hold(self, reason: str) -> Verdict:
        draft = self.draft
        try:
            self._queue(PackHold(order=draft.order_id, reason=reason, line=self.current_line))
        except WriteFailed as exc:
            self.stage = Stage.PACKING
            return Verdict("reject", translate(CTX, "Could not save this on the device: {why}.")
                           .format(why=write_problem(exc)))
        self.draft, self.stage, self.current_line = None, Stage.IDLE, None
        self.bench.changed()
        return Verdict("done", translate(CTX, "{order} goes to the hold shelf: put the tote there. A supervisor "
                                              "sees it.").format(order=draft.number))

    def start_reopen(self) -> Verdict:
        if self.draft is not None:
            return Verdict("reject", translate(CTX, "Finish the open order first."))
        if self.last_packed is None:
            return Verdict("reject", translate(CTX, "Scan the tote or order number of the packed order first."))
        self.stage = Stage.REOPEN
        return Verdict("info", translate(CTX, "Why open the parcels of {order} again? Press the number of the "
                                              "reason.").format(order=self.last_packed.number))

    def reopen(self, reason: str) -> Verdict:
        order = self.last_packed
        self.stage = Stage.IDLE
        try:
            self._queue(PackReopen(order=order.id, reason=reason))
            # Its labels are void with the parcels: those not printed yet never will be.
            refs = {job.parcel_ref for job in self._spool.jobs(500) if job.order_number == order.number}
            voided = sum(self._spool.cancel_parcel(ref, "reopened", str(self.user_id)) for ref in refs)
        except WriteFailed as exc:
            return Verdict("reject", translate(CTX, "Could not save this on the device: {why}.")
                           .format(why=write_problem(exc)))
        self.last_packed = None
        self.bench.changed()
        words = translate(CTX, "{order} is open again: scan its tote to pack it.").format(order=order.number)
        if voided:
            words += " " + translate(CTX, "%n label(s) not printed yet are cancelled.", None, voided)
        return Verdict("done", words)

    def back(self) -> Verdict | None:
        """Esc: out of a question; from an open order, back to the start (nothing of it is stored)."""
        if self.stage in (Stage.COUNT, Stage.MANUAL, Stage.HOLD, Stage.WEIGH):
            self.stage = Stage.PACKING if self.draft is not None else Stage.IDLE
            return None
        if self.stage in (Stage.CHOOSE_ORDER, Stage.REOPEN):
            self.stage, self.choices, self.pending_item = Stage.IDLE, [], None
            return None
        if self.draft is not None:
            number = self.draft.number
            self.draft, self.stage, self.current_line = None, Stage.IDLE, None
            return Verdict("info", translate(CTX, "{order} put aside: nothing of it is saved. Its tote waits to "
                                                  "be scanned again.").format(order=number))
        return None

    def data_changed(self) -> Verdict | None:
        """The local view moved. Only a change that makes the open parcel wrong interrupts the packer."""
        self.bench.changed()
        if self.draft is None:
            return None
        rows = self._core.view.rows("order", number=self.draft.number)
        status = rows[0]["status"] if rows else "gone"
        if status == "picked":
            if self.bench.lines_of(self.draft.order_id) == sorted((ln.id, ln.qty) for ln in self.draft.lines):
                return None
            why = translate(CTX, "{order} changed on the server while you packed it: unpack and scan its tote "
                                 "again.")
        elif status == "cancelled":
            why = translate(CTX, "STOP: {order} was cancelled. Do not ship it: put the items back in the tote and "
                                 "take it to returns.")
        elif status == "held":
            why = translate(CTX, "{order} was put on the hold shelf from another bench: stop packing it.")
        elif status == "packed":
            why = translate(CTX, "{order} was packed at another bench: stop packing it.")
        else:
            why = translate(CTX, "{order} left the packing bench: stop packing it and ask a supervisor.")
        number = self.draft.number
        self.draft, self.stage, self.current_line = None, Stage.IDLE, None
        return Verdict("reject", why.format(order=number))
