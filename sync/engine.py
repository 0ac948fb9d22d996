"""The sync engine: pushes the outbox and pulls the feed in the background, without Qt.

Two worker threads share one API client. The pusher sleeps until something is queued
(Outbox.on_append), then sends the outbox in seq order, in batches. The puller follows
the feed of the signed-in person's scope from the replica's cursors, committing each page
with its cursors (an interrupted initial sync resumes), and then long-polls so that a
change on the server shows up in about a second. Connectivity is judged from those calls
(sync.connectivity); failures back off exponentially with jitter, capped at 60 s, and any
new action or an explicit kick() retries at once.

Neither worker ever dies: an unexpected exception is logged with its traceback, shown as
the engine's error and retried after the backoff. A replica found damaged while running is
set aside and pulled again; a damaged journal stops the workers and says so, since it
holds work that exists nowhere else.

This module runs the workers and keeps the state they share; what each one does with the
server is in sync.push (Pusher) and sync.pull (Puller), and the snapshot they report is
sync.status.SyncStatus.
"""

import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy.exc import DatabaseError, OperationalError

from sync.api import (AuthRequired, BadResponse, DeviceRefused, Offline, OrderApi, PersonSession, RequestRefused,
                      ServerBusy)
from sync.connectivity import Connectivity, SyncState
from sync.outbox import Outbox, RejectedMutation, utcnow
from sync.pull import Puller
from sync.push import Pusher
from sync.retry import Backoff
from sync.status import SyncRecord, SyncStatus
from sync.store import replica
from sync.store.database import LocalStore, WriteFailed

__all__ = ["EngineOptions", "JournalDamaged", "SyncEngine", "SyncStatus"]

log = logging.getLogger(__name__)


@dataclass
class EngineOptions:
    """Tuning of the engine; the defaults are the ones the benchmarks chose."""

    push_batch: int = 500  # a push of 500 picks holds the server's writer about 0.2 s (docs/benchmarks.md)
    pull_limit: int = 5000
    long_poll_s: float = 20.0
    # While changes trickle in (another device picking), a long poll answers for each of them: at most
    # one pull round per this many seconds, so the screen's thread is not handed a page every 60 ms.
    pull_pace_s: float = 0.5
    # Scans come in bursts: a push woken by a queued action waits this long and takes those queued
    # meanwhile along, so the request and its bookkeeping fall after the scan's verdict is shown.
    # A start, a kick or a retry push at once.
    push_gather_s: float = 0.2
    stuck_after_s: float = 600.0  # also how long pulls may fail while pushes work before `stale`
    backoff: Backoff = Backoff(base=1.0, cap=60.0)
    retention_days: float = 30.0  # settled actions and local audit rows older than this are trimmed


class JournalDamaged(Exception):
    """The journal failed as a damaged file does; nothing more is written to it."""


class SyncEngine:
    """Background push/pull of one device's store against the order API."""

    def __init__(self, store: LocalStore, outbox: Outbox, api: OrderApi, options: EngineOptions | None = None,
                 clock: Callable[[], datetime] = utcnow, device=None) -> None:
        self._store, self._outbox, self._api = store, outbox, api
        self.options = options or EngineOptions()
        self._clock = clock
        self._device = device  # sync.device.Device: tells what is wrong when the server refuses the device
        self.device_id = outbox.device_id()
        initial = SyncState.CONNECTING if api.person is not None else SyncState.AUTH_REQUIRED
        self.connectivity = Connectivity(initial, on_change=self._state_changed)
        self._listeners: list[Callable[[SyncStatus], None]] = []
        self._changed = threading.Condition()
        self._exchange = threading.Lock()  # a push on the wire, or a page being stored
        self._stop = threading.Event()
        self._push_wanted = threading.Event()
        self._queued_since = threading.Event()  # an action was queued since the last push round began
        self._pull_wanted = threading.Event()
        # Session changes, counted: a worker waiting for a person to sign in waits for the count
        # to move past the one it saw fail, so no wake-up is lost between the two workers.
        self._sessions = threading.Condition()
        self._session_count = 0
        self._seen_sessions = {"push": 0, "pull": 0}  # the session count each worker last woke for
        self._threads: list[threading.Thread] = []
        self._record = SyncRecord()
        self._journal_damage: str | None = None
        self._counts: tuple[int, int, str | None] = (0, 0, None)
        self._pusher = Pusher(outbox, api, self.options, device_id=self.device_id, clock=clock, stop=self._stop,
                              exchange=self._exchange, journal=self._journal, shown_cursor=self._shown_cursor,
                              emptied=self._queue_emptied, answered=self._pushed,
                              failed=partial(self._failed, source="push"), changed=self._notify)
        self._puller = Puller(store, outbox, api, self.options, stop=self._stop, exchange=self._exchange,
                              journal=self._journal, answered=self._pulled, failed=self._failed, changed=self._notify)
        api.on_session(self._session_changed)
        outbox.on_append(self._queued)
        # Effects an earlier run pulled but did not mark as arrived (a crash in between).
        outbox.settle(self._shown_cursor())

    # --- observing -----------------------------------------------------------------

    def subscribe(self, listener: Callable[[SyncStatus], None]) -> None:
        """listener(status) runs on a worker thread after every state or queue change."""
        self._listeners.append(listener)

    def on_rejected(self, listener: Callable[[list[RejectedMutation]], None]) -> None:
        """listener(rejected) after each push the server refused some of, on a worker thread."""
        self._pusher.on_rejected(listener)

    def cursor(self) -> int:
        """Where the feed of the current scope is complete up to (the lowest of its audiences' cursors)."""
        with self._store.replica.read() as conn:
            return replica.cursor(conn)

    def _shown_cursor(self) -> int:
        with self._store.replica.read() as conn:
            return replica.shown_cursor(conn)

    def status(self) -> SyncStatus:
        if self._journal_damage is None:
            try:
                self._counts = self._outbox.counts()
            except DatabaseError as exc:
                if isinstance(exc, OperationalError):
                    raise
                self._journal_failed(exc)
        pending, rejected_count, oldest = self._counts
        now = self._clock()
        age = (now - datetime.fromisoformat(oldest)).total_seconds() if oldest else None
        try:
            cursor = self.cursor()
        except DatabaseError:
            cursor = 0  # a damaged replica: the puller sets it aside and reports it
        record, after_s = self._record, self.options.stuck_after_s
        return SyncStatus(
            state=self.connectivity.state, pending=pending, rejected=rejected_count, oldest_pending_age_s=age,
            last_push_at=record.last_push_at, last_pull_at=record.last_pull_at, last_error=record.last_error,
            stuck=record.stuck(pending, age, now, after_s), cursor=cursor, stale=record.stale(now, after_s),
        )

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
        self._record.started_at = self._clock()
        for name, target in (("push", self._push_loop), ("pull", self._pull_loop)):
            thread = threading.Thread(target=target, name=f"sync-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the workers to stop and wait up to timeout for each.

        A long poll runs on a thread of its own that nobody waits for: a blocking read cannot
        be interrupted, and its answer is dropped once the engine is stopped, so quitting
        never waits for the poll's 20 s.
        """
        self._stop.set()
        self._push_wanted.set()
        self._pull_wanted.set()
        self._puller.wake()
        with self._sessions:
            self._sessions.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def kick(self) -> None:
        """Retry now (the network came back, the user pressed sync)."""
        self.connectivity.fire("retry")
        self._push_wanted.set()
        self._pull_wanted.set()

    def signed_in(self) -> None:
        """New tokens are in the API client: leave auth_required and go on (install() already does this)."""
        self._session_changed(self._api.person)

    def set_scope(self, scope: list[str]) -> replica.ScopeChange:
        """The person signing in reads these audiences: from now on the replica shows exactly them.

        Called by the sign-in before the session changes hands (sync.signin.SignIn), on its
        worker thread: the previous person's own rows are purged here. A page of the previous
        scope still on its way is dropped when it arrives (see Puller.store_page), and a long
        poll of it is abandoned so the new scope is asked for at once.
        """
        change = self._puller.set_scope(scope)
        self._pull_wanted.set()
        return change

    def _session_changed(self, person: PersonSession | None) -> None:
        # Runs on whichever thread signed in, out or renewed the tokens.
        with self._sessions:
            self._session_count += 1
            self._sessions.notify_all()
        if person is not None and (person.tokens is not None or person.ticket is not None):
            self.connectivity.fire("signed_in")
            self._push_wanted.set()
            self._pull_wanted.set()

    def _wait_for_session(self, worker: str) -> None:
        """Sleep until the session changes from the one this worker last woke for (a sign-in, a switch)."""
        with self._sessions:
            self._sessions.wait_for(lambda: self._stop.is_set()
                                    or self._session_count != self._seen_sessions[worker])
            self._seen_sessions[worker] = self._session_count
        if self.connectivity.state is SyncState.DEVICE_REFUSED and self._api.person is not None:
            self.connectivity.fire("signed_in")  # a new sign-in: try the device again

    def _queued(self) -> None:
        # Runs in the thread that queued the action (the app's UI thread): only wake the
        # pusher, which reports the new status from its own thread.
        self.connectivity.fire("work")
        self._queued_since.set()
        self._push_wanted.set()

    # --- one round, also used by `floorhand sync --once` -------------------------------

    def sync_once(self) -> SyncStatus:
        """Push everything, then pull to the end of the feed, in the calling thread."""
        pushed = self._pusher.push_all()
        # A push refused for good (say a 413) must not keep fresh server state away.
        if self.connectivity.state not in (SyncState.OFFLINE, SyncState.AUTH_REQUIRED, SyncState.DEVICE_REFUSED):
            if self._puller.pull(wait=0, until_caught_up=True) and pushed and self.status().pending == 0:
                self.connectivity.fire("caught_up")
        self._notify()
        return self.status()

    def pull_now(self) -> SyncStatus:
        """Pull to the end of the feed in the calling thread, without pushing."""
        self._puller.pull(wait=0, until_caught_up=True)
        self._notify()
        return self.status()

    # --- the workers ---------------------------------------------------------------

    def _run(self, worker: str, one_round: Callable[[int], int], woken: threading.Event) -> None:
        """A worker's life: rounds until stopped, each returning the failures in a row after it.

        Nothing ends it but stop() or a damaged journal: an exception nobody planned for is
        logged and shown (_crashed), and the round is tried again after the backoff.
        """
        failures = 0
        while not self._stop.is_set() and self._journal_damage is None:
            try:
                failures = one_round(failures)
            except Exception as exc:  # noqa: BLE001 - the worker must survive anything; see _crashed
                failures += 1
                self._crashed(worker, exc)
                woken.wait(self._retry_delay(failures))
                woken.clear()

    def _push_loop(self) -> None:
        self._queued_since.clear()  # what was queued before the start is a backlog, not a burst to wait for
        self._push_wanted.set()
        self._run("push", self._push_round, self._push_wanted)

    def _push_round(self, failures: int) -> int:
        """One wake-up of the pusher; returns the failures in a row after it."""
        self._push_wanted.wait(self._retry_delay(failures) if failures else None)
        if not failures and self.options.push_gather_s and self._queued_since.is_set():
            self._stop.wait(self.options.push_gather_s)  # woken by a scan: the rest of its burst comes along
        self._queued_since.clear()
        self._push_wanted.clear()
        if self._stop.is_set():
            return failures
        self._notify()  # the queue grew: the status bar shows it before the push goes out
        self._pusher.trim_when_due()
        if self.connectivity.state in (SyncState.AUTH_REQUIRED, SyncState.DEVICE_REFUSED):
            self._wait_for_session("push")
            return 0
        failures = 0 if self._pusher.push_all() else failures + 1
        # Offline stays offline while backing off (no flicker through "connecting");
        # the next successful call or a kick() leaves it.
        if failures and self.connectivity.state is SyncState.ERROR:
            self.connectivity.fire("retry")
        return failures

    def _pull_loop(self) -> None:
        self._run("pull", self._pull_round, self._pull_wanted)

    def _pull_round(self, failures: int) -> int:
        if self.connectivity.state in (SyncState.AUTH_REQUIRED, SyncState.DEVICE_REFUSED):
            self._wait_for_session("pull")
            return 0
        # The first call after a sign-in or an outage answers at once (the status says Online
        # as soon as the server does), and so does each page of a catch-up; then long polls.
        settled = self.connectivity.state in (SyncState.SYNCING, SyncState.IDLE)
        wait = 0.0 if self._puller.catching_up or not settled else self.options.long_poll_s
        started = time.monotonic()
        self._pull_wanted.clear()  # this round is the pull wanted so far: only a later wish cuts its pace short
        succeeded = self._puller.pull(wait=wait, until_caught_up=self._puller.catching_up, worker=True)
        if self._stop.is_set():
            return failures
        if succeeded:
            if not self._puller.catching_up and self.status().pending == 0:
                self.connectivity.fire("caught_up")
                self._notify()
            if wait and not self._puller.catching_up:
                # Paced: a pull_now, a kick, a new scope or stop() still wake it at once.
                self._pull_wanted.wait(max(0.0, started + self.options.pull_pace_s - time.monotonic()))
                self._pull_wanted.clear()
            return 0
        failures += 1
        self._pull_wanted.wait(self._retry_delay(failures))
        self._pull_wanted.clear()
        if self.connectivity.state is SyncState.ERROR:
            self.connectivity.fire("retry")
        return failures

    def _crashed(self, worker: str, exc: BaseException) -> None:
        """An exception nobody planned for: logged whole, shown in plain words, retried after the backoff."""
        if isinstance(exc, JournalDamaged):
            return  # said already; the workers end
        log.error("the sync %s worker failed; it goes on after a pause", worker, exc_info=exc)
        self._record.failed(f"Sync hit an unexpected problem ({type(exc).__name__}); it keeps trying.", worker)
        self.connectivity.fire("failure")
        try:
            self._notify()
        except Exception:  # noqa: BLE001 - a listener failing here must not end the worker either
            log.exception("telling the listeners about the %s worker's failure failed", worker)

    # --- failures ------------------------------------------------------------------

    @contextmanager
    def _journal(self):
        """Journal work: a file that fails as a damaged one does stops the workers (JournalDamaged)."""
        if self._journal_damage is not None:
            raise JournalDamaged(self._journal_damage)
        try:
            yield
        except DatabaseError as exc:
            if isinstance(exc, OperationalError):
                raise
            self._journal_failed(exc)
            raise JournalDamaged(self._journal_damage) from exc

    def _journal_failed(self, exc: BaseException) -> None:
        if self._journal_damage is not None:
            return
        folder = self._store.data_dir
        self._journal_damage = (f"The local journal is damaged ({getattr(exc, 'orig', exc)}). It holds work not yet "
                                f"sent, so nothing more is written to it: copy the folder {folder} for support.")
        log.error("sync stopped: %s", self._journal_damage)
        self._record.failed(self._journal_damage, "journal")  # never history
        self.connectivity.fire("failure")
        self._stop.set()
        self._push_wanted.set()
        self._pull_wanted.set()
        self._puller.wake()

    def _answered(self, source: str) -> None:
        """A push or pull went through: online, and an error of the same kind is history."""
        self._record.answered(source)
        self.connectivity.fire("call_ok")

    def _pushed(self) -> None:
        """The server answered a push."""
        self._record.last_push_at = self._clock()
        self._answered("push")

    def _pulled(self) -> None:
        """The server answered a pull with a page."""
        self._answered("pull")
        self._record.last_pull_at = self._clock()

    def _queue_emptied(self) -> None:
        """Nothing is left to push: if the feed is caught up too, the engine is idle."""
        if not self._puller.catching_up:
            self.connectivity.fire("caught_up")

    def _failed(self, exc: Exception, source: str = "pull") -> None:
        """Show exc as the engine's error (ApiError, WriteFailed, or a damaged replica) and move the state."""
        self._record.failed(str(exc), source)
        if isinstance(exc, Offline):
            self.connectivity.fire("network_down")
        elif isinstance(exc, AuthRequired):
            self.connectivity.fire("unauthorized")
        elif isinstance(exc, DeviceRefused):
            problem = self._device.problem() if self._device is not None else None
            self._record.last_error = problem.message if problem is not None else str(exc)
            log.error("the order API refuses this device (%s): %s", exc.code, exc)
            self.connectivity.fire("device_refused")
        else:
            if isinstance(exc, WriteFailed):
                log.error("sync stopped: the local store cannot be written: %s", exc)
            elif isinstance(exc, (RequestRefused, BadResponse, ServerBusy)):
                log.error("sync call failed: %s", exc)
            self.connectivity.fire("failure")
        self._notify()

    def _retry_delay(self, failures: int) -> float:
        return max(0.05, self.options.backoff.delay(failures - 1))
