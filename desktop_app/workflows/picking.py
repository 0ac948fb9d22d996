"""Picking one batch: a state machine driven by classified scans and the picker's actions.

Everything the session shows is read from the local view (replica plus queued effects),
so a restart mid-batch resumes at the right task and picking works offline. Each right
product scan is its own durable `pick.confirm` (qty 1, or the GS1 AI 30 count): nothing
scanned is lost if the device dies mid-task, and "undo last" takes back exactly one scan.
"""

import functools
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Literal, Protocol

from scanners.codes import Classified, LocationLabel, ProductCode, ToteCode, Unrecognised, UserBadge
from sync.api import AuthRequired, Offline, OrderApi, RequestRefused, ServerBusy
from sync.engine import SyncEngine
from sync.outbox import Mutation, Outbox
from sync.store.database import WriteFailed
from sync.view import LocalView

log = logging.getLogger(__name__)

SHORT_REASONS = ("not_found", "damaged", "qty_wrong")


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


def _saving(operation):
    """An operation that records an action: a store that cannot write it is a refusal the picker sees."""

    @functools.wraps(operation)
    def run(self, *args, **kwargs) -> Outcome:
        try:
            return operation(self, *args, **kwargs)
        except WriteFailed as exc:
            # Every operation writes before it changes its own state, so a failed write
            # leaves the session as it was: the same scan works once the disk has room.
            return _reject(f"Not saved: {exc}. Nothing was recorded; call IT, then scan again.")

    return run


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
    operation only reads the local view and appends to the outbox.
    """

    def __init__(self, core: PickingCore, user: str, options: PickingOptions | None = None,
                 user_id: int | None = None) -> None:
        self._core = core
        self.user = user
        self.options = options or PickingOptions()
        self._user_id = user_id  # narrows the local batches when the replica holds other pickers' too
        self.batch_id: int | None = None
        self.offline_reason: str | None = None
        self._new_batch_state()

    def _new_batch_state(self) -> None:
        self._skipped: list[int] = []
        self._front: int | None = None  # a task brought back by undo
        self._at_location: int | None = None  # the task whose bin label was scanned
        self._product_seen: dict[int, str] = {}  # task id -> GTIN verified there, for enter_quantity
        self._confirmations: list[Mutation] = []

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
        try:
            batches = self._core.api.claim_batches(self.options.claim_ahead)
        except (Offline, ServerBusy, AuthRequired) as exc:
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
        except (Offline, ServerBusy, AuthRequired) as exc:
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
            if any(t["status"] == "open" for t in _live(self._core.view.rows("pick_task", batch_id=batch_id))):
                return batch_id
        return None

    def _batch_code(self) -> str:
        row = self._core.view.row("pick_batch", self.batch_id) if self.batch_id is not None else None
        return row["code"] if row else str(self.batch_id)

    def _tasks(self) -> list[dict]:
        return self._core.view.rows("pick_task", batch_id=self.batch_id) if self.batch_id is not None else []

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

    def _look(self) -> tuple[list[dict], list[dict], PickingState]:
        """Tasks of the batch, the walk and the state, read once per scan or action."""
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
        return BatchSummary(self.batch_id, self._batch_code(), len(live),
                            sum(1 for t in live if t["status"] == "done"),
                            sum(1 for t in live if t["status"] == "short"),
                            sum(t.get("picked_qty", 0) for t in live), self._core.outbox.counts()[0])

    def screen(self) -> "Screen":
        """State, task, tote and totals from one read of the local view, so they agree.

        The view changes under the screen (pulls, pushes, rejections on the sync threads);
        reading the state and then the task separately could see two different batches.
        """
        tasks, queue, state = self._look()
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

    # --- scans ---------------------------------------------------------------------

    @_saving
    def scan(self, code: Classified) -> Outcome:
        """React to one classified scan."""
        match code:
            case Unrecognised(reason=reason):
                return _reject(reason)
            case UserBadge(code=badge):
                return Outcome("switch_user", f"Badge {badge}", badge=badge)
            case ToteCode():
                return self._scan_tote(code)
            case LocationLabel():
                return self._scan_location(code)
            case ProductCode():
                return self._scan_product(code)
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

    def _task_or_refusal(self) -> tuple[dict | None, PickingState, Outcome | None]:
        """The current task, or why a pick-time scan or action does not fit now."""
        tasks, queue, state = self._look()
        refused = self._not_picking(state, tasks)
        return (None if refused else queue[0]), state, refused

    def _scan_tote(self, code: ToteCode) -> Outcome:
        tasks, queue, state = self._look()
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
        self._core.outbox.append(self.user, "tote.assign",
                                 {"batch": self.batch_id, "order": order["order_id"], "tote": tote})
        waiting = self.tote_needed()
        if waiting is not None:
            then = f"next: tote for {waiting.order_number}"
        else:
            then = f"go to {self._queue(self._tasks())[0]['location_label']}"
        return Outcome("accept", f"Tote {tote} for {order['order_number']}; {then}")

    def _scan_location(self, code: LocationLabel) -> Outcome:
        task, state, refused = self._task_or_refusal()
        if refused is not None:
            return refused
        if code.label != task["location_label"]:
            return _reject(f"Wrong location: scanned {code.label}, go to {task['location_label']}")
        self._at_location = task["id"]
        return Outcome("accept", f"{task['location_label']}: pick {_remaining(task)} × {task['product_name']}")

    def _scan_product(self, code: ProductCode) -> Outcome:
        task, state, refused = self._task_or_refusal()
        if refused is not None:
            return refused
        if state is PickingState.NEED_LOCATION:
            return _reject(f"Scan the location first: go to {task['location_label']}")
        if code.gtin != _gtin14(task["gtin"]):
            return _reject(f"Wrong product: scanned {code.gtin13 or code.gtin}, "
                           f"pick {task['product_name']} ({task['gtin']})")
        self._product_seen[task["id"]] = code.gtin
        return self._confirm(task, code.quantity or 1, code.gtin)

    # --- actions -------------------------------------------------------------------

    @_saving
    def enter_quantity(self, qty: int, task_id: int | None = None) -> Outcome:
        """Count the rest by hand: confirm qty more of the product already scanned at this task.

        task_id is the task the count was asked for; if another task has become current
        meanwhile the count is refused rather than booked on the wrong bin.
        """
        task, state, refused = self._task_or_refusal()
        if refused is not None:
            return refused
        if task_id is not None and task["id"] != task_id:
            return _reject(f"The task changed while counting: now {task['location_label']}. Count again.")
        barcode = self._product_seen.get(task["id"])
        if state is PickingState.NEED_LOCATION or barcode is None:
            return _reject("Scan the location and one item first, then enter the count.")
        if qty < 1:
            return _reject("Enter a count of at least 1.")
        return self._confirm(task, qty, barcode)

    def _confirm(self, task: dict, qty: int, barcode: str) -> Outcome:
        remaining = _remaining(task)
        if qty > remaining:
            return _reject(f"Too many: {qty} counted, only {remaining} still needed here.")
        args = {"task": task["id"], "location": task["location_label"], "qty": qty, "barcode": barcode}
        m = self._core.outbox.append(self.user, "pick.confirm", args)
        self._confirmations.append(m)
        self._at_location = task["id"]
        if qty < remaining:
            return Outcome("accept", f"{task['picked_qty'] + qty} of {task['qty']} {task['product_name']}")
        if self._front == task["id"]:
            self._front = None
        return self._moved_on(f"{task['location_label']} complete")

    def _moved_on(self, what: str) -> Outcome:
        """The outcome after a task closed: the next bin, or done."""
        queue = self._queue(self._tasks())
        if not queue:
            return Outcome("done", f"{what}. Batch {self._batch_code()} done.")
        return Outcome("accept", f"{what}. Next: {queue[0]['location_label']}")

    @_saving
    def short(self, reason: str) -> Outcome:
        """The rest of the current task is not there: report why and move on."""
        if reason not in SHORT_REASONS:
            raise ValueError(f"short reason must be one of {SHORT_REASONS}, not {reason!r}")
        task, _, refused = self._task_or_refusal()
        if refused is not None:
            return refused
        self._core.outbox.append(self.user, "pick.short", {"task": task["id"], "reason": reason})
        self._at_location = None
        return self._moved_on(f"Short at {task['location_label']}")

    def skip(self) -> Outcome:
        """Put the current task at the end of the walk (local only; the server is not told)."""
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
        return Outcome("accept", f"Skipped {queue[0]['location_label']}. Next: {queue[1]['location_label']}")

    @_saving
    def undo_last(self) -> Outcome:
        """Take back the last confirmed scan of this batch; its task becomes current again."""
        if not self._confirmations:
            return _reject("Nothing to undo.")
        m = self._confirmations[-1]
        task_id = m.args["task"]
        self._core.outbox.append(self.user, "pick.undo", {"task": task_id, "confirmation": m.id})
        self._confirmations.pop()
        # The picker is still at that bin, putting the items back.
        self._front = self._at_location = task_id
        return Outcome("accept", f"Undone: put {m.args['qty']} back at {m.args['location']}")
