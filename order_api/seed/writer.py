"""Writes a seed's rows with bulk inserts and publishes every visible row in the same transaction.

The rows carry their ids, so the change log can name them without reading them back; on
PostgreSQL the id sequences are then moved past the seeded ids so that later inserts by
the API do not collide with them.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from types import SimpleNamespace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from order_api import feed
from order_api.changes import bulk_publish
from order_api.models import (
    BoxType, Location, Order, OrderLine, PickBatch, PickTask, Product, Sample, ShotListItem, Stock, User,
)

CHUNK = 5000  # rows per INSERT executemany and per change-log batch


@dataclass
class SeedRows:
    """All rows of one seed, column name -> value, in foreign-key order, ids assigned."""

    users: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    locations: list[dict] = field(default_factory=list)
    stock: list[dict] = field(default_factory=list)
    box_types: list[dict] = field(default_factory=list)
    batches: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    tasks: list[dict] = field(default_factory=list)
    shots: list[dict] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)


_TABLES = {
    "users": User, "products": Product, "locations": Location, "stock": Stock, "box_types": BoxType,
    "batches": PickBatch, "orders": Order, "lines": OrderLine, "tasks": PickTask, "shots": ShotListItem,
    "samples": Sample,
}


def write(session: Session, rows: SeedRows) -> int:
    """Insert everything and publish it; returns the number of change-log entries written."""
    for f in fields(rows):
        model = _TABLES[f.name]
        for chunk in _chunks(getattr(rows, f.name)):
            session.execute(model.__table__.insert(), chunk)
    published = _publish(session, rows)
    if session.get_bind().dialect.name == "postgresql":
        for f in fields(rows):
            _advance_id_sequence(session, _TABLES[f.name])
    return published


def _publish(session: Session, rows: SeedRows) -> int:
    ns = {name: [SimpleNamespace(**r) for r in getattr(rows, name)]
          for name in ("products", "locations", "orders", "batches")}
    products = {p.id: p for p in ns["products"]}
    locations = {loc.id: loc for loc in ns["locations"]}
    orders = {o.id: o for o in ns["orders"]}
    batches = {b.id: b for b in ns["batches"]}
    lines = {}
    for r in rows.lines:
        lines[r["id"]] = SimpleNamespace(**r, product=products[r["product_id"]], order=orders[r["order_id"]])
    tasks = [SimpleNamespace(**r, line=lines[r["line_id"]], location=locations[r["location_id"]])
             for r in rows.tasks]

    entries = [
        ("product", ns["products"], feed.product_data, lambda _: ["catalog"]),
        ("location", ns["locations"], feed.location_data, lambda _: ["floor"]),
        ("stock", [SimpleNamespace(**r) for r in rows.stock], feed.stock_data, lambda _: ["floor"]),
        ("box_type", [SimpleNamespace(**r) for r in rows.box_types], feed.box_type_data, lambda _: ["packing_ref"]),
        ("order", ns["orders"], feed.order_data, feed.order_audiences),
        ("order_line", list(lines.values()), feed.line_data, lambda line: feed.order_audiences(line.order)),
        ("pick_batch", ns["batches"], feed.batch_data, feed.batch_audiences),
        ("pick_task", tasks, feed.task_data, lambda t: feed.batch_audiences(batches[t.batch_id])),
        ("shot", [SimpleNamespace(**r) for r in rows.shots],
         lambda item: feed.shot_data(item, products[item.product_id]), lambda _: ["studio"]),
        ("sample", [SimpleNamespace(**r) for r in rows.samples], feed.sample_data, lambda _: ["studio"]),
    ]
    count = 0
    for entity, items, to_data, audiences in entries:
        count += _publish_entity(session, entity, items, to_data, audiences)
    return count


def _publish_entity(session: Session, entity: str, items: list, to_data: Callable,
                    audiences: Callable) -> int:
    by_audience: dict[str, list[tuple[int, dict]]] = {}
    for item in items:
        data = to_data(item)
        for audience in audiences(item):
            by_audience.setdefault(audience, []).append((item.id, data))
    # changes.py: a user's own audience is written before the wider ones
    ordered = sorted(by_audience, key=lambda a: (not a.startswith("user:"), a))
    for audience in ordered:
        for chunk in _chunks(by_audience[audience]):
            bulk_publish(session, entity, chunk, audience)
    return sum(len(v) for v in by_audience.values())


def _advance_id_sequence(session: Session, model) -> None:
    table = model.__table__
    top = select(func.max(table.c.id)).scalar_subquery()
    session.execute(select(func.setval(func.pg_get_serial_sequence(table.name, "id"), top))
                    .where(top.is_not(None)))


def _chunks(rows: list) -> Iterable[list]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]
