"""The journal writer: one thread that makes user actions durable, several per commit when they wait together.

The UI thread hands an action over (`Outbox.submit`) and goes on handling events; this
thread commits it to the journal with synchronous=FULL and only then says so, from its own
thread (the app turns that into a queued Qt signal). Actions handed over while a commit is
being synced to disk wait and go into the next commit together: one fsync for all of them
(group commit). An action can depend on one handed over before it (`after`): when that one
is refused, so is this one, since the person was shown nothing for the first and the second
was judged on the first being there (ARCHITECTURE.md §3: "accepted" means durable).
"""

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from sync.outbox import Mutation

log = logging.getLogger(__name__)

WAITING, STORED, REFUSED = "waiting", "stored", "refused"
GROUP_LIMIT = 256  # actions per commit at most; a person makes a few per second, a burst of a test many


class Submission:
    """One action handed to the writer: a draft (no seq yet) until it is stored or refused.

    `state` changes on the writer's thread, under the outbox's index lock, at the moment
    the action enters (or is kept out of) the in-memory index, so a reader of the local view
    counts it exactly once: as a draft while waiting, from the index once stored.
    """

    def __init__(self, draft: "Mutation", after: "Submission | None" = None,
                 along: "Callable[[Connection], None] | None" = None) -> None:
        self.draft = draft
        self.after = after
        self.along = along  # more rows of the journal written in the action's transaction (its label jobs)
        self.state = WAITING
        self.mutation: "Mutation | None" = None  # with its seq, once stored
        self.error: BaseException | None = None
        self._future: Future = Future()

    @property
    def id(self) -> str:
        return self.draft.id

    @property
    def done(self) -> bool:
        """Stored or refused, and the submitter may be told (result() no longer waits)."""
        return self._future.done()

    def result(self, timeout: float | None = None) -> "Mutation":
        """The stored mutation; raises why it was not stored (WriteFailed for a full disk)."""
        return self._future.result(timeout)

    def when_done(self, callback: Callable[["Submission"], None]) -> None:
        """callback(self) on the writer's thread once done, or at once in this thread if it already is."""
        self._future.add_done_callback(lambda _future: callback(self))

    # Transitions, made by the outbox on the writer's thread (under its index lock).
    def stored(self, mutation: "Mutation") -> None:
        self.state, self.mutation = STORED, mutation

    def refused(self, error: BaseException) -> None:
        self.state, self.error = REFUSED, error

    def announce(self) -> None:
        """Tell whoever waits (outside every lock: callbacks run here)."""
        if self.state == STORED:
            self._future.set_result(self.mutation)
        elif self.state == REFUSED:
            self._future.set_exception(self.error)

    def __repr__(self) -> str:
        return f"<Submission {self.draft.name} {self.id[:8]} {self.state}>"


_STOP = object()


class JournalWriter:
    """The thread that stores submissions in the order they came, a group per commit.

    `store(group)` (the outbox's) commits a group or refuses it and never raises (True when
    something was stored); the writer then tells each submitter, and only after them calls
    `then()` (the outbox's append listeners: waking the pusher must not hold up the screen's
    verdict). The thread starts with the first submission and is a daemon:
    a process killed or ending with actions still waiting has accepted none of them.
    """

    def __init__(self, store: Callable[[list[Submission]], bool], then: Callable[[], None] = lambda: None,
                 name: str = "journal-writer") -> None:
        self._store, self._then = store, then
        self._name = name
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, submission: Submission) -> Submission:
        with self._lock:
            if self._closed:
                raise RuntimeError("the journal writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._queue.put(submission)
        return submission

    def close(self, timeout: float = 10.0) -> bool:
        """Store what was handed over, then stop; True when the thread ended within timeout."""
        with self._lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(_STOP)
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            group = [self._queue.get()]
            if group[0] is _STOP:
                return
            # Whatever queued up while the last commit was syncing goes into this one.
            while len(group) < GROUP_LIMIT:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stopping = True
                    break
                group.append(more)
            stored = False
            try:
                stored = self._store(group)
            except Exception as exc:  # noqa: BLE001 - store() should not raise; if it does, nobody may hang
                log.exception("the journal writer failed on %d action(s)", len(group))
                for s in group:
                    if s.state == WAITING:
                        s.refused(exc)
            for s in group:
                s.after = None  # judged: a chain of submissions must not keep every earlier one alive
                s.announce()
            if stored:
                self._then()
