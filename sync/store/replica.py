"""Writing pull pages into the replica: each page and its cursor in one transaction."""

from collections import defaultdict
from collections.abc import Iterable

import msgspec
import orjson
from sqlalchemy import Connection, select

from sync.store.schema import REPLICA_KEYS, replica_meta, replica_other, replica_tables

_Scalar = str | int | float | bool | None

# The indexed columns of each entity, read out of the row's JSON without decoding the rest.
_KEYS: dict[str, msgspec.json.Decoder] = {
    entity: msgspec.json.Decoder(msgspec.defstruct(f"{entity}_keys", [(name, _Scalar, None) for name, _ in keys],
                                                   gc=False))
    for entity, keys in REPLICA_KEYS.items()
}
_astuple = msgspec.structs.astuple


class BadRow(ValueError):
    """A row of a page cannot be stored (an id that is no number, an indexed field that is no scalar)."""

_UPSERT: dict[str, str] = {}
for _entity, _keys in REPLICA_KEYS.items():
    _cols = ["id", "version", "data", *(name for name, _ in _keys)]
    _updates = ", ".join(f"{c} = excluded.{c}" for c in _cols[1:])
    _UPSERT[_entity] = (f'INSERT INTO r_{_entity} ({", ".join(_cols)}) VALUES ({", ".join("?" * len(_cols))}) '
                        f"ON CONFLICT(id) DO UPDATE SET {_updates}")
_UPSERT_OTHER = ("INSERT INTO r_other (entity, id, version, data) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT(entity, id) DO UPDATE SET version = excluded.version, data = excluded.data")


def cursor(conn: Connection) -> int:
    value = conn.execute(select(replica_meta.c.value).where(replica_meta.c.key == "cursor")).scalar()
    return int(value) if value is not None else 0


def _set_meta(conn: Connection, key: str, value: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO replica_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value))


def apply_page(conn: Connection, changes: Iterable, new_cursor: int) -> int:
    """Store a page of changes (sync.feed.Change: data as the server's JSON) and the cursor after it.

    Changes are applied in feed order; within one page a later change of the same row
    wins, which grouping by entity keeps because each group preserves order and a row
    belongs to exactly one group. Raises BadRow (and the caller's transaction stores
    nothing) when a row does not fit its table.
    """
    upserts: dict[str, list[tuple]] = defaultdict(list)
    deletes: dict[str, list[tuple]] = defaultdict(list)
    count = 0
    for ch in changes:
        count += 1
        keys = _KEYS.get(ch.entity)
        if keys is None:
            if ch.op == "delete":
                deletes["\0other"].append((ch.entity, ch.id))
            else:
                upserts["\0other"].append((ch.entity, ch.id, ch.version, str(ch.data, "utf-8")))
            continue
        try:
            row_id = int(ch.id)
            if ch.op == "delete":
                _flush_upserts(conn, upserts, ch.entity)
                deletes[ch.entity].append((row_id,))
            else:
                _flush_deletes(conn, deletes, ch.entity)
                upserts[ch.entity].append((row_id, ch.version, str(ch.data, "utf-8"),
                                           *_astuple(keys.decode(ch.data))))
        except (ValueError, msgspec.ValidationError) as exc:
            raise BadRow(f"{ch.entity} {ch.id!r} (version {ch.version}) cannot be stored: {exc}") from None
    for entity in list(upserts):
        _flush_upserts(conn, upserts, entity)
    for entity in list(deletes):
        _flush_deletes(conn, deletes, entity)
    _set_meta(conn, "cursor", str(new_cursor))
    return count


def _flush_upserts(conn: Connection, pending: dict, entity: str) -> None:
    rows = pending.pop(entity, None)
    if rows:
        conn.exec_driver_sql(_UPSERT_OTHER if entity == "\0other" else _UPSERT[entity], rows)


def _flush_deletes(conn: Connection, pending: dict, entity: str) -> None:
    rows = pending.pop(entity, None)
    if not rows:
        return
    if entity == "\0other":
        conn.exec_driver_sql("DELETE FROM r_other WHERE entity = ? AND id = ?", rows)
    else:
        conn.exec_driver_sql(f"DELETE FROM r_{entity} WHERE id = ?", rows)


def wipe(conn: Connection) -> None:
    """Forget all server state (on `reset`); the journal is another file and stays."""
    for table in (*replica_tables.values(), replica_other):
        conn.execute(table.delete())
    _set_meta(conn, "cursor", "0")


def load(conn: Connection, entity: str, **where) -> list[dict]:
    """Rows of one entity as the server sent them, filtered on indexed columns."""
    table = replica_tables[entity]
    q = select(table.c.data)
    for column, value in where.items():
        q = q.where(table.c[column] == value)
    return [orjson.loads(d) for d in conn.execute(q.order_by(table.c.id)).scalars()]
