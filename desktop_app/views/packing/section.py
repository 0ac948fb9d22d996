"""Packing as a section of the station: the packer's session follows the person, the scale and the spool the bench."""

import uuid

from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from desktop_app.i18n import translate
from desktop_app.sections import Banners, Section
from desktop_app.tasks import TaskRunner
from desktop_app.views.packing.packing_view import PackingView
from desktop_app.views.packing.spool_view import SpoolView
from desktop_app.views.shell.style import Layout
from desktop_app.workflows.packing import LabelSpool, PackingCore, PackingOptions, PackingSession
from desktop_app.workflows.packing_sheet import command_sheet
from peripherals.bench_scale import BenchScale
from peripherals.scale_reading import ScaleState
from peripherals.simulated_scale import SimulatedScale
from scanners.codes import BenchCommand, Classified, OrderNumber, ProductCode, ToteCode
from sync.catalogue.entry import QT_TRANSLATE_NOOP
from sync.engine import SyncStatus
from sync.outbox import RejectedMutation
from sync.signin import SignedIn
from desktop_app.workflows.saving import write_problem
from sync.store.database import WriteFailed

KEY, TITLE = "pack", QT_TRANSLATE_NOOP("Sections", "Pack")  # translated where it is shown (the station)
ROLES = ("packer", "supervisor", "admin")  # order API roles (order_api/models/identity.py)
CTX = "PackingScreen"
SCALE_WORDS = {
    ScaleState.STOPPED: QT_TRANSLATE_NOOP(CTX, "Scale: off"),
    ScaleState.CONNECTED: QT_TRANSLATE_NOOP(CTX, "Scale: ready"),
    ScaleState.OVERLOAD: QT_TRANSLATE_NOOP(CTX, "Scale: too heavy for it"),
    ScaleState.UNDERLOAD: QT_TRANSLATE_NOOP(CTX, "Scale: below zero, press zero on the scale"),
    ScaleState.NO_READING: QT_TRANSLATE_NOOP(CTX, "Scale: not answering, check its cable and settings"),
    ScaleState.DISCONNECTED: QT_TRANSLATE_NOOP(CTX, "Scale: unplugged, plug it in again"),
    ScaleState.NOT_FOUND: QT_TRANSLATE_NOOP(CTX, "Scale: not found, plug it in"),
    ScaleState.NO_ACCESS: QT_TRANSLATE_NOOP(CTX, "Scale: no permission to open it, ask IT"),
}


class PackingSection(Section):
    """Wraps the PackingView and the spool view; scans of totes, orders, items and bench commands go to it."""

    def __init__(self, layout: Layout, runner: TaskRunner, banners: Banners, core: PackingCore,
                 options: PackingOptions, spool: LabelSpool, scale: BenchScale | None, printer_words: str = "") -> None:
        say = banners.voice(KEY)
        self.view = PackingView(layout, say, runner)
        self.spool_view = SpoolView(spool, say, layout)
        screen = QStackedWidget()
        screen.addWidget(self.view)
        screen.addWidget(self.spool_view)
        holder = QWidget()
        QVBoxLayout(holder).addWidget(screen)
        holder.layout().setContentsMargins(0, 0, 0, 0)
        super().__init__(KEY, TITLE, ROLES, holder, say)
        self._screen = screen
        self._core, self._spool, self.options, self.scale = core, spool, options, scale
        self.view.spool_requested.connect(self.show_spool)
        self.view.weighing_wanted.connect(self._weighing_wanted)
        self.view.sheet_requested.connect(self.print_command_sheet)
        self.view.scale_requested.connect(self._scale_command)
        if printer_words:  # a folder printer: say where the labels go, the demo's in particular
            self.view.idle_page.keys.setText(translate(CTX, "Labels are written to {folder}").format(
                folder=printer_words))
            self.view.idle_page.keys.setVisible(True)
        self.spool_view.closed.connect(self.show_packing)
        if scale is not None:
            scale.weighed.connect(self.view.weighed)
            scale.state_changed.connect(self._scale_state)
            self._scale_state(scale.state)
        else:
            self.view.set_scale_words(translate(CTX, "No scale: type the weight"))

    def print_command_sheet(self) -> None:
        """F7: a sheet with a barcode per box type and per command goes to this bench's label printer."""
        if self.person is None:
            return
        boxes = [(b.code, b.name) for b in self.view.session.boxes()] if self.view.session else []
        sheet = command_sheet(boxes, translate(CTX, "Packing bench: scan to choose"),
                              [("close", translate(CTX, "Close the parcel")),
                               ("parcel", translate(CTX, "Close this parcel, start the next"))])
        try:
            self._spool.add_document("sheet", f"sheet-{uuid.uuid4()}", sheet, str(self.person.user_id))
        except WriteFailed as exc:
            self.say.show("reject", translate(CTX, "Could not save this on the device: {why}.")
                          .format(why=write_problem(exc)))
            return
        self.say.show("info", translate(CTX, "The command sheet goes to the label printer."))

    def _scale_command(self, command: str) -> None:
        """F9 tare (a tray or mat left on the scale counts as nothing), F10 zero."""
        if self.scale is None:
            self.say.show("reject", translate(CTX, "This bench has no scale."))
        elif (self.scale.tare() if command == "tare" else self.scale.zero()):
            self.say.show("info", translate(CTX, "Scale tared.") if command == "tare" else
                          translate(CTX, "Scale set to zero."))
        else:
            self.say.show("reject", translate(CTX, "The scale did not take it: check that it is connected."))

    def _weighing_wanted(self, expected_g: int) -> None:
        """A simulated scale (the demo) weighs what the parcel should, give or take a few grams."""
        if isinstance(self.scale, SimulatedScale):
            self.scale.place(expected_g + 8)

    def _scale_state(self, state: ScaleState) -> None:
        words = translate(CTX, SCALE_WORDS.get(state, SCALE_WORDS[ScaleState.STOPPED]))
        ready = state in (ScaleState.CONNECTED, ScaleState.OVERLOAD, ScaleState.UNDERLOAD)
        if not ready:
            words += " · " + translate(CTX, "type the weight")
        self.view.set_scale_words(words, ready)

    def set_options(self, options: PackingOptions) -> None:
        """New packing rules from the settings: the packer at work gets them now."""
        self.options = options
        if self.view.session is not None:
            self.view.session.options = options

    def set_person(self, person: SignedIn | None) -> None:
        super().set_person(person)
        self.show_packing()
        self.view.set_session(None if person is None else
                              PackingSession(self._core, person.username, person.user_id, self.options, self._spool))
        self.spool_view.set_person(person)

    def accepts(self, code: Classified) -> bool:
        return isinstance(code, (ToteCode, OrderNumber, BenchCommand, ProductCode))

    def handle_scan(self, code: Classified) -> bool:
        if not self.accepts(code):
            return False  # a bin label, an unknown code: the station says what it is
        if self._screen.currentWidget() is self.spool_view:
            self.show_packing()
        self.view.handle_scan(code)
        return True

    def shown(self) -> None:
        self.show_packing()

    def show_spool(self) -> None:
        self.spool_view.refresh()
        self._screen.setCurrentWidget(self.spool_view)
        self.spool_view.setFocus()

    def show_packing(self) -> None:
        self._screen.setCurrentWidget(self.view)
        self.view.refresh()
        self.view.setFocus()

    def spool_changed(self, words: str, counts) -> None:
        """The spool moved: its words on the packing screen, the labels not printed yet on the section's button."""
        self.view.set_spool_words(words)
        if self._screen.currentWidget() is self.spool_view:
            self.spool_view.refresh()
        waiting = counts.waiting + counts.ready + counts.uncertain
        self.status_changed.emit(str(waiting) if waiting else "")

    def data_changed(self, status: SyncStatus) -> None:
        # A pull (an order cancelled under the packer interrupts even off screen) or a refusal; not the
        # queue's count, which moves with every pack closed and every push.
        if self.data_moved(status):
            self.view.data_changed()

    def rejected(self, mutations: list[RejectedMutation]) -> str | None:
        if self.on_screen:
            self.view.refresh()
        return None
