"""The outbox's in-memory index: the queued mutations still laid over the replica, by the rows they touch.

Kept by sync.outbox.Outbox, which changes it right after each commit of the queue, in commit
order; read by the view (sync.view) from any thread under its own lock.
"""

import heapq
import threading
import weakref
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sync.store.database import SqliteFile

if TYPE_CHECKING:
    from sync.outbox import Mutation

KeysOf = Callable[["Mutation"], Iterable[Hashable]]


class _Entry:
    """A queued mutation in memory: pending (ack None) or acknowledged at ack (its effects show from there)."""

    __slots__ = ("mutation", "ack", "keys")

    def __init__(self, mutation: "Mutation", ack: int | None, keys: tuple) -> None:
        self.mutation, self.ack, self.keys = mutation, ack, keys


class LiveQueue:
    """The outbox rows still laid over the replica (pending, acked), by the rows they touch.

    Changed only by the outbox right after its commits; read by the view from any thread.
    A settled mutation leaves at once, but a reader may hold a replica read before that
    settle: `dropped_through` (the highest ack cursor of a mutation that left) tells it that
    the index no longer has everything its older rows need, and it reads the journal instead.
    """

    def __init__(self, keys_of: KeysOf) -> None:
        self.keys_of = keys_of
        self.lock = threading.Lock()
        self.by_id: dict[str, _Entry] = {}
        self.buckets: dict[Hashable, dict[str, _Entry]] = {}
        self.acked: list[tuple[int, int, str]] = []  # heap of (ack cursor, seq, id): settled in cursor order
        self.dropped_through = 0
        self.pending: dict[str, _Entry] = {}  # not yet acknowledged, in seq order (commit order)
        self.oldest: list[tuple[str, int, str]] = []  # heap of (at, seq, id) of pending ones; left ones skipped

    def add(self, m: "Mutation", ack: int | None = None) -> None:
        entry = _Entry(m, ack, tuple(self.keys_of(m)))
        self.by_id[m.id] = entry
        for key in entry.keys:
            self.buckets.setdefault(key, {})[m.id] = entry
        if ack is None:
            self.pending[m.id] = entry
            heapq.heappush(self.oldest, (m.at, m.seq, m.id))
        else:
            heapq.heappush(self.acked, (ack, m.seq, m.id))

    def acknowledge(self, mutation_id: str, ack: int) -> None:
        entry = self.by_id.get(mutation_id)
        if entry is None:
            return
        entry.ack = ack  # as the journal's row: a second answer (a replay) moves it; the heap skips the old one
        self.pending.pop(mutation_id, None)
        heapq.heappush(self.acked, (ack, entry.mutation.seq, mutation_id))

    def oldest_pending_at(self) -> str | None:
        while self.oldest and self.oldest[0][2] not in self.pending:
            heapq.heappop(self.oldest)
        return self.oldest[0][0] if self.oldest else None

    def remove(self, mutation_id: str) -> _Entry | None:
        entry = self.by_id.pop(mutation_id, None)
        if entry is None:
            return None
        for key in entry.keys:
            bucket = self.buckets.get(key)
            if bucket is not None:
                bucket.pop(mutation_id, None)
                if not bucket:
                    del self.buckets[key]
        self.pending.pop(mutation_id, None)
        return entry

    def settles_any(self, cursor: int) -> bool:
        """Whether a replica at cursor would settle an acked mutation (settle() would drop something)."""
        return bool(self.acked) and self.acked[0][0] <= cursor

    def settle(self, cursor: int) -> None:
        while self.acked and self.acked[0][0] <= cursor:
            ack, _, mutation_id = heapq.heappop(self.acked)
            entry = self.by_id.get(mutation_id)
            if entry is not None and entry.ack == ack:
                self.remove(mutation_id)
                self.dropped_through = max(self.dropped_through, ack)

    def touching(self, keys: Iterable[Hashable], cursor: int) -> list["Mutation"]:
        """(Under the lock.) The mutations touching keys whose effects a replica at cursor does not show."""
        found: dict[str, _Entry] = {}
        for key in keys:
            bucket = self.buckets.get(key)
            if bucket:
                found.update(bucket)
        shown = [e.mutation for e in found.values() if e.ack is None or e.ack > cursor]
        shown.sort(key=lambda m: m.seq)
        return shown


@dataclass
class SharedQueue:
    """What the Outbox objects of one journal file share in a process."""

    write_order: threading.Lock = field(default_factory=threading.Lock)
    live: LiveQueue | None = None


_SHARED: dict[int, SharedQueue] = {}
_SHARED_LOCK = threading.Lock()


def shared_by(journal: SqliteFile) -> SharedQueue:
    with _SHARED_LOCK:
        shared = _SHARED.get(id(journal))
        if shared is None:
            shared = _SHARED[id(journal)] = SharedQueue()
            weakref.finalize(journal, _SHARED.pop, id(journal), None)
        return shared
