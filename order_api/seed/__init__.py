"""Deterministic data sets for the reference API: "demo" to try it, "bench" to measure it.

A seed loads into an empty database only. Loading the same seed again is a no-op (a
marker row in sync_meta remembers it), so `floorhand-api serve --seed demo` can be run
against the same file every time; any other data in the database is refused with a
ValueError rather than mixed with seeded rows whose ids would collide.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import exists, select

from order_api.db import Database
from order_api.models import BoxType, Change, Location, Order, Product, SyncMeta, User
from order_api.models.base import utcnow
from order_api.seed import bench, demo
from order_api.seed.writer import SeedRows, write

SEEDS: dict[str, Callable[[datetime], SeedRows]] = {"demo": demo.build, "bench": bench.build}

_HELD = (User, Product, Location, Order, BoxType, Change)


def load_seed(db: Database, name: str) -> str:
    """Load the named seed into an empty database; returns a one-line summary."""
    if name not in SEEDS:
        raise ValueError(f"unknown seed {name!r}; choose one of {', '.join(sorted(SEEDS))}")
    return load_rows(db, name, lambda: SEEDS[name](utcnow()))


def load_rows(db: Database, name: str, build: Callable[[], SeedRows]) -> str:
    """Load rows made by build() under the seed name `name` (see the module docstring)."""
    marker = f"seed:{name}"
    with db.read() as s:
        if s.get(SyncMeta, marker) is not None:
            return f"seed {name!r} was loaded before; the database is left as it is"
        _refuse_if_used(s)
    rows = build()  # before the write transaction: generating and hashing take a while
    with db.write() as s:
        _refuse_if_used(s)
        published = write(s, rows)
        s.add(SyncMeta(key=marker, value=1))
    return summary(rows, published)


def _refuse_if_used(s) -> None:
    used = [m.__tablename__ for m in _HELD if s.execute(select(exists().select_from(m))).scalar()]
    if used:
        raise ValueError(f"the database already holds data ({', '.join(used)}); "
                         "a seed loads into an empty database only")


def summary(rows: SeedRows, published: int) -> str:
    released = sum(o["status"] == "released" for o in rows.orders)
    return (f"{len(rows.products)} products, {len(rows.locations)} locations, {len(rows.stock)} stock rows, "
            f"{len(rows.orders)} orders ({released} released, {len(rows.orders) - released} picked) "
            f"in {len(rows.batches)} pick batches with {len(rows.tasks)} tasks, {len(rows.box_types)} box types, "
            f"{len(rows.shots)} shots, {len(rows.samples)} samples, {len(rows.users)} users; "
            f"{published} change-log entries")
