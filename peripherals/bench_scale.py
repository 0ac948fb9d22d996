"""The interface every bench scale offers (serial, simulated): weighings, a state, tare and zero."""

from PySide6.QtCore import QObject, Signal

from peripherals.scale_reading import ScaleState, Weighing


class BenchScale(QObject):
    """What the packing bench sees of a scale: weighings, a state for the status bar, tare and zero."""

    weighed = Signal(int, bool)  # grams, stable; sent when either changes
    state_changed = Signal(object)  # ScaleState

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = ScaleState.STOPPED
        self._last_stable: int | None = None
        self._reported: Weighing | None = None

    @property
    def state(self) -> ScaleState:
        """Where the scale stands now."""
        return self._state

    @property
    def last_stable(self) -> int | None:
        """The latest stable weight in grams; None until one comes, and once the scale stops reporting."""
        return self._last_stable

    def start(self) -> None:
        """Begin reporting weighings and states."""
        raise NotImplementedError

    def stop(self) -> None:
        """Report nothing more."""
        raise NotImplementedError

    def tare(self) -> bool:
        """Take the load on the scale as tare; False when the scale cannot be asked."""
        raise NotImplementedError

    def zero(self) -> bool:
        """Set zero at the present load; False when the scale cannot be asked."""
        raise NotImplementedError

    def _set_state(self, state: ScaleState) -> None:
        if state is self._state:
            return
        self._state = state
        if state is not ScaleState.CONNECTED:
            self._last_stable = None
            self._reported = None  # the first weighing after a gap is announced even if it is the same
        self.state_changed.emit(state)

    def _report(self, weighing: Weighing) -> None:
        self._set_state(ScaleState.CONNECTED)
        if weighing.stable:
            self._last_stable = weighing.grams
        if weighing != self._reported:
            self._reported = weighing
            self.weighed.emit(weighing.grams, weighing.stable)
