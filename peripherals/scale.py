"""A serial bench scale (USB-CDC or RS-232) for Qt, opened by a stable path and reopened after unplugging."""

import logging
import time
from collections.abc import Callable
from typing import Literal

from PySide6.QtCore import QIODevice, QObject, QTimer
from PySide6.QtSerialPort import QSerialPort

from peripherals.bench_scale import BenchScale
from peripherals.scale_protocols import LineKind, ScaleLine, ScaleProtocol, parse_line
from peripherals.scale_reading import ScaleState, StableWeight, Weighing

log = logging.getLogger(__name__)

RETRY_S = 1.5  # between attempts to open a port that is missing or went away
SILENT_AFTER_S = 3.0  # no bytes for this long: the port is closed and opened again
# A line this long with no terminator is a wrong baud rate or protocol; it is dropped rather than kept.
MAX_LINE_BYTES = 512

Parity = Literal["none", "even", "odd", "mark", "space"]
_PARITY = {
    "none": QSerialPort.Parity.NoParity,
    "even": QSerialPort.Parity.EvenParity,
    "odd": QSerialPort.Parity.OddParity,
    "mark": QSerialPort.Parity.MarkParity,
    "space": QSerialPort.Parity.SpaceParity,
}
_STOP_BITS = {1: QSerialPort.StopBits.OneStop, 2: QSerialPort.StopBits.TwoStop}
_OPEN_FAILURES = {
    QSerialPort.SerialPortError.DeviceNotFoundError: ScaleState.NOT_FOUND,
    QSerialPort.SerialPortError.PermissionError: ScaleState.NO_ACCESS,
}
_OUT_OF_RANGE = {LineKind.OVERLOAD: ScaleState.OVERLOAD, LineKind.UNDERLOAD: ScaleState.UNDERLOAD}
# Errors after which an open port is no longer worth reading: the device went away or the line broke.
_PORT_LOST = {
    QSerialPort.SerialPortError.ResourceError,
    QSerialPort.SerialPortError.ReadError,
    QSerialPort.SerialPortError.WriteError,
}


def _timer(parent: QObject, seconds: float, slot: Callable[[], None], *, repeat: bool = False) -> QTimer:
    timer = QTimer(parent)
    timer.setInterval(round(seconds * 1000))
    timer.setSingleShot(not repeat)
    timer.timeout.connect(slot)
    return timer


class SerialScale(BenchScale):
    """A scale on a serial port (USB-CDC or RS-232), read with one of the protocols in scale_protocols.

    path is a stable name (/dev/serial/by-id/..., a udev symlink, COM3) opened by that name on every
    attempt, so a scale plugged back in under another ttyACMn is found again. silent_after_s=None is for
    scales set to send a line only when the weight changes, whose silence means nothing.
    """

    def __init__(
        self,
        path: str,
        protocol: ScaleProtocol,
        *,
        baud_rate: int = 9600,
        data_bits: int = 8,
        parity: Parity = "none",
        stop_bits: int = 1,
        retry_s: float = RETRY_S,
        silent_after_s: float | None = SILENT_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._path = path
        self._protocol = protocol
        self._port = QSerialPort(self)
        self._port.setPortName(path)
        self._port.setBaudRate(baud_rate)
        self._port.setDataBits(QSerialPort.DataBits(data_bits))
        self._port.setParity(_PARITY[parity])
        self._port.setStopBits(_STOP_BITS[stop_bits])
        self._port.readyRead.connect(self._on_bytes)
        self._port.errorOccurred.connect(self._on_error)
        self._buffer = bytearray()
        self._judge = StableWeight(clock)
        self._running = False
        self._poll_timer = _timer(self, protocol.poll_s, self._poll, repeat=True)
        self._retry_timer = _timer(self, retry_s, self._open)
        # Restarted by every byte, and by every line understood; neither when silence means nothing.
        watch = silent_after_s is not None
        self._silence_timer = _timer(self, silent_after_s, self._on_silence) if watch else None
        self._understood_timer = _timer(self, silent_after_s, self._on_nothing_understood) if watch else None
        self._watchdogs = tuple(t for t in (self._silence_timer, self._understood_timer) if t is not None)
        self._settle_timer = _timer(self, 0, self._on_settled)

    @property
    def path(self) -> str:
        """The configured port path."""
        return self._path

    def start(self) -> None:
        """Open the port and read weights; keep trying while it is missing."""
        self._running = True
        self._open()

    def stop(self) -> None:
        """Close the port; no retries, no weighings afterwards."""
        self._running = False
        self._close()
        self._retry_timer.stop()
        self._set_state(ScaleState.STOPPED)

    def tare(self) -> bool:
        """Ask the scale to tare; False when it cannot be asked (no port, or the protocol has no tare)."""
        return self._send(self._protocol.tare_command)

    def zero(self) -> bool:
        """Ask the scale to set zero; False when it cannot be asked."""
        return self._send(self._protocol.zero_command)

    def _send(self, command: bytes | None) -> bool:
        if command is None or not self._port.isOpen():
            return False
        self._port.write(command)
        return True

    def _open(self) -> None:
        if not self._running:
            return
        self._port.clearError()
        if not self._port.open(QIODevice.OpenModeFlag.ReadWrite):
            state = _OPEN_FAILURES.get(self._port.error(), ScaleState.DISCONNECTED)
            if state is not self.state:
                log.info("scale %s cannot be opened: %s", self._path, self._port.errorString())
            self._set_state(state)
            self._retry_timer.start()
            return
        log.info("scale %s opened (%s)", self._path, self._protocol.name)
        self._buffer.clear()
        self._judge.reset()
        for watchdog in self._watchdogs:
            watchdog.start()
        if self._protocol.request is not None:
            self._poll()
            self._poll_timer.start()

    def _close(self) -> None:
        for timer in (self._poll_timer, self._settle_timer, *self._watchdogs):
            timer.stop()
        if self._port.isOpen():
            self._port.close()
        self._buffer.clear()
        self._judge.reset()

    def _lose(self, state: ScaleState, why: str) -> None:
        log.warning("scale %s: %s; opening it again every %.1f s", self._path, why, self._retry_timer.interval() / 1000)
        self._close()
        self._set_state(state)
        if self._running:
            self._retry_timer.start()

    def _on_error(self, error: QSerialPort.SerialPortError) -> None:
        # Failed opens also arrive here; _open handles those.
        if error in _PORT_LOST and self._port.isOpen():
            self._lose(ScaleState.DISCONNECTED, self._port.errorString())

    def _on_silence(self) -> None:
        self._lose(ScaleState.NO_READING, "no bytes from the scale")

    def _on_nothing_understood(self) -> None:
        log.warning("scale %s: nothing understood as %s; check the protocol and baud rate",
                    self._path, self._protocol.name)
        self._set_state(ScaleState.NO_READING)

    def _poll(self) -> None:
        if self._port.isOpen() and self._protocol.request is not None:
            self._port.write(self._protocol.request)

    def _on_bytes(self) -> None:
        self._buffer += self._port.readAll().data()
        if self._silence_timer is not None:
            self._silence_timer.start()
        terminator = self._protocol.terminator
        while (end := self._buffer.find(terminator)) >= 0:
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + len(terminator)]
            self._take(parse_line(self._protocol, raw))
        if len(self._buffer) > MAX_LINE_BYTES:
            log.warning("scale %s: %d bytes without a line end dropped", self._path, len(self._buffer))
            self._buffer.clear()

    def _take(self, line: ScaleLine) -> None:
        if line.kind in (LineKind.GARBAGE, LineKind.ERROR):
            log.debug("scale %s: %s %r", self._path, line.kind.value, line.raw)
            return
        if self._understood_timer is not None:
            self._understood_timer.start()
        if line.kind is LineKind.WEIGHT:
            weighing = self._judge.judge(line)
            if weighing is not None:
                self._report(weighing)
                self._watch_settling()
        elif line.kind in _OUT_OF_RANGE:
            self._judge.reset()
            self._set_state(_OUT_OF_RANGE[line.kind])
        elif line.kind is LineKind.IN_MOTION:
            # A status-only answer (Toledo 8217): the load moves, so the weight last shown is not stable now.
            self._judge.reset()
            if self._reported is not None:
                self._report(Weighing(self._reported.grams, False))
            else:
                self._set_state(ScaleState.CONNECTED)
        elif self.state not in _OUT_OF_RANGE.values():
            self._set_state(ScaleState.CONNECTED)  # busy or acknowledged: the scale is there

    def _watch_settling(self) -> None:
        # A scale that sends a line only when the weight changes would never show the steady weight as
        # stable; one check when it should have settled covers it.
        remaining = self._judge.settles_in()
        if remaining and not self._settle_timer.isActive():
            self._settle_timer.start(round(remaining * 1000) + 1)

    def _on_settled(self) -> None:
        weighing = self._judge.recheck()
        if weighing is None:
            return
        self._report(weighing)
        self._watch_settling()
