"""Picking one batch: a state machine driven by classified scans and the picker's actions.

Everything the session shows is read from the local view (replica plus queued effects),
so a restart mid-batch resumes at the right task and picking works offline. Each right
product scan is its own durable `pick.confirm` (qty 1, or the GS1 AI 30 count): nothing
scanned is lost if the device dies mid-task, and "undo last" takes back exactly one scan.

The session never waits for the disk. A scan that records an action hands it to the
journal writer (Outbox.submit) and returns an outcome that names it (`saving`): the screen
shows that verdict only once the action is stored, synced to disk (`verdict`). Meanwhile
the session judges the next scan with the actions it handed over laid over the view, so a
second item scanned before the first commit landed counts both and never over-picks. An
action the journal could not store is taken back with every action judged after it, and
the session's own state (the bin scanned, the undo list) is put back as it was before it.
"""

import logging
from dataclasses import dataclass, replace
from enum import Enum
from typing import Literal, Protocol

from scanners.codes import Classified, LocationLabel, ProductCode, ToteCode, Unrecognised, UserBadge
from sync.api import AuthRequired, DeviceRefused, Offline, OrderApi, RequestRefused, ServerBusy, SessionChanged
from sync.connectivity import SyncState
from sync.engine import SyncEngine
from sync.journal_writer import REFUSED, STORED, WAITING, Submission
from sync.outbox import Mutation, Outbox
from sync.store.database import WriteFailed
from sync.view import LocalView, apply_effects

log = logging.getLogger(__name__)

SHORT_REASONS = ("not_found", "damaged", "qty_wrong")
# The server cannot be asked now: picking goes on from the device's copy (ARCHITECTURE.md §2).
_NOT_NOW = (Offline, ServerBusy, AuthRequired, DeviceRefused, SessionChanged)


class PickingState(Enum):
    """Where the picker is in a batch."""

    NO_BATCH = "no_batch"
    NEED_TOTES = "need_totes"
    NEED_LOCATION = "need_location"
    NEED_PRODUCT = "need_product"
    BATCH_DONE = "batch_done"


@dataclass(frozen=True)
class PickingOptions:
    """How strict picking is on this site, and how much work to claim for dead zones."""

    location_scan_required: bool = True
    claim_ahead: int = 0


@dataclass(frozen=True)
class Outcome:
    """What a scan or action led to; the view turns it into a sound, a colour and big text."""

    kind: Literal["accept", "reject", "done", "switch_user"]
    message: str
    badge: str | None = None  # the scanned badge, for kind "switch_user"
    # The action this verdict stands for: show it only once stored (PickingSession.verdict).
    saving: Submission | None = None
    # What the screen shows with this outcome, worked out with it; None: read it again.
    screen: "Screen | None" = None


@dataclass(frozen=True)
class TaskCard:
    """The current task as the picker sees it."""

    task_id: int
    order_number: str
    tote: str | None
    location_label: str
    product_name: str
    sku: str
    gtin: str
    qty: int
    picked_qty: int
    remaining: int
    location_confirmed: bool
    lines_done: int
    lines_total: int


@dataclass(frozen=True)
class ToteCard:
    """The order that needs a tote before picking starts."""

    order_id: int
    order_number: str
    orders_ready: int
    orders_total: int


@dataclass(frozen=True)
class BatchSummary:
    """How a batch went, for the end screen."""

    batch_id: int
    code: str
    lines_total: int
    lines_picked: int
    lines_short: int
    qty_picked: int
    queued_actions: int


@dataclass(frozen=True)
class Screen:
    """Everything the picking screen shows, read at one moment."""

    state: PickingState
    task: TaskCard | None
    tote: ToteCard | None
    summary: BatchSummary | None


class PickingCore(Protocol):
    """The parts of sync.client.ClientCore that picking needs."""

    outbox: Outbox
    view: LocalView
    api: OrderApi
    engine: SyncEngine


def _reject(message: str) -> Outcome:
    return Outcome("reject", message)


def _live(tasks: list[dict]) -> list[dict]:
    """Tasks still meant to be picked: a cancelled order's goods stay on the shelf."""
    return [t for t in tasks if t.get("order_status") != "cancelled"]


def _remaining(task: dict) -> int:
    return task["qty"] - task.get("picked_qty", 0)


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
        self._user_id = user_id  # narrows the local batches when the replica holds other pickers' too
        self.batch_id: int | None = None
        self.offline_reason: str | None = None
        self._codes: dict[int, str] = {}  # batch id -> code: a batch's code never changes
        # Actions handed to the writer and not known stored yet, each with the session's own
        # state from before it (to put back if it is refused).
        self._in_flight: list[tuple[Submission, tuple]] = []
        self.rollbacks = 0  # how often actions were taken back: a screen drops verdicts judged before
        self._new_batch_state()

    def _new_batch_state(self) -> None:
        self._skipped: list[int] = []
        self._front: int | None = None  # a task brought back by undo
        self._at_location: int | None = None  # the task whose bin label was scanned
        self._product_seen: dict[int, str] = {}  # task id -> GTIN verified there, for enter_quantity
        self._confirmations: list[Mutation] = []  # drafts: their ids are known before they are stored

    # --- actions on their way to the journal -------------------------------------------

    def _submit(self, name: str, args: dict) -> Submission:
        """Hand an action to the journal writer, after (and depending on) the ones still on their way."""
        after = self._in_flight[-1][0] if self._in_flight else None
        saved = (self.batch_id, list(self._skipped), self._front, self._at_location, dict(self._product_seen),
                 list(self._confirmations))
        submission = self._core.outbox.submit(self.user, name, args, after=after)
        self._in_flight.append((submission, saved))
        return submission

    def _reconcile(self) -> None:
        """Forget the actions stored since; take back the first refused one and all judged after it."""
        while self._in_flight and self._in_flight[0][0].state == STORED:
            self._in_flight.pop(0)
        for n, (submission, saved) in enumerate(self._in_flight):
            if submission.state == REFUSED:
                # Those after it depend on it (Outbox.submit's `after`): the writer refuses them too.
                (self.batch_id, self._skipped, self._front, self._at_location, self._product_seen,
                 self._confirmations) = saved
                del self._in_flight[n:]
                self.rollbacks += 1
                return

    def _submitted(self) -> list[Submission]:
        return [submission for submission, _ in self._in_flight]

    def waiting(self) -> int:
        """How many actions this session handed over are not stored yet."""
        return sum(1 for submission, _ in self._in_flight if submission.state == WAITING)

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
            refusal = f"Not saved: {exc}. Nothing was recorded; call IT, then scan again."
        except Exception as exc:  # noqa: BLE001 - told to the picker in plain words, the detail to the log
            log.error("an action could not be stored", exc_info=exc)
            refusal = "Not saved: this device could not record it. Nothing was recorded; call IT, then scan again."
        else:
            self._reconcile()
            return outcome
        self._reconcile()
        return _reject(refusal)

    def _predict(self, tasks: list[dict], submission: Submission, confirmations: list[Mutation] = ()) -> None:
        """Lay an action just handed over on the tasks read for it (in place): what the screen shows next."""
        known = {m.id: m for m in (*self._confirmations, *confirmations)}
        apply_effects("pick_task", {t["id"]: t for t in tasks}, [submission.draft], known)

    # --- batch ---------------------------------------------------------------------

    def start(self) -> Outcome:
        """Claim (online) or take up (offline) the next batch with open work."""
        claimed = self._claim()
        self._new_batch_state()
        self.batch_id = self._first_open_batch(claimed)
        if self.batch_id is None:
            return _reject("No batch to pick." if claimed is not None
                           else f"No batch on this device and the server is out of reach ({self.offline_reason})")
        where = "" if claimed is not None else " (offline)"
        live = _live(self._tasks())
        return Outcome("accept", f"Batch {self._batch_code()}: {len(live)} lines{where}")

    def _claim(self) -> list[int] | None:
        """Ids of the batches the server gave this picker, pulled into the view; None when offline."""
        # When the engine already knows the network is down (a dead zone), one short attempt
        # instead of a round of 10 s connect timeouts: the picker goes on with the local batch.
        quick = self._core.engine.connectivity.state is SyncState.OFFLINE
        try:
            batches = self._core.api.claim_batches(self.options.claim_ahead, quick=quick)
        except _NOT_NOW as exc:
            # Work already on the device can be picked without the server (ARCHITECTURE.md §2).
            log.info("Picking from the local copy: %s", exc)
            self.offline_reason = str(exc)
            return None
        self.offline_reason = None
        self._core.engine.pull_now()
        return [b["batch"]["id"] for b in batches]

    def renew_lease(self) -> Outcome | None:
        """Keep the batch claimed while picking (network: off the UI thread).

        None while it went fine or the server is out of reach (the lease is renewed once it is
        back; work done meanwhile is judged by the server, ARCHITECTURE.md §2); a reject when
        the batch has gone to someone else.
        """
        if self.batch_id is None or self.state is PickingState.BATCH_DONE:
            return None
        try:
            self._core.api.renew_batch(self.batch_id)
        except _NOT_NOW as exc:
            log.info("lease of batch %s not renewed now: %s", self.batch_id, exc)
            return None
        except RequestRefused as exc:
            if exc.code == "lease_lost":
                return _reject(f"Batch {self._batch_code()} was given to someone else: ask a supervisor.")
            raise
        return None

    def _first_open_batch(self, claimed: list[int] | None) -> int | None:
        if claimed is None:
            local = self._core.view.rows("pick_batch", status="claimed")
            claimed = sorted(b["id"] for b in local if self._user_id is None or b["claimed_by"] == self._user_id)
        for batch_id in claimed:
            tasks = self._core.view.rows("pick_task", batch_id=batch_id, submitted=self._submitted())
            if any(t["status"] == "open" for t in _live(tasks)):
                return batch_id
        return None

    def _batch_code(self) -> str:
        if self.batch_id is None:
            return "None"
        if self.batch_id not in self._codes:
            row = self._core.view.row("pick_batch", self.batch_id)
            if row is None:
                return str(self.batch_id)
            self._codes[self.batch_id] = row["code"]
        return self._codes[self.batch_id]

    def _tasks(self) -> list[dict]:
        """The batch's tasks from the local view, with the actions still on their way to the journal."""
        if self.batch_id is None:
            return []
        return self._core.view.rows("pick_task", batch_id=self.batch_id, submitted=self._submitted())

    # --- reading the state ---------------------------------------------------------

    def _queue(self, tasks: list[dict]) -> list[dict]:
        """Open tasks in walking order; skipped ones last, a task brought back by undo first."""
        open_tasks = sorted((t for t in _live(tasks) if t["status"] == "open"),
                            key=lambda t: (t["route_key"], t["id"]))
        by_id = {t["id"]: t for t in open_tasks}
        skipped = [by_id[i] for i in self._skipped if i in by_id]
        queue = [t for t in open_tasks if t["id"] not in self._skipped] + skipped
        # A task brought back by undo comes first; the bin the picker stands at (its label was
        # scanned) stays current even if a pull brings new work meanwhile, e.g. a short
        # reallocated to another bin.
        for keep in (self._front, self._at_location):
            if keep in by_id:
                queue.remove(by_id[keep])
                queue.insert(0, by_id[keep])
        return queue

    @staticmethod
    def _orders_without_tote(tasks: list[dict]) -> list[dict]:
        """One task per order of the batch that has no tote yet, in order id order."""
        found: dict[int, dict] = {}
        for t in _live(tasks):
            if not t.get("tote"):
                found.setdefault(t["order_id"], t)
        return [found[k] for k in sorted(found)]

    def _state_of(self, tasks: list[dict], queue: list[dict]) -> PickingState:
        if self.batch_id is None:
            return PickingState.NO_BATCH
        if self._orders_without_tote(tasks):
            return PickingState.NEED_TOTES
        if not queue:
            return PickingState.BATCH_DONE
        if self.options.location_scan_required and self._at_location != queue[0]["id"]:
            return PickingState.NEED_LOCATION
        return PickingState.NEED_PRODUCT

    def _look(self, tasks: list[dict] | None = None) -> tuple[list[dict], list[dict], PickingState]:
        """Tasks of the batch (read once per scan or action unless given), the walk and the state."""
        if tasks is None:
            tasks = self._tasks()
        queue = self._queue(tasks)
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
        return None if self.batch_id is None else self._summary(_live(self._tasks()))

    def _summary(self, live: list[dict]) -> BatchSummary:
        queued = self._core.outbox.pending_count() + self.waiting()
        return BatchSummary(self.batch_id, self._batch_code(), len(live),
                            sum(1 for t in live if t["status"] == "done"),
                            sum(1 for t in live if t["status"] == "short"),
                            sum(t.get("picked_qty", 0) for t in live), queued)

    def screen(self) -> "Screen":
        """State, task, tote and totals from one read of the local view, so they agree.

        The view changes under the screen (pulls, pushes, rejections on the sync threads);
        reading the state and then the task separately could see two different batches.
        """
        return self._screen_of(*self._look())

    def _screen_of(self, tasks: list[dict], queue: list[dict], state: PickingState) -> "Screen":
        live = _live(tasks)
        task = tote = summary = None
        if state in (PickingState.NEED_LOCATION, PickingState.NEED_PRODUCT):
            t = queue[0]
            task = TaskCard(t["id"], t["order_number"], t.get("tote"), t["location_label"], t["product_name"],
                            t["sku"], t["gtin"], t["qty"], t.get("picked_qty", 0), _remaining(t),
                            location_confirmed=self._at_location == t["id"],
                            lines_done=sum(1 for x in live if x["status"] != "open"), lines_total=len(live))
        elif state is PickingState.NEED_TOTES:
            missing = self._orders_without_tote(tasks)
            orders = {t["order_id"] for t in live}
            tote = ToteCard(missing[0]["order_id"], missing[0]["order_number"], len(orders) - len(missing),
                            len(orders))
        elif state is PickingState.BATCH_DONE:
            summary = self._summary(live)
        return Screen(state, task, tote, summary)

    def _shown_with(self, outcome: Outcome, tasks: list[dict]) -> Outcome:
        """The outcome with the screen that goes with it, from the tasks read (and predicted) for it."""
        return replace(outcome, screen=self._screen_of(*self._look(tasks)))

    # --- scans ---------------------------------------------------------------------

    def scan(self, code: Classified) -> Outcome:
        """React to one classified scan."""
        self._reconcile()
        match code:
            case Unrecognised(reason=reason):
                return _reject(reason)
            case UserBadge(code=badge):
                return Outcome("switch_user", f"Badge {badge}", badge=badge)
            case ToteCode() | LocationLabel() | ProductCode():
                tasks = self._tasks()
                if isinstance(code, ToteCode):
                    outcome = self._scan_tote(code, tasks)
                elif isinstance(code, LocationLabel):
                    outcome = self._scan_location(code, tasks)
                else:
                    outcome = self._scan_product(code, tasks)
                return self._shown_with(outcome, tasks)
        return _reject(f"Cannot use this scan here: {code!r}")

    def _not_picking(self, state: PickingState, tasks: list[dict]) -> Outcome | None:
        """The reject for a pick-time scan or action outside a task, else None."""
        if state is PickingState.NO_BATCH:
            return _reject("No batch: start picking first.")
        if state is PickingState.NEED_TOTES:
            return _reject(f"Scan a tote for order {self._orders_without_tote(tasks)[0]['order_number']} first.")
        if state is PickingState.BATCH_DONE:
            return _reject(f"Batch {self._batch_code()} is done.")
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
                return _reject(f"Wrong tote: this goes into {tote}.")
            return Outcome("accept", f"Tote {tote}")
        return self._not_picking(state, tasks)

    def _assign_tote(self, tasks: list[dict], tote: str) -> Outcome:
        order = self._orders_without_tote(tasks)[0]
        holder = next((t for t in _live(tasks) if t.get("tote") == tote and t["order_id"] != order["order_id"]), None)
        if holder is not None:
            return _reject(f"Tote {tote} already holds order {holder['order_number']}.")
        saving = self._submit("tote.assign", {"batch": self.batch_id, "order": order["order_id"], "tote": tote})
        self._predict(tasks, saving)
        waiting = self._orders_without_tote(tasks)
        if waiting:
            then = f"next: tote for {waiting[0]['order_number']}"
        else:
            then = f"go to {self._queue(tasks)[0]['location_label']}"
        return Outcome("accept", f"Tote {tote} for {order['order_number']}; {then}", saving=saving)

    def _scan_location(self, code: LocationLabel, tasks: list[dict]) -> Outcome:
        task, state, refused = self._task_or_refusal(tasks)
        if refused is not None:
            return refused
        if code.label != task["location_label"]:
            return _reject(f"Wrong location: scanned {code.label}, go to {task['location_label']}")
        self._at_location = task["id"]
        return Outcome("accept", f"{task['location_label']}: pick {_remaining(task)} × {task['product_name']}")

    def _scan_product(self, code: ProductCode, tasks: list[dict]) -> Outcome:
        task, state, refused = self._task_or_refusal(tasks)
        if refused is not None:
            return refused
        if state is PickingState.NEED_LOCATION:
            return _reject(f"Scan the location first: go to {task['location_label']}")
        if code.gtin != _gtin14(task["gtin"]):
            return _reject(f"Wrong product: scanned {code.gtin13 or code.gtin}, "
                           f"pick {task['product_name']} ({task['gtin']})")
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
            return _reject(f"The task changed while counting: now {task['location_label']}. Count again.")
        barcode = self._product_seen.get(task["id"])
        if state is PickingState.NEED_LOCATION or barcode is None:
            return _reject("Scan the location and one item first, then enter the count.")
        if qty < 1:
            return _reject("Enter a count of at least 1.")
        return self._shown_with(self._confirm(tasks, task, qty, barcode), tasks)

    def _confirm(self, tasks: list[dict], task: dict, qty: int, barcode: str) -> Outcome:
        remaining = _remaining(task)
        if qty > remaining:
            return _reject(f"Too many: {qty} counted, only {remaining} still needed here.")
        args = {"task": task["id"], "location": task["location_label"], "qty": qty, "barcode": barcode}
        picked = task.get("picked_qty", 0) + qty
        saving = self._submit("pick.confirm", args)
        self._confirmations.append(saving.draft)
        self._at_location = task["id"]
        self._predict(tasks, saving)
        if qty < remaining:
            return Outcome("accept", f"{picked} of {task['qty']} {task['product_name']}", saving=saving)
        if self._front == task["id"]:
            self._front = None
        return self._moved_on(tasks, f"{task['location_label']} complete", saving)

    def _moved_on(self, tasks: list[dict], what: str, saving: Submission) -> Outcome:
        """The outcome after a task closed: the next bin, or done."""
        queue = self._queue(tasks)
        if not queue:
            return Outcome("done", f"{what}. Batch {self._batch_code()} done.", saving=saving)
        return Outcome("accept", f"{what}. Next: {queue[0]['location_label']}", saving=saving)

    def short(self, reason: str) -> Outcome:
        """The rest of the current task is not there: report why and move on."""
        if reason not in SHORT_REASONS:
            raise ValueError(f"short reason must be one of {SHORT_REASONS}, not {reason!r}")
        self._reconcile()
        tasks = self._tasks()
        task, _, refused = self._task_or_refusal(tasks)
        if refused is not None:
            return refused
        saving = self._submit("pick.short", {"task": task["id"], "reason": reason})
        self._at_location = None
        self._predict(tasks, saving)
        return self._shown_with(self._moved_on(tasks, f"Short at {task['location_label']}", saving), tasks)

    def skip(self) -> Outcome:
        """Put the current task at the end of the walk (local only; the server is not told)."""
        self._reconcile()
        tasks, queue, state = self._look()
        refused = self._not_picking(state, tasks)
        if refused is not None:
            return refused
        if len(queue) == 1:
            return _reject("Nothing to skip to: this is the last task.")
        task_id = queue[0]["id"]
        if task_id in self._skipped:
            self._skipped.remove(task_id)
        self._skipped.append(task_id)
        self._front = None if self._front == task_id else self._front
        self._at_location = None
        outcome = Outcome("accept", f"Skipped {queue[0]['location_label']}. Next: {queue[1]['location_label']}")
        return self._shown_with(outcome, tasks)

    def undo_last(self) -> Outcome:
        """Take back the last confirmed scan of this batch; its task becomes current again."""
        self._reconcile()
        if not self._confirmations:
            return _reject("Nothing to undo.")
        tasks = self._tasks()
        m = self._confirmations[-1]
        task_id = m.args["task"]
        saving = self._submit("pick.undo", {"task": task_id, "confirmation": m.id})
        self._confirmations.pop()
        # The picker is still at that bin, putting the items back.
        self._front = self._at_location = task_id
        self._predict(tasks, saving, confirmations=[m])
        outcome = Outcome("accept", f"Undone: put {m.args['qty']} back at {m.args['location']}", saving=saving)
        return self._shown_with(outcome, tasks)
