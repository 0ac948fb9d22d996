"""The parts of the studio screen: the active SKU, shot list rows, the samples panel and the comment bar."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLineEdit, QScrollArea, QVBoxLayout, QWidget

from desktop_app.i18n import translate
from desktop_app.views.fitted import FittedLabel, WrappedColumn
from desktop_app.views.shell.style import Layout
from desktop_app.workflows.studio_lines import CTX, ActiveSku, SampleLine, ShotLine
from sync.catalogue.entry import QT_TRANSLATE_NOOP

# A shot list status as people read it; a status a newer server sends is shown as it comes.
STATUS_WORDS = {"open": QT_TRANSLATE_NOOP(CTX, "Open"), "shot": QT_TRANSLATE_NOOP(CTX, "Shot, waiting for review"),
                "approved": QT_TRANSLATE_NOOP(CTX, "Approved"), "rejected": QT_TRANSLATE_NOOP(CTX, "Rejected")}
ASK_TEXT = QT_TRANSLATE_NOOP(CTX, "Scan a sample or a product to start")

# Scoped to the frame's object name: an unscoped sheet would give every label inside a border too.
_ROW_LOOK = {"rejected": "QFrame#shot {background: #fdecea; border: 2px solid #b3261e; border-radius: 6px;}",
             "approved": "QFrame#shot {background: #dff3e4; border: 2px solid #1b8a3a; border-radius: 6px;}",
             "": "QFrame#shot {background: #ffffff; border: 2px solid #c5cbcf; border-radius: 6px;}"}
_CHOSEN_LOOK = "QFrame#shot {background: #e1ecf8; border: 3px solid #1565c0; border-radius: 6px;}"
_ACTIVE_LOOK = "QFrame#active {background: #f4f7fa; border: 2px solid #1565c0; border-radius: 8px;}"


def label(text: str = "", name: str = "", center: bool = False, lines: int | None = None) -> FittedLabel:
    """A text of the screen: it wraps, and where a word is still too wide its type is set smaller."""
    return FittedLabel(text, name, center=center, lines=lines)


def heading(layout: Layout) -> FittedLabel:
    """A panel's heading: large on a workstation; on a handheld bold in the body size, to leave room for rows."""
    words = label("", "" if layout.handheld else "big", lines=1)
    if layout.handheld:
        words.set_look(weight=700)
    return words


def status_words(status: str) -> str:
    return translate(CTX, STATUS_WORDS[status]) if status in STATUS_WORDS else status


class ActivePanel(QFrame):
    """The active SKU, large enough to read from the camera: its name, the angles still needed, the next name."""

    def __init__(self, layout: Layout, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="active")
        self.setStyleSheet(_ACTIVE_LOOK)
        # At most two lines: a longer language sets the words smaller rather than push the list off the screen.
        self.sku = label(translate(CTX, ASK_TEXT), "huge", center=True, lines=2)
        self.name = label("", "big", center=True, lines=1)
        self.needed = label("", "" if layout.handheld else "big", center=True, lines=1)
        self.next_name = label("", "title", center=True, lines=1)  # one line, smaller type if it must
        self.next_name.set_look(colour="#0d47a1", weight=800)
        column = QVBoxLayout(self)
        column.setContentsMargins(12, 8, 12, 8)
        column.setSpacing(4)
        for w in (self.sku, self.name, self.needed, self.next_name):
            column.addWidget(w)
        self.show_active(None, None)

    def show_active(self, active: ActiveSku | None, next_name: str | None) -> None:
        if active is None:
            self.sku.setText(translate(CTX, ASK_TEXT))
            for w in (self.name, self.needed, self.next_name):
                w.setText("")
                w.setVisible(False)
            return
        self.sku.setText(active.sku)
        self.name.setText(active.name)
        if active.still_needed:
            needed = translate(CTX, "Still needed: {angles}").format(angles=", ".join(active.still_needed))
        elif active.angles:
            needed = translate(CTX, "Every angle is shot")
        else:
            needed = translate(CTX, "Not on the shot list")
        self.needed.setText(needed)
        self.next_name.setText(translate(CTX, "Next capture: {name}").format(name=next_name) if next_name else "")
        for w in (self.name, self.needed):
            w.setVisible(True)
        self.next_name.setVisible(bool(next_name))


class ShotRow(QFrame):
    """One SKU of the shot list: SKU and name, its status and angles, and the QC comment of a rejected one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="shot")
        self.line: ShotLine | None = None
        # Body size, bold: the list shows several SKUs under the large active one.
        self.title = label("")
        self.title.set_look(weight=700)
        self.status = label("", "")
        self.comment = label("", "")
        self.comment.set_look(colour="#b3261e", weight=700)
        grid = QGridLayout(self)
        grid.setContentsMargins(10, 6, 10, 6)
        grid.addWidget(self.title, 0, 0)
        grid.addWidget(self.status, 1, 0)
        grid.addWidget(self.comment, 2, 0)

    def show_line(self, line: ShotLine, chosen: bool = False) -> None:
        self.line = line
        self.title.setText(translate(CTX, "{sku} · {name}").format(sku=line.sku, name=line.name))
        self.status.setText(translate(CTX, "{status} · {progress}").format(status=status_words(line.status),
                                                                          progress=line.progress))
        comment = line.qc_comment if line.status == "rejected" and line.qc_comment else ""
        self.comment.setText(translate(CTX, "To redo: {comment}").format(comment=comment) if comment else "")
        self.comment.setVisible(bool(comment))
        look = _CHOSEN_LOOK if chosen else _ROW_LOOK.get(line.status, _ROW_LOOK[""])
        if self.styleSheet() != look:
            self.setStyleSheet(look)


def scrolling(content: QWidget) -> QScrollArea:
    scroll = QScrollArea(frameShape=QFrame.Shape.NoFrame, widgetResizable=True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys and scans stay with the studio screen
    scroll.setWidget(content)
    return scroll


class ShotListPanel(QWidget):
    """A heading over shot list rows that scroll; the review list is the same panel with a row chosen."""

    def __init__(self, layout: Layout, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = heading(layout)
        self.empty = label("", "", center=True)
        self.rows: list[ShotRow] = []
        self.box = WrappedColumn()
        self.scroll = scrolling(self.box)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.heading)
        column.addWidget(self.empty)
        column.addWidget(self.scroll, 1)

    def show_lines(self, heading: str, lines: list[ShotLine], empty: str, chosen: int | None = None) -> None:
        self.heading.setText(heading)
        self.empty.setText(empty if not lines else "")
        self.empty.setVisible(not lines)
        self.scroll.setVisible(bool(lines))
        while len(self.rows) < len(lines):
            row = ShotRow()
            self.rows.append(row)
            self.box.column.insertWidget(self.box.column.count() - 1, row)
        for n, (row, line) in enumerate(zip(self.rows, lines)):
            row.show_line(line, chosen == n)
            row.setVisible(True)
        for row in self.rows[len(lines):]:
            row.line = None
            row.setVisible(False)
        self.box.fit_height()
        if chosen is not None and chosen < len(lines):
            self.scroll.ensureWidgetVisible(self.rows[chosen])

    def shown_lines(self) -> list[ShotLine]:
        return [row.line for row in self.rows if row.line is not None and not row.isHidden()]


class SamplesPanel(QWidget):
    """The samples in the studio now, the longest here first, and for how long."""

    def __init__(self, layout: Layout, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = heading(layout)
        self.lines = label("", "")
        box = WrappedColumn()
        box.column.insertWidget(0, self.lines)
        self._box = box
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.heading)
        column.addWidget(scrolling(box), 1)
        self.show_samples([])

    def show_samples(self, samples: list[SampleLine]) -> None:
        self.heading.setText(translate(CTX, "Samples in the studio: %n", None, len(samples)))
        self._shown = [translate(CTX, "{barcode} · {sku} · here {time}").format(
            barcode=s.barcode, sku=s.sku, time=s.here_for) for s in samples]
        self.lines.setText("\n".join(self._shown) if samples
                           else translate(CTX, "None: scan a sample to check it in."))
        self._box.fit_height()

    def samples_texts(self) -> list[str]:
        """One line per sample shown (none when the panel says there are none)."""
        return list(self._shown)


class CommentEdit(QLineEdit):
    """The rejection comment, typed at the bottom of the screen: Enter sends it, Esc takes it back."""

    cancelled = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return
        super().keyPressEvent(event)


class CommentBar(QWidget):
    """What to ask of a rejection: which SKU, the comment line, and the keys."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.question = label("", "big")
        self.edit = CommentEdit(objectName="qc-comment")
        self.edit.setMaxLength(500)  # ShotQc.comment
        self.edit.setMinimumHeight(56)
        self.edit.setPlaceholderText(translate(CTX, "What is to be shot again?"))
        self.keys = label(translate(CTX, "Enter sends the rejection · Esc cancels"), "hint")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        for w in (self.question, self.edit, self.keys):
            column.addWidget(w)
