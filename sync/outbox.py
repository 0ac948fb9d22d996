"""The durable queue of user actions (mutations) waiting for the server.

A user action is one transaction in the journal file: the mutation is appended with the
next seq of this device, and the commit is synced to disk (synchronous=FULL) before the
caller hears "accepted". The local view shows server state plus the effects of the
mutations still in this queue (sync.view), so that one commit is also the update of
what the screen shows. After the server acknowledges a mutation it stays here as `acked`
until a pull has brought its effects into the replica (its ack_cursor), so the screen
never flickers back to the old state in between.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from sync.store.database import LocalStore
from sync.store.schema import audit_log, outbox, rejected, sync_state

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Mutation:
    """One user action as the push protocol carries it."""

    seq: int
    id: str
    name: str
    args: dict
    user: str
    at: str

    def wire(self) -> dict:
        return {"seq": self.seq, "id": self.id, "name": self.name, "args": self.args, "user": self.user, "at": self.at}


@dataclass(frozen=True)
class RejectedMutation:
    """A mutation the server refused for good, kept for a supervisor."""

    mutation: Mutation
    code: str
    message: str
    rejected_at: str


def _row_to_mutation(row) -> Mutation:
    return Mutation(row.seq, row.id, row.name, row.args, row.user, row.at)


class Outbox:
    """Append user actions durably; hand them to the pusher in seq order; file the results."""

    def __init__(self, store: LocalStore, clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._clock = clock
        self._listeners: list[Callable[[], None]] = []

    def on_append(self, listener: Callable[[], None]) -> None:
        """Call listener (from the appending thread) after every durable append."""
        self._listeners.append(listener)

    def device_id(self) -> str:
        """This device's id, made once and kept in the journal."""
        with self._store.journal.read() as conn:
            value = _state(conn, "device_id")
        if value:
            return value
        with self._store.journal.write() as conn:
            value = _state(conn, "device_id")
            if not value:
                value = f"fh-{uuid.uuid4()}"
                _set_state(conn, "device_id", value)
            return value

    def append(self, user: str, name: str, args: dict) -> Mutation:
        """Queue one action; when this returns, it survives kill -9 and power loss.

        Raises sync.store.database.WriteFailed when it could not be stored (a full disk):
        then nothing of it was kept and the person must be told.
        """
        at = self._clock().isoformat()
        with self._store.journal.write() as conn:
            seq = int(_state(conn, "last_seq") or 0) + 1
            m = Mutation(seq, str(uuid.uuid4()), name, args, user, at)
            conn.execute(insert(outbox).values(seq=seq, id=m.id, name=name, args=args, user=user, at=at,
                                               state="pending", attempts=0))
            _set_state(conn, "last_seq", str(seq))
            conn.execute(insert(audit_log).values(at=at, user=user, action=name, detail={"seq": seq, "id": m.id}))
        for listener in self._listeners:
            listener()
        return m

    def pending(self, limit: int = 500) -> list[Mutation]:
        """The oldest mutations not yet acknowledged, in seq order."""
        with self._store.journal.read() as conn:
            rows = conn.execute(select(outbox).where(outbox.c.state == "pending")
                                .order_by(outbox.c.seq).limit(limit)).all()
        return [_row_to_mutation(r) for r in rows]

    def in_view(self, replica_cursor: int | None = None) -> list[Mutation]:
        """Mutations whose effects a replica at replica_cursor does not show yet, in seq order.

        Pending ones always; acknowledged ones while the replica is behind their ack_cursor,
        even if a pull has marked them done meanwhile: the replica was read before that pull,
        and dropping them would make the screen flicker back to the old state.
        """
        if replica_cursor is None:
            shown = or_(outbox.c.state == "pending", outbox.c.state == "acked")
        else:
            shown = or_(outbox.c.state == "pending", outbox.c.ack_cursor > replica_cursor)
        with self._store.journal.read() as conn:
            rows = conn.execute(select(outbox).where(shown).order_by(outbox.c.seq)).all()
        return [_row_to_mutation(r) for r in rows]

    def find(self, ids: list[str]) -> dict[str, Mutation]:
        """Mutations by id, whatever their state (done ones are kept for a while)."""
        if not ids:
            return {}
        with self._store.journal.read() as conn:
            rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids))).all()
        return {r.id: _row_to_mutation(r) for r in rows}

    def record_results(self, sent: list[Mutation], results: list, push_cursor: int | None,
                       replica_cursor: int | None = None) -> list[RejectedMutation]:
        """File the server's answer to a push; returns the newly rejected mutations.

        Applied mutations (and replays of applied ones) wait as `acked` for the pull that
        reaches push_cursor; rejected ones leave the queue for the rejected list. With
        replica_cursor, what the replica already shows is settled in the same transaction.
        Not synced to disk: if power loss undoes it, the push goes out again and the server
        answers every mutation as a duplicate with its first outcome.
        """
        by_id = {m.id: m for m in sent}
        now = self._clock().isoformat()
        newly_rejected, acked = [], []
        with self._store.journal.write(synced=False) as conn:
            for r in results:
                m = by_id[r.id]
                outcome = r.original_status if r.status == "duplicate" and r.original_status else r.status
                if outcome == "rejected":
                    code, message = r.code or "rejected", r.message or "The server refused this action."
                    conn.execute(insert(rejected).prefix_with("OR IGNORE").values(
                        id=m.id, seq=m.seq, name=m.name, args=m.args, user=m.user, at=m.at, code=code,
                        message=message, rejected_at=now))
                    conn.execute(delete(outbox).where(outbox.c.id == m.id))
                    newly_rejected.append(RejectedMutation(m, code, message, now))
                else:
                    acked.append((push_cursor or 0, m.id))
            if acked:
                # One statement for the whole push: a push of 500 filed row by row cost more
                # than the server took to apply it.
                conn.exec_driver_sql("UPDATE outbox SET state = 'acked', ack_cursor = ?, last_error = NULL "
                                     "WHERE id = ?", acked)
            if replica_cursor is not None:
                _settle(conn, replica_cursor)
        return newly_rejected

    def record_failure(self, sent: list[Mutation], error: str) -> None:
        """Note a failed attempt on the mutations of a push (they stay pending)."""
        with self._store.journal.write(synced=False) as conn:
            conn.execute(update(outbox).where(outbox.c.id.in_([m.id for m in sent]))
                         .values(attempts=outbox.c.attempts + 1, last_error=error[:500]))

    def settle(self, conn_cursor: int) -> int:
        """Acked mutations whose effects a pull up to cursor has brought are done; returns how many."""
        with self._store.journal.write(synced=False) as conn:
            return _settle(conn, conn_cursor)

    def counts(self) -> tuple[int, int, str | None]:
        """(pending, rejected and unresolved, `at` of the oldest pending)."""
        with self._store.journal.read() as conn:
            pending, oldest = conn.execute(select(func.count(), func.min(outbox.c.at))
                                           .where(outbox.c.state == "pending")).one()
            rejected_count = conn.execute(select(func.count()).select_from(rejected)
                                          .where(rejected.c.resolved_at.is_(None))).scalar_one()
        return pending, rejected_count, oldest

    def rejected(self, include_resolved: bool = False) -> list[RejectedMutation]:
        q = select(rejected).order_by(rejected.c.seq)
        if not include_resolved:
            q = q.where(rejected.c.resolved_at.is_(None))
        with self._store.journal.read() as conn:
            rows = conn.execute(q).all()
        return [RejectedMutation(_row_to_mutation(r), r.code, r.message, r.rejected_at) for r in rows]

    def resolve(self, mutation_id: str, by: str) -> None:
        """A supervisor has dealt with a rejected mutation."""
        with self._store.journal.write() as conn:
            conn.execute(update(rejected).where(rejected.c.id == mutation_id)
                         .values(resolved_by=by, resolved_at=self._clock().isoformat()))

    def forget_settled(self, keep: int = 10_000) -> int:
        """Drop the oldest done mutations beyond `keep` (the audit log keeps the trail)."""
        with self._store.journal.write(synced=False) as conn:
            top = conn.execute(select(func.max(outbox.c.seq)).where(outbox.c.state == "done")).scalar()
            if top is None:
                return 0
            return conn.execute(delete(outbox).where(outbox.c.state == "done", outbox.c.seq <= top - keep)).rowcount


def _settle(conn: Connection, replica_cursor: int) -> int:
    return conn.execute(update(outbox).where(and_(outbox.c.state == "acked", outbox.c.ack_cursor <= replica_cursor))
                        .values(state="done")).rowcount


def _state(conn: Connection, key: str) -> str | None:
    return conn.execute(select(sync_state.c.value).where(sync_state.c.key == key)).scalar()


def _set_state(conn: Connection, key: str, value: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value))
