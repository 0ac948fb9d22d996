"""A bench scale without hardware, for the demo and for stations that have none."""

from PySide6.QtCore import QObject, QTimer

from peripherals.bench_scale import BenchScale
from peripherals.scale_reading import ScaleState, Weighing

SETTLE_S = 0.3  # how long a simulated load takes to settle


class SimulatedScale(BenchScale):
    """A scale without hardware, for the demo and stations without one: place() a parcel, lift() it off."""

    def __init__(self, settle_s: float = SETTLE_S, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._gross = 0
        self._tare = 0
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(round(settle_s * 1000))
        self._settle_timer.timeout.connect(self._settle)

    def start(self) -> None:
        """Report the empty platter, stable."""
        self._set_state(ScaleState.CONNECTED)
        self._report(Weighing(self._gross - self._tare, True))

    def stop(self) -> None:
        """Report nothing more."""
        self._settle_timer.stop()
        self._set_state(ScaleState.STOPPED)

    def place(self, grams: int) -> None:
        """Put a load of this gross weight on the platter: unstable first, stable once it settles."""
        self._gross = grams
        if self.state is ScaleState.STOPPED:
            return
        self._report(Weighing(self._gross - self._tare, False))
        self._settle_timer.start()

    def lift(self) -> None:
        """Take the load off."""
        self.place(0)

    def tare(self) -> bool:
        """Take the load on the platter as tare."""
        return self._set_tare(self._gross)

    def zero(self) -> bool:
        """Set zero at the present load; a simulated platter has no drift, so this is a tare."""
        return self._set_tare(self._gross)

    def _set_tare(self, grams: int) -> bool:
        if self.state is ScaleState.STOPPED:
            return False
        self._tare = grams
        self._settle_timer.stop()
        self._settle()
        return True

    def _settle(self) -> None:
        self._report(Weighing(self._gross - self._tare, True))
