"""Publishing entity changes to the change log, per audience, in commit order.

An audience is a slice of the data that some roles see ("catalog", "floor", ...) or one
user's own work ("user:17"). A role reads a set of audiences in which every entity appears
at most once, except "user:N" rows, which are always written before the wider audience in
the same transaction; tombstones are written before upserts so that a reader that sees an
entity through two audiences ends with the upsert.
"""

from typing import Any, Iterable

from sqlalchemy import delete, select, update
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


def publish(session: Session, entity: str, entity_id: Any, data: dict | None, version: int,
            audiences: Iterable[str]) -> None:
    """Record the new state of an entity (None = deleted) for exactly these audiences.

    Audiences that held the entity before and are not listed get a tombstone: that is how
    rows leaving a user's scope reach the client.
    """
    key = str(entity_id)
    wanted = [] if data is None else sorted(set(audiences), key=lambda a: (not a.startswith("user:"), a))
    held = session.execute(
        select(Change.audience).where(Change.entity == entity, Change.entity_id == key, Change.op == "upsert")
    ).scalars().all()
    dropped = sorted(set(held) - set(wanted))
    rows = [(a, "delete", None) for a in dropped] + [(a, "upsert", data) for a in wanted]
    if not rows:
        return
    session.execute(delete(Change).where(
        Change.entity == entity, Change.entity_id == key, Change.audience.in_([a for a, _, _ in rows])))
    first = allocate_seqs(session, len(rows))
    now = utcnow()
    session.add_all(
        Change(seq=first + i, entity=entity, entity_id=key, audience=aud, op=op, version=version, data=payload, at=now)
        for i, (aud, op, payload) in enumerate(rows)
    )
    session.info["published"] = True


def bulk_publish(session: Session, entity: str, rows: list[tuple[Any, dict, int]], audience: str) -> None:
    """Publish many new entities to one audience at once (seeding); they must be new."""
    if not rows:
        return
    first = allocate_seqs(session, len(rows))
    now = utcnow()
    session.execute(
        Change.__table__.insert(),
        [
            {"seq": first + i, "entity": entity, "entity_id": str(eid), "audience": audience,
             "op": "upsert", "version": version, "data": data, "at": now}
            for i, (eid, data, version) in enumerate(rows)
        ],
    )
    session.info["published"] = True
