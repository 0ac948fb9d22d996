"""Qt keyboard-wedge source: an application-wide event filter that turns scanner bursts into scans."""

import time
from collections.abc import Callable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent

from scanners.codes import Scan
from scanners.source import ScanListeners
from scanners.wedge import Outcome, Scanned, Typed, WedgeDetector, WedgeSettings

# A scanner set to send GS as Ctrl+] produces that text with Ctrl held (GS1 General Specifications 7.8.5).
_GROUP_SEPARATOR = "\x1d"
_SHORTCUT_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
)


@dataclass
class _HeldKey:
    receiver: QObject
    press: QKeyEvent
    release: QKeyEvent | None = None


def _monotonic_ms() -> float:
    return time.monotonic() * 1000


def _copy(event: QKeyEvent) -> QKeyEvent:
    """A copy that outlives the original, which Qt deletes once the filter returns."""
    return QKeyEvent(
        event.type(),
        event.key(),
        event.modifiers(),
        event.nativeScanCode(),
        event.nativeVirtualKey(),
        event.nativeModifiers(),
        event.text(),
        event.isAutoRepeat(),
        event.count(),
    )


class WedgeScanner(QObject):
    """Keyboard-wedge scan source: swallows scanner bursts before any widget sees them, lets typing through.

    Keys with text are held back until the detector decides; typing is then re-sent to the object
    that had focus, in order. clock returns milliseconds and is injectable so tests need not sleep.
    """

    scanned = Signal(object)  # Scan

    def __init__(
        self,
        settings: WedgeSettings = WedgeSettings(),
        clock: Callable[[], float] = _monotonic_ms,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._detector = WedgeDetector(settings)
        self._clock = clock
        self._held: list[_HeldKey] = []
        self._awaiting_release: list[int] = []  # keys of swallowed presses whose release is still to come
        self._replaying = False
        self._listeners = ScanListeners()
        self._pause_timer = QTimer(self)
        self._pause_timer.setSingleShot(True)
        self._pause_timer.timeout.connect(self._on_pause)

    def start(self) -> None:
        """Install the filter on the running QCoreApplication."""
        QCoreApplication.instance().installEventFilter(self)

    def stop(self) -> None:
        """Remove the filter and hand back any held keys as typing."""
        QCoreApplication.instance().removeEventFilter(self)
        self._pause_timer.stop()
        self._apply(self._detector.pause())

    def configure(self, settings: WedgeSettings) -> None:
        """New timing, prefix or suffix; keys held under the old ones are handed back as typing first."""
        self._pause_timer.stop()
        self._apply(self._detector.pause())
        self._detector = WedgeDetector(settings)

    @property
    def holding(self) -> bool:
        """Keys are held back while the detector decides whether they are a scan."""
        return bool(self._held)

    def on_scan(self, callback: Callable[[Scan], None]) -> None:
        """Call callback with every Scan (the ScanSource interface; the scanned signal carries the same)."""
        self._listeners.on_scan(callback)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Decide for each key press/release on the focus object whether it is held, swallowed or passed."""
        if self._replaying or event.type() not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        # Qt delivers a key to the window, then the focus object, then (if ignored) its parents;
        # acting only on the focus object sees each keystroke exactly once.
        if watched is not QGuiApplication.focusObject():
            return False
        if event.type() == QEvent.Type.KeyRelease:
            return self._filter_release(event)
        return self._filter_press(watched, event)

    def _filter_press(self, watched: QObject, event: QKeyEvent) -> bool:
        text = event.text()
        shortcut = bool(event.modifiers() & _SHORTCUT_MODIFIERS) and text != _GROUP_SEPARATOR
        if not text or shortcut or event.isAutoRepeat():
            if event.key() in (Qt.Key.Key_Shift, Qt.Key.Key_CapsLock):
                return False  # scanners press Shift for capitals inside a burst
            # Anything else (arrows, shortcuts, a held-down key) is a person: flush first to keep order.
            self._pause_timer.stop()
            self._apply(self._detector.pause())
            return False
        held = _HeldKey(watched, _copy(event))
        self._held.append(held)
        self._apply(self._detector.feed(text, self._clock(), held))
        if self._detector.holding:
            self._pause_timer.start(int(self._detector.wait_ms) + 1)
        else:
            self._pause_timer.stop()
        return True  # held, swallowed, or already re-sent by _apply

    def _filter_release(self, event: QKeyEvent) -> bool:
        if event.isAutoRepeat():
            return False
        for held in self._held:
            if held.release is None and held.press.key() == event.key():
                held.release = _copy(event)
                return True
        if event.key() in self._awaiting_release:
            self._awaiting_release.remove(event.key())
            return True
        return False

    def _on_pause(self) -> None:
        self._apply(self._detector.pause())

    def _apply(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            if isinstance(outcome, Typed):
                self._replay(outcome.keys)
            elif isinstance(outcome, Scanned):
                self._swallow(outcome.keys)
                scan = Scan(raw=outcome.text, source="wedge")
                self.scanned.emit(scan)
                self._listeners.notify(scan)

    def _swallow(self, keys: list[_HeldKey]) -> None:
        """Drop the keys a scan consumed; releases still to come are swallowed when they arrive."""
        for held in keys:
            self._held.remove(held)
            if held.release is None:
                self._awaiting_release.append(held.press.key())

    def _replay(self, keys: list[_HeldKey]) -> None:
        self._replaying = True
        try:
            for held in keys:
                self._held.remove(held)
                if not shiboken6.isValid(held.receiver):
                    continue  # the widget closed while its keys were held; nobody to type into
                QCoreApplication.sendEvent(held.receiver, held.press)
                # a release that has not arrived yet will pass through the filter on its own
                if held.release is not None:
                    QCoreApplication.sendEvent(held.receiver, held.release)
        finally:
            self._replaying = False
