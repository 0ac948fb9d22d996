"""What a bench scale reports (a weighing, a state) and the judge that decides when a weight is stable."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from peripherals.scale_protocols import LineKind, ScaleLine

# A scale without a stable flag: the same weight for this long counts as stable.
STEADY_FOR_S = 0.5


class ScaleState(str, Enum):
    """Where a bench scale stands, as the status bar shows it; the UI words it."""

    STOPPED = "stopped"  # not started, or stopped
    CONNECTED = "connected"  # the scale answers with weights
    OVERLOAD = "overload"  # the scale answers, and the load is over its capacity
    UNDERLOAD = "underload"  # the scale answers, and the load is under zero
    NO_READING = "no_reading"  # the port opened, but nothing this reader understands comes from it
    DISCONNECTED = "disconnected"  # the port went away (unplugged, closed under us); retrying
    NOT_FOUND = "not_found"  # nothing at the configured path; retrying
    NO_ACCESS = "no_access"  # the port exists but this user may not open it (Linux: the dialout group)


@dataclass(frozen=True)
class Weighing:
    """A weight in whole grams (negative below zero), and whether it may be taken."""

    grams: int
    stable: bool


class StableWeight:
    """Judges readings: the scale's own stable flag when it has one, else the same weight for STEADY_FOR_S.

    clock returns seconds and is injectable so tests need not wait.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, steady_for_s: float = STEADY_FOR_S) -> None:
        self._clock = clock
        self._steady_for_s = steady_for_s
        self._held: int | None = None  # the unflagged weight being watched
        self._since = 0.0

    def judge(self, line: ScaleLine) -> Weighing | None:
        """The weighing a line gives; None for a line that is no weight (which also restarts the watch)."""
        if line.kind is not LineKind.WEIGHT or line.grams is None:
            self.reset()
            return None
        if line.stable is not None:
            self._held = None
            return Weighing(line.grams, line.stable)
        if line.grams != self._held:
            self._held, self._since = line.grams, self._clock()
        return self.recheck()

    def recheck(self) -> Weighing | None:
        """The watched unflagged weight judged again now, for scales that send only when the weight changes."""
        if self._held is None:
            return None
        return Weighing(self._held, self._clock() - self._since >= self._steady_for_s)

    def settles_in(self) -> float | None:
        """Seconds until the watched weight counts as stable if it stays; None when nothing is watched."""
        if self._held is None:
            return None
        return max(0.0, self._steady_for_s - (self._clock() - self._since))

    def reset(self) -> None:
        """Forget the watched weight (the load moved off scale, or the scale went away)."""
        self._held = None
