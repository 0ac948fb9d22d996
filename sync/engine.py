"""The sync engine: pushes the outbox and pulls the feed in the background, without Qt.

Two worker threads share one API client. The pusher sleeps until something is queued
(Outbox.on_append), then sends the outbox in seq order, in batches. The puller follows
the feed from the replica's cursor, committing each page with its cursor, and then
long-polls so that a change on the server shows up in about a second. Connectivity is
judged from those calls (sync.connectivity); failures back off exponentially with jitter,
capped at 60 s, and any new action or an explicit kick() retries at once.
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sync.api import ApiError, AuthRequired, BadResponse, Offline, OrderApi, PullPage, RequestRefused, ServerBusy
from sync.connectivity import Connectivity, SyncState
from sync.outbox import Outbox, RejectedMutation, utcnow
from sync.retry import Backoff
from sync.store import replica
from sync.store.database import LocalStore, WriteFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncStatus:
    """What the status bar and `floorhand status` show."""

    state: SyncState
    pending: int
    rejected: int
    oldest_pending_age_s: float | None
    last_push_at: datetime | None
    last_pull_at: datetime | None
    last_error: str | None
    stuck: bool
    cursor: int


@dataclass
class EngineOptions:
    """Tuning of the engine; the defaults are the ones the benchmarks chose."""

    push_batch: int = 500  # a push of 500 picks holds the server's writer about 0.2 s (docs/benchmarks.md)
    pull_limit: int = 5000
    long_poll_s: float = 20.0
    stuck_after_s: float = 600.0
    backoff: Backoff = Backoff(base=1.0, cap=60.0)


class SyncEngine:
    """Background push/pull of one device's store against the order API."""

    def __init__(self, store: LocalStore, outbox: Outbox, api: OrderApi, options: EngineOptions | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._store, self._outbox, self._api = store, outbox, api
        self.options = options or EngineOptions()
        self._clock = clock
        self.device_id = outbox.device_id()
        initial = SyncState.CONNECTING if api.tokens is not None else SyncState.AUTH_REQUIRED
        self.connectivity = Connectivity(initial, on_change=self._state_changed)
        self._listeners: list[Callable[[SyncStatus], None]] = []
        self._rejection_listeners: list[Callable[[list[RejectedMutation]], None]] = []
        self._changed = threading.Condition()
        self._exchange = threading.Lock()  # a push on the wire, or a page being stored
        self._stop = threading.Event()
        self._push_wanted = threading.Event()
        self._pull_wanted = threading.Event()
        self._signed_in = threading.Event()
        self._threads: list[threading.Thread] = []
        self._polling = threading.Lock()  # guards _long_polling against stop()
        self._long_polling = False  # the pull worker waits on a long poll and holds nothing
        self._last_push_at: datetime | None = None
        self._last_pull_at: datetime | None = None
        self._last_error: str | None = None
        self._catching_up = True
        outbox.on_append(self._queued)
        # Effects an earlier run pulled but did not mark as arrived (a crash in between).
        outbox.settle(self.cursor())

    # --- observing -----------------------------------------------------------------

    def subscribe(self, listener: Callable[[SyncStatus], None]) -> None:
        """listener(status) runs on a worker thread after every state or queue change."""
        self._listeners.append(listener)

    def on_rejected(self, listener: Callable[[list[RejectedMutation]], None]) -> None:
        self._rejection_listeners.append(listener)

    def cursor(self) -> int:
        with self._store.replica.read() as conn:
            return replica.cursor(conn)

    def status(self) -> SyncStatus:
        pending, rejected_count, oldest = self._outbox.counts()
        now = self._clock()
        age = (now - datetime.fromisoformat(oldest)).total_seconds() if oldest else None
        return SyncStatus(
            state=self.connectivity.state, pending=pending, rejected=rejected_count, oldest_pending_age_s=age,
            last_push_at=self._last_push_at, last_pull_at=self._last_pull_at, last_error=self._last_error,
            stuck=self._stuck(pending, age, now), cursor=self.cursor(),
        )

    def _stuck(self, pending: int, age: float | None, now: datetime) -> bool:
        """Mutations wait, no push has succeeded for a while, and yet the server answers."""
        if not pending or age is None or age < self.options.stuck_after_s:
            return False
        since_push = (now - self._last_push_at).total_seconds() if self._last_push_at else age
        answering = self._last_pull_at is not None and (now - self._last_pull_at).total_seconds() < self.options.stuck_after_s
        return since_push >= self.options.stuck_after_s and answering

    def wait_for(self, predicate: Callable[[SyncStatus], bool], timeout: float) -> SyncStatus:
        """Block until predicate(status) holds or timeout passes; returns the last status."""
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            with self._changed:
                while True:
                    status = self.status()
                    if predicate(status) or deadline.is_set():
                        return status
                    self._changed.wait(0.5)
        finally:
            timer.cancel()

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()
        if self._listeners:
            status = self.status()
            for listener in self._listeners:
                listener(status)

    def _state_changed(self, before: SyncState, after: SyncState, event: str) -> None:
        log.info("sync %s -> %s (%s)", before.value, after.value, event)

    # --- control -------------------------------------------------------------------

    def start(self) -> None:
        for name, target in (("push", self._push_loop), ("pull", self._pull_loop)):
            thread = threading.Thread(target=target, name=f"sync-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the workers to stop and wait up to timeout for each.

        A pull worker waiting on a long poll is not waited for: a blocking read cannot be
        interrupted, and the worker stores nothing once it is stopped (it ends when the
        poll returns), so quitting never waits for the poll's 20 s.
        """
        with self._polling:
            self._stop.set()
            polling = self._long_polling
        for event in (self._push_wanted, self._pull_wanted, self._signed_in):
            event.set()
        for thread in self._threads:
            if not (polling and thread.name == "sync-pull"):
                thread.join(timeout)

    def kick(self) -> None:
        """Retry now (the network came back, the user pressed sync)."""
        self.connectivity.fire("retry")
        self._push_wanted.set()
        self._pull_wanted.set()

    def signed_in(self) -> None:
        """New tokens are in the API client: leave auth_required and go on."""
        self.connectivity.fire("signed_in")
        self._signed_in.set()
        self.kick()

    def _queued(self) -> None:
        # Runs in the thread that queued the action (the app's UI thread): only wake the
        # pusher, which reports the new status from its own thread.
        self.connectivity.fire("work")
        self._push_wanted.set()

    # --- one round, also used by `floorhand sync --once` -------------------------------

    def sync_once(self) -> SyncStatus:
        """Push everything, then pull to the end of the feed, in the calling thread."""
        pushed = self._push_all()
        # A push refused for good (say a 413) must not keep fresh server state away.
        if self.connectivity.state not in (SyncState.OFFLINE, SyncState.AUTH_REQUIRED):
            if self._pull(wait=0, until_caught_up=True) and pushed and self.status().pending == 0:
                self.connectivity.fire("caught_up")
        self._notify()
        return self.status()

    def pull_now(self) -> SyncStatus:
        """Pull to the end of the feed in the calling thread, without pushing."""
        self._pull(wait=0, until_caught_up=True)
        self._notify()
        return self.status()

    # --- push ----------------------------------------------------------------------

    def _push_loop(self) -> None:
        failures = 0
        self._push_wanted.set()
        while not self._stop.is_set():
            self._push_wanted.wait(self._retry_delay(failures) if failures else None)
            self._push_wanted.clear()
            if self._stop.is_set():
                return
            self._notify()  # the queue grew: the status bar shows it before the push goes out
            if self.connectivity.state is SyncState.AUTH_REQUIRED:
                self._signed_in.wait()
                self._signed_in.clear()
                continue
            failures = 0 if self._push_all() else failures + 1
            # Offline stays offline while backing off (no flicker through "connecting");
            # the next successful call or a kick() leaves it.
            if failures and self.connectivity.state is SyncState.ERROR:
                self.connectivity.fire("retry")

    def _push_all(self) -> bool:
        """Send pending mutations until none are left; False when a call failed."""
        while not self._stop.is_set():
            batch = self._outbox.pending(self.options.push_batch)
            if not batch:
                # The queue just emptied: if the feed is caught up too, the engine is idle
                # now rather than after the next (long) poll.
                if not self._catching_up:
                    self.connectivity.fire("caught_up")
                return True
            # While a push is on the wire the puller must not store a page: that page may
            # already hold the push's effects while its mutations still read `pending`, and
            # the view would count them twice (a two-piece pick shown complete after one).
            with self._exchange:
                try:
                    outcome = self._api.push(self.device_id, [m.wire() for m in batch])
                except ApiError as exc:
                    try:
                        self._outbox.record_failure(batch, str(exc))
                    except WriteFailed as unrecorded:
                        log.warning("the failed push could not be noted: %s", unrecorded)
                    self._failed(exc)
                    return False
                # The puller may have stored this push's effects before the push began; left
                # `acked`, the view would count them twice until some later page: settle too.
                try:
                    rejected = self._outbox.record_results(batch, outcome.results, outcome.cursor, self.cursor())
                except WriteFailed as exc:
                    # Applied on the server, still pending here: the next push is answered `duplicate`.
                    self._failed(exc)
                    return False
            self._last_push_at = self._clock()
            self.connectivity.fire("call_ok")
            if rejected:
                log.warning("%d mutation(s) rejected by the server: %s", len(rejected),
                            ", ".join(f"{r.mutation.name}#{r.mutation.seq} {r.code}" for r in rejected))
                for listener in self._rejection_listeners:
                    listener(rejected)
            self._notify()
        return True

    # --- pull ----------------------------------------------------------------------

    def _pull_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            if self.connectivity.state is SyncState.AUTH_REQUIRED:
                self._signed_in.wait()
                self._signed_in.clear()
                continue
            wait = 0.0 if self._catching_up else self.options.long_poll_s
            succeeded = self._pull(wait=wait, until_caught_up=self._catching_up, worker=True)
            if self._stop.is_set():
                return
            if succeeded:
                failures = 0
                if not self._catching_up and self.status().pending == 0:
                    self.connectivity.fire("caught_up")
                    self._notify()
                continue
            failures += 1
            self._pull_wanted.wait(self._retry_delay(failures))
            self._pull_wanted.clear()
            if self.connectivity.state is SyncState.ERROR:
                self.connectivity.fire("retry")

    def _pull(self, wait: float, until_caught_up: bool, worker: bool = False) -> bool:
        """One pull (or, with until_caught_up, pulls until has_more is false); False on failure.

        While a page is stored, the next one is already requested: the server reads page
        n+1 while this process decodes and stores page n, instead of each waiting for the
        other ("Client core" in docs/benchmarks.md). `worker`: called by the pull worker,
        which stops storing once stop() was called; pull_now() and sync_once() still work
        on a stopped engine.
        """
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-pull-ahead") as ahead:
            coming: Future[PullPage] | None = None
            asked_from = self.cursor()
            while True:
                try:
                    if coming is None:
                        asked_from = self.cursor()
                    page = (coming.result() if coming is not None
                            else self._long_poll(asked_from, wait) if worker
                            else self._api.pull(asked_from, self.options.pull_limit, wait))
                except ApiError as exc:
                    if not self._stop.is_set():  # a poll cut short by stopping is no failure
                        self._failed(exc)
                    return False
                except RuntimeError:
                    # httpx refuses to go on once the client is closed; while stopping, a
                    # long poll still in flight ends that way and it is not an error.
                    if self._stop.is_set():
                        return False
                    raise
                if worker and (page is None or self._stop.is_set()):
                    return False  # the worker was stopped: it stores nothing more
                coming = None
                self.connectivity.fire("call_ok")
                self._last_pull_at = self._clock()
                if page.reset:
                    log.warning("the server asked for a full resync; the replica is rebuilt (queued actions stay)")
                    try:
                        with self._store.replica.write() as conn:
                            replica.wipe(conn)
                    except WriteFailed as exc:
                        self._failed(exc)
                        return False
                    self._catching_up = True
                    continue
                more = until_caught_up and page.has_more and not self._stop.is_set()
                if more:
                    # page.cursor is the cursor this page is stored with just below.
                    coming = ahead.submit(self._api.pull, page.cursor, self.options.pull_limit, 0)
                with self._exchange:  # not while a push waits for its answer, see _push_all
                    # Another pull (pull_now after a claim) may have stored pages meanwhile;
                    # this one would then put older rows over newer ones: ask again instead.
                    stale = self.cursor() != asked_from
                    if not stale and (page.changes or page.cursor != asked_from):
                        try:
                            with self._store.replica.write() as conn:
                                replica.apply_page(conn, page.changes, page.cursor)
                            self._outbox.settle(page.cursor)
                        except replica.BadRow as exc:
                            # Nothing of the page was stored; it is asked for again after the backoff.
                            self._failed(BadResponse(f"pull: {exc}"))
                            return False
                        except WriteFailed as exc:
                            # The same, for a full disk; an unsettled page is settled by the next one.
                            self._failed(exc)
                            return False
                if stale:
                    coming, wait = None, 0
                    continue
                asked_from = page.cursor
                if page.changes:
                    self._notify()
                self._catching_up = page.has_more
                if not more:
                    return True
                wait = 0

    def _long_poll(self, cursor: int, wait: float) -> PullPage | None:
        """api.pull, marked while it waits so that stop() need not; None when already stopping."""
        with self._polling:
            if self._stop.is_set():
                return None
            self._long_polling = wait > 0
        try:
            return self._api.pull(cursor, self.options.pull_limit, wait)
        finally:
            with self._polling:
                self._long_polling = False

    # --- failures ------------------------------------------------------------------

    def _failed(self, exc: ApiError | WriteFailed) -> None:
        self._last_error = str(exc)
        if isinstance(exc, Offline):
            self.connectivity.fire("network_down")
        elif isinstance(exc, AuthRequired):
            self.connectivity.fire("unauthorized")
        else:
            if isinstance(exc, WriteFailed):
                log.error("sync stopped: the local store cannot be written: %s", exc)
            elif isinstance(exc, (RequestRefused, BadResponse, ServerBusy)):
                log.error("sync call failed: %s", exc)
            self.connectivity.fire("failure")
        self._notify()

    def _retry_delay(self, failures: int) -> float:
        return max(0.05, self.options.backoff.delay(failures - 1))
