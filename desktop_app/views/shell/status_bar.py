"""The sync engine's snapshot in words: a status line at the bottom and a banner when offline."""

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from sync.connectivity import SyncState
from sync.engine import SyncStatus

_STATE_WORDS = {
    SyncState.IDLE: ("Online", "#1b8a3a"),
    SyncState.SYNCING: ("Online, sending", "#1b8a3a"),
    SyncState.CONNECTING: ("Connecting…", "#8a6d00"),
    SyncState.OFFLINE: ("Offline", "#8a4b00"),
    SyncState.AUTH_REQUIRED: ("Not signed in to the server", "#8a4b00"),
    SyncState.ERROR: ("Server problem", "#b71c1c"),
    SyncState.DEVICE_REFUSED: ("Device not accepted", "#b71c1c"),
}


def _clock(at: datetime | None) -> str:
    return "never" if at is None else at.astimezone().strftime("%H:%M:%S")


def describe(status: SyncStatus, compact: bool = False) -> tuple[str, str, str]:
    """(state words, colour, details) of a snapshot; compact for a handheld's narrow screen."""
    words, colour = _STATE_WORDS[status.state if status.pending or status.state is not SyncState.SYNCING
                                 else SyncState.IDLE]
    last = max((t for t in (status.last_push_at, status.last_pull_at) if t is not None), default=None)
    if compact:
        waiting = "all sent" if status.pending == 0 else f"{status.pending} waiting"
        return words, colour, f"{waiting} · {_clock(last)}" + (f" · {status.rejected} exc." if status.rejected else "")
    waiting = "all work sent" if status.pending == 0 else (
        f"{status.pending} action{'s' if status.pending != 1 else ''} waiting to send")
    parts = [waiting, f"last sync {_clock(last)}"]
    if status.rejected:
        parts.append(f"{status.rejected} exception{'s' if status.rejected != 1 else ''}")
    return words, colour, " · ".join(parts)


def alarm_text(status: SyncStatus, compact: bool = False) -> str | None:
    """The line under the status when sync is half broken: work not getting out, or news not coming in."""
    if status.stuck:
        return ("Not getting through: call a supervisor" if compact
                else "Work is not getting through: call a supervisor")
    if status.stale:
        return ("No news from the server: call a supervisor" if compact
                else "Work is sent, but no news comes from the server: what you see may be old. Call a supervisor")
    return None


def offline_text(status: SyncStatus) -> str | None:
    """What the banner says when work cannot be sent now; None while the server answers."""
    saved = "Your work is saved on this device"
    if status.state is SyncState.OFFLINE:
        return f"OFFLINE — {saved} and is sent when the network is back."
    if status.state is SyncState.AUTH_REQUIRED and status.pending:
        # Before anyone has signed in this is the normal state, not news for a banner.
        return f"NOT CONNECTED — {saved}. Sign in online so it can be sent."
    if status.state is SyncState.ERROR:
        return f"SERVER PROBLEM — {saved}. {status.last_error or ''}".strip()
    if status.state is SyncState.DEVICE_REFUSED:
        # A revoked handheld, or a data folder copied to another machine: nothing goes out until IT acts.
        # The server's reason (who took it out of service, when) is in the log; here, what to do.
        return "DEVICE NOT ACCEPTED — work is saved here but cannot be sent. Call IT."
    return None


class SyncStatusBar(QWidget):
    """One line at the bottom of the window: online or not, what is waiting, when the last sync was."""

    def __init__(self, compact: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.compact = compact
        self.state = QLabel("Starting…", objectName="sync-state")
        self.details = QLabel("", objectName="sync-details")
        # The details give way (cut at the right edge) rather than widen a narrow window.
        self.details.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.details.setMinimumWidth(0)
        self.stuck = QLabel("", objectName="stuck", wordWrap=True)
        self.stuck.hide()
        self.line = QHBoxLayout()
        self.line.addWidget(self.state)
        self.line.addWidget(self.details, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(2)
        layout.addLayout(self.line)
        layout.addWidget(self.stuck)

    def add_to_line(self, widget: QWidget) -> None:
        """Put widget at the right end of the status line (the handheld shows who is signed in there)."""
        self.line.addWidget(widget)

    def show_status(self, status: SyncStatus) -> None:
        words, colour, details = describe(status, self.compact)
        self.state.setText(f"● {words}")
        self.state.setStyleSheet(f"color: {colour}; font-weight: 700;")
        self.details.setText(details)
        alarm = alarm_text(status, self.compact)
        self.stuck.setVisible(alarm is not None)
        if alarm is not None:
            self.stuck.setText(alarm)


class OfflineBanner(QLabel):
    """A full-width strip that makes it impossible to miss that work is not reaching the server."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="offline", wordWrap=True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hide()

    def show_status(self, status: SyncStatus) -> None:
        text = offline_text(status)
        self.setVisible(text is not None)
        if text is not None:
            self.setText(text)
