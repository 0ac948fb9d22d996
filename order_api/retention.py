"""Tombstone retention: purging old tombstones raises the floor below which cursors reset."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select, update

from order_api.db import Database
from order_api.models import Change, SyncMeta


def purge_tombstones(db: Database, older_than_s: float, now: datetime | None = None) -> int:
    """Delete tombstones older than the retention period; returns how many went.

    A client whose cursor is below the highest purged seq may have missed a delete, so the
    pull feed answers it with `reset`.
    """
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(seconds=older_than_s)
    with db.write() as s:
        top = s.execute(select(func.max(Change.seq)).where(Change.op == "delete", Change.at <= cutoff)).scalar()
        if top is None:
            return 0
        gone = s.execute(delete(Change).where(Change.op == "delete", Change.seq <= top)).rowcount
        s.execute(update(SyncMeta).where(SyncMeta.key == "purged_seq", SyncMeta.value < top).values(value=top))
        return gone
