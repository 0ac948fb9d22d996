"""The sync engine as the UI sees it: its status snapshots and rejections as Qt signals."""

from PySide6.QtCore import QObject, Signal

from sync.engine import SyncEngine, SyncStatus


class SyncSignals(QObject):
    """Re-emits the engine's worker-thread callbacks as signals delivered on the main thread.

    The engine calls its listeners on its own threads; a signal emitted there reaches slots of
    objects living on the main thread through the event queue (Qt's AutoConnection).
    """

    status_changed = Signal(object)  # SyncStatus
    rejected = Signal(object)  # list[RejectedMutation]

    def __init__(self, engine: SyncEngine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.last: SyncStatus | None = None
        self.status_changed.connect(self._remember)
        engine.subscribe(self.status_changed.emit)
        engine.on_rejected(self.rejected.emit)

    def _remember(self, status: SyncStatus) -> None:
        self.last = status
