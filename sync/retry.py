"""Backoff and retry policy for transient failures of the order API (ARCHITECTURE.md §2)."""

import math
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

# 2**64 already exceeds any sensible cap; bounding the exponent keeps the float finite.
_MAX_EXPONENT = 64


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, capped."""

    base: float = 0.5
    cap: float = 60.0

    def ceiling(self, attempt: int) -> float:
        """The largest delay after failed attempt number `attempt` (0-based)."""
        return min(self.cap, self.base * 2 ** min(attempt, _MAX_EXPONENT))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """A random delay in [0, ceiling]: full jitter spreads the retries of many devices
        that lost the network at the same moment (AWS Architecture Blog, "Exponential
        Backoff And Jitter", 2015)."""
        return (rng or random).uniform(0.0, self.ceiling(attempt))


@dataclass(frozen=True)
class RetryPolicy:
    """How often one call is tried for transient failures, and how long to wait between tries."""

    attempts: int = 4
    backoff: Backoff = Backoff()

    def wait(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt `attempt`: the server's Retry-After is a floor,
        the backoff cap a ceiling, so a hostile or confused server cannot park a device."""
        return min(self.backoff.cap, max(self.backoff.delay(attempt, rng), retry_after or 0.0))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (RFC 9110 §10.2.3: delay-seconds or an HTTP-date).

    `now` should be the server's own Date header when there is one: device clocks are not
    trusted, and both dates then come from the same clock. None when absent or unreadable.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
