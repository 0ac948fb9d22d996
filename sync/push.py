"""The sync engine's push: the outbox in seq order, in batches, and what the server did with each action."""

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sync.api import ApiError, Offline, OrderApi, ServerBusy, SessionChanged
from sync.outbox import Mutation, Outbox, RejectedMutation
from sync.store.database import WriteFailed

if TYPE_CHECKING:
    from sync.engine import EngineOptions

log = logging.getLogger(__name__)

_TRIM_EVERY = timedelta(hours=1)


class Pusher:
    """The push side of the sync engine: sends the queued actions and files the server's answers."""

    def __init__(self, outbox: Outbox, api: OrderApi, options: "EngineOptions", *, device_id: str,
                 clock: Callable[[], datetime], stop: threading.Event, exchange: threading.Lock,
                 journal: Callable[[], AbstractContextManager], shown_cursor: Callable[[], int],
                 emptied: Callable[[], None], answered: Callable[[], None],
                 failed: Callable[[Exception], None], changed: Callable[[], None]) -> None:
        """stop, exchange, journal and shown_cursor are the engine's; emptied (nothing left to send), answered
        (a batch went through), failed (an error to show) and changed (the queue changed) report to it."""
        self._outbox, self._api, self._options = outbox, api, options
        self._device_id, self._clock = device_id, clock
        self._stop, self._exchange, self._journal, self._shown_cursor = stop, exchange, journal, shown_cursor
        self._emptied, self._answered, self._failed, self._changed = emptied, answered, failed, changed
        self._rejection_listeners: list[Callable[[list[RejectedMutation]], None]] = []
        self._trimmed_at: datetime | None = None

    def on_rejected(self, listener: Callable[[list[RejectedMutation]], None]) -> None:
        """listener(rejected) after each push the server refused some of, on the thread that pushed."""
        self._rejection_listeners.append(listener)

    def push_all(self) -> bool:
        """Send pending mutations until none are left; False when a call failed."""
        while not self._stop.is_set():
            with self._journal():
                batch = self._outbox.pending(self._options.push_batch)
            if not batch:
                # The queue just emptied: if the feed is caught up too, the engine is idle
                # now rather than after the next (long) poll.
                self._emptied()
                return True
            rejected = self._push_batch(batch)
            if rejected is None:
                return False
            self._answered()
            if rejected:
                log.warning("%d mutation(s) rejected by the server: %s", len(rejected),
                            ", ".join(f"{r.mutation.name}#{r.mutation.seq} {r.code}" for r in rejected))
                for listener in self._rejection_listeners:
                    listener(rejected)
            self._changed()
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
                    outcome = self._api.push(self._device_id, wire, attempts=1)
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
                        self._failed(exc)
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
        self._failed(exc)

    def trim_when_due(self) -> None:
        """Once an hour: drop settled actions and local audit rows past the retention period."""
        now = self._clock()
        if self._trimmed_at is not None and now - self._trimmed_at < _TRIM_EVERY:
            return
        self._trimmed_at = now
        try:
            with self._journal():
                dropped = self._outbox.trim(now - timedelta(days=self._options.retention_days))
        except WriteFailed as exc:
            log.warning("old settled actions could not be trimmed now: %s", exc)
            return
        if any(dropped.values()):
            log.info("trimmed the journal: %s", ", ".join(f"{n} {what}" for what, n in dropped.items()))
