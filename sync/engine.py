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
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DatabaseError, OperationalError

from sync.api import (ApiError, AuthRequired, BadResponse, DeviceRefused, Offline, OrderApi, PersonSession, PullPage,
                      RequestRefused, ServerBusy, SessionChanged)
from sync.connectivity import Connectivity, SyncState
from sync.outbox import Mutation, Outbox, RejectedMutation, utcnow
from sync.retry import Backoff
from sync.store import replica
from sync.store.database import LocalStore, WriteFailed

log = logging.getLogger(__name__)

_TRIM_EVERY = timedelta(hours=1)


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
    stuck: bool  # work waits and pushes fail, yet the server answers pulls
    cursor: int
    stale: bool = False  # pushes get through, yet no pull has for a while: the screen may be old


@dataclass
class EngineOptions:
    """Tuning of the engine; the defaults are the ones the benchmarks chose."""

    push_batch: int = 500  # a push of 500 picks holds the server's writer about 0.2 s (docs/benchmarks.md)
    pull_limit: int = 5000
    long_poll_s: float = 20.0
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
        self._rejection_listeners: list[Callable[[list[RejectedMutation]], None]] = []
        self._changed = threading.Condition()
        self._exchange = threading.Lock()  # a push on the wire, or a page being stored
        self._stop = threading.Event()
        self._push_wanted = threading.Event()
        self._pull_wanted = threading.Event()
        self._puller_woken = threading.Event()  # a long poll's answer, a new scope, or stop()
        # Session changes, counted: a worker waiting for a person to sign in waits for the count
        # to move past the one it saw fail, so no wake-up is lost between the two workers.
        self._sessions = threading.Condition()
        self._session_count = 0
        self._seen_sessions = {"push": 0, "pull": 0}  # the session count each worker last woke for
        self._scope_changes = 0
        self._threads: list[threading.Thread] = []
        self._last_push_at: datetime | None = None
        self._last_pull_at: datetime | None = None
        self._last_error: str | None = None
        self._error_from: str | None = None  # "push", "pull" or "journal": what a success clears
        self._journal_damage: str | None = None
        self._counts: tuple[int, int, str | None] = (0, 0, None)
        self._trimmed_at: datetime | None = None
        self._started_at: datetime | None = None
        self._catching_up = True
        with store.replica.read() as conn:
            self._scope: list[str] = replica.scope(conn)  # kept here too, for a replica rebuilt while running
        api.on_session(self._session_changed)
        outbox.on_append(self._queued)
        # Effects an earlier run pulled but did not mark as arrived (a crash in between).
        outbox.settle(self._shown_cursor())

    # --- observing -----------------------------------------------------------------

    def subscribe(self, listener: Callable[[SyncStatus], None]) -> None:
        """listener(status) runs on a worker thread after every state or queue change."""
        self._listeners.append(listener)

    def on_rejected(self, listener: Callable[[list[RejectedMutation]], None]) -> None:
        self._rejection_listeners.append(listener)

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
        return SyncStatus(
            state=self.connectivity.state, pending=pending, rejected=rejected_count, oldest_pending_age_s=age,
            last_push_at=self._last_push_at, last_pull_at=self._last_pull_at, last_error=self._last_error,
            stuck=self._stuck(pending, age, now), cursor=cursor, stale=self._stale(now),
        )

    def _stuck(self, pending: int, age: float | None, now: datetime) -> bool:
        """Mutations wait, no push has succeeded for a while, and yet the server answers."""
        if not pending or age is None or age < self.options.stuck_after_s:
            return False
        since_push = (now - self._last_push_at).total_seconds() if self._last_push_at else age
        answering = self._last_pull_at is not None and (now - self._last_pull_at).total_seconds() < self.options.stuck_after_s
        return since_push >= self.options.stuck_after_s and answering

    def _stale(self, now: datetime) -> bool:
        """The reverse of stuck: pushes get through, yet no pull has succeeded for a while."""
        last_pull = self._last_pull_at or self._started_at
        if last_pull is None or (now - last_pull).total_seconds() < self.options.stuck_after_s:
            return False
        # Pushes work: one got through after the last pull did, and none fails now.
        return (self._last_push_at is not None and self._last_push_at > last_pull
                and self._error_from != "push")

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
        self._started_at = self._clock()
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
        for event in (self._push_wanted, self._pull_wanted, self._puller_woken):
            event.set()
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
        scope still on its way is dropped when it arrives (see _store_page), and a long poll of
        it is abandoned so the new scope is asked for at once.
        """
        with self._store.replica.write() as conn:
            change = replica.set_scope(conn, scope)
        self._scope = sorted(set(scope))
        if change.added or change.purged:
            log.info("scope %s: new %s, purged %s, hidden %s", ",".join(scope), change.added, change.purged,
                     change.hidden)
        self._scope_changes += 1
        self._catching_up = True
        self._puller_woken.set()
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
        self._push_wanted.set()

    # --- one round, also used by `floorhand sync --once` -------------------------------

    def sync_once(self) -> SyncStatus:
        """Push everything, then pull to the end of the feed, in the calling thread."""
        pushed = self._push_all()
        # A push refused for good (say a 413) must not keep fresh server state away.
        if self.connectivity.state not in (SyncState.OFFLINE, SyncState.AUTH_REQUIRED, SyncState.DEVICE_REFUSED):
            if self._pull(wait=0, until_caught_up=True) and pushed and self.status().pending == 0:
                self.connectivity.fire("caught_up")
        self._notify()
        return self.status()

    def pull_now(self) -> SyncStatus:
        """Pull to the end of the feed in the calling thread, without pushing."""
        self._pull(wait=0, until_caught_up=True)
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
        self._push_wanted.set()
        self._run("push", self._push_round, self._push_wanted)

    def _push_round(self, failures: int) -> int:
        """One wake-up of the pusher; returns the failures in a row after it."""
        self._push_wanted.wait(self._retry_delay(failures) if failures else None)
        self._push_wanted.clear()
        if self._stop.is_set():
            return failures
        self._notify()  # the queue grew: the status bar shows it before the push goes out
        self._trim_when_due()
        if self.connectivity.state in (SyncState.AUTH_REQUIRED, SyncState.DEVICE_REFUSED):
            self._wait_for_session("push")
            return 0
        failures = 0 if self._push_all() else failures + 1
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
        wait = 0.0 if self._catching_up or not settled else self.options.long_poll_s
        succeeded = self._pull(wait=wait, until_caught_up=self._catching_up, worker=True)
        if self._stop.is_set():
            return failures
        if succeeded:
            if not self._catching_up and self.status().pending == 0:
                self.connectivity.fire("caught_up")
                self._notify()
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
        self._last_error = f"Sync hit an unexpected problem ({type(exc).__name__}); it keeps trying."
        self._error_from = worker
        self.connectivity.fire("failure")
        try:
            self._notify()
        except Exception:  # noqa: BLE001 - a listener failing here must not end the worker either
            log.exception("telling the listeners about the %s worker's failure failed", worker)

    # --- push ----------------------------------------------------------------------

    def _push_all(self) -> bool:
        """Send pending mutations until none are left; False when a call failed."""
        while not self._stop.is_set():
            with self._journal():
                batch = self._outbox.pending(self.options.push_batch)
            if not batch:
                # The queue just emptied: if the feed is caught up too, the engine is idle
                # now rather than after the next (long) poll.
                if not self._catching_up:
                    self.connectivity.fire("caught_up")
                return True
            rejected = self._push_batch(batch)
            if rejected is None:
                return False
            self._last_push_at = self._clock()
            self._answered("push")
            if rejected:
                log.warning("%d mutation(s) rejected by the server: %s", len(rejected),
                            ", ".join(f"{r.mutation.name}#{r.mutation.seq} {r.code}" for r in rejected))
                for listener in self._rejection_listeners:
                    listener(rejected)
            self._notify()
        return True

    def _push_batch(self, batch: list[Mutation]) -> list[RejectedMutation] | None:
        """One batch, its transient failures retried here; the rejected ones, or None when it did not go.

        While a push is on the wire the puller must not store a page: that page may already
        hold the push's effects while its mutations still read `pending`, and the view would
        count them twice (a two-piece pick shown complete after one). The lock is held per
        attempt only, so a push retrying against a dead network does not hold the pull back.
        """
        wire = [m.wire() for m in batch]
        attempts = max(1, self._api.retry.attempts)
        for attempt in range(attempts):
            delay = None
            with self._exchange:
                try:
                    outcome = self._api.push(self.device_id, wire, attempts=1)
                except (Offline, ServerBusy) as exc:
                    if attempt == attempts - 1:
                        self._push_failed(batch, exc)
                        return None
                    delay = self._api.retry.wait(attempt, getattr(exc, "retry_after", None))
                    log.info("push of %d action(s) failed (attempt %d of %d): %s", len(batch), attempt + 1,
                             attempts, exc)
                except SessionChanged:
                    return None  # the next round pushes under the new session at once
                except ApiError as exc:
                    self._push_failed(batch, exc)
                    return None
                else:
                    # The puller may have stored this push's effects before the push began; left
                    # `acked`, the view would count them twice until some later page: settle too.
                    try:
                        with self._journal():
                            return self._outbox.record_results(batch, outcome.results, outcome.cursor,
                                                               self._shown_cursor())
                    except WriteFailed as exc:
                        # Applied on the server, still pending here: the next push is answered `duplicate`.
                        self._failed(exc, "push")
                        return None
            if self._stop.wait(delay):
                return None
        return None

    def _push_failed(self, batch: list[Mutation], exc: ApiError) -> None:
        try:
            with self._journal():
                self._outbox.record_failure(batch, str(exc))
        except WriteFailed as unrecorded:
            log.warning("the failed push could not be noted: %s", unrecorded)
        self._failed(exc, "push")

    def _trim_when_due(self) -> None:
        """Once an hour: drop settled actions and local audit rows past the retention period."""
        now = self._clock()
        if self._trimmed_at is not None and now - self._trimmed_at < _TRIM_EVERY:
            return
        self._trimmed_at = now
        try:
            with self._journal():
                dropped = self._outbox.trim(now - timedelta(days=self.options.retention_days))
        except WriteFailed as exc:
            log.warning("old settled actions could not be trimmed now: %s", exc)
            return
        if any(dropped.values()):
            log.info("trimmed the journal: %s", ", ".join(f"{n} {what}" for what, n in dropped.items()))

    # --- pull ----------------------------------------------------------------------

    def _pull(self, wait: float, until_caught_up: bool, worker: bool = False) -> bool:
        """One pull (or, with until_caught_up, pulls until the scope is caught up); False on failure.

        While a page is stored, the next one is already requested: the server reads page
        n+1 while this process decodes and stores page n, instead of each waiting for the
        other ("Client core" in docs/benchmarks.md). `worker`: called by the pull worker,
        which stops storing once stop() was called; pull_now() and sync_once() still work
        on a stopped engine.
        """
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-pull-ahead") as ahead:
            coming: tuple[replica.PullPlan, Future[PullPage]] | None = None
            while True:
                try:
                    plan = self._plan()
                except DatabaseError as exc:
                    return self._replica_failed(exc)
                if plan is None:
                    return True  # nobody has signed in yet: no scope, nothing to ask for
                try:
                    if coming is not None and coming[0] == plan:
                        page = coming[1].result()
                    elif worker and wait > 0:
                        page = self._long_poll(plan, wait)
                    else:
                        page = self._api.pull(plan.cursor, self.options.pull_limit, wait, plan.audiences)
                except SessionChanged:
                    coming, wait = None, 0
                    continue
                except ApiError as exc:
                    if not self._stop.is_set():  # a poll cut short by stopping is no failure
                        self._failed(exc)
                    return False
                except RuntimeError:
                    # httpx refuses to go on once the client is closed; while stopping, a
                    # request still in flight ends that way and it is not an error.
                    if self._stop.is_set():
                        return False
                    raise
                coming = None
                if page is None:  # a long poll abandoned for a new scope, or the engine stopped
                    if worker and self._stop.is_set():
                        return False
                    wait = 0
                    continue
                if worker and self._stop.is_set():
                    return False  # the worker was stopped: it stores nothing more
                self._answered("pull")
                self._last_pull_at = self._clock()
                if page.reset:
                    if not self._reset(plan):
                        return False
                    continue
                more = until_caught_up and (page.has_more or plan.behind) and not self._stop.is_set()
                if page.has_more and more:
                    following = replica.PullPlan(plan.audiences, page.cursor, plan.behind)
                    coming = (following, ahead.submit(self._api.pull, page.cursor, self.options.pull_limit, 0,
                                                      plan.audiences))
                stored = self._store_page(plan, page)
                if stored is None:
                    return False
                if not stored:  # stale: the scope or the cursors moved meanwhile; ask again
                    coming, wait = None, 0
                    continue
                if page.changes:
                    self._notify()
                self._catching_up = page.has_more or plan.behind
                if not more:
                    return True
                wait = 0

    def _plan(self) -> replica.PullPlan | None:
        with self._store.replica.read() as conn:
            return replica.pull_plan(conn)

    def _store_page(self, plan: replica.PullPlan, page: PullPage) -> bool | None:
        """Store a page with its cursors; False when stale (not stored), None on failure (reported)."""
        with self._exchange:  # not while a push waits for its answer, see _push_batch
            try:
                with self._store.replica.write() as conn:
                    # Checked inside the write: a new scope (a switch) or another pull (pull_now
                    # after a claim) may have moved on since the request; this page would then put
                    # older rows, or another person's, over the current ones.
                    if replica.pull_plan(conn) != plan:
                        return False
                    try:
                        replica.store_page(conn, plan, page)
                    except replica.StalePlan:
                        return False
                    cursor = replica.shown_cursor(conn)
                with self._journal():
                    self._outbox.settle(cursor)
            except replica.BadRow as exc:
                # Nothing of the page was stored; it is asked for again after the backoff.
                self._failed(BadResponse(f"pull: {exc}"))
                return None
            except WriteFailed as exc:
                # The same, for a full disk; an unsettled page is settled by the next one.
                self._failed(exc)
                return None
            except DatabaseError as exc:
                return self._replica_failed(exc) and None
        return True

    def _reset(self, plan: replica.PullPlan) -> bool:
        log.warning("the server asked for a full resync of %s; they are pulled again (queued actions stay)",
                    ",".join(plan.audiences))
        try:
            with self._store.replica.write() as conn:
                replica.wipe(conn, plan.audiences)
        except WriteFailed as exc:
            self._failed(exc)
            return False
        except DatabaseError as exc:
            return self._replica_failed(exc)
        self._catching_up = True
        return True

    def _long_poll(self, plan: replica.PullPlan, wait: float) -> PullPage | None:
        """api.pull held open by the server, on a thread of its own; None when abandoned.

        The worker waits for the answer, a new scope (a switch) or stop(), whichever comes
        first; an abandoned poll ends by itself and its answer is dropped.
        """
        answer: dict[str, object] = {}
        done = threading.Event()
        changes = self._scope_changes

        def poll() -> None:
            try:
                answer["page"] = self._api.pull(plan.cursor, self.options.pull_limit, wait, plan.audiences)
            except BaseException as exc:  # noqa: BLE001 - handed to the worker below
                answer["error"] = exc
            finally:
                done.set()
                self._puller_woken.set()

        self._puller_woken.clear()
        threading.Thread(target=poll, name="sync-long-poll", daemon=True).start()
        while not done.is_set():
            self._puller_woken.wait()
            self._puller_woken.clear()
            if self._stop.is_set() or self._scope_changes != changes:
                return None
        if "error" in answer:
            raise answer["error"]
        return answer["page"]

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
        self._last_error, self._error_from = self._journal_damage, "journal"  # never history
        self.connectivity.fire("failure")
        self._stop.set()
        for event in (self._push_wanted, self._pull_wanted, self._puller_woken):
            event.set()

    def _replica_failed(self, exc: DatabaseError) -> bool:
        """The cache failed as a damaged file does: set it aside, keep the scope, pull again. Returns False."""
        if isinstance(exc, OperationalError):
            raise exc
        self._store.rebuild_replica(str(getattr(exc, "orig", exc)))
        if self._scope:
            with self._store.replica.write() as conn:
                replica.set_scope(conn, self._scope)
        self._catching_up = True
        self._last_error = "The local cache was damaged; it is being pulled again from the server."
        self._error_from = "pull"
        self.connectivity.fire("failure")
        self._notify()
        return False

    def _answered(self, source: str) -> None:
        """A push or pull went through: online, and an error of the same kind is history."""
        if self._error_from == source:
            self._last_error = self._error_from = None
        self.connectivity.fire("call_ok")

    def _failed(self, exc: ApiError | WriteFailed, source: str = "pull") -> None:
        self._last_error, self._error_from = str(exc), source
        if isinstance(exc, Offline):
            self.connectivity.fire("network_down")
        elif isinstance(exc, AuthRequired):
            self.connectivity.fire("unauthorized")
        elif isinstance(exc, DeviceRefused):
            problem = self._device.problem() if self._device is not None else None
            self._last_error = problem.message if problem is not None else str(exc)
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
