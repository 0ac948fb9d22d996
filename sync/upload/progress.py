"""How far an upload run is: bytes, files, rate and ETA, as snapshots a UI reads from any thread."""

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

RATE_WINDOW_S = 10.0  # the rate shown is that of the last ten seconds, so a pause or a slow spell shows at once


@dataclass(frozen=True)
class FileProgress:
    """One file being sent: bytes on the server (including parts of an earlier run) of its size."""

    file_id: int
    name: str
    bytes_done: int
    size: int


@dataclass(frozen=True)
class Progress:
    """A snapshot of a run, returned by Uploader.progress() on any thread.

    on_progress receives one after every stored part, finished file, pause, resume, cancel
    and stop, on the thread that made the change (a worker, or the caller of pause()): a UI
    hands it on to its own thread.
    """

    bytes_done: int  # bytes of the run's files the server holds, parts stored by an earlier run included
    bytes_total: int
    bytes_sent: int  # bytes this run sent
    files_done: int
    files_failed: int
    files_cancelled: int
    files_total: int
    rate: float  # bytes per second sent over the last RATE_WINDOW_S seconds
    eta_s: float | None  # None while paused or before anything was sent
    state: str  # "running", "paused", "stopping" or "finished"
    files: tuple[FileProgress, ...] = ()  # the files in flight


class ProgressBook:
    """The counters of one run, kept consistent under one lock."""

    def __init__(self, files: list, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock, self._clock = threading.Lock(), clock
        self._size = {f.id: f.size for f in files}
        self._names = {f.id: f.path.name for f in files}
        self._done_of: dict[int, int] = {}  # file id -> bytes on the server, for files in flight
        self.bytes_total = sum(self._size.values())
        self._left = self.bytes_total  # bytes still to account for, of files neither finished nor given up
        self._bytes_done = self._bytes_sent = 0
        self._files = {"done": 0, "failed": 0, "cancelled": 0}
        self._samples: deque[tuple[float, int]] = deque([(clock(), 0)])
        self._finished = False

    def started(self, file_id: int) -> None:
        with self._lock:
            self._done_of.setdefault(file_id, 0)

    def add(self, file_id: int, size: int, *, sent: bool) -> None:
        """size bytes of a file are on the server: sent now, or found there from an earlier run."""
        with self._lock:
            self._done_of[file_id] = self._done_of.get(file_id, 0) + size
            self._bytes_done += size
            self._left -= size
            if sent:
                self._bytes_sent += size
                now = self._clock()
                self._samples.append((now, self._bytes_sent))
                while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW_S:
                    self._samples.popleft()

    def restarted(self, file_id: int) -> None:
        """The server lost the file's upload: what it held counts as not done any more."""
        with self._lock:
            lost = self._done_of.get(file_id, 0)
            self._done_of[file_id] = 0
            self._bytes_done -= lost
            self._left += lost

    def ended(self, file_id: int, state: str) -> None:
        """A file left the run: done, failed, cancelled, or still queued when the run stops."""
        with self._lock:
            done = self._done_of.pop(file_id, 0)
            if state in self._files:
                self._files[state] += 1
            if state != "done":
                self._left -= self._size.get(file_id, 0) - done  # no longer expected in this run
            # A done file whose parts were all found on the server counts every byte as done.

    def finish(self) -> None:
        with self._lock:
            self._finished = True

    def snapshot(self, paused: bool, stopping: bool) -> Progress:
        with self._lock:
            rate = self._rate()
            state = "finished" if self._finished else "stopping" if stopping else "paused" if paused else "running"
            left = max(self._left, 0)
            eta = left / rate if rate > 0 and state == "running" else (0.0 if left == 0 else None)
            files = tuple(FileProgress(i, self._names.get(i, ""), d, self._size.get(i, 0))
                          for i, d in sorted(self._done_of.items()))
            return Progress(self._bytes_done, self.bytes_total, self._bytes_sent, self._files["done"],
                            self._files["failed"], self._files["cancelled"], len(self._size), rate, eta, state, files)

    def _rate(self) -> float:
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        now = self._clock()
        # Time since the last byte counts too: a stalled or paused run shows its rate falling.
        span = max(now, t1) - t0
        return (b1 - b0) / span if span > 0 else 0.0
