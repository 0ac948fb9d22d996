"""Publishing entity changes to the change log, per audience, in commit order.

The version the feed gives a row is the seq of the change that carries it: strictly
increasing per row, with nothing to store or bump.

An audience is a slice of the data that some roles see ("catalog", "floor", ...) or one
user's own work ("user:17"). A role reads a set of audiences in which every entity appears
at most once, except "user:N" rows, which are always written before the wider audience in
the same transaction; tombstones are written before upserts so that a reader that sees an
entity through two audiences ends with the upsert.
"""

from typing import Any, Iterable

from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

from order_api.models import Change, SyncMeta
from order_api.models.base import utcnow

ROLE_AUDIENCES: dict[str, tuple[str, ...]] = {
    "picker": ("catalog", "floor"),
    "packer": ("catalog", "packing_ref", "packing"),
    "photographer": ("catalog", "studio"),
    "supervisor": ("catalog", "floor", "packing_ref", "office", "studio"),
    "admin": ("catalog", "floor", "packing_ref", "office", "studio"),
}


def audiences_for(roles: Iterable[str], user_id: int) -> list[str]:
    """The audiences a user reads, from the union of their roles."""
    found: set[str] = {f"user:{user_id}"}
    for role in roles:
        found.update(ROLE_AUDIENCES.get(role, ()))
    # "packing" is a subset of "office": a user with both reads only "office", so that an
    # order leaving packing does not delete what "office" still shows.
    if "office" in found:
        found.discard("packing")
    return sorted(found)


def allocate_seqs(session: Session, count: int) -> int:
    """Reserve count sequence numbers; returns the first.

    The UPDATE takes a row lock (PostgreSQL) or runs inside the single SQLite writer, so
    seqs are handed out in commit order and a reader never skips a seq that commits later.
    """
    last = session.execute(
        update(SyncMeta).where(SyncMeta.key == "last_seq").values(value=SyncMeta.value + count).returning(SyncMeta.value)
    ).scalar_one()
    return last - count + 1


def publish(session: Session, entity: str, entity_id: Any, data: dict | None, audiences: Iterable[str]) -> None:
    """Record the new state of an entity (None = deleted) for exactly these audiences.

    Nothing is written yet: the latest state of each entity published in a transaction is
    written once, just before the commit (a push of 250 picks touches the same order and
    batch again and again). Audiences that held the entity before and are not listed get
    a tombstone: that is how rows leaving a user's scope reach the client.
    """
    key = (entity, str(entity_id))
    wanted = () if data is None else tuple(sorted(set(audiences), key=lambda a: (not a.startswith("user:"), a)))
    pending_changes(session)[key] = (data, wanted)


def pending_changes(session: Session) -> dict:
    """Changes published in this transaction and not yet written, by (entity, id)."""
    return session.info.setdefault("pending_changes", {})


@event.listens_for(Session, "before_commit")
def write_pending_changes(session: Session) -> None:
    """Write the changes published so far in this transaction (also run before every commit)."""
    if session.in_nested_transaction():
        return  # a savepoint: wait for the real commit, so each entity is written once
    pending = session.info.pop("pending_changes", None)
    if not pending:
        return
    by_entity: dict[str, list[str]] = {}
    for entity, entity_id in pending:
        by_entity.setdefault(entity, []).append(entity_id)
    held: dict[tuple[str, str], set[str]] = {}
    # One entity per statement: `entity = ? AND entity_id IN (...)` uses the unique index
    # on both databases, where a row-value IN over (entity, entity_id) scans on SQLite.
    for entity, ids in by_entity.items():
        for i in range(0, len(ids), 500):
            rows = session.execute(
                select(Change.entity_id, Change.audience)
                .where(Change.entity == entity, Change.entity_id.in_(ids[i:i + 500]), Change.op == "upsert")
            ).all()
            for r in rows:
                held.setdefault((entity, r.entity_id), set()).add(r.audience)
    inserts = []
    for (entity, entity_id), (data, wanted) in pending.items():
        dropped = sorted(held.get((entity, entity_id), set()) - set(wanted))
        inserts += [(entity, entity_id, a, "delete", None) for a in dropped]
        inserts += [(entity, entity_id, a, "upsert", data) for a in wanted]
    if not inserts:
        return
    # Replace only the (entity, id, audience) entries written now: an older tombstone of
    # another audience must stay until that audience's readers have seen it.
    replaced: dict[tuple[str, str], list[str]] = {}
    for entity, entity_id, audience, *_ in inserts:
        replaced.setdefault((entity, audience), []).append(entity_id)
    for (entity, audience), ids in replaced.items():
        for i in range(0, len(ids), 500):
            session.execute(delete(Change).where(Change.entity == entity, Change.audience == audience,
                                                 Change.entity_id.in_(ids[i:i + 500])))
    first = allocate_seqs(session, len(inserts))
    now = utcnow()
    session.execute(Change.__table__.insert(), [
        {"seq": first + i, "entity": e, "entity_id": k, "audience": a, "op": op, "data": d, "at": now}
        for i, (e, k, a, op, d) in enumerate(inserts)
    ])
    session.info["published"] = True


def bulk_publish(session: Session, entity: str, rows: list[tuple[Any, dict]], audience: str) -> None:
    """Publish many new entities to one audience at once (seeding); they must be new."""
    if not rows:
        return
    first = allocate_seqs(session, len(rows))
    now = utcnow()
    session.execute(
        Change.__table__.insert(),
        [
            {"seq": first + i, "entity": entity, "entity_id": str(eid), "audience": audience,
             "op": "upsert", "data": data, "at": now}
            for i, (eid, data) in enumerate(rows)
        ],
    )
    session.info["published"] = True
