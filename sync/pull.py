"""The sync engine's pull: the feed of the signed-in person's scope, page by page, into the replica.

One pull repeats four steps until the scope is caught up (or, for a single pull, once):

    plan        what to ask for next, from the replica's cursors (sync.store.replica.pull_plan)
    fetch       the page: the one asked for ahead, a long poll (the worker) or a plain request
    receive     a page came: a reset wipes the plan's audiences; any other page has the next
                one asked for ahead while this one is stored
    store_page  store the page: its rows with its cursors in one replica transaction, then
                settle the actions whose effects the replica now shows

A page is stored whole or not at all, so an interrupted initial sync resumes where it
stopped; a page the replica cannot take (a row that does not fit or fails validation) is
the engine's error until the same page, asked for again after the backoff, goes in.
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from enum import Enum
from typing import TYPE_CHECKING

from sqlalchemy.exc import DatabaseError, OperationalError

from sync.api import ApiError, BadResponse, OrderApi, SessionChanged
from sync.feed import PullPage
from sync.outbox import Outbox
from sync.store import replica
from sync.store.database import LocalStore, WriteFailed

if TYPE_CHECKING:
    from sync.engine import EngineOptions

log = logging.getLogger(__name__)


class ReplicaDamaged(Exception):
    """The local cache failed as a damaged file does; it was set aside and is pulled again."""


class _Then(Enum):
    """What the pull loop does after a step."""

    DONE = "caught up, or the single page asked for is stored"
    FAILED = "a failure (reported), or the worker was stopped"
    AGAIN = "plan again and ask at once: the next page, or again after a stale page or a new person"
    WIPED = "plan again after a reset, with the same wait (the wiped audiences start from 0)"


class PagesAhead:
    """The next page of the feed, asked for while the current one is stored; one request at a time.

    The server reads page n+1 while this process decodes and stores page n, instead of each
    waiting for the other ("Client core" in docs/benchmarks.md).
    """

    def __init__(self, api: OrderApi, limit: int) -> None:
        self._api, self._limit = api, limit
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-pull-ahead")
        self._coming: tuple[replica.PullPlan, Future[PullPage]] | None = None

    def __enter__(self) -> "PagesAhead":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown(wait=True)  # a request still out ends first; its answer is not used

    def ask(self, plan: replica.PullPlan) -> None:
        """Request the page of plan now; take(plan) hands it over."""
        self._coming = (plan, self._pool.submit(self._api.pull, plan.cursor, self._limit, 0, plan.audiences))

    def take(self, plan: replica.PullPlan) -> Future[PullPage] | None:
        """The request made ahead for exactly plan, if any; one made for another plan is dropped."""
        coming, self._coming = self._coming, None
        return coming[1] if coming is not None and coming[0] == plan else None

    def drop(self) -> None:
        """Forget the request made ahead: the page it was made after turned out stale."""
        self._coming = None


class Puller:
    """The pull side of the sync engine: brings the feed of the current scope into the replica."""

    def __init__(self, store: LocalStore, outbox: Outbox, api: OrderApi, options: "EngineOptions", *,
                 stop: threading.Event,
                 exchange: threading.Lock, journal: Callable[[], AbstractContextManager],
                 answered: Callable[[], None], failed: Callable[[Exception], None],
                 changed: Callable[[], None]) -> None:
        """stop, exchange and journal are the engine's; answered (a page came), failed (an error to show) and
        changed (the replica shows something new) report to it."""
        self._store, self._outbox, self._api, self._options = store, outbox, api, options
        self._stop, self._exchange, self._journal = stop, exchange, journal
        self._answered, self._failed, self._changed = answered, failed, changed
        self.catching_up = True  # pages at once, without long polls, until the scope is caught up
        self._woken = threading.Event()  # a long poll's answer, a new scope, or stop()
        self._scope_changes = 0
        with store.replica.read() as conn:
            self._scope: list[str] = replica.scope(conn)  # kept here too, for a replica rebuilt while running

    def set_scope(self, scope: list[str]) -> replica.ScopeChange:
        """From now on the replica shows exactly these audiences; a long poll of the previous scope is abandoned."""
        with self._store.replica.write() as conn:
            change = replica.set_scope(conn, scope)
        self._scope = sorted(set(scope))
        if change.added or change.purged:
            log.info("scope %s: new %s, purged %s, hidden %s", ",".join(scope), change.added, change.purged,
                     change.hidden)
        self._scope_changes += 1
        self.catching_up = True
        self._woken.set()
        return change

    def wake(self) -> None:
        """End the wait for a long poll's answer now (the engine stops)."""
        self._woken.set()

    def pull(self, wait: float, until_caught_up: bool, worker: bool = False) -> bool:
        """One pull (or, with until_caught_up, pulls until the scope is caught up); False on failure.

        `worker`: called by the pull worker, which long-polls when wait > 0 and stores nothing
        more once stop() was called; pull_now() and sync_once() still work on a stopped engine.
        """
        with PagesAhead(self._api, self._options.pull_limit) as ahead:
            while True:
                try:
                    plan = self.plan()
                except DatabaseError as exc:
                    return self._replica_failed(exc)
                if plan is None:
                    return True  # nobody has signed in yet: no scope, nothing to ask for
                then = self._fetch(plan, wait, ahead, worker)
                if not isinstance(then, _Then):  # a page came
                    then = self._receive(plan, then, until_caught_up, ahead)
                if then is _Then.DONE:
                    return True
                if then is _Then.FAILED:
                    return False
                if then is _Then.AGAIN:
                    wait = 0  # WIPED keeps it

    def plan(self) -> replica.PullPlan | None:
        """Plan: which audiences to ask for, from which cursor; None before anyone signed in."""
        with self._store.replica.read() as conn:
            return replica.pull_plan(conn)

    def _fetch(self, plan: replica.PullPlan, wait: float, ahead: PagesAhead, worker: bool) -> PullPage | _Then:
        """Fetch: the page asked for ahead, a long poll (the worker, when wait > 0) or a plain request."""
        coming = ahead.take(plan)
        try:
            if coming is not None:
                page = coming.result()
            elif worker and wait > 0:
                page = self._long_poll(plan, wait)
            else:
                page = self._api.pull(plan.cursor, self._options.pull_limit, wait, plan.audiences)
        except SessionChanged:
            return _Then.AGAIN  # asked for someone who is no longer here: ask for the new person
        except ApiError as exc:
            if not self._stop.is_set():  # a poll cut short by stopping is no failure
                self._failed(exc)
            return _Then.FAILED
        except RuntimeError:
            # httpx refuses to go on once the client is closed; while stopping, a
            # request still in flight ends that way and it is not an error.
            if self._stop.is_set():
                return _Then.FAILED
            raise
        if worker and self._stop.is_set():
            return _Then.FAILED  # the worker was stopped: it stores nothing more
        if page is None:
            return _Then.AGAIN  # a long poll abandoned for a new scope
        return page

    def _receive(self, plan: replica.PullPlan, page: PullPage, until_caught_up: bool, ahead: PagesAhead) -> _Then:
        """Receive: the server answered; wipe for a reset, else ask for the next page ahead and store this one."""
        self._answered()
        if page.reset:
            return _Then.WIPED if self._reset(plan) else _Then.FAILED
        more = until_caught_up and (page.has_more or plan.behind) and not self._stop.is_set()
        if page.has_more and more:
            ahead.ask(replica.PullPlan(plan.audiences, page.cursor, plan.behind))
        stored = self.store_page(plan, page)
        if stored is None:
            return _Then.FAILED
        if not stored:  # stale: the scope or the cursors moved meanwhile; ask again
            ahead.drop()
            return _Then.AGAIN
        if page.changes:
            self._changed()
        self.catching_up = page.has_more or plan.behind
        return _Then.AGAIN if more else _Then.DONE

    def store_page(self, plan: replica.PullPlan, page: PullPage) -> bool | None:
        """Store the page: its rows with its cursors in one replica transaction, then settle the outbox.

        True when stored; False when stale (nothing stored: the scope or the cursors moved since
        the page was asked for); None on a failure, which becomes the engine's error. A
        ValueError from applying the page (replica.BadRow, a row that does not fit; or a row
        that fails validation) rolls the whole page back: the cursor stays where it was, the
        status says why, and the puller asks for the page again after the backoff.
        """
        with self._exchange:  # not while a push waits for its answer, see sync.push.Pusher._push_batch
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
            except ValueError as exc:
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
        self.catching_up = True
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
                answer["page"] = self._api.pull(plan.cursor, self._options.pull_limit, wait, plan.audiences)
            except BaseException as exc:  # noqa: BLE001 - handed to the worker below
                answer["error"] = exc
            finally:
                done.set()
                self._woken.set()

        self._woken.clear()
        threading.Thread(target=poll, name="sync-long-poll", daemon=True).start()
        while not done.is_set():
            self._woken.wait()
            self._woken.clear()
            if self._stop.is_set() or self._scope_changes != changes:
                return None
        if "error" in answer:
            raise answer["error"]
        return answer["page"]

    def _replica_failed(self, exc: DatabaseError) -> bool:
        """The cache failed as a damaged file does: set it aside, keep the scope, pull again. Returns False."""
        if isinstance(exc, OperationalError):
            raise exc
        self._store.rebuild_replica(str(getattr(exc, "orig", exc)))
        if self._scope:
            with self._store.replica.write() as conn:
                replica.set_scope(conn, self._scope)
        self.catching_up = True
        self._failed(ReplicaDamaged("The local cache was damaged; it is being pulled again from the server."))
        return False
