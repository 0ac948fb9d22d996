"""The change log behind the pull feed, and stored push results."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from order_api.models.base import Base, utcnow


class Change(Base):
    """Latest change of one entity row for one audience (a compacted change log).

    Each write of an entity replaces its previous entry for the same audience with a new
    one under a fresh, strictly increasing seq, so pulling from cursor 0 yields the
    current state and pulling from cursor N yields everything that changed since N.
    Tombstones (op "delete") stay until retention purges them.
    """

    __tablename__ = "changes"
    __table_args__ = (
        UniqueConstraint("entity", "entity_id", "audience"),
        Index("ix_changes_audience_seq", "audience", "seq"),
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(48))
    op: Mapped[str] = mapped_column(String(8))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncMeta(Base):
    """Counters of the change log: the last seq handed out and the retention floor."""

    __tablename__ = "sync_meta"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class MutationResult(Base):
    """The stored outcome of one pushed mutation, returned again on replay.

    Keyed by device and mutation id: an id is only unique within one device's queue, so a
    device can never be answered with another device's stored result.
    """

    __tablename__ = "mutation_results"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int]
    name: Mapped[str] = mapped_column(String(48))
    username: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(48))
    message: Mapped[str | None] = mapped_column(String(500))
    client_at: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
