"""The label spool of the bench: every job with its state, the "may have printed" decisions and reprints.

Keys: Up/Down choose a job; for one that may have printed, Y "it printed" and N "print it
again"; R reprints a printed label (then a number for the reason, which is recorded); Esc
or F6 goes back to packing.
"""

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QListWidget, QVBoxLayout, QWidget

from desktop_app.i18n import translate
from desktop_app.views.fitted import FittedLabel
from desktop_app.views.shell.style import Layout
from sync.catalogue.entry import QT_TRANSLATE_NOOP
from sync.print_spool import CANCELLED, PRINTED, READY, SENDING, UNCERTAIN, WAITING_LABEL, WrongJobState
from sync.signin import SignedIn
from desktop_app.workflows.saving import write_problem
from sync.store.database import WriteFailed

CTX = "LabelSpool"
STATE_WORDS = {
    WAITING_LABEL: QT_TRANSLATE_NOOP(CTX, "label pending (waiting for the server)"),
    READY: QT_TRANSLATE_NOOP(CTX, "waiting for the printer"),
    SENDING: QT_TRANSLATE_NOOP(CTX, "printing"),
    PRINTED: QT_TRANSLATE_NOOP(CTX, "printed"),
    UNCERTAIN: QT_TRANSLATE_NOOP(CTX, "MAY HAVE PRINTED: check the printer, then Y (it did) or N (print it)"),
    CANCELLED: QT_TRANSLATE_NOOP(CTX, "cancelled"),
}
PROBLEM_WORDS = {
    "offline": QT_TRANSLATE_NOOP(CTX, "printer off or unreachable"),
    "paper_out": QT_TRANSLATE_NOOP(CTX, "printer out of labels"),
    "ribbon_out": QT_TRANSLATE_NOOP(CTX, "printer out of ribbon"),
    "head_open": QT_TRANSLATE_NOOP(CTX, "printer head open"),
    "paused": QT_TRANSLATE_NOOP(CTX, "printer paused"),
    "busy": QT_TRANSLATE_NOOP(CTX, "printer busy"),
    "overheated": QT_TRANSLATE_NOOP(CTX, "printer too hot"),
    "not_answering": QT_TRANSLATE_NOOP(CTX, "printer not answering"),
    "status_unreadable": QT_TRANSLATE_NOOP(CTX, "printer answers something unexpected"),
    "disk_full": QT_TRANSLATE_NOOP(CTX, "label folder's disk is full"),
    "refused": QT_TRANSLATE_NOOP(CTX, "printer refused the label"),
    "printer_error": QT_TRANSLATE_NOOP(CTX, "printer problem"),
    "label_not_ready": QT_TRANSLATE_NOOP(CTX, "waiting for the server to take the parcel"),
    "label_unreachable": QT_TRANSLATE_NOOP(CTX, "server not reachable"),
    "label_empty": QT_TRANSLATE_NOOP(CTX, "the server sent an empty label"),
    "interrupted": QT_TRANSLATE_NOOP(CTX, "Floorhand stopped while it was printing"),
    "no_printer": QT_TRANSLATE_NOOP(CTX, "no printer set up for this station"),
}
REPRINT_REASONS = ("label_damaged", "printer_jam", "parcel_relabelled", "other")
REPRINT_WORDS = {"label_damaged": QT_TRANSLATE_NOOP(CTX, "Label damaged or unreadable"),
                 "printer_jam": QT_TRANSLATE_NOOP(CTX, "Printer jammed"),
                 "parcel_relabelled": QT_TRANSLATE_NOOP(CTX, "Parcel needs a new label"),
                 "other": QT_TRANSLATE_NOOP(CTX, "Another reason")}


def problem_words(code: str | None) -> str:
    return translate(CTX, PROBLEM_WORDS[code]) if code in PROBLEM_WORDS else (code or "")


def spool_summary(counts) -> str:
    """The spool in a few words, for the status bar and the packing screen; "" when nothing waits."""
    parts = []
    if counts.waiting:
        parts.append(translate(CTX, "%n label(s) pending", None, counts.waiting))
    if counts.ready:
        parts.append(translate(CTX, "%n label(s) to print", None, counts.ready))
    if counts.uncertain:
        parts.append(translate(CTX, "%n label(s) may have printed: decide in F6", None, counts.uncertain))
    if counts.problem and (counts.waiting or counts.ready):
        parts.append(problem_words(counts.problem))
    return " · ".join(parts)


class SpoolView(QWidget):
    """Lists the spool's jobs; the person at the bench decides on uncertain ones and asks for reprints."""

    closed = Signal()

    def __init__(self, spool, say, layout: Layout, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._spool, self._say = spool, say
        self.person: SignedIn | None = None
        self.asking_reason = False
        self.title = FittedLabel(translate(CTX, "Labels of this bench"), "title")
        self.list = QListWidget()
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list.setWordWrap(True)
        # The bench's type and touch size, not a desktop list's: rows are read from a step away.
        self.list.setStyleSheet(
            f"QListWidget {{ font-size: {layout.px(20)}px; }}"
            f"QListWidget::item {{ min-height: {layout.touch}px; padding: 4px 8px; border-bottom: 1px solid #c5cbcf; }}"
            "QListWidget::item:selected { background: #1f4e79; color: white; }")
        self.hint = FittedLabel("", "hint")
        layout = QVBoxLayout(self)
        for w in (self.title, self.list, self.hint):
            layout.addWidget(w)
        self._jobs: list = []

    def set_person(self, person: SignedIn | None) -> None:
        self.person, self.asking_reason = person, False
        self.refresh()

    def refresh(self) -> None:
        chosen = self._chosen()
        keep = self.list.currentRow()
        self._jobs = list(reversed(self._spool.jobs(50)))  # newest first
        # The same job stays chosen when a new one comes on top (a reprint, a pack at the other bench).
        keep = next((n for n, job in enumerate(self._jobs) if chosen is not None and job.id == chosen.id), keep)
        self.list.clear()
        for job in self._jobs:
            words = translate(CTX, STATE_WORDS.get(job.state, job.state))
            if job.problem and job.state in (WAITING_LABEL, READY):
                words += " · " + problem_words(job.problem)
            if job.reprint_of:
                words += " · " + translate(CTX, "reprint")
            if job.kind == "label":
                self.list.addItem(translate(CTX, "{order} parcel {n}: {state}").format(
                    order=job.order_number or "-", n=job.parcel_no or "-", state=words))
            else:
                self.list.addItem(translate(CTX, "Command sheet: {state}").format(state=words))
        if self._jobs:
            self.list.setCurrentRow(min(max(keep, 0), len(self._jobs) - 1))
        self.hint.setText(translate(CTX, "Choose the reason: ") + " · ".join(
            f"{n} {translate(CTX, REPRINT_WORDS[r])}" for n, r in enumerate(REPRINT_REASONS, start=1))
            if self.asking_reason else
            translate(CTX, "Up/Down choose · Y it printed · N print it again · R reprint · Esc back"))

    def _chosen(self):
        row = self.list.currentRow()
        return self._jobs[row] if 0 <= row < len(self._jobs) else None

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        key = event.key()
        job = self._chosen()
        user = str(self.person.user_id) if self.person else ""
        if key in (Qt.Key.Key_Escape, Qt.Key.Key_F6):
            if self.asking_reason:
                self.asking_reason = False
                self.refresh()
            else:
                self.closed.emit()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self._jobs:
            step = -1 if key == Qt.Key.Key_Up else 1
            self.list.setCurrentRow((self.list.currentRow() + step) % len(self._jobs))
            if self.asking_reason:  # the reason was asked for the label chosen before: ask again for this one
                self.asking_reason = False
                self.refresh()
        elif self.asking_reason and Qt.Key.Key_1 <= key < Qt.Key.Key_1 + len(REPRINT_REASONS) and job:
            self.asking_reason = False
            self._do(lambda: self._spool.reprint(job.id, REPRINT_REASONS[key - Qt.Key.Key_1], user),
                     translate(CTX, "Reprint of {order} parcel {n} queued.").format(order=job.order_number,
                                                                                  n=job.parcel_no))
        elif key == Qt.Key.Key_R and job:
            if job.state != PRINTED:
                self._say.show("reject", translate(CTX, "Only a printed label can be reprinted."))
            else:
                self.asking_reason = True
                self.refresh()
        elif key in (Qt.Key.Key_Y, Qt.Key.Key_N) and job:
            if job.state != UNCERTAIN:
                self._say.show("reject", translate(CTX, "Only a label that may have printed needs this."))
            else:
                printed = key == Qt.Key.Key_Y
                self._do(lambda: self._spool.decide(job.id, printed, user),
                         translate(CTX, "Recorded: it printed.") if printed else
                         translate(CTX, "It prints again now."))
        else:
            super().keyPressEvent(event)

    def _do(self, action, words: str) -> None:
        try:
            action()
        except WrongJobState:
            self._say.show("reject", translate(CTX, "That label changed meanwhile: look again."))
        except WriteFailed as exc:
            self._say.show("reject", translate(CTX, "Could not save this on the device: {why}.")
                          .format(why=write_problem(exc)))
        else:
            self._say.show("accept", words)
        self.refresh()
