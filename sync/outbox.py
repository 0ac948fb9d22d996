"""The durable queue of user actions (mutations) waiting for the server.

A user action is one transaction in the journal file: the mutation is appended with the
next seq of this device, and the commit is synced to disk (synchronous=FULL) before the
caller hears "accepted". The app hands actions to the journal writer thread (`submit`,
sync.journal_writer) and hears from it once they are on disk; `append` does the same
commit in the calling thread. The local view shows server state plus the effects of the
mutations still in this queue (sync.view), so that one commit is also the update of
what the screen shows. After the server acknowledges a mutation it stays here as `acked`
until a pull has brought its effects into the replica (its ack_cursor), so the screen
never flickers back to the old state in between.

The view does not read the queue from the journal on every call: `track` keeps the
pending and acknowledged mutations in memory (sync.live_queue), indexed by the rows they touch, and every
method here that changes their state updates that index right after its commit, in
commit order (one lock around both). Every Outbox of the same LocalStore shares it; it
assumes no other process (and no second LocalStore of the same folder) changes the queue
meanwhile: one app per data folder.
"""

import itertools
import logging
import uuid
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from sync.journal_writer import REFUSED, WAITING, JournalWriter, Submission
from sync.live_queue import KeysOf, LiveQueue, shared_by
from sync.store.database import LocalStore, WriteFailed
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
        # Every Outbox of one journal in this process shares the index and the lock held around
        # each change of the queue and the index update after its commit (so the index changes
        # in commit order). Readers never take that lock; they take the index's own.
        self._shared = shared_by(store.journal)
        self._write_order = self._shared.write_order
        self._writer = JournalWriter(self._store_group, then=self._appended)

    def on_append(self, listener: Callable[[], None]) -> None:
        """Call listener after every durable append (from the thread that committed it: the writer's, for submit)."""
        self._listeners.append(listener)

    def close(self, timeout: float = 10.0) -> bool:
        """Store what was submitted, then stop the writer thread; True when it finished within timeout."""
        return self._writer.close(timeout)

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

    def append(self, user: str, name: str, args: dict,
               along: Callable[[Connection], None] | None = None) -> Mutation:
        """Queue one action in the calling thread; when this returns, it survives kill -9 and power loss.

        Raises sync.store.database.WriteFailed when it could not be stored (a full disk):
        then nothing of it was kept and the person must be told. `along` writes more rows of
        the journal in the same transaction (a pack's label jobs): all of it is kept, or none.
        """
        submission = Submission(self._draft(user, name, args), along=along)
        if self._store_group([submission]):
            self._appended()
        submission.announce()
        return submission.result()

    def submit(self, user: str, name: str, args: dict, after: Submission | None = None) -> Submission:
        """Hand one action to the writer thread and return at once; it is accepted only once stored.

        submission.when_done / result() tell when it is on disk (synced) or why not (WriteFailed:
        nothing of it was kept). With `after`, it is refused as well if that one is: an action
        judged on an earlier one that did not make it must not be stored without it.
        """
        return self._writer.submit(Submission(self._draft(user, name, args), after))

    def _draft(self, user: str, name: str, args: dict) -> Mutation:
        # seq 0 until the commit gives it the next one; `at` is when the person acted.
        return Mutation(0, str(uuid.uuid4()), name, args, user, self._clock().isoformat())

    def _store_group(self, group: list[Submission]) -> bool:
        """Commit a group in one durable transaction and index it, or refuse it whole; never raises.

        True when something was stored (then the append listeners are due: _appended)."""
        with self._write_order:
            ready = []
            for s in group:
                if s.after is not None and s.after.state == REFUSED:
                    self._mark(s, error=s.after.error)
                else:
                    ready.append(s)
            if not ready:
                return False
            try:
                with self._store.journal.write() as conn:
                    seq = int(_state(conn, "last_seq") or 0)
                    made = [replace(s.draft, seq=seq + n) for n, s in enumerate(ready, 1)]
                    conn.execute(insert(outbox), [
                        {"seq": m.seq, "id": m.id, "name": m.name, "args": m.args, "user": m.user, "at": m.at,
                         "state": "pending", "attempts": 0} for m in made])
                    _set_state(conn, "last_seq", str(made[-1].seq))
                    conn.execute(insert(audit_log), [
                        {"at": m.at, "user": m.user, "action": m.name, "detail": {"seq": m.seq, "id": m.id}}
                        for m in made])
                    for s in ready:
                        if s.along is not None:
                            s.along(conn)
            except Exception as exc:  # noqa: BLE001 - WriteFailed (a full disk) or worse: none of it was kept
                if not isinstance(exc, WriteFailed):
                    log.exception("%d action(s) could not be stored", len(ready))
                for s in ready:
                    self._mark(s, error=exc)
                return False
            live = self._shared.live
            if live is None:
                for s, m in zip(ready, made):
                    s.stored(m)
            else:
                with live.lock:
                    for s, m in zip(ready, made):
                        live.add(m)
                        s.stored(m)
        return True

    def _appended(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # noqa: BLE001 - a listener's bug must not fail the action that is stored
                log.exception("an append listener failed")

    def _mark(self, s: Submission, error: BaseException) -> None:
        if self._shared.live is None:
            s.refused(error)
        else:
            with self._shared.live.lock:
                s.refused(error)

    def pending(self, limit: int = 500) -> list[Mutation]:
        """The oldest mutations not yet acknowledged, in seq order (from memory when tracked)."""
        live = self._shared.live
        if live is not None:
            with live.lock:
                return [e.mutation for e in itertools.islice(live.pending.values(), limit)]
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

    # --- the in-memory index the view reads --------------------------------------------

    def track(self, keys_of: KeysOf) -> None:
        """Keep the queued mutations in memory from now on, indexed by keys_of(mutation) (the rows they touch).

        Loaded once from the journal; then kept in step by every change made through this Outbox.
        """
        with self._write_order:
            if self._shared.live is not None:
                if self._shared.live.keys_of is not keys_of:
                    raise ValueError("the outbox is already indexed another way")
                return
            live = LiveQueue(keys_of)
            with self._store.journal.read() as conn:
                rows = conn.execute(select(outbox).where(outbox.c.state.in_(("pending", "acked")))
                                    .order_by(outbox.c.seq)).all()
                # Mutations settled before: a replica older than their cursors needs them (see LiveQueue).
                live.dropped_through = conn.execute(select(func.max(outbox.c.ack_cursor))
                                                    .where(outbox.c.state == "done")).scalar() or 0
            for r in rows:
                live.add(_row_to_mutation(r), r.ack_cursor if r.state == "acked" else None)
            self._shared.live = live

    def touching(self, keys: Iterable[Hashable], replica_cursor: int,
                 submitted: Sequence[Submission] = ()) -> list[Mutation]:
        """Queued mutations touching keys whose effects a replica at replica_cursor does not show, in seq
        order, then the drafts of `submitted` still waiting for the writer (stored ones are in the queue).

        From memory when tracked; from the journal (in_view) before track() or for a replica older
        than what the index has let go of (a reset, a rebuilt cache, a switch to a lower cursor).
        """
        keys = set(keys)
        live = self._shared.live
        if live is not None:
            with live.lock:
                if replica_cursor >= live.dropped_through:
                    found = live.touching(keys, replica_cursor)
                    return found + [s.draft for s in submitted if s.state == WAITING]
        waiting = [s.draft for s in submitted if s.state == WAITING]  # before the read: see below
        keys_of = live.keys_of if live is not None else None
        found = [m for m in self.in_view(replica_cursor) if keys_of is None or keys.intersection(keys_of(m))]
        # One stored between the two reads is in `found` and still in `waiting`: count it once.
        ids = {m.id for m in found}
        return found + [d for d in waiting if d.id not in ids]

    def queued_keys(self, wanted: Callable[[Hashable], bool]) -> set[Hashable]:
        """The keys (see track) of the rows that queued mutations touch, those `wanted` accepts.

        Acknowledged ones included: a replica may not show them yet (touching() decides).
        """
        live = self._shared.live
        if live is None:
            raise RuntimeError("the outbox keeps no index of the rows its mutations touch: track() first")
        with live.lock:
            return {key for key in live.buckets if wanted(key)}

    def pending_count(self) -> int:
        """How many actions wait for the server (from memory when tracked)."""
        live = self._shared.live
        if live is None:
            return self.counts()[0]
        with live.lock:
            return len(live.pending)

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
        with self._write_order:
            with self._store.journal.write(synced=False) as conn:
                newly_rejected, acked = self._file_results(conn, by_id, results, push_cursor, now)
                if replica_cursor is not None:
                    _settle(conn, replica_cursor)
            self._in_memory(rejected=[r.mutation.id for r in newly_rejected], acked=acked, settled=replica_cursor)
        return newly_rejected

    @staticmethod
    def _file_results(conn: Connection, by_id: dict[str, Mutation], results: list, push_cursor: int | None,
                      now: str) -> tuple[list[RejectedMutation], list[tuple[int, str]]]:
        newly_rejected, acked = [], []
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
        return newly_rejected, acked

    def _in_memory(self, rejected: Iterable[str] = (), acked: Iterable[tuple[int, str]] = (),
                   settled: int | None = None) -> None:
        """After a commit (with _write_order held): the same change in the index."""
        live = self._shared.live
        if live is None:
            return
        with live.lock:
            for mutation_id in rejected:
                live.remove(mutation_id)
            for ack, mutation_id in acked:
                live.acknowledge(mutation_id, ack)
            if settled is not None:
                live.settle(settled)

    def record_failure(self, sent: list[Mutation], error: str) -> None:
        """Note a failed attempt on the mutations of a push (they stay pending)."""
        with self._store.journal.write(synced=False) as conn:
            conn.execute(update(outbox).where(outbox.c.id.in_([m.id for m in sent]))
                         .values(attempts=outbox.c.attempts + 1, last_error=error[:500]))

    def settle(self, conn_cursor: int) -> int:
        """Acked mutations whose effects a pull up to cursor has brought are done; returns how many."""
        with self._write_order:  # acks are filed under it too: none comes between the look and the write
            live = self._shared.live
            if live is not None:
                with live.lock:
                    due = live.settles_any(conn_cursor)
                if not due:
                    return 0  # every pulled page asks; a journal transaction for nothing cost one each
            with self._store.journal.write(synced=False) as conn:
                count = _settle(conn, conn_cursor)
            self._in_memory(settled=conn_cursor)
        return count

    def counts(self) -> tuple[int, int, str | None]:
        """(pending, rejected and unresolved, `at` of the oldest pending); the pending ones from memory when
        tracked (the engine asks after every pull page: counting a large queue each time cost several ms)."""
        live = self._shared.live
        if live is not None:
            with live.lock:
                pending, oldest = len(live.pending), live.oldest_pending_at()
        with self._store.journal.read() as conn:
            if live is None:
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

    def trim(self, before: datetime) -> dict[str, int]:
        """Drop what has served its purpose before `before`: settled actions, local audit rows and
        rejections a supervisor dealt with. Pending, acknowledged-but-unsettled and open rejected
        actions always stay. Returns how many rows of each kind went."""
        cutoff = before.isoformat()
        with self._store.journal.write(synced=False) as conn:
            return {
                "settled actions": conn.execute(delete(outbox).where(outbox.c.state == "done",
                                                                     outbox.c.at < cutoff)).rowcount,
                "audit rows": conn.execute(delete(audit_log).where(audit_log.c.at < cutoff)).rowcount,
                "dealt-with rejections": conn.execute(delete(rejected).where(rejected.c.resolved_at.is_not(None),
                                                                             rejected.c.resolved_at < cutoff)).rowcount,
            }


def _settle(conn: Connection, replica_cursor: int) -> int:
    return conn.execute(update(outbox).where(and_(outbox.c.state == "acked", outbox.c.ack_cursor <= replica_cursor))
                        .values(state="done")).rowcount


def _state(conn: Connection, key: str) -> str | None:
    return conn.execute(select(sync_state.c.value).where(sync_state.c.key == key)).scalar()


def _set_state(conn: Connection, key: str, value: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value))
