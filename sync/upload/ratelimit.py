"""A bandwidth limit shared by every part in flight: one token bucket, a token per byte.

Each part is sent in slices that take their bytes from the bucket first, so the limit holds
across all parts and files together (a studio on a shared line sets it to leave room for
everyone else). A taker that finds the bucket short reserves its bytes anyway and sleeps
for the debt, so takers are served in the order they asked and none starves.
"""

import re
import threading
import time
from collections.abc import Callable, Iterator

SLICE = 256 * 1024  # bytes of a part written at once, and taken from the bucket at once
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?(?:/s)?\s*$", re.IGNORECASE)


def parse_rate(text: str) -> int:
    """Bytes per second from "500K", "5M", "1.5G" (powers of 1024, as curl's --limit-rate) or plain bytes."""
    match = _RATE.match(text or "")
    if not match:
        raise ValueError(f"not a rate: {text!r}; give bytes per second such as 800K, 5M or 1G")
    rate = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if rate <= 0:
        raise ValueError(f"not a rate: {text!r}; a limit must be more than 0 bytes per second")
    return rate


class TokenBucket:
    """Hands out bytes at `rate` per second on average, with bursts of at most `burst` bytes."""

    def __init__(self, rate: float, burst: int | None = None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("a bandwidth limit must be more than 0 bytes per second")
        self._clock, self._sleep, self._lock = clock, sleep, threading.Lock()
        self._rate = float(rate)
        # A quarter second of traffic, at least 64 KiB.
        self._burst = float(burst if burst is not None else max(64 * 1024, rate / 4))
        # Slices no bigger than a burst, so a low limit is kept smoothly rather than in long waits.
        self._slice = max(16 * 1024, min(SLICE, int(self._burst)))
        self._tokens, self._last = self._burst, clock()
        self.granted = 0  # bytes handed out so far
        self.waited_s = 0.0  # seconds takers were told to sleep, summed over takers

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> float:
        return self._burst

    def set_rate(self, rate: float) -> None:
        """Change the limit while parts are in flight; takers already sleeping keep their wait."""
        if rate <= 0:
            raise ValueError("a bandwidth limit must be more than 0 bytes per second")
        with self._lock:
            self._refill()
            self._rate = float(rate)

    def take(self, n: int) -> float:
        """Block until n bytes may go; returns the seconds waited."""
        with self._lock:
            self._refill()
            self._tokens -= n
            self.granted += n
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
            self.waited_s += wait
        if wait > 0:
            self._sleep(wait)
        return wait

    def paced(self, data: bytes | memoryview) -> Iterator[memoryview]:
        """The bytes of one request body in slices, each taken from the bucket before it goes."""
        view = memoryview(data)
        for start in range(0, len(view), self._slice):
            piece = view[start:start + self._slice]
            self.take(len(piece))
            yield piece

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
