"""The pick floor of one push: the batches its picks touch, loaded with a few set-based queries.

A push of 250 pick.confirm touches a handful of batches again and again. Loading each task,
line, order and stock row through the ORM cost about a dozen statements and an object
graph per pick; the floor instead reads every task, line, order and stock row of the
batches involved in six statements, lets the handlers change plain rows in memory, and
writes what changed in one executemany per table when the run of picks ends.

The rows carry the same attribute names as the ORM models, so the feed's data builders
(order_api.feed) and the picking rules (order_api.mutations.picking) work on both.
"""

from dataclasses import field, make_dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from order_api.models import Location, Order, OrderLine, PickBatch, PickEvent, PickTask, Product, Stock

_tasks, _lines, _orders = PickTask.__table__, OrderLine.__table__, Order.__table__
_batches, _stock, _events = PickBatch.__table__, Stock.__table__, PickEvent.__table__


def _row_class(name: str, table, columns: tuple[str, ...] | None = None, links: tuple[str, ...] = ()) -> type:
    """A plain row class with the table's columns (all, or those named) and links to other rows.

    Derived from the ORM table, so a column added to the model is a field here too.
    """
    names = [c.name for c in table.columns if columns is None or c.name in columns]
    if columns is not None and len(names) != len(columns):
        raise ValueError(f"{table.name} has no column {sorted(set(columns) - set(names))}")
    cls = make_dataclass(name, [(n, object) for n in names]
                         + [(n, object, field(default_factory=list) if n in ("lines", "tasks") else field(default=None))
                            for n in links], slots=True, eq=False)
    cls.COLUMNS = tuple(names)
    return cls


def _row(cls: type, r, **links):
    """A row object from a result row holding (at least) the class's columns."""
    return cls(**{n: getattr(r, n) for n in cls.COLUMNS}, **links)


# The rows carry the ORM models' attribute names (see the module's docstring).
ProductRow = _row_class("ProductRow", Product.__table__, ("id", "sku", "gtin", "name"))
LocationRow = _row_class("LocationRow", Location.__table__, ("id", "label"))
OrderRow = _row_class("OrderRow", _orders, ("id", "number", "customer", "status", "tote", "batch_id", "packing_note",
                                             "hold_reason"), ("lines",))
LineRow = _row_class("LineRow", _lines, None, ("product", "order"))
BatchRow = _row_class("BatchRow", _batches, ("id", "code", "status", "claimed_by", "lease_expires"), ("tasks",))
TaskRow = _row_class("TaskRow", _tasks, None, ("location", "batch", "line"))
StockRow = _row_class("StockRow", _stock)


class PickFloor:
    """Tasks, lines, orders, batches and stock of the batches a push works on, changed in memory."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._lock = session.get_bind().dialect.name != "sqlite"
        self.tasks: dict[int, TaskRow] = {}
        self._missing: set[int] = set()
        self._lines: dict[int, LineRow] = {}
        self._orders: dict[int, OrderRow] = {}
        self._batches: dict[int, BatchRow] = {}
        self._stock: dict[tuple[int, int], StockRow] = {}
        self._loaded: dict[tuple[str, int], tuple] = {}  # what each row held when read
        self._events: list[dict] = []
        self.writes = 0  # changes recorded so far; a rejection must not follow one

    # -- reading --------------------------------------------------------------------------

    def task(self, task_id: int) -> TaskRow | None:
        """The task with its batch, line, order and product, or None if there is no such task."""
        if task_id not in self.tasks and task_id not in self._missing:
            self.load([task_id])
        return self.tasks.get(task_id)

    def load(self, task_ids: Iterable[int]) -> None:
        """Read every row of the batches holding these tasks that is not read yet."""
        wanted = {t for t in task_ids if isinstance(t, int) and t not in self.tasks and t not in self._missing}
        if not wanted:
            return
        s = self.session
        batch_ids = set()
        for chunk in _chunks(sorted(wanted)):
            batch_ids.update(s.execute(select(_tasks.c.batch_id).where(_tasks.c.id.in_(chunk))).scalars())
        batch_ids -= self._batches.keys()
        for chunk in _chunks(sorted(batch_ids)):
            self._read_batches(chunk)
        self._missing.update(t for t in wanted if t not in self.tasks)

    def _read_batches(self, batch_ids: list[int]) -> None:
        s = self.session
        for r in s.execute(select(_batches.c.id, _batches.c.code, _batches.c.status, _batches.c.claimed_by,
                                  _batches.c.lease_expires).where(_batches.c.id.in_(batch_ids))):
            self._batches[r.id] = self._keep("batch", _row(BatchRow, r))
        loc = Location.__table__
        task_query = (select(*_tasks.c, loc.c.label).join(loc, loc.c.id == _tasks.c.location_id)
                      .where(_tasks.c.batch_id.in_(batch_ids)).order_by(_tasks.c.id))
        if self._lock:
            # PostgreSQL: another device's push must wait for these tasks (always in id order).
            task_query = task_query.with_for_update(of=_tasks)
        new_tasks = []
        for r in s.execute(task_query):
            task = _row(TaskRow, r, location=LocationRow(id=r.location_id, label=r.label))
            self.tasks[task.id] = self._keep("task", task)
            new_tasks.append(task)
        product = Product.__table__
        order_ids = select(_lines.c.order_id).where(_lines.c.id.in_(sorted({t.line_id for t in new_tasks})))
        for r in s.execute(select(*_lines.c, product.c.sku, product.c.gtin, product.c.name)
                           .join(product, product.c.id == _lines.c.product_id)
                           .where(_lines.c.order_id.in_(order_ids)).order_by(_lines.c.id)):
            if r.id not in self._lines:
                self._lines[r.id] = self._keep("line", _row(
                    LineRow, r, product=ProductRow(id=r.product_id, sku=r.sku, gtin=r.gtin, name=r.name)))
        new_orders = {ln.order_id for ln in self._lines.values() if ln.order is None} - self._orders.keys()
        order_columns = [_orders.c[name] for name in OrderRow.COLUMNS]
        for r in s.execute(select(*order_columns).where(_orders.c.id.in_(sorted(new_orders)))):
            self._orders[r.id] = self._keep("order", _row(OrderRow, r))
        for line in self._lines.values():
            if line.order is None:
                line.order = self._orders[line.order_id]
                line.order.lines.append(line)
        for task in new_tasks:
            task.batch, task.line = self._batches[task.batch_id], self._lines[task.line_id]
        for batch_id in batch_ids:
            batch = self._batches[batch_id]
            batch.tasks = sorted((t for t in new_tasks if t.batch_id == batch_id), key=lambda t: t.route_key)
        stock_query = (select(_stock).join(_tasks, _tasks.c.location_id == _stock.c.location_id)
                       .join(_lines, (_lines.c.id == _tasks.c.line_id) & (_lines.c.product_id == _stock.c.product_id))
                       .where(_tasks.c.batch_id.in_(batch_ids)).order_by(_stock.c.id))
        if self._lock:
            stock_query = stock_query.with_for_update(of=_stock)
        for r in s.execute(stock_query):
            if (r.location_id, r.product_id) not in self._stock:
                self._stock[r.location_id, r.product_id] = self._keep("stock", _row(StockRow, r))

    def _keep(self, kind: str, row):
        self._loaded[kind, row.id] = _values(row)
        return row

    # -- changing -------------------------------------------------------------------------

    def stock_of(self, task: TaskRow) -> StockRow:
        """The stock row of the task's product in the task's bin, created empty if the bin has none."""
        key = (task.location_id, task.line.product_id)
        stock = self._stock.get(key)
        if stock is None:
            self.writes += 1
            new_id = self.session.execute(
                insert(_stock).values(location_id=key[0], product_id=key[1], qty=0).returning(_stock.c.id)
            ).scalar_one()
            stock = self._stock[key] = self._keep("stock", StockRow(id=new_id, location_id=key[0], product_id=key[1], qty=0))
        return stock

    def record_pick(self, task: TaskRow, user_id: int, device_id: str, mutation_id: str, qty: int,
                    at: datetime) -> None:
        """A confirmed pick, kept so that it can be undone exactly (a PickEvent row)."""
        self.writes += 1
        self._events.append({"task_id": task.id, "device_id": device_id, "mutation_id": mutation_id,
                             "user_id": user_id, "qty": qty, "undone": False, "at": at})

    # -- writing --------------------------------------------------------------------------

    def close(self) -> None:
        """Write every changed row, one executemany per table; the floor is not used afterwards."""
        s = self.session
        changed = {kind: [] for kind in ("task", "line", "order", "batch", "stock")}
        for rows, kind in ((self.tasks, "task"), (self._lines, "line"), (self._orders, "order"),
                           (self._batches, "batch"), (self._stock, "stock")):
            for row in rows.values():
                if _values(row) != self._loaded[kind, row.id]:
                    changed[kind].append(row)
        _update(s, _tasks, changed["task"], "picked_qty", "status")
        _update(s, _lines, changed["line"], "picked_qty")
        _update(s, _orders, changed["order"], "status")
        _update(s, _batches, changed["batch"], "status")
        _update(s, _stock, changed["stock"], "qty")
        if self._events:
            s.execute(insert(_events), self._events)
        self._events = []
        # ORM copies of these rows read earlier in the push no longer hold the truth.
        for obj in list(s.identity_map.values()):
            if isinstance(obj, (PickTask, OrderLine, Order, PickBatch, Stock, PickEvent)):
                s.expire(obj)


_SCALARS = {cls: cls.COLUMNS for cls in (TaskRow, LineRow, OrderRow, BatchRow, StockRow)}


def _values(row) -> tuple:
    return tuple(getattr(row, name) for name in _SCALARS[type(row)])


def _update(s: Session, table, rows: list, *columns: str) -> None:
    if not rows:
        return
    statement = (update(table).where(table.c.id == bindparam("_id"))
                 .values({c: bindparam(f"_{c}") for c in columns}))
    s.execute(statement, [{"_id": r.id, **{f"_{c}": getattr(r, c) for c in columns}} for r in rows])


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]
