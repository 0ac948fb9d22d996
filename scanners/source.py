"""The interface every scan source offers (wedge, serial, camera, manual entry)."""

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from scanners.codes import Scan

ScanCallback = Callable[[Scan], None]


@runtime_checkable
class ScanSource(Protocol):
    """Something that produces scans between start() and stop() and hands each to its listeners."""

    def start(self) -> None:
        """Begin listening to the device."""

    def stop(self) -> None:
        """Stop listening; no scans are reported afterwards."""

    def on_scan(self, callback: ScanCallback) -> None:
        """Call callback with every Scan from now on."""


class ScanListeners:
    """The listener list a scan source keeps; sources call notify() with each scan."""

    def __init__(self) -> None:
        self._callbacks: list[ScanCallback] = []

    def on_scan(self, callback: ScanCallback) -> None:
        """Call callback with every Scan from now on."""
        self._callbacks.append(callback)

    def notify(self, scan: Scan) -> None:
        """Hand one scan to every listener, in the order they subscribed."""
        for callback in list(self._callbacks):
            callback(scan)


class ManualEntry(ScanListeners):
    """The typed-in source for damaged labels: submit() turns text into a Scan with source "manual"."""

    def __init__(self) -> None:
        super().__init__()
        self._running = False

    def start(self) -> None:
        """Accept submitted text."""
        self._running = True

    def stop(self) -> None:
        """Ignore submitted text from now on."""
        self._running = False

    def submit(self, text: str) -> None:
        """Report text a person typed for a label the scanner could not read."""
        if self._running:
            self.notify(Scan(raw=text, source="manual"))
