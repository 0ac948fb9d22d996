"""Keyboard-wedge burst detection: tells a barcode scanner's keystrokes from a person's typing."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WedgeSettings:
    """How the site's scanners type: timing, minimum length, and the optional prefix/suffix they send."""

    max_gap_ms: float = 50  # scanners type 5-15 ms apart; people rarely faster than 80 ms
    min_length: int = 4  # shorter fast runs are key rollover from a person
    # Once min_length keys came at scanner speed the run is a scan; a later key may come
    # this late and still belong to it: a busy machine delivers a scanner's keys in clumps.
    late_key_ms: float = 150
    prefix: str = ""  # when set, only keys after this prefix are a scan, however slow they arrive
    prefix_timeout_ms: float = 500  # a prefixed burst that stalls this long is given back as typing
    suffixes: tuple[str, ...] = ("\r", "\n", "\t")  # Enter or Tab: the usual wedge terminators
    end_on_pause: bool = True  # a fast run that just stops (no suffix) is still a scan


@dataclass(frozen=True)
class Typed:
    """Keys that turned out to be a person typing: deliver them, in this order."""

    text: str
    keys: list[Any] = field(default_factory=list)  # the payloads given to feed(), one per char


@dataclass(frozen=True)
class Scanned:
    """A complete scanner burst, prefix and suffix removed; its keys are consumed."""

    text: str
    keys: list[Any] = field(default_factory=list)  # the payloads of every consumed key, suffix included


Outcome = Typed | Scanned


@dataclass
class _Key:
    char: str
    at_ms: float
    payload: Any


class WedgeDetector:
    """Holds back keys that may start a scan until timing, length or suffix says what they are.

    Plain Python: feed(char, at_ms) for each key and pause() when no key came for wait_ms;
    both return what to do with the held keys, in order.
    """

    def __init__(self, settings: WedgeSettings = WedgeSettings()) -> None:
        self.settings = settings
        self._held: list[_Key] = []

    @property
    def holding(self) -> bool:
        """Whether keys are held back waiting for a decision."""
        return bool(self._held)

    @property
    def wait_ms(self) -> float | None:
        """How long after the last key to call pause(), or None when nothing is held."""
        if not self._held:
            return None
        if self.settings.prefix:
            return self.settings.prefix_timeout_ms
        if self.settings.suffixes and len(self._held) >= self.settings.min_length:
            # The suffix ends a scan at once, so waiting longer for a late key costs nothing;
            # scanners set up without a suffix end on this pause, which stays short.
            return max(self.settings.late_key_ms, self.settings.max_gap_ms)
        return self.settings.max_gap_ms

    def feed(self, char: str, at_ms: float, payload: Any = None) -> list[Outcome]:
        """One key's text at a time in milliseconds; payload rides along and comes back in Typed.keys."""
        out: list[Outcome] = []
        if self._held and at_ms - self._held[-1].at_ms > self.wait_ms:
            out += self.pause()
        key = _Key(char, at_ms, payload)
        if self.settings.prefix:
            out += self._feed_prefixed(key)
        else:
            out += self._feed_timed(key)
        return out

    def pause(self) -> list[Outcome]:
        """The keys stopped: a long enough held run is a scan (if end_on_pause), otherwise typing."""
        if not self._held:
            return []
        body = self._body()
        if body is not None and self.settings.end_on_pause and len(body) >= self.settings.min_length:
            return [self._consume(body)]
        return [self._release()]

    def _feed_timed(self, key: _Key) -> list[Outcome]:
        if key.char in self.settings.suffixes:
            if len(self._held) >= self.settings.min_length:
                body = self._body()
                self._held.append(key)
                return [self._consume(body)]
            self._held.append(key)
            return [self._release()]
        self._held.append(key)
        return []

    def _feed_prefixed(self, key: _Key) -> list[Outcome]:
        prefix = self.settings.prefix
        self._held.append(key)
        held_text = "".join(k.char for k in self._held)
        if len(held_text) <= len(prefix):
            return [] if prefix.startswith(held_text) else [self._release()]
        if key.char in self.settings.suffixes:
            body = held_text[len(prefix) : -1]
            if len(body) >= self.settings.min_length:
                return [self._consume(body)]
            return [self._release()]
        return []

    def _body(self) -> str | None:
        """The held text without the prefix, or None when a configured prefix is not complete."""
        text = "".join(k.char for k in self._held)
        prefix = self.settings.prefix
        if prefix:
            return text[len(prefix) :] if len(text) > len(prefix) and text.startswith(prefix) else None
        return text

    def _consume(self, body: str) -> Scanned:
        held, self._held = self._held, []
        return Scanned(body, [k.payload for k in held])

    def _release(self) -> Typed:
        held, self._held = self._held, []
        return Typed("".join(k.char for k in held), [k.payload for k in held])
