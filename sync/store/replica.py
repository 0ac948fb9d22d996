"""The replica: pull pages stored per audience, and only the signed-in person's scope shown.

The pull feed is a change log per audience ("catalog", "floor", ..., "user:17" for one
person's own work). Every row keeps a bit mask of the audiences it arrived through
(replica_audiences gives each audience its bit and its cursor): an upsert from audience A
sets A's bit and replaces the row's data, a tombstone from A clears A's bit, and a row left
with no bit is deleted. Readers (`load`) see only rows with a bit of the current scope.

Switching scope (several people share a device in a shift) purges the personal audiences
of the person before, so another person's own work never stays on the device, and keeps
the role audiences the new person does not read, hidden, with their cursors: a supervisor
who comes back later pulls only what changed meanwhile.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter

import msgspec
import orjson
from sqlalchemy import Connection

from contract.entities import ENTITIES
from sync.store.schema import MAX_AUDIENCE_BIT, REPLICA_KEYS, replica_other, replica_tables

_ALL_BITS = (1 << (MAX_AUDIENCE_BIT + 1)) - 1
_PERSONAL = "user:"  # "user:<id>": one person's own work, never kept for the next person
_OTHER = "\0other"  # the group of entities this client version does not know (r_other)



def _key_reader(entity: str, names: list[str]) -> Callable[[bytes], tuple]:
    """The indexed columns of a row, read while checking the row against its entity (contract.entities).

    The check is the same decode that reads the keys (a missing or mistyped field raises
    msgspec.ValidationError, the page's error), so it costs an initial sync next to nothing.
    """
    decode = msgspec.json.Decoder(ENTITIES[entity]).decode
    if not names:
        return lambda data: (decode(data), ())[1]
    get = attrgetter(*names)
    if len(names) == 1:
        return lambda data: (get(decode(data)),)
    return lambda data: get(decode(data))


_KEYS: dict[str, Callable[[bytes], tuple]] = {
    entity: _key_reader(entity, [name for name, _ in keys]) for entity, keys in REPLICA_KEYS.items()
}


class BadRow(ValueError):
    """A row of a page cannot be stored (an id that is no number, an indexed field that is no scalar)."""


class StalePlan(Exception):
    """The page was asked for with a plan that no longer holds (another page or a scope switch came first).

    Nothing of it may be stored: its rows could be older than those stored meanwhile, or
    belong to a person who is no longer signed in. Ask for a new plan and pull again.
    """


@dataclass(frozen=True)
class ScopeChange:
    """What set_scope did: audiences new to the replica, forgotten with their rows, and kept out of sight."""

    added: list[str]
    purged: list[str]
    hidden: list[str]


@dataclass(frozen=True)
class PullPlan:
    """The next pull: these audiences from this cursor; behind when they trail the rest of the scope."""

    audiences: tuple[str, ...]
    cursor: int
    behind: bool


# --- the SQL of a page, prepared once per entity ------------------------------------------

_UPSERT: dict[str, str] = {}
_TOMBSTONE: dict[str, str] = {}
_DROP_EMPTY: dict[str, str] = {}
for _entity, _keys in REPLICA_KEYS.items():
    _cols = ["id", "version", "data", *(name for name, _ in _keys), "mask"]
    _updates = ", ".join(f"{c} = excluded.{c}" for c in _cols[1:-1])
    # The latest upsert wins: an entity's data is the same in every audience that holds it
    # (the server publishes all of them in one transaction), so only the mask accumulates.
    _UPSERT[_entity] = (f'INSERT INTO r_{_entity} ({", ".join(_cols)}) VALUES ({", ".join("?" * len(_cols))}) '
                        f"ON CONFLICT(id) DO UPDATE SET {_updates}, mask = r_{_entity}.mask | excluded.mask")
    _TOMBSTONE[_entity] = f"UPDATE r_{_entity} SET mask = mask & ? WHERE id = ?"
    _DROP_EMPTY[_entity] = f"DELETE FROM r_{_entity} WHERE id = ? AND mask = 0"
_UPSERT[_OTHER] = ("INSERT INTO r_other (entity, id, version, data, mask) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT(entity, id) DO UPDATE SET version = excluded.version, data = excluded.data, "
                   "mask = r_other.mask | excluded.mask")
_TOMBSTONE[_OTHER] = "UPDATE r_other SET mask = mask & ? WHERE entity = ? AND id = ?"
_DROP_EMPTY[_OTHER] = "DELETE FROM r_other WHERE entity = ? AND id = ? AND mask = 0"

_TABLES = [t.name for t in (*replica_tables.values(), replica_other)]

# The audiences of the current scope, and from them its bits and its highest cursor, each in one
# statement: a screen reads the view on every scan, so a read is one round trip, not three.
_SCOPE = "SELECT value FROM json_each(coalesce((SELECT value FROM replica_meta WHERE key = 'scope'), '[]'))"
_SCOPE_BITS = f"SELECT coalesce(sum(1 << bit), 0) FROM replica_audiences WHERE name IN ({_SCOPE})"
_SHOWN_CURSOR = f"SELECT coalesce(max(cursor), 0) FROM replica_audiences WHERE name IN ({_SCOPE})"


# --- scope and cursors ---------------------------------------------------------------------

def scope(conn: Connection) -> list[str]:
    """The audiences of the person signed in, sorted; [] before anyone signed in."""
    value = conn.exec_driver_sql("SELECT value FROM replica_meta WHERE key = 'scope'").scalar()
    return orjson.loads(value) if value is not None else []


def _held(conn: Connection) -> dict[str, tuple[int, int]]:
    """Every audience this replica knows: name -> (bit, cursor)."""
    return {name: (bit, at) for name, bit, at in
            conn.exec_driver_sql("SELECT name, bit, cursor FROM replica_audiences")}


def cursors(conn: Connection) -> dict[str, int]:
    """The cursor of every audience this replica knows, shown or hidden."""
    return {name: at for name, (_, at) in _held(conn).items()}


def cursor(conn: Connection) -> int:
    """How far the visible data is complete: the lowest cursor of the scope (0 without a scope).

    The outbox settles acknowledged actions against it: an action's effects are shown by
    the replica only once every audience of the scope has reached the push's cursor.
    """
    wanted = scope(conn)
    if not wanted:
        return 0
    held = cursors(conn)
    return min(held.get(a, 0) for a in wanted)


def shown_cursor(conn: Connection) -> int:
    """How far the rows on screen reflect the feed, for laying queued actions over them: the highest
    cursor of the scope (0 without a scope).

    Not the lowest: an audience added by a switch starts at 0, yet every row it brings is the
    server's state of now, with every acknowledged action in it; laying those actions over
    the rows again would count them twice (a pick shown twice on the supervisor's screen).
    The price is the other way round and shorter: while an audience that was hidden catches
    up, its old rows may miss an action until its pages arrive.
    """
    return conn.exec_driver_sql(_SHOWN_CURSOR).scalar()


def set_scope(conn: Connection, audiences: Iterable[str]) -> ScopeChange:
    """Make audiences (the signed-in person's, from /v1/me) the scope readers see.

    New audiences get a bit and cursor 0. Personal audiences ("user:<id>") outside the new
    scope are purged: their bits cleared, rows left without a bit deleted, bit and cursor
    forgotten. Role audiences outside it stay, hidden, with their cursors. Setting the same
    scope again changes nothing.
    """
    given = list(audiences)
    for name in given:
        if not isinstance(name, str) or not 0 < len(name) <= 48:
            raise ValueError(f"an audience is a name of 1 to 48 characters, not {name!r}")
    wanted = sorted(set(given))
    if len(wanted) > MAX_AUDIENCE_BIT + 1:
        raise ValueError(f"a scope of {len(wanted)} audiences does not fit the replica's {MAX_AUDIENCE_BIT + 1} bits")
    held = _held(conn)
    added = [a for a in wanted if a not in held]
    purged = [a for a in held if a.startswith(_PERSONAL) and a not in wanted]
    hidden = [a for a in held if not a.startswith(_PERSONAL) and a not in wanted]
    free = sorted(set(range(MAX_AUDIENCE_BIT + 1)) - {bit for a, (bit, _) in held.items() if a not in purged})
    if len(free) < len(added):
        # Every bit is taken: the hidden audiences furthest behind make room (they are pulled
        # again from 0 if their people come back).
        evicted = sorted(hidden, key=lambda a: (held[a][1], a))[:len(added) - len(free)]
        purged += evicted
        hidden = [a for a in hidden if a not in evicted]
        free = sorted(free + [held[a][0] for a in evicted])
    if purged:
        _clear_bits(conn, _mask_of(held, purged))
        conn.exec_driver_sql("DELETE FROM replica_audiences WHERE name = ?", [(a,) for a in purged])
    if added:
        conn.exec_driver_sql("INSERT INTO replica_audiences (name, bit, cursor) VALUES (?, ?, 0)",
                             list(zip(added, free)))
    if wanted != scope(conn):
        _set_meta(conn, "scope", orjson.dumps(wanted).decode())
    return ScopeChange(added, sorted(purged), sorted(hidden))


def pull_plan(conn: Connection) -> PullPlan | None:
    """What to pull next; None when nobody's scope is set.

    The whole scope from its cursor when all its audiences are at the same one; otherwise
    the group with the lowest cursor (an audience never held starts at 0), behind=True,
    until its last page, when store_page merges the cursors again.
    """
    wanted = scope(conn)
    if not wanted:
        return None
    held = cursors(conn)
    at = {a: held.get(a, 0) for a in wanted}
    lowest = min(at.values())
    group = tuple(a for a in wanted if at[a] == lowest)
    return PullPlan(group, lowest, behind=len(group) < len(wanted))


def _merge(conn: Connection) -> None:
    """Every scope audience to the lowest cursor of the scope, so the next pull asks for all of it.

    The audiences that were ahead read a short window again: harmless, since the log is
    compacted (only the latest entry per entity, id and audience), so it only ever brings
    the latest state.
    """
    lowest = cursor(conn)
    conn.exec_driver_sql("UPDATE replica_audiences SET cursor = ? WHERE name = ?", [(lowest, a) for a in scope(conn)])


# --- pages ---------------------------------------------------------------------------------

def store_page(conn: Connection, plan: PullPlan, page) -> int:
    """Store a pull page (sync.feed.PullPage) asked for with plan; returns the number of changes.

    Each change sets (upsert) or clears (tombstone) its audience's bit; rows left with no
    bit are deleted at the end of the page. The audiences the page served (page.audiences,
    within plan.audiences) move to page.cursor; when the plan was behind and this is its
    last page, the scope's cursors are merged. A `reset` page wipes the plan's audiences.

    Changes are applied in feed order; within one page a later change of the same row
    wins, which grouping by entity keeps because each group preserves order and a row
    belongs to exactly one group. Raises BadRow (and the caller's transaction stores
    nothing) when a row does not fit its table or arrived through an audience the page
    does not serve, and StalePlan when the plan no longer holds.
    """
    held = _held(conn)
    current = set(scope(conn))
    served = [a for a in page.audiences if a in plan.audiences]
    moved = [a for a in plan.audiences if a not in current]
    moved += [a for a in served if a in current and held[a][1] != plan.cursor]
    if moved:
        raise StalePlan(f"{', '.join(moved)} left the scope or moved from cursor {plan.cursor} meanwhile")
    if page.reset:
        wipe(conn, plan.audiences)
        return 0
    bits = {a: 1 << held[a][0] for a in served}
    count = _apply(conn, page.changes, bits)
    conn.exec_driver_sql("UPDATE replica_audiences SET cursor = ? WHERE name = ?", [(page.cursor, a) for a in served])
    if plan.behind and not page.has_more:
        _merge(conn)
    return count


def _apply(conn: Connection, changes: Iterable, bits: dict[str, int]) -> int:
    """Set and clear the changes' audience bits, executemany per entity, no SELECT per row."""
    upserts: dict[str, list[tuple]] = defaultdict(list)
    tombstones: dict[str, list[tuple]] = defaultdict(list)
    emptied: dict[str, set[tuple]] = defaultdict(set)
    count = 0
    for ch in changes:  # the hot loop of an initial sync: kept flat on purpose
        count += 1
        bit = bits.get(ch.audience)
        if bit is None:
            raise BadRow(f"{ch.entity} {ch.id!r} (version {ch.version}) cannot be stored: it arrived through "
                         f"audience {ch.audience!r}, which the page does not serve")
        entity = ch.entity
        keys = _KEYS.get(entity)
        try:
            if keys is None:
                entity, key = _OTHER, (ch.entity, ch.id)
            else:
                key = (int(ch.id),)
            if ch.op == "delete":
                if entity in upserts:
                    _flush(conn, _UPSERT, upserts, entity)
                tombstones[entity].append((_ALL_BITS ^ bit, *key))
                emptied[entity].add(key)
                continue
            if entity in tombstones:
                _flush(conn, _TOMBSTONE, tombstones, entity)
            if keys is None:
                upserts[entity].append((*key, ch.version, str(ch.data, "utf-8"), bit))
            else:
                upserts[entity].append((*key, ch.version, str(ch.data, "utf-8"), *keys(ch.data), bit))
        except (ValueError, msgspec.MsgspecError) as exc:
            raise BadRow(f"{ch.entity} {ch.id!r} (version {ch.version}) cannot be stored: {exc}") from None
    for entity in list(upserts):
        _flush(conn, _UPSERT, upserts, entity)
    for entity in list(tombstones):
        _flush(conn, _TOMBSTONE, tombstones, entity)
    for entity, keys_emptied in emptied.items():
        conn.exec_driver_sql(_DROP_EMPTY[entity], list(keys_emptied))
    return count


def _flush(conn: Connection, sql: dict[str, str], pending: dict, group: str) -> None:
    rows = pending.pop(group, None)
    if rows:
        conn.exec_driver_sql(sql[group], rows)


def wipe(conn: Connection, audiences: Iterable[str] | None = None) -> None:
    """Forget server state (on `reset`): everything and every cursor, or only these audiences.

    An audience's bit is cleared from every row, rows left with no bit are deleted and its
    cursor goes back to 0; it keeps its bit. The journal is another file and stays.
    """
    if audiences is None:
        for table in _TABLES:
            conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.exec_driver_sql("UPDATE replica_audiences SET cursor = 0")
        return
    held = _held(conn)
    names = [a for a in dict.fromkeys(audiences) if a in held]
    if names:
        _clear_bits(conn, _mask_of(held, names))
        conn.exec_driver_sql("UPDATE replica_audiences SET cursor = 0 WHERE name = ?", [(a,) for a in names])


def _mask_of(held: dict[str, tuple[int, int]], names: Iterable[str]) -> int:
    mask = 0
    for name in names:
        mask |= 1 << held[name][0]
    return mask


def _clear_bits(conn: Connection, mask: int) -> None:
    """Clear these bits from every row; rows left with none are deleted (scans every table: rare)."""
    keep = _ALL_BITS ^ mask
    for table in _TABLES:
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE (mask & ?) = 0", (keep,))
        conn.exec_driver_sql(f"UPDATE {table} SET mask = mask & ? WHERE (mask & ?) != 0", (keep, mask))


def _set_meta(conn: Connection, key: str, value: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO replica_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value))


# --- reading -------------------------------------------------------------------------------

def load(conn: Connection, entity: str, **where) -> list[dict]:
    """Rows of one entity that the current scope shows, as the server sent them, filtered on indexed columns."""
    return [orjson.loads(d) for d, in conn.exec_driver_sql(_sql(entity, "data", tuple(where)), tuple(where.values()))]


def ids(conn: Connection, entity: str, **where) -> set[int]:
    """The ids of the rows load would return, without reading their data (for counting thousands)."""
    return {i for i, in conn.exec_driver_sql(_sql(entity, "id", tuple(where)), tuple(where.values()))}


def load_ids(conn: Connection, entity: str, row_ids: Iterable[int]) -> list[dict]:
    """Rows of one entity by id that the current scope shows, as the server sent them."""
    sql = _sql(entity, "data", (), " AND id IN (SELECT value FROM json_each(?))")
    return [orjson.loads(d) for d, in conn.exec_driver_sql(sql, (orjson.dumps(list(row_ids)).decode(),))]


def _sql(entity: str, what: str, columns: tuple[str, ...], more: str = "") -> str:
    """The SELECT of `what` from an entity's rows in scope with these columns equal to parameters, built once
    per shape: building a statement costs more than running it."""
    key = (entity, what, more, *columns)
    sql = _READS.get(key)
    if sql is None:
        table = replica_tables[entity]
        tests = "".join(f" AND {table.c[c].name} = ?" for c in columns)  # KeyError: not a column of the table
        sql = f"SELECT {what} FROM {table.name} WHERE (mask & ({_SCOPE_BITS})) != 0{tests}{more} ORDER BY id"
        _READS[key] = sql
    return sql


_READS: dict[tuple[str, ...], str] = {}
