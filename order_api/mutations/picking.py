"""pick.confirm, pick.short, pick.undo and tote.assign: server-authoritative picking."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.actions import PickConfirm, PickShort, PickUndo, ToteAssign
from contract.rejections import Rejection as R
from order_api.feed import (
    publish_batch, publish_line, publish_order, publish_stock, publish_stock_check, publish_task,
)
from order_api.models import Location, Order, PickBatch, PickEvent, PickTask, Stock, StockCheck
from order_api.mutations.handler import Actor, Rejected, handles
from order_api.mutations.floor import PickFloor

# An order holds its tote from the moment it is put in one until it is packed (or cancelled).
TOTE_BUSY = ("released", "picking", "picked", "held")  # a held order waits in its tote


def _task(s: Session, task_id: int) -> PickTask:
    # PostgreSQL: lock the row against another device's push. SQLite has one writer at a
    # time, so the copy already in this session is current and no SELECT is needed.
    task = s.get(PickTask, task_id, with_for_update=s.get_bind().dialect.name != "sqlite")
    if task is None:
        raise Rejected(R.UNKNOWN_TASK, f"Pick task {task_id} does not exist.")
    return task


def _check_lease(batch: PickBatch, actor: Actor) -> None:
    """Work on a batch counts only for the user holding it; an expired lease nobody took is fine."""
    if batch.claimed_by != actor.user.id:
        if batch.claimed_by is None:
            raise Rejected(R.LEASE_LOST, f"Batch {batch.code} is no longer claimed by {actor.user.username}.")
        raise Rejected(R.LEASE_LOST, f"Batch {batch.code} is now held by another picker.")


def _check_order_open(order: Order) -> None:
    if order.status == "cancelled":
        raise Rejected(R.ORDER_CANCELLED, f"Order {order.number} was cancelled; put the items back.")
    if order.status in ("packed", "shipped"):
        raise Rejected(R.ORDER_CLOSED, f"Order {order.number} is already {order.status}.")


def _same_product(barcode: str, gtin: str, sku: str) -> bool:
    code = barcode.strip()
    # A GTIN-13 read as GTIN-14 (case codes, GS1 AI 01) carries a leading zero.
    return code == sku or (code.isdigit() and code.lstrip("0") == gtin.lstrip("0"))


def _refresh_progress(s: Session, task: PickTask) -> None:
    """Recompute order and batch status after one task (and its line) changed; publish what moved."""
    order, batch = task.line.order, task.batch
    order_before, batch_before = order.status, batch.status
    if order.status in ("released", "picking", "picked"):
        done = all(ln.picked_qty + ln.short_qty >= ln.qty for ln in order.lines)
        order.status = "picked" if done else "picking"
    if batch.status in ("claimed", "done"):
        batch.status = "claimed" if any(t.status == "open" for t in batch.tasks) else "done"
    publish_task(s, task)
    if order.status != order_before:
        # The order may enter or leave the packing audience (with its lines), and every
        # task of the order carries its status.
        publish_order(s, order)
        for t in batch.tasks:
            if t.line.order_id == order.id:
                publish_task(s, t)
    else:
        publish_line(s, task.line)
    if batch.status != batch_before:
        publish_batch(s, batch, with_tasks=False)


@handles(PickConfirm, floor=PickFloor)
def confirm_pick(floor: PickFloor, actor: Actor, a: PickConfirm) -> None:
    """The picker took qty of the task's product from the task's location."""
    task = floor.task(a.task)
    if task is None:
        raise Rejected(R.UNKNOWN_TASK, f"Pick task {a.task} does not exist.")
    _check_lease(task.batch, actor)
    _check_order_open(task.line.order)
    if a.location.strip() != task.location.label:
        raise Rejected(R.WRONG_LOCATION, f"Scanned location {a.location!r}; the task is at {task.location.label}.")
    product = task.line.product
    if not _same_product(a.barcode, product.gtin, product.sku):
        raise Rejected(R.WRONG_PRODUCT, f"Scanned {a.barcode!r}; the task is for {product.name} ({product.gtin}).")
    remaining = task.qty - task.picked_qty
    if task.status != "open" or a.qty > remaining:
        raise Rejected(R.OVER_PICK, f"Only {remaining if task.status == 'open' else 0} more may be picked for this task.")
    # Checked; from here on the floor changes (PickFloor.writes guards that order).
    floor.record_pick(task, actor.user.id, actor.device_id, actor.mutation_id, a.qty, actor.now)
    task.picked_qty += a.qty
    task.line.picked_qty += a.qty
    if task.picked_qty == task.qty:
        task.status = "done"
    stock = floor.stock_of(task)
    # The goods physically moved; a count below zero means the bin record was wrong,
    # which the stock check of a short pick corrects, so clamp instead of refusing.
    stock.qty = max(0, stock.qty - a.qty)
    publish_stock(floor.session, stock)
    _refresh_progress(floor.session, task)


def _move_stock(s: Session, task: PickTask, delta: int) -> None:
    stock = s.execute(
        select(Stock).where(Stock.location_id == task.location_id, Stock.product_id == task.line.product_id)
        .with_for_update()
    ).scalar_one_or_none()
    if stock is None:
        stock = Stock(location_id=task.location_id, product_id=task.line.product_id, qty=0)
        s.add(stock)
        s.flush()
    # The goods physically moved; a count below zero means the bin record was wrong,
    # which the stock check of a short pick corrects, so clamp instead of refusing.
    stock.qty = max(0, stock.qty + delta)
    publish_stock(s, stock)


@handles(PickShort)
def short_pick(s: Session, actor: Actor, a: PickShort) -> None:
    """The rest of a task cannot be picked here: count the bin, pick it elsewhere if possible."""
    task = _task(s, a.task)
    _check_lease(task.batch, actor)
    _check_order_open(task.line.order)
    if task.status != "open":
        raise Rejected(R.TASK_CLOSED, f"Task {task.id} is already {task.status}.")
    missing = task.qty - task.picked_qty
    task.status, task.short_reason = "short", a.reason
    check = StockCheck(location_id=task.location_id, product_id=task.line.product_id, reason=a.reason,
                       raised_by=actor.user.id, created_at=actor.now)
    s.add(check)
    s.flush()
    publish_stock_check(s, check)
    missing -= _reallocate(s, task, missing)
    task.line.short_qty += missing
    _refresh_progress(s, task)


def _reallocate(s: Session, task: PickTask, missing: int) -> int:
    """New tasks in the same batch for bins that still hold the product; returns qty placed."""
    already = {t.location_id for t in task.batch.tasks if t.line_id == task.line_id}
    candidates = s.execute(
        select(Stock, Location).join(Location, Location.id == Stock.location_id)
        .where(Stock.product_id == task.line.product_id, Stock.qty > 0, Stock.location_id.not_in(already))
        .order_by(Location.route_key)
    ).all()
    placed = 0
    for stock, location in candidates:
        if placed >= missing:
            break
        qty = min(stock.qty, missing - placed)
        new = PickTask(batch_id=task.batch_id, line_id=task.line_id, location_id=location.id,
                       route_key=location.route_key, qty=qty, picked_qty=0, status="open")
        s.add(new)
        task.batch.tasks.append(new)
        s.flush()
        publish_task(s, new)
        placed += qty
    return placed


@handles(PickUndo)
def undo_pick(s: Session, actor: Actor, a: PickUndo) -> None:
    """Take back a confirmed pick: the items go back into the bin."""
    task = _task(s, a.task)
    _check_lease(task.batch, actor)
    order = task.line.order
    if order.status in ("packed", "shipped"):
        raise Rejected(R.ORDER_CLOSED, f"Order {order.number} is already {order.status}; it cannot be unpicked.")
    q = select(PickEvent).where(PickEvent.task_id == task.id, PickEvent.undone.is_(False))
    if a.confirmation:
        # The confirmation is a mutation id of this device's own queue (ids are unique per device).
        q = q.where(PickEvent.device_id == actor.device_id, PickEvent.mutation_id == a.confirmation)
    event = s.execute(q.order_by(PickEvent.id.desc()).limit(1)).scalar_one_or_none()
    if event is None:
        raise Rejected(R.NOTHING_TO_UNDO, f"Task {task.id} has no confirmed pick to undo.")
    event.undone = True
    task.picked_qty -= event.qty
    task.line.picked_qty -= event.qty
    if task.status == "done":
        task.status = "open"
    _move_stock(s, task, event.qty)
    _refresh_progress(s, task)


@handles(ToteAssign)
def assign_tote(s: Session, actor: Actor, a: ToteAssign) -> None:
    """Put an order of the batch into a tote, which must not hold another open order."""
    batch = s.get(PickBatch, a.batch, with_for_update=True)
    if batch is None:
        raise Rejected(R.UNKNOWN_BATCH, f"Batch {a.batch} does not exist.")
    _check_lease(batch, actor)
    order = s.get(Order, a.order)
    if order is None or order.batch_id != batch.id:
        raise Rejected(R.ORDER_NOT_IN_BATCH, f"Order {a.order} is not part of batch {batch.code}.")
    _check_order_open(order)
    tote = a.tote.strip()
    other = s.execute(
        select(Order.number).where(Order.tote == tote, Order.id != order.id, Order.status.in_(TOTE_BUSY))
    ).first()
    if other is not None:
        raise Rejected(R.TOTE_IN_USE, f"Tote {tote} already holds order {other.number}.")
    order.tote = tote
    publish_order(s, order)
    for task in batch.tasks:
        if task.line.order_id == order.id:
            publish_task(s, task)
