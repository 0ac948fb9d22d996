"""The picking screen: scans and keys in, the picking session decides, the page and the feedback show it."""

import logging
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from desktop_app.tasks import TaskRunner
from desktop_app.views.picking.pages import CountPage, ShortPage, StartPage, SummaryPage, TaskPage, TotePage
from desktop_app.views.shell.style import Layout
from desktop_app.workflows.picking import SHORT_REASONS, Outcome, PickingSession, PickingState
from scanners.codes import Classified

log = logging.getLogger(__name__)


class Announcer(Protocol):
    """Where outcomes go: desktop_app.feedback.Feedback (sound, flash, large text)."""

    def show(self, kind: str, message: str) -> None: ...


class PickingView(QWidget):
    """Drives a PickingSession from scans, function keys and taps; never touches the network itself."""

    def __init__(self, layout: Layout, runner: TaskRunner, announce: Announcer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._runner, self._announce = runner, announce
        self.session: PickingSession | None = None
        self._claiming = False
        self.start_page = StartPage()
        self.tote_page = TotePage()
        self.task_page = TaskPage(layout)
        self.count_page = CountPage()
        self.short_page = ShortPage()
        self.summary_page = SummaryPage()
        self.pages = QStackedWidget()
        for page in (self.start_page, self.tote_page, self.task_page, self.count_page, self.short_page,
                     self.summary_page):
            self.pages.addWidget(page)
        QVBoxLayout(self).addWidget(self.pages)

        self.start_page.start.connect(self.start_batch)
        self.summary_page.next_batch.connect(self.start_batch)
        self.task_page.action.connect(self._task_action)
        self.count_page.counted.connect(lambda qty, task: self._act(self.session.enter_quantity(qty, task)))
        self.count_page.back.connect(self.refresh)
        self.short_page.reason.connect(lambda reason: self._act(self.session.short(reason)))
        self.short_page.back.connect(self.refresh)

    # --- wiring from the shell -------------------------------------------------------

    def set_session(self, session: PickingSession | None) -> None:
        """The signed-in picker's session (a new person gets a new one)."""
        self.session = session
        self._claiming = False
        self.start_page.set_busy(False, "Press Enter or tap Start to get the next batch.")
        self.refresh()

    def activate(self) -> None:
        """The picking page came to the front: take the keyboard focus so keys land here."""
        self.refresh()

    def handle_scan(self, code: Classified) -> None:
        """A classified scan while picking is on screen."""
        if self.session is None:
            self._announce.show("reject", "Sign in first.")
            return
        if self._claiming:
            self._announce.show("reject", "Wait: getting a batch from the server.")
            return
        self._act(self.session.scan(code))

    def data_changed(self) -> None:
        """The local view changed under the picker (a pull): redraw, unless they are mid-entry."""
        if self.pages.currentWidget() not in (self.count_page, self.short_page):
            self.refresh()

    # --- actions -----------------------------------------------------------------------

    def start_batch(self) -> None:
        """Claim the next batch (network: on a worker) or take up the one on this device."""
        if self.session is None or self._claiming:
            return
        self._claiming = True
        self.start_page.set_busy(True)
        self.pages.setCurrentWidget(self.start_page)
        session = self.session
        self._runner.run(session.start, lambda outcome: self._started(session, outcome),
                         lambda exc: self._start_failed(session, exc), name="claim batch")

    def _started(self, session: PickingSession, outcome: Outcome) -> None:
        if session is not self.session:
            return  # someone else signed in meanwhile
        self._claiming = False
        self.start_page.set_busy(False, outcome.message if outcome.kind == "reject" else None)
        self._act(outcome)

    def _start_failed(self, session: PickingSession, exc: BaseException) -> None:
        log.error("getting a batch failed", exc_info=exc)
        if session is self.session:
            self._claiming = False
            self.start_page.set_busy(False, f"Could not get a batch: {exc}")
            self._announce.show("reject", f"Could not get a batch: {exc}")

    def _task_action(self, name: str) -> None:
        card = self.session.current() if self.session is not None else None
        if card is None:
            return
        if name == "count":
            self.count_page.ask(card)
            self.pages.setCurrentWidget(self.count_page)
        elif name == "short":
            self.short_page.ask(card)
            self.pages.setCurrentWidget(self.short_page)
        elif name == "skip":
            self._act(self.session.skip())
        elif name == "undo":
            self._act(self.session.undo_last())

    def _act(self, outcome: Outcome) -> None:
        self.refresh()
        self._announce.show(outcome.kind, outcome.message)

    # --- showing -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the page for the session's state, read from the local view."""
        session = self.session
        screen = session.screen() if session is not None else None
        state = screen.state if screen is not None else PickingState.NO_BATCH
        if state is PickingState.NO_BATCH or self._claiming:
            self.pages.setCurrentWidget(self.start_page)
        elif state is PickingState.NEED_TOTES:
            self.tote_page.show_card(screen.tote)
            self.pages.setCurrentWidget(self.tote_page)
        elif state is PickingState.BATCH_DONE:
            self.summary_page.show_summary(screen.summary)
            self.pages.setCurrentWidget(self.summary_page)
        else:
            self.task_page.show_card(screen.task, session.options.location_scan_required)
            self.pages.setCurrentWidget(self.task_page)
        if self.isVisible():
            self.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Keys for people with a scanner in one hand: Enter, F5-F8, 1-3 and Esc."""
        key, page = event.key(), self.pages.currentWidget()
        enter = key in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if page in (self.start_page, self.summary_page) and enter:
            self.start_batch()
        elif page is self.task_page and key in _TASK_KEYS:
            self._task_action(_TASK_KEYS[key])
        elif page is self.task_page and key == Qt.Key.Key_Z and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self._task_action("undo")
        elif page is self.short_page and Qt.Key.Key_1 <= key < Qt.Key.Key_1 + len(SHORT_REASONS):
            self._act(self.session.short(SHORT_REASONS[key - Qt.Key.Key_1]))
        elif page in (self.short_page, self.count_page) and key == Qt.Key.Key_Escape:
            self.refresh()
        else:
            super().keyPressEvent(event)
            return
        event.accept()


_TASK_KEYS = {Qt.Key.Key_F5: "count", Qt.Key.Key_F6: "short", Qt.Key.Key_F7: "skip", Qt.Key.Key_F8: "undo"}
