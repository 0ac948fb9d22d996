"""Picking one batch: a state machine driven by classified scans and the picker's actions.

Everything the session shows is read from the local view (replica plus queued effects),
so a restart mid-batch resumes at the right task and picking works offline. Each right
product scan is its own durable `pick.confirm` (qty 1, or the GS1 AI 30 count): nothing
scanned is lost if the device dies mid-task, and "undo last" takes back exactly one scan.

The session never waits for the disk. A scan that records an action hands it to the
journal writer (Outbox.submit) and returns an outcome that names it (`saving`): the screen
shows that verdict only once the action is stored, synced to disk (`verdict`). Meanwhile
the session judges the next scan with the actions it handed over laid over the view, so a
second item scanned before the first commit landed counts both and never over-picks
(picking_pending.py).

The values the screen shows are in picking_screen.py, the order of the walk in
picking_walk.py, and which orders need or already hold a tote in picking_totes.py.
"""

import logging
from dataclasses import replace
from typing import Protocol

from contract.actions import SHORT_REASONS, Args, PickConfirm, PickShort, PickUndo, ToteAssign
from desktop_app.i18n import translate
from desktop_app.workflows.picking_batch import BatchClaims
from desktop_app.workflows.picking_screen import (
    BatchSummary, Outcome, PickingOptions, PickingState, Screen, TaskCard, ToteCard, reject,
)
from desktop_app.workflows.picking_pending import PendingActions
from desktop_app.workflows.picking_totes import TotesInUse, orders_without_tote
from desktop_app.workflows.picking_walk import Walk, live, remaining
from scanners.codes import Classified, LocationLabel, ProductCode, ToteCode, Unrecognised, UserBadge
from sync.api import OrderApi
from sync.engine import SyncEngine
from sync.journal_writer import Submission
from sync.outbox import Mutation, Outbox
from sync.store.database import WriteFailed
from sync.view import LocalView, apply_effects

__all__ = ["SHORT_REASONS", "BatchSummary", "Outcome", "PickingOptions", "PickingSession", "PickingState", "Screen",
           "TaskCard", "ToteCard"]

log = logging.getLogger(__name__)


class PickingCore(Protocol):
    """The parts of sync.client.ClientCore that picking needs."""

    outbox: Outbox
    view: LocalView
    api: OrderApi
    engine: SyncEngine


def _gtin14(gtin: str) -> str:
    """The catalogue keeps EAN-13; scans are classified to GTIN-14 (GS1 General Specifications 3.3.2)."""
    return gtin.zfill(14)


class PickingSession:
    """One picker working through a batch; every change goes through the durable outbox.

    start() talks to the network (claim and pull): call it off the UI thread. Every other
    operation only reads the local view and hands actions to the journal writer; none waits
    for the disk. An outcome with `saving` is shown through verdict(), once that action is stored.
    """

    def __init__(self, core: PickingCore, user: str, options: PickingOptions | None = None,
                 user_id: int | None = None) -> None:
        self._core = core
        self.user = user
        self.options = options or PickingOptions()
        self._claims = BatchClaims(core, user_id)
        self.batch_id: int | None = None
        self._pending = PendingActions(core.outbox)
        self._new_batch_state()

    def _new_batch_state(self) -> None:
        self._walk = Walk()
        self._totes: tuple[int, TotesInUse] | None = None  # batch id, and the totes other batches hold
        self._product_seen: dict[int, str] = {}  # task id -> GTIN verified there, for enter_quantity
        self._confirmations: list[Mutation] = []  # drafts: their ids are known before they are stored

    # --- actions on their way to the journal -------------------------------------------

    @property
    def rollbacks(self) -> int:
        """How often actions were taken back: a screen drops the verdicts judged on them."""
        return self._pending.rollbacks

    def waiting(self) -> int:
        """How many actions this session handed over are not stored yet."""
        return self._pending.waiting()

    def _submit(self, args: Args) -> Submission:
        """Hand an action to the journal writer, with the session's own state to put back if it is refused."""
        before = (self.batch_id, self._walk.snapshot(), dict(self._product_seen), list(self._confirmations))
        return self._pending.submit(self.user, args.NAME, args.checked(), before)

    def _reconcile(self) -> None:
        """Forget the actions stored since; take back the first refused one and all judged after it."""
        before = self._pending.reconcile()
        if before is not None:
            self.batch_id, walk, self._product_seen, self._confirmations = before
            self._walk.restore(walk)

    def verdict(self, outcome: Outcome, timeout: float | None = None) -> Outcome:
        """The outcome to show: as it was once its action is stored; the refusal if it could not be.

        The screen calls this when outcome.saving is done (Submission.when_done), so it does not
        wait; headless callers may call it at once, and it waits up to timeout for the commit.
        """
        if outcome.saving is None:
            return outcome
        try:
            outcome.saving.result(timeout)
        except TimeoutError:
            raise
        except WriteFailed as exc:
            log.error("an action could not be stored: %s", exc)
            if exc.disk_full:
                refusal = translate("Picking", "Not saved: the disk of this device is full. Nothing was recorded; "
                                               "call IT, then scan again.")
            else:
                refusal = translate("Picking", "Not saved: this device could not write to its disk. Nothing was "
                                               "recorded; call IT, then scan again.")
        except Exception as exc:  # noqa: BLE001 - told to the picker in plain words, the detail to the log
            log.error("an action could not be stored", exc_info=exc)
            refusal = translate("Picking", "Not saved: this device could not record it. Nothing was recorded; "
                                           "call IT, then scan again.")
        else:
            self._reconcile()
            return outcome
        self._reconcile()
        return reject(refusal)

    def _predict(self, tasks: list[dict], submission: Submission, confirmations: list[Mutation] = ()) -> None:
        """Lay an action just handed over on the tasks read for it (in place): what the screen shows next."""
        known = {m.id: m for m in (*self._confirmations, *confirmations)}
        apply_effects("pick_task", {t["id"]: t for t in tasks}, [submission.draft], known)

    # --- batch ---------------------------------------------------------------------

    def start(self) -> Outcome:
        """Claim (online) or take up (offline) the next batch with open work."""
        claimed = self._claims.claim(self.options.claim_ahead)
        self._new_batch_state()
        self.batch_id = self._claims.first_open(claimed, self._pending.submissions())
        if self.batch_id is None:
            return reject(translate("Picking", "No batch to pick.") if claimed is not None else
                          translate("Picking", "No batch on this device and the server is out of reach: try again "
                                               "when the network is back."))
        self._totes_in_use()  # here, off the UI thread: it reads every task on the device
        lines = len(live(self._tasks()))
        if claimed is not None:
            said = translate("Picking", "Batch {batch}: %n line(s)", None, lines)
        else:
            said = translate("Picking", "Batch {batch}: %n line(s) (offline)", None, lines)
        return Outcome("accept", said.format(batch=self._batch_code()))

    def put_aside(self) -> Outcome:
        """Back to the start, undoing nothing: the batch stays claimed on this device and start() takes it up again."""
        self._reconcile()
        if self.batch_id is None:
            return Outcome("info", translate("Picking", "No batch: press Enter to get one."))
        code = self._batch_code()
        self._new_batch_state()
        self.batch_id = None
        return Outcome("info", translate("Picking", "Batch {batch} waits for you: press Enter to go on with it.")
                       .format(batch=code))

    def renew_lease(self) -> Outcome | None:
        """Keep the batch claimed while picking (network: off the UI thread): BatchClaims.renew."""
        if self.batch_id is None or self.state is PickingState.BATCH_DONE:
            return None
        return self._claims.renew(self.batch_id)

    @property
    def offline_reason(self) -> str | None:
        """Why the last start could not reach the server (for the log), or None."""
        return self._claims.offline_reason

    def _totes_in_use(self) -> TotesInUse:
        if self._totes is None or self._totes[0] != self.batch_id:
            self._totes = (self.batch_id, TotesInUse.read(self._core.view, self.batch_id, self._pending.submissions()))
        return self._totes[1]

    def _batch_code(self) -> str:
        return "None" if self.batch_id is None else self._claims.code(self.batch_id)

    def _tasks(self) -> list[dict]:
        """The batch's tasks from the local view, with the actions still on their way to the journal.

        Tasks the server added since the last read (the rest of a short pick, from another bin)
        join the end of the walk here, and are told by arrivals().
        """
        if self.batch_id is None:
            return []
        tasks = self._core.view.rows("pick_task", batch_id=self.batch_id, submitted=self._pending.submissions())
        self._walk.see(tasks)
        return tasks

    def arrivals(self) -> Outcome | None:
        """News of bins added to the walk since last asked (read by the screen after it has drawn), or None."""
        bins = self._walk.take_news()
        if not bins:
            return None
        if len(bins) == 1:
            said = translate("Picking", "Also at {bin}: added to the end of the walk").format(bin=bins[0])
        else:
            said = translate("Picking", "Also at {bins} and {last}: added to the end of the walk").format(
                bins=translate("Picking", ", ").join(bins[:-1]), last=bins[-1])
        return Outcome("info", said)

    # --- reading the state ---------------------------------------------------------

    def _state_of(self, tasks: list[dict], queue: list[dict]) -> PickingState:
        if self.batch_id is None:
            return PickingState.NO_BATCH
        if orders_without_tote(tasks):
            return PickingState.NEED_TOTES
        if not queue:
            return PickingState.BATCH_DONE
        if self.options.location_scan_required and self._walk.at_location != queue[0]["id"]:
            return PickingState.NEED_LOCATION
        return PickingState.NEED_PRODUCT

    def _look(self, tasks: list[dict] | None = None) -> tuple[list[dict], list[dict], PickingState]:
        """Tasks of the batch (read once per scan or action unless given), the walk and the state."""
        if tasks is None:
            tasks = self._tasks()
        queue = self._walk.queue(tasks)
        return tasks, queue, self._state_of(tasks, queue)

    @property
    def state(self) -> PickingState:
        """Where the picker is now, as the local view shows the batch."""
        return self._look()[2]

    def current(self) -> TaskCard | None:
        """The task to pick now, or None while totes are missing or the batch is done."""
        return self.screen().task

    def tote_needed(self) -> ToteCard | None:
        """The order waiting for a tote, or None when every order has one."""
        return self.screen().tote

    def summary(self) -> BatchSummary | None:
        """Totals of the current batch (as this device sees it)."""
        return None if self.batch_id is None else self._summary(live(self._tasks()))

    def _summary(self, lines: list[dict]) -> BatchSummary:
        queued = self._core.outbox.pending_count() + self.waiting()
        return BatchSummary(self.batch_id, self._batch_code(), len(lines),
                            sum(1 for t in lines if t["status"] == "done"),
                            sum(1 for t in lines if t["status"] == "short"),
                            sum(t.get("picked_qty", 0) for t in lines), queued)

    def screen(self) -> "Screen":
        """State, task, tote and totals from one read of the local view, so they agree.

        The view changes under the screen (pulls, pushes, rejections on the sync threads);
        reading the state and then the task separately could see two different batches.
        """
        return self._screen_of(*self._look())

    def _screen_of(self, tasks: list[dict], queue: list[dict], state: PickingState) -> "Screen":
        lines = live(tasks)
        task = tote = summary = None
        if state in (PickingState.NEED_LOCATION, PickingState.NEED_PRODUCT):
            t = queue[0]
            task = TaskCard(t["id"], t["order_number"], t.get("tote"), t["location_label"], t["product_name"],
                            t["sku"], t["gtin"], t["qty"], t.get("picked_qty", 0), remaining(t),
                            location_confirmed=self._walk.at_location == t["id"],
                            lines_done=sum(1 for x in lines if x["status"] != "open"), lines_total=len(lines))
        elif state is PickingState.NEED_TOTES:
            missing = orders_without_tote(tasks)
            orders = {t["order_id"] for t in lines}
            tote = ToteCard(missing[0]["order_id"], missing[0]["order_number"], len(orders) - len(missing),
                            len(orders))
        elif state is PickingState.BATCH_DONE:
            summary = self._summary(lines)
        return Screen(state, task, tote, summary)

    def _shown_with(self, outcome: Outcome, tasks: list[dict]) -> Outcome:
        """The outcome with the screen that goes with it, from the tasks read (and predicted) for it."""
        return replace(outcome, screen=self._screen_of(*self._look(tasks)))

    # --- scans ---------------------------------------------------------------------

    def scan(self, code: Classified) -> Outcome:
        """React to one classified scan."""
        self._reconcile()
        match code:
            case Unrecognised():
                return reject(code.said(translate))
            case UserBadge(code=badge):
                return Outcome("switch_user", translate("Picking", "Badge {badge}").format(badge=badge), badge=badge)
            case ToteCode() | LocationLabel() | ProductCode():
                tasks = self._tasks()
                if isinstance(code, ToteCode):
                    outcome = self._scan_tote(code, tasks)
                elif isinstance(code, LocationLabel):
                    outcome = self._scan_location(code, tasks)
                else:
                    outcome = self._scan_product(code, tasks)
                return self._shown_with(outcome, tasks)
        return reject(translate("Picking", "This scan cannot be used for picking."))

    def _not_picking(self, state: PickingState, tasks: list[dict]) -> Outcome | None:
        """The reject for a pick-time scan or action outside a task, else None."""
        if state is PickingState.NO_BATCH:
            return reject(translate("Picking", "No batch: start picking first."))
        if state is PickingState.NEED_TOTES:
            return reject(translate("Picking", "Scan a tote for order {order} first.")
                          .format(order=orders_without_tote(tasks)[0]["order_number"]))
        if state is PickingState.BATCH_DONE:
            return reject(translate("Picking", "Batch {batch} is done.").format(batch=self._batch_code()))
        return None

    def _task_or_refusal(self, tasks: list[dict]) -> tuple[dict | None, PickingState, Outcome | None]:
        """The current task, or why a pick-time scan or action does not fit now."""
        _, queue, state = self._look(tasks)
        refused = self._not_picking(state, tasks)
        return (None if refused else queue[0]), state, refused

    def _scan_tote(self, code: ToteCode, tasks: list[dict]) -> Outcome:
        _, queue, state = self._look(tasks)
        if state is PickingState.NEED_TOTES:
            return self._assign_tote(tasks, code.code)
        if state in (PickingState.NEED_LOCATION, PickingState.NEED_PRODUCT):
            tote = queue[0].get("tote")
            if code.code != tote:
                return reject(translate("Picking", "Wrong tote: this goes into {tote}.").format(tote=tote))
            return Outcome("accept", translate("Picking", "Tote {tote}").format(tote=tote))
        return self._not_picking(state, tasks)

    def _assign_tote(self, tasks: list[dict], tote: str) -> Outcome:
        order = orders_without_tote(tasks)[0]
        # Refused here rather than by the server later, when the picker has filled the tote and moved on.
        held = self._totes_in_use().holder(tote, order["order_id"], tasks)
        if held is not None:
            return reject(translate("Picking", "{tote} holds {order}: scan an empty tote")
                          .format(tote=tote, order=held))
        saving = self._submit(ToteAssign(batch=self.batch_id, order=order["order_id"], tote=tote))
        self._predict(tasks, saving)
        waiting = orders_without_tote(tasks)
        if waiting:
            said = translate("Picking", "Tote {tote} for {order}; next: tote for {next}").format(
                tote=tote, order=order["order_number"], next=waiting[0]["order_number"])
        else:
            said = translate("Picking", "Tote {tote} for {order}; go to {location}").format(
                tote=tote, order=order["order_number"], location=self._walk.queue(tasks)[0]["location_label"])
        return Outcome("accept", said, saving=saving)

    def _scan_location(self, code: LocationLabel, tasks: list[dict]) -> Outcome:
        task, state, refused = self._task_or_refusal(tasks)
        if refused is not None:
            return refused
        if code.label != task["location_label"]:
            return reject(translate("Picking", "Wrong location: scanned {scanned}, go to {location}").format(
                scanned=code.label, location=task["location_label"]))
        self._walk.at_location = task["id"]
        said = translate("Picking", "{location}: {product}, {remaining} of {qty} still to pick")
        return Outcome("accept", said.format(location=task["location_label"], product=task["product_name"],
                                             remaining=remaining(task), qty=task["qty"]))

    def _scan_product(self, code: ProductCode, tasks: list[dict]) -> Outcome:
        task, state, refused = self._task_or_refusal(tasks)
        if refused is not None:
            return refused
        if state is PickingState.NEED_LOCATION:
            return reject(translate("Picking", "Scan the location first: go to {location}")
                          .format(location=task["location_label"]))
        if code.gtin != _gtin14(task["gtin"]):
            return reject(translate("Picking", "Wrong product: scanned {scanned}, pick {product} ({gtin})").format(
                scanned=code.gtin13 or code.gtin, product=task["product_name"], gtin=task["gtin"]))
        self._product_seen[task["id"]] = code.gtin
        return self._confirm(tasks, task, code.quantity or 1, code.gtin)

    # --- actions -------------------------------------------------------------------

    def enter_quantity(self, qty: int, task_id: int | None = None) -> Outcome:
        """Count the rest by hand: confirm qty more of the product already scanned at this task.

        task_id is the task the count was asked for; if another task has become current
        meanwhile the count is refused rather than booked on the wrong bin.
        """
        self._reconcile()
        tasks = self._tasks()
        task, state, refused = self._task_or_refusal(tasks)
        if refused is not None:
            return refused
        if task_id is not None and task["id"] != task_id:
            return reject(translate("Picking", "The task changed while counting: now {location}. Count again.")
                          .format(location=task["location_label"]))
        barcode = self._product_seen.get(task["id"])
        if state is PickingState.NEED_LOCATION or barcode is None:
            return reject(translate("Picking", "Scan the location and one item first, then enter the count."))
        if qty < 1:
            return reject(translate("Picking", "Enter a count of at least 1."))
        return self._shown_with(self._confirm(tasks, task, qty, barcode), tasks)

    def _confirm(self, tasks: list[dict], task: dict, qty: int, barcode: str) -> Outcome:
        needed = remaining(task)
        if qty > needed:
            return reject(translate("Picking", "Too many: {counted} counted, only {needed} still needed here.")
                          .format(counted=qty, needed=needed))
        picked = task.get("picked_qty", 0) + qty
        saving = self._submit(PickConfirm(task=task["id"], location=task["location_label"], qty=qty, barcode=barcode))
        self._confirmations.append(saving.draft)
        self._walk.at_location = task["id"]
        self._predict(tasks, saving)
        if qty < needed:
            return Outcome("accept", translate("Picking", "{picked} of {qty} {product}").format(
                picked=picked, qty=task["qty"], product=task["product_name"]), saving=saving)
        if self._walk.front == task["id"]:
            self._walk.front = None
        return self._moved_on(tasks, task, saving, translate("Picking", "{location} complete. Batch {batch} done."),
                              translate("Picking", "{location} complete. Next: {next}"))

    def _moved_on(self, tasks: list[dict], task: dict, saving: Submission, done: str, then: str) -> Outcome:
        """The outcome after a task closed: `then` with the next bin, or `done` (both translated, with {location})."""
        queue = self._walk.queue(tasks)
        if not queue:
            return Outcome("done", done.format(location=task["location_label"], batch=self._batch_code()),
                           saving=saving)
        return Outcome("accept", then.format(location=task["location_label"], next=queue[0]["location_label"]),
                       saving=saving)

    def short(self, reason: str) -> Outcome:
        """The rest of the current task is not there: report why and move on."""
        if reason not in SHORT_REASONS:
            raise ValueError(f"short reason must be one of {SHORT_REASONS}, not {reason!r}")
        self._reconcile()
        tasks = self._tasks()
        task, _, refused = self._task_or_refusal(tasks)
        if refused is not None:
            return refused
        saving = self._submit(PickShort(task=task["id"], reason=reason))
        self._walk.at_location = None
        self._predict(tasks, saving)
        moved_on = self._moved_on(tasks, task, saving, translate("Picking", "Short at {location}. Batch {batch} done."),
                                  translate("Picking", "Short at {location}. Next: {next}"))
        return self._shown_with(moved_on, tasks)

    def skip(self) -> Outcome:
        """Put the current task at the end of the walk (local only; the server is not told)."""
        self._reconcile()
        tasks, queue, state = self._look()
        refused = self._not_picking(state, tasks)
        if refused is not None:
            return refused
        if len(queue) == 1:
            return reject(translate("Picking", "Nothing to skip to: this is the last task."))
        task_id = queue[0]["id"]
        if task_id in self._walk.skipped:
            self._walk.skipped.remove(task_id)
        self._walk.skipped.append(task_id)
        self._walk.front = None if self._walk.front == task_id else self._walk.front
        self._walk.at_location = None
        outcome = Outcome("accept", translate("Picking", "Skipped {location}. Next: {next}").format(
            location=queue[0]["location_label"], next=queue[1]["location_label"]))
        return self._shown_with(outcome, tasks)

    def undo_last(self) -> Outcome:
        """Take back the last confirmed scan of this batch; its task becomes current again."""
        self._reconcile()
        if not self._confirmations:
            return reject(translate("Picking", "Nothing to undo."))
        tasks = self._tasks()
        m = self._confirmations[-1]
        task_id = m.args["task"]
        saving = self._submit(PickUndo(task=task_id, confirmation=m.id))
        self._confirmations.pop()
        # The picker is still at that bin, putting the items back.
        self._walk.front = self._walk.at_location = task_id
        self._predict(tasks, saving, confirmations=[m])
        outcome = Outcome("accept", translate("Picking", "Undone: put {qty} back at {location}").format(
            qty=m.args["qty"], location=m.args["location"]), saving=saving)
        return self._shown_with(outcome, tasks)
