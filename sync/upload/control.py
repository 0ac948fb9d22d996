"""Pause, resume, cancel and stop of one upload run, callable from any thread (a UI, a signal handler)."""

import threading


class RunControl:
    """What the people (or the sign-in) asked of a running upload; the workers consult it between parts."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._paused = False
        self._cancel_all = False
        self._cancelled: set[int] = set()
        self._stop_reason: str | None = None

    def new_run(self) -> None:
        """Forget the cancels and the stop of a run before; a pause holds until resume()."""
        with self._changed:
            self._cancel_all, self._stop_reason = False, None
            self._cancelled.clear()

    def pause(self) -> None:
        """No new part starts until resume(); parts already on the way finish."""
        with self._changed:
            self._paused = True
            self._changed.notify_all()

    def resume(self) -> None:
        with self._changed:
            self._paused = False
            self._changed.notify_all()

    def cancel(self, file_id: int | None = None) -> None:
        """Cancel one file, or with None every file of the run not finished yet."""
        with self._changed:
            if file_id is None:
                self._cancel_all = True
            else:
                self._cancelled.add(file_id)
            self._changed.notify_all()

    def stop(self, reason: str) -> None:
        """End the run without touching the queue (everything stays resumable), e.g. a sign-in is needed."""
        with self._changed:
            if self._stop_reason is None:
                self._stop_reason = reason
            self._changed.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stop_reason(self) -> str | None:
        return self._stop_reason

    @property
    def cancelling_all(self) -> bool:
        return self._cancel_all

    def cancelled(self, file_id: int) -> bool:
        return self._cancel_all or file_id in self._cancelled

    def halted(self, file_id: int) -> bool:
        """The file must not send more: it was cancelled or the run stops."""
        return self.cancelled(file_id) or self._stop_reason is not None

    def wait_to_go(self, file_id: int) -> bool:
        """Block while paused; False when the file may not go on at all (cancelled, or the run stops)."""
        with self._changed:
            while self._paused and not self.halted(file_id):
                self._changed.wait()
            return not self.halted(file_id)

    def sleep(self, seconds: float, file_id: int) -> None:
        """Wait between retries; a cancel or stop ends the wait at once."""
        with self._changed:
            self._changed.wait_for(lambda: self.halted(file_id), timeout=seconds)
