"""The packing screen: scans, keys and the scale in, the packing session decides, the pages and the feedback show it.

Keyboard and scanner only: digits answer a numbered question (an order, a box, a reason)
or make a number (a count; a weight when the bench has no scale), Enter closes the parcel,
F2 count, F3 confirm an item without its barcode, F4 hold shelf, F5 close this parcel and
start the next, F6 the label spool, F7 print the bench's command sheet (a barcode per box and
command), F8 open a packed order again, F9 tare and F10 zero the scale, Backspace takes back the
last unit, Up/Down choose the item F2 and F3 apply to, Esc steps back.
"""

import logging
import time
from typing import Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from contract.actions import HOLD_REASONS, MANUAL_REASONS, REOPEN_REASONS
from desktop_app.i18n import translate
from desktop_app.tasks import TaskRunner
from desktop_app.views.packing.pages import ChoicePage, EntryPage, IdlePage, OrderPage
from desktop_app.views.shell.style import Layout
from desktop_app.workflows.packing import PackingSession, Stage, Verdict
from scanners.codes import Classified
from sync.catalogue.entry import QT_TRANSLATE_NOOP, WORDS
from sync.catalogue.packing import HOLD_WORDS, REOPEN_WORDS

log = logging.getLogger(__name__)
CTX = "PackingScreen"
MANUAL_WORDS = {"label_damaged": QT_TRANSLATE_NOOP(CTX, "The barcode is damaged"),
                "no_barcode": QT_TRANSLATE_NOOP(CTX, "The item has no barcode"),
                "scanner_fault": QT_TRANSLATE_NOOP(CTX, "The scanner does not read it")}
WAITING_EVERY_S = 2.0
_DIGITS = {getattr(Qt.Key, f"Key_{n}"): n for n in range(10)}


class Announcer(Protocol):
    """desktop_app.sections.Voice: sound, flash and large text, heard while packing is on screen."""

    def show(self, kind: str, message: str) -> None: ...


def kg(grams: int) -> str:
    return f"{grams / 1000:.2f} kg"


class PackingView(QWidget):
    """Drives a PackingSession from scans, keys and scale readings; never touches the network itself."""

    spool_requested = Signal()
    sheet_requested = Signal()  # F7: print the bench's command sheet
    scale_requested = Signal(str)  # F9 "tare", F10 "zero": for the bench's scale
    weighing_wanted = Signal(int)  # the parcel waits for its weight: what it should weigh (for a demo scale)

    def __init__(self, layout: Layout, announce: Announcer, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._announce, self._runner = announce, runner
        self.session: PackingSession | None = None
        self.entry = ""  # digits typed for a count or a weight
        self._waiting: tuple[float, int] | None = None  # (when, how many orders wait), for the idle page
        self._left = ""  # the order a person before left open, told until someone scans at this bench
        self._counting = False
        self.scale_words = translate(CTX, "No scale: type the weight")
        self.scale_ready: bool | None = None  # None: this bench has no scale
        self.spool_words = ""
        self.idle_page = IdlePage(layout)
        self.order_page = OrderPage(layout)
        self.choice_page = ChoicePage()
        self.entry_page = EntryPage()
        self.pages = QStackedWidget()
        for page in (self.idle_page, self.order_page, self.choice_page, self.entry_page):
            self.pages.addWidget(page)
        QVBoxLayout(self).addWidget(self.pages)
        self.choice_page.chosen.connect(lambda n: self._act(self.session.choose(n)) if self.session else None)
        self.choice_page.back.connect(lambda: self.key(Qt.Key.Key_Escape))

    def set_session(self, session: PackingSession | None) -> None:
        """The signed-in packer's session; a new person starts with an empty bench.

        An order the person before left open is not saved (a pack is saved whole, when it closes);
        the next person is told which one and that its tote waits to be scanned again.
        """
        before = self.session.draft if self.session is not None else None
        if before is not None:
            log.info("order %s was open at a switch of person: put aside, nothing of it saved", before.number)
            self._left = translate(CTX, "{order} was left open when the person changed: nothing of it is "
                                        "saved. Scan tote {tote} to pack it.").format(order=before.number,
                                                                                      tote=before.tote or "-")
        self.session = session
        self.entry, self._waiting = "", None
        self.idle_page.waiting.setText("")
        # Told to every next person until one of them scans at this bench: one who only passes
        # through another section (a supervisor at the bench for a minute) does not take it along.
        self.idle_page.left.setText(self._left if session is not None else "")
        if session is not None and self.scale_ready is not None:
            session.scale_ready = self.scale_ready
        self.refresh()

    # --- input -----------------------------------------------------------------------------

    def handle_scan(self, code: Classified) -> None:
        if self.session is None:
            self._announce.show("reject", translate(CTX, "Sign in first."))
            return
        self.entry = ""
        self.idle_page.left.setText("")
        self._left = ""  # said: the person at the bench acts now
        self._act(self.session.scan(code))

    def weighed(self, grams: int, stable: bool) -> None:
        """A reading of the bench's scale."""
        self.scale_words = (translate(CTX, "Scale: {weight}").format(weight=kg(grams)) if stable else
                            translate(CTX, "Scale: {weight} (settling)").format(weight=kg(grams)))
        if self.session is not None:
            verdict = self.session.weighed(grams, stable)
            if verdict is not None:
                self._act(verdict)
                return
        if self.pages.currentWidget() is self.order_page:
            self._show_box()

    def set_scale_words(self, words: str, ready: bool | None = None) -> None:
        """The scale's state in words; ready: whether it gives weights now (None: no scale at this bench)."""
        self.scale_words = words
        self.scale_ready = ready
        if self.session is not None and ready is not None:
            self.session.scale_ready = ready
        self.refresh()

    def set_spool_words(self, words: str) -> None:
        self.spool_words = words
        self._show_bench()

    def _show_bench(self) -> None:
        """The bench's devices on the idle page: the scale's state and the labels not printed yet."""
        self.idle_page.spool.setText(" · ".join(w for w in (self.scale_words, self.spool_words) if w))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if self.session is None or not self.key(Qt.Key(event.key())):
            super().keyPressEvent(event)

    def key(self, key: Qt.Key) -> bool:
        """One key of the bench; False when packing has no use for it."""
        s = self.session
        if s is None:
            return False
        typing = s.stage is Stage.COUNT or (s.stage is Stage.WEIGH and not s.weighs_by_scale)
        if key in _DIGITS:
            if typing:
                self.entry = (self.entry + str(_DIGITS[key]))[:6]
                self.refresh()
            elif _DIGITS[key]:
                self._act(s.choose(_DIGITS[key]))
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._enter(typing)
            return True
        if key == Qt.Key.Key_Backspace:
            if typing:
                self.entry = self.entry[:-1]
                self.refresh()
            else:
                self._act(s.undo_last())
            return True
        if key == Qt.Key.Key_Escape:
            self.entry = ""
            self._act(s.back())
            return True
        actions = {Qt.Key.Key_F2: s.start_count, Qt.Key.Key_F3: s.start_manual, Qt.Key.Key_F4: s.start_hold,
                   Qt.Key.Key_F5: lambda: s.close_parcel(next_parcel=True), Qt.Key.Key_F8: s.start_reopen}
        if key in actions:
            self.entry = ""
            self._act(actions[key]())
            return True
        if key == Qt.Key.Key_F6:
            self.spool_requested.emit()
            return True
        if key == Qt.Key.Key_F7:
            self.sheet_requested.emit()
            return True
        if key in (Qt.Key.Key_F9, Qt.Key.Key_F10):
            self.scale_requested.emit("tare" if key == Qt.Key.Key_F9 else "zero")
            return True
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            s.select_line(-1 if key == Qt.Key.Key_Up else 1)
            self.refresh()
            return True
        return False

    def _enter(self, typing: bool) -> None:
        s = self.session
        if typing:
            number, self.entry = (int(self.entry) if self.entry else 0), ""
            if s.stage is Stage.COUNT:
                self._act(s.count(number))
            elif number > 0:
                self._act(s.weighed(number, True))
            else:
                self._act(Verdict("reject", translate(CTX, "Type the weight in grams, then Enter.")))
            return
        anyway = s.close_anyway()
        if anyway is not None:
            self._act(anyway)
        elif s.draft is not None:
            self._act(s.close_parcel())

    def _act(self, verdict: Verdict | None) -> None:
        if self._waiting is not None:  # an order opened, packed or held: count again (keeping the last count)
            self._waiting = (0.0, self._waiting[1])
        if verdict is not None:
            self._announce.show(verdict.kind, verdict.message)
        self.refresh()
        s = self.session
        if s is not None and s.stage is Stage.WEIGH and s.weighs_by_scale and not s.weight_warned:
            expected = s.expected_weight()
            if expected:
                self.weighing_wanted.emit(expected)

    def data_changed(self) -> None:
        """The local view moved under the packer: only a change that makes the parcel wrong interrupts."""
        if self.session is not None:
            verdict = self.session.data_changed()
            if verdict is not None:
                self._act(verdict)
                return
        self.refresh()

    # --- what is shown ------------------------------------------------------------------------

    def refresh(self) -> None:
        s = self.session
        if s is None:
            self.idle_page.waiting.setText("")
            self.pages.setCurrentWidget(self.idle_page)
            return
        if s.stage is Stage.CHOOSE_ORDER:
            self.choice_page.ask(translate(CTX, "Which order is in front of you?"),
                                 [translate(CTX, "{order} · tote {tote}").format(order=o.number, tote=o.tote or "-")
                                  for o in s.choices])
            self.pages.setCurrentWidget(self.choice_page)
        elif s.stage in (Stage.MANUAL, Stage.HOLD, Stage.REOPEN):
            words = {Stage.MANUAL: (MANUAL_REASONS, MANUAL_WORDS, CTX), Stage.HOLD: (HOLD_REASONS, HOLD_WORDS, WORDS),
                     Stage.REOPEN: (REOPEN_REASONS, REOPEN_WORDS, WORDS)}
            reasons, texts, context = words[s.stage]
            question = {Stage.MANUAL: translate(CTX, "Why can it not be scanned?"),
                        Stage.HOLD: translate(CTX, "Why does the order go to the hold shelf?"),
                        Stage.REOPEN: translate(CTX, "Why open the parcels again?")}[s.stage]
            self.choice_page.ask(question, [translate(context, texts[r]) for r in reasons])
            self.pages.setCurrentWidget(self.choice_page)
        elif s.stage is Stage.COUNT or (s.stage is Stage.WEIGH and not s.weighs_by_scale):
            if s.stage is Stage.COUNT:
                question = translate(CTX, "How many of {item} are in the box?").format(
                    item=s.draft.line(s.current_line).name)
            else:
                question = translate(CTX, "Parcel weight in grams")
            self.entry_page.question.setText(question)
            self.entry_page.digits.setText(self.entry or "_")
            self.pages.setCurrentWidget(self.entry_page)
        elif s.draft is not None:
            self.order_page.show_order(s.draft, s.current_line)
            self._show_box()
            self.pages.setCurrentWidget(self.order_page)
        else:
            self._show_waiting()
            self._show_bench()
            self.pages.setCurrentWidget(self.idle_page)

    def _show_waiting(self) -> None:
        """How many orders wait, on the idle page. Counting reads them all (thousands on a busy bench): on a
        worker, at most every WAITING_EVERY_S while pulls come in; the last count stays until then."""
        if self._waiting is not None:
            self.idle_page.waiting.setText(translate(CTX, "%n order(s) waiting to be packed", None,
                                                     self._waiting[1]))
        if self._counting or (self._waiting is not None and time.monotonic() - self._waiting[0] < WAITING_EVERY_S):
            return
        session, self._counting = self.session, True

        def counted(n: int) -> None:
            self._counting = False
            if session is self.session:
                self._waiting = (time.monotonic(), n)
                if self.pages.currentWidget() is self.idle_page:
                    self.idle_page.waiting.setText(translate(CTX, "%n order(s) waiting to be packed", None, n))

        def failed(exc: BaseException) -> None:
            self._counting = False
            log.warning("the orders waiting at the bench could not be counted: %s", exc)

        self._runner.run(session.bench.waiting, counted, failed, name="count waiting orders")

    def _show_box(self) -> None:
        s = self.session
        box = s.chosen_box()
        if box is None:
            box_words = translate(CTX, "Box: scan the items first") if not s.draft.parcel.units else \
                translate(CTX, "No box holds these items: F5 splits the parcel")
        elif s.box_choice:
            box_words = translate(CTX, "Box {box}: {name}").format(box=box.code, name=box.name)
        else:
            box_words = translate(CTX, "Box {box}: {name} (suggested)").format(box=box.code, name=box.name)
        others = " · ".join(f"{n} {b.code}" for n, b in enumerate(s.boxes()[:9], start=1))
        boxes_words = translate(CTX, "Other box: {keys}").format(keys=others) if others else ""
        expected = s.expected_weight()
        expected_words = translate(CTX, "Should weigh {weight}").format(weight=kg(expected)) if expected else ""
        weight_words = self.scale_words
        if s.stage is Stage.WEIGH and s.weighs_by_scale:
            weight_words = translate(CTX, "Put the parcel on the scale · {scale}").format(scale=self.scale_words)
        self.order_page.show_box(box_words, boxes_words, weight_words, expected_words)
