"""The picking screen: scans and keys in, the picking session decides, the page and the feedback show it.

A scan that records an action gets its verdict (sound, flash, the page after it) only once
the journal writer has stored the action, synced to disk; the writer says so from its own
thread through a queued signal, and the screen keeps handling events meanwhile. Verdicts are
shown in the order of the scans.
"""

import logging
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from desktop_app.i18n import translate
from desktop_app.tasks import TaskRunner
from desktop_app.views.picking.pages import CountPage, ShortPage, StartPage, SummaryPage, TaskPage, TotePage
from desktop_app.views.shell.style import Layout
from desktop_app.workflows.picking import SHORT_REASONS, Outcome, PickingSession, PickingState, Screen
from scanners.codes import Classified
from sync.journal_writer import Submission

log = logging.getLogger(__name__)


class Announcer(Protocol):
    """Where outcomes go: desktop_app.feedback.Feedback (sound, flash, large text)."""

    def show(self, kind: str, message: str) -> None: ...


@dataclass(frozen=True)
class _Verdict:
    """An outcome waiting to be shown, with what it was judged on."""

    session: PickingSession
    outcome: Outcome
    rollbacks: int  # session.rollbacks after it was judged
    changes: int  # PickingView._changes then: its screen is stale once that moved


class PickingView(QWidget):
    """Drives a PickingSession from scans, function keys and taps; never touches the network or the disk itself."""

    _stored = Signal()  # emitted on the journal writer's thread, delivered on this one

    def __init__(self, layout: Layout, runner: TaskRunner, announce: Announcer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._runner, self._announce = runner, announce
        self.session: PickingSession | None = None
        self._claiming = False
        self._verdicts: deque[_Verdict] = deque()
        self._changes = 0  # data changes under the screen (pulls) and actions taken back
        self._stored.connect(self._release, Qt.ConnectionType.QueuedConnection)
        self.start_page = StartPage()
        self.tote_page = TotePage()
        self.task_page = TaskPage(layout)
        self.count_page = CountPage(layout)
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
        self.tote_page.back.connect(self.back_to_start)

    # --- wiring from the shell -------------------------------------------------------

    def set_session(self, session: PickingSession | None) -> None:
        """The signed-in picker's session (a new person gets a new one)."""
        self.session = session
        self._claiming = False
        self._verdicts.clear()  # the last person's verdicts are not the new one's
        self.start_page.set_busy(False, translate("PickingScreen", "Press Enter or tap Start to get the next batch."))
        self.refresh()

    def activate(self) -> None:
        """The picking page came to the front: take the keyboard focus so keys land here."""
        self.refresh()

    def handle_scan(self, code: Classified) -> None:
        """A classified scan while picking is on screen."""
        if self.session is None:
            self._announce.show("reject", translate("PickingScreen", "Sign in first."))
            return
        if self._claiming:
            self._announce.show("reject", translate("PickingScreen", "Wait: getting a batch from the server."))
            return
        self._act(self.session.scan(code))

    @property
    def verdicts_waiting(self) -> int:
        """How many outcomes wait for their action to be stored before they are shown."""
        return len(self._verdicts)

    def shows_summary(self) -> bool:
        """The batch summary is on screen (it says whether all the batch's work has reached the server)."""
        return self.pages.currentWidget() is self.summary_page

    def data_changed(self) -> None:
        """The local view changed under the picker (a pull): redraw, unless they are mid-entry."""
        self._changes += 1
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
            message = translate("PickingScreen", "Could not get a batch. Press Enter to try again; if it happens "
                                                 "again, call IT.")
            self.start_page.set_busy(False, message)
            self._announce.show("reject", message)

    def back_to_start(self) -> None:
        """Esc on the tote screen: back to the start page, undoing nothing; Enter takes the batch up again."""
        if self.session is None or self._claiming:
            return
        outcome = self.session.put_aside()
        self._changes += 1  # verdicts still on their way show the start page, not the screen judged for them
        self.start_page.set_busy(False, outcome.message)
        self._act(outcome)

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
        """Show an outcome now, or once its action is stored and every verdict before it is shown."""
        session = self.session
        self._verdicts.append(_Verdict(session, outcome, session.rollbacks if session else 0, self._changes))
        saving = outcome.saving
        if saving is not None and not saving.done:
            saving.when_done(self._tell)
        self._release()

    def _tell(self, _stored: Submission) -> None:
        # On the journal writer's thread: only a queued signal crosses to the UI thread.
        try:
            self._stored.emit()
        except RuntimeError:  # the screen is gone: the app is closing
            log.debug("an action was stored after the picking screen closed")

    def _release(self) -> None:
        """Show the verdicts whose actions are stored (or refused), in the order of the scans."""
        while self._verdicts:
            waiting = self._verdicts[0]
            if waiting.outcome.saving is not None and not waiting.outcome.saving.done:
                return
            self._verdicts.popleft()
            session = waiting.session
            if session is None or session is not self.session:
                continue  # someone else signed in meanwhile
            shown = session.verdict(waiting.outcome)
            if shown is not waiting.outcome:
                # Not saved: the session took it back, with what was judged after it (those
                # actions are refused too; what the picker did after it is moot). One refusal says it.
                self._changes += 1
                self._verdicts = deque(v for v in self._verdicts
                                       if v.session is not session or v.rollbacks > waiting.rollbacks)
            self._draw(shown.screen if waiting.changes == self._changes else None)
            news = session.arrivals()  # told with the verdict rather than flashed over it
            if news is None:
                said = shown.message
            else:
                said = translate("PickingScreen", "{verdict}. {news}").format(verdict=shown.message.rstrip("."),
                                                                             news=news.message)
            self._announce.show(shown.kind, said)

    # --- showing -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the page for the session's state, read from the local view (after the verdicts on their way)."""
        if self._verdicts:
            self._changes += 1  # drawn when the next verdict is shown, read again then
            return
        self._draw(None)
        news = self.session.arrivals() if self.session is not None else None
        if news is not None:
            self._announce.show(news.kind, news.message)

    def _draw(self, screen: Screen | None) -> None:
        """Show the page of `screen`, or of the session's state read now."""
        session = self.session
        if screen is None and session is not None:
            screen = session.screen()
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
        elif page is self.tote_page and key == Qt.Key.Key_Escape:
            self.back_to_start()
        else:
            super().keyPressEvent(event)
            return
        event.accept()


_TASK_KEYS = {Qt.Key.Key_F5: "count", Qt.Key.Key_F6: "short", Qt.Key.Key_F7: "skip", Qt.Key.Key_F8: "undo"}
