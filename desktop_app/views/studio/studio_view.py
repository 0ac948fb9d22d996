"""The studio screen: the active SKU on top, the shot list (or the review list) below, the samples beside it.

Keyboard and scanner only. F1 all, F2 open, F3 rejected, F4 shot, F5 approved filter the
shot list; F6 switches a supervisor to the review list (the SKUs waiting for review) and
back. In the review list Up/Down choose a SKU, A approves it, R asks for a comment in the
line at the bottom of the screen (Enter sends the rejection, Esc cancels), Esc goes back
to the shot list. The view only shows and asks; the studio section does the work.
"""

from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from desktop_app.i18n import translate
from desktop_app.views.shell.style import Layout
from desktop_app.views.studio.parts import (
    ActivePanel, CommentBar, SamplesPanel, ShotListPanel, label,
)
from desktop_app.workflows.studio_lines import CTX, ActiveSku, SampleLine, ShotLine
from sync.catalogue.entry import QT_TRANSLATE_NOOP

# The filter keys and what the heading calls each filter.
FILTER_KEYS = {Qt.Key.Key_F1: "all", Qt.Key.Key_F2: "open", Qt.Key.Key_F3: "rejected", Qt.Key.Key_F4: "shot",
               Qt.Key.Key_F5: "approved"}
FILTER_WORDS = {"all": QT_TRANSLATE_NOOP(CTX, "Shot list: all ({n})"),
                "open": QT_TRANSLATE_NOOP(CTX, "Shot list: open ({n})"),
                "rejected": QT_TRANSLATE_NOOP(CTX, "Shot list: rejected ({n})"),
                "shot": QT_TRANSLATE_NOOP(CTX, "Shot list: shot ({n})"),
                "approved": QT_TRANSLATE_NOOP(CTX, "Shot list: approved ({n})")}
LIST_KEYS = QT_TRANSLATE_NOOP(CTX, "F1 all · F2 open · F3 rejected · F4 shot · F5 approved")
REVIEW_KEY = QT_TRANSLATE_NOOP(CTX, "F6 review")
REVIEW_KEYS = QT_TRANSLATE_NOOP(CTX, "Up/Down choose · A approve · R reject with a comment · Esc or F6 back to "
                                     "the shot list")


@dataclass(frozen=True)
class StudioScreen:
    """What the studio section read from the local view on a worker, for the screen to show."""

    active: ActiveSku | None = None
    next_name: str | None = None
    lines: tuple[ShotLine, ...] = ()
    review: tuple[ShotLine, ...] = ()
    samples: tuple[SampleLine, ...] = field(default=())


class StudioView(QWidget):
    """Shows a StudioScreen and turns keys into requests; never reads the local view itself."""

    filter_chosen = Signal(str)
    review_toggled = Signal(bool)
    approve_requested = Signal(int)  # shot id
    reject_requested = Signal(int, str)  # shot id, comment
    not_allowed = Signal()  # F6 pressed by someone who does not review shots

    def __init__(self, layout: Layout, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.filter = "all"
        self.reviewing = False
        self.can_review = False
        self.chosen = 0
        self.screen = StudioScreen()
        self.active = ActivePanel(layout)
        self.shots = ShotListPanel(layout)
        self.samples = SamplesPanel(layout)
        self.keys = label("", "hint")
        self.comment = CommentBar()
        self.comment.setVisible(False)
        self.comment.edit.returnPressed.connect(self._send_comment)
        self.comment.edit.cancelled.connect(self.cancel_comment)
        outer = QVBoxLayout(self)
        outer.addWidget(self.active)
        body = QVBoxLayout() if layout.handheld else QHBoxLayout()
        body.addWidget(self.shots, 3)
        body.addWidget(self.samples, 1 if layout.handheld else 2)
        outer.addLayout(body, 1)
        outer.addWidget(self.comment)
        outer.addWidget(self.keys)
        self.show_screen(StudioScreen())

    # --- what is shown ------------------------------------------------------------------

    def reset(self, can_review: bool) -> None:
        """A new person at the station: the whole list, no review, no comment, nothing of the previous one."""
        self.filter, self.reviewing, self.can_review, self.chosen = "all", False, can_review, 0
        self.comment.edit.clear()
        self.comment.setVisible(False)
        self.show_screen(StudioScreen())

    def show_screen(self, screen: StudioScreen) -> None:
        self.screen = screen
        self.active.show_active(screen.active, screen.next_name)
        self.active.setVisible(not self.reviewing)  # the review list takes the room of the active SKU
        if self.reviewing:
            self.chosen = max(0, min(self.chosen, len(screen.review) - 1))
            self.shots.show_lines(translate(CTX, "Waiting for review (%n)", None, len(screen.review)),
                                  list(screen.review), translate(CTX, "Nothing waits for review."), self.chosen)
            if not screen.review and self.comment.isVisible():
                self.cancel_comment()
        else:
            self.shots.show_lines(translate(CTX, FILTER_WORDS[self.filter]).format(n=len(screen.lines)),
                                  list(screen.lines), translate(CTX, "No SKU on the shot list here."))
        self.samples.show_samples(list(screen.samples))
        self._show_keys()

    def _show_keys(self) -> None:
        self.keys.setVisible(not self.comment.isVisible())  # the comment line says its own keys
        if self.reviewing:
            keys = translate(CTX, REVIEW_KEYS)
        else:
            keys = translate(CTX, LIST_KEYS)
            if self.can_review:
                keys = f"{keys} · {translate(CTX, REVIEW_KEY)}"
        self.keys.setText(keys)

    def chosen_line(self) -> ShotLine | None:
        review = self.screen.review
        return review[self.chosen] if self.reviewing and 0 <= self.chosen < len(review) else None

    # --- keys ---------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if not self.key(Qt.Key(event.key())):
            super().keyPressEvent(event)

    def key(self, key: Qt.Key) -> bool:
        """One key of the studio screen; False when the studio has no use for it."""
        if key in FILTER_KEYS:
            self.filter, self.reviewing = FILTER_KEYS[key], False
            self.filter_chosen.emit(self.filter)
            return True
        if key == Qt.Key.Key_F6:
            if not self.can_review:
                self.not_allowed.emit()
            else:
                self.reviewing, self.chosen = not self.reviewing, 0
                self.review_toggled.emit(self.reviewing)
            return True
        if not self.reviewing:
            return False
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            step = -1 if key == Qt.Key.Key_Up else 1
            self.chosen = max(0, min(self.chosen + step, len(self.screen.review) - 1))
            self.show_screen(self.screen)
            return True
        if key == Qt.Key.Key_Escape:
            self.reviewing = False
            self.review_toggled.emit(False)
            return True
        line = self.chosen_line()
        if key == Qt.Key.Key_A and line is not None:
            self.approve_requested.emit(line.shot_id)
            return True
        if key == Qt.Key.Key_R and line is not None:
            self.comment.question.setText(translate(CTX, "Reject {sku}: what is to be shot again?").format(
                sku=line.sku))
            self.comment.edit.clear()
            self.comment.setVisible(True)
            self._show_keys()
            self.comment.edit.setFocus()
            return True
        return False

    def _send_comment(self) -> None:
        line = self.chosen_line()
        if line is not None:
            self.reject_requested.emit(line.shot_id, self.comment.edit.text())

    def comment_sent(self) -> None:
        """The rejection is stored: the comment line goes, the keys come back to the list."""
        self.cancel_comment()

    def cancel_comment(self) -> None:
        self.comment.edit.clear()
        self.comment.setVisible(False)
        self._show_keys()
        self.setFocus()
