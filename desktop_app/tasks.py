"""Run work off the UI thread and get the result back on it: the app's one background helper.

Network calls, PIN hashing and bulk database work go through `TaskRunner.run`; the callback
runs on the main thread through a queued signal, so workers never touch widgets
(ARCHITECTURE.md §4). Nothing here spins the event loop.
"""

import itertools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class _Relay(QObject):
    """Lives on the main thread; a worker's emit is queued to it."""

    finished = Signal(int, bool, object)  # task id, ok, result or exception


class _Job(QRunnable):
    def __init__(self, task_id: int, fn: Callable[[], Any], relay: _Relay, name: str) -> None:
        super().__init__()
        self._id, self._fn, self._relay, self._name = task_id, fn, relay, name

    def run(self) -> None:  # noqa: D401 - QRunnable override
        try:
            result = self._fn()
        except BaseException as exc:  # handed to the caller's on_error on the main thread
            log.debug("background task %s failed", self._name, exc_info=True)
            self._relay.finished.emit(self._id, False, exc)
        else:
            self._relay.finished.emit(self._id, True, result)


class TaskRunner(QObject):
    """`run(fn, on_done, on_error)`: fn on a worker thread, the callback on the main thread."""

    def __init__(self, max_threads: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._finish)
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Done | None, Failed | None, str]] = {}

    def run(self, fn: Callable[[], Any], on_done: Done | None = None, on_error: Failed | None = None,
            *, name: str = "task") -> int:
        """Start fn in the background; returns an id. Errors without on_error are logged, never lost."""
        task_id = next(self._ids)
        self._callbacks[task_id] = (on_done, on_error, name)
        self._pool.start(_Job(task_id, fn, self._relay, name))
        return task_id

    @property
    def busy(self) -> int:
        """How many tasks have not reported back yet."""
        return len(self._callbacks)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Wait for running tasks (at exit); True when all finished in time."""
        return self._pool.waitForDone(timeout_ms)

    def _finish(self, task_id: int, ok: bool, value: Any) -> None:
        on_done, on_error, name = self._callbacks.pop(task_id, (None, None, "task"))
        if ok:
            if on_done is not None:
                on_done(value)
        elif on_error is not None:
            on_error(value)
        else:
            log.error("background task %s failed: %s", name, value, exc_info=value)
