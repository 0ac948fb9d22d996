"""The sync engine's snapshot in words: one status line at the bottom, a strong strip when work cannot get out.

The line keeps one height whatever it says, so a network drop never moves a control under a
finger; a text too long for a narrow screen is set smaller rather than cut, and cut only below
the smallest type, with the whole text in its tooltip.
"""

from datetime import datetime

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QStackedLayout, QWidget

from desktop_app.i18n import translate
from desktop_app.views.fitted import fit_one_line, restyle
from desktop_app.views.shell.style import Layout
from sync.catalogue.entry import QT_TRANSLATE_NOOP
from sync.connectivity import SyncState
from sync.engine import SyncStatus

# What people read; kept together so that translation finds them in one place (context "StatusBar").
_STATE_WORDS = {
    SyncState.IDLE: (QT_TRANSLATE_NOOP("StatusBar", "Online"), "#1b8a3a"),
    SyncState.SYNCING: (QT_TRANSLATE_NOOP("StatusBar", "Online, sending"), "#1b8a3a"),
    SyncState.CONNECTING: (QT_TRANSLATE_NOOP("StatusBar", "Connecting…"), "#8a6d00"),
    SyncState.OFFLINE: (QT_TRANSLATE_NOOP("StatusBar", "Offline"), "#8a4b00"),
    SyncState.AUTH_REQUIRED: (QT_TRANSLATE_NOOP("StatusBar", "Not signed in to the server"), "#8a4b00"),
    SyncState.ERROR: (QT_TRANSLATE_NOOP("StatusBar", "Server problem"), "#b71c1c"),
    SyncState.DEVICE_REFUSED: (QT_TRANSLATE_NOOP("StatusBar", "Device not accepted"), "#b71c1c"),
}
# A handheld's line also holds the name of the person signed in: fewer words.
_COMPACT_WORDS = {SyncState.SYNCING: QT_TRANSLATE_NOOP("StatusBar", "Sending"),
                  SyncState.AUTH_REQUIRED: QT_TRANSLATE_NOOP("StatusBar", "Not signed in"),
                  SyncState.DEVICE_REFUSED: QT_TRANSLATE_NOOP("StatusBar", "Not accepted")}
_NOTICES = {
    SyncState.OFFLINE: QT_TRANSLATE_NOOP("StatusBar", "OFFLINE — Your work is saved on this device and is sent when "
                                                      "the network is back."),
    SyncState.AUTH_REQUIRED: QT_TRANSLATE_NOOP("StatusBar", "NOT CONNECTED — Your work is saved on this device. Sign "
                                                            "in online so it can be sent."),
    # A revoked handheld, or a data folder copied to another machine: nothing goes out until IT acts.
    # The server's reason (who took it out of service, when) is in the log; here, what to do.
    SyncState.DEVICE_REFUSED: QT_TRANSLATE_NOOP("StatusBar", "DEVICE NOT ACCEPTED — work is saved here but cannot be "
                                                             "sent. Call IT."),
}
_SERVER_PROBLEM = QT_TRANSLATE_NOOP("StatusBar", "SERVER PROBLEM — Your work is saved on this device.")
_SERVER_PROBLEM_SAYS = QT_TRANSLATE_NOOP("StatusBar", "SERVER PROBLEM — Your work is saved on this device. {error}")
_COMPACT_NOTICES = {SyncState.OFFLINE: QT_TRANSLATE_NOOP("StatusBar", "OFFLINE — work saved here"),
                    SyncState.AUTH_REQUIRED: QT_TRANSLATE_NOOP("StatusBar", "NOT CONNECTED — sign in"),
                    SyncState.ERROR: QT_TRANSLATE_NOOP("StatusBar", "SERVER PROBLEM — work saved here"),
                    SyncState.DEVICE_REFUSED: QT_TRANSLATE_NOOP("StatusBar", "DEVICE NOT ACCEPTED — call IT")}
_STUCK = (QT_TRANSLATE_NOOP("StatusBar", "Work is not getting through: call a supervisor"),
          QT_TRANSLATE_NOOP("StatusBar", "Not getting through: call a supervisor"))
_STALE = (QT_TRANSLATE_NOOP("StatusBar", "Work is sent, but no news comes from the server: what you see may be old. "
                                         "Call a supervisor"),
          QT_TRANSLATE_NOOP("StatusBar", "No news from the server: call a supervisor"))
_NOTICE_COLOURS = {"offline": "#8a4b00", "alarm": "#b71c1c"}


def _last_sync(at: datetime | None) -> str:
    if at is None:
        return translate("StatusBar", "never synced")
    return translate("StatusBar", "last sync {time}").format(time=at.astimezone().strftime("%H:%M:%S"))


def describe(status: SyncStatus, compact: bool = False) -> tuple[str, str, str]:
    """(state words, colour, details) of a snapshot; compact for a handheld's narrow screen."""
    state = status.state if status.pending or status.state is not SyncState.SYNCING else SyncState.IDLE
    words, colour = _STATE_WORDS[state]
    last = max((t for t in (status.last_push_at, status.last_pull_at) if t is not None), default=None)
    if compact:
        # The exceptions waiting are on the Exceptions button: the line keeps to what it alone says.
        waiting = (translate("StatusBar", "all sent") if status.pending == 0
                   else translate("StatusBar", "%n waiting", None, status.pending))
        clock = translate("StatusBar", "never") if last is None else last.astimezone().strftime("%H:%M")
        return translate("StatusBar", _COMPACT_WORDS.get(state, words)), colour, f"{waiting} · {clock}"
    waiting = (translate("StatusBar", "all work sent") if status.pending == 0
               else translate("StatusBar", "%n action(s) waiting to send", None, status.pending))
    parts = [waiting, _last_sync(last)]
    if status.rejected:
        parts.append(translate("StatusBar", "%n exception(s)", None, status.rejected))
    return translate("StatusBar", words), colour, " · ".join(parts)


def alarm_text(status: SyncStatus, compact: bool = False) -> str | None:
    """The words when sync is half broken: work not getting out, or news not coming in."""
    if status.stuck:
        return translate("StatusBar", _STUCK[compact])
    if status.stale:
        return translate("StatusBar", _STALE[compact])
    return None


def offline_text(status: SyncStatus, compact: bool = False) -> str | None:
    """What the strip says when work cannot be sent now; None while the server answers."""
    if status.state is SyncState.AUTH_REQUIRED and not status.pending:
        return None  # before anyone has signed in this is the normal state, not news for a strip
    if compact and status.state in _COMPACT_NOTICES:
        return translate("StatusBar", _COMPACT_NOTICES[status.state])
    if status.state is SyncState.ERROR:
        if not status.last_error:
            return translate("StatusBar", _SERVER_PROBLEM)
        return translate("StatusBar", _SERVER_PROBLEM_SAYS).format(error=status.last_error)
    if status.state in _NOTICES:
        return translate("StatusBar", _NOTICES[status.state])
    return None


class FitLabel(QLabel):
    """One line of text in the largest type, down to a floor, that fits the label's width; cut with "…" (the whole
    text in the tooltip) only when even the smallest type is too wide.

    The type size goes into the label's own style sheet (a window's style sheet would override setFont()).
    """

    SMALLEST_PIXEL_SIZE = 11

    def __init__(self, pixel_size: int, *, bold: bool = False, name: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName=name)
        self.setTextFormat(Qt.TextFormat.PlainText)  # a server's error text is not markup
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._base, self._bold = pixel_size, bold
        self._colours = ("transparent", "")
        self._full = ""
        self._applied: tuple | None = None
        self._fitted: tuple | None = None
        self.setFixedHeight(QFontMetrics(self._font(pixel_size)).lineSpacing() + 8)

    def _font(self, size: int) -> QFont:
        font = QFont(self.font())
        font.setBold(self._bold)
        font.setPixelSize(size)
        return font

    @property
    def full_text(self) -> str:
        """The text as given; text() is what shows, cut with "…" only when even the smallest type is too wide."""
        return self._full

    def set_colours(self, background: str, colour: str = "") -> None:
        self._colours = (background, colour)
        self._fit()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        self._full = text
        self._fit()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(0, self.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(0, self.height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        room = max(self.width() - 16, 1)  # the 8 px padding each side, below
        fitted = (self._full, room, self._base, self._colours)
        if fitted == self._fitted:
            return  # the line is told the same again and again (every status): nothing to lay out
        self._fitted = fitted
        size, shown = fit_one_line(self._font(self._base), self._full, room, self._base, self.SMALLEST_PIXEL_SIZE)
        style = (size, *self._colours)
        if style != self._applied:
            self._applied = style
            background, colour = self._colours
            self.setStyleSheet(f"QLabel {{ font-size: {size}px; font-weight: {700 if self._bold else 400}; "
                               f"background: {background}; padding: 0 8px; {f'color: {colour};' if colour else ''} }}")
        super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")  # cut: the whole text on a long press or hover


class SyncStatusBar(QWidget):
    """One line at the bottom of the window: online or not, what is waiting, when the last sync was.

    While work cannot get out (offline, a refused device, a queue stuck) `notice` takes the
    place of the state and details, in a strong colour, in the same height.
    """

    def __init__(self, layout: Layout, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.compact = layout.handheld
        size = layout.px(18)
        self.state = QLabel(translate("StatusBar", "Starting…"), objectName="sync-state")
        self.details = FitLabel(size, name="sync-details")
        self.notice = FitLabel(size, bold=True, name="offline")
        self.labels = FitLabel(size, bold=True, name="labels")  # the station's print spool, when labels wait
        self.labels.setVisible(False)
        line = QWidget()
        row = QHBoxLayout(line)
        row.setContentsMargins(8, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.state)
        row.addWidget(self.details, 1)
        row.addWidget(self.labels)
        self._slot = QStackedLayout()
        self._slot.addWidget(line)
        self._slot.addWidget(self.notice)
        self.line = QHBoxLayout(self)
        self.line.setContentsMargins(0, 0, 0, 0)
        self.line.addLayout(self._slot, 1)
        self.setFixedHeight(self.notice.height())

    def add_to_line(self, widget: QWidget) -> None:
        """Put widget at the right end of the status line (the handheld shows who is signed in there)."""
        self.line.addWidget(widget)
        self.line.setContentsMargins(0, 0, 8, 0)

    def show_labels(self, waiting: int, uncertain: int) -> None:
        """How many labels of this station's spool have not printed; hidden when none."""
        if uncertain:
            text = translate("StatusBar", "%n label(s) may have printed", None, uncertain)
        elif waiting:
            text = translate("StatusBar", "%n label(s) to print", None, waiting)
        else:
            text = ""
        self.labels.setText(text)
        self.labels.set_colours("#fff3c4" if text else "")
        self.labels.setVisible(bool(text))

    def show_status(self, status: SyncStatus) -> None:
        words, colour, details = describe(status, self.compact)
        self.state.setText(f"● {words}")
        restyle(self.state, f"color: {colour}; font-weight: 700;")
        self.details.setText(details)
        alarm = alarm_text(status, self.compact)
        text = alarm if alarm is not None else offline_text(status, self.compact)
        if text is not None and not self.compact and status.pending:  # what the hidden details said
            text = translate("StatusBar", "{notice} (%n action(s) waiting to send)", None, status.pending).format(
                notice=text)
        if text is not None:
            self.notice.set_colours(_NOTICE_COLOURS["alarm" if alarm is not None else "offline"], "white")
            self.notice.setText(text)
        self._slot.setCurrentWidget(self.notice if text is not None else self._slot.widget(0))
