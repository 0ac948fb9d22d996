"""The pages of the packing screen; each only shows what the packing session says, in large type."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from desktop_app.i18n import translate
from desktop_app.views.fitted import FittedButton, FittedLabel, WrappedColumn
from desktop_app.views.shell.style import Layout
from desktop_app.workflows.packing_order import OrderDraft

CTX = "PackingScreen"
# Scoped to the frame's object name: an unscoped sheet would give every label inside a border too.
_DONE_LOOK = "QFrame#line {background: #dff3e4; border: 2px solid #1b8a3a; border-radius: 6px;}"
_OPEN_LOOK = "QFrame#line {background: #ffffff; border: 2px solid #c5cbcf; border-radius: 6px;}"
_CURRENT_LOOK = "QFrame#line {background: #e1ecf8; border: 3px solid #1565c0; border-radius: 6px;}"
_NOTE_LOOK = "QFrame#note {background: #fff3c4; border: 3px solid #b88a00; border-radius: 6px;}"


def _label(text: str = "", name: str = "", center: bool = False) -> FittedLabel:
    return FittedLabel(text, name, center=center)


def key_button(text: str, name: str, primary: bool = False) -> FittedButton:
    """A big button for gloves; it never takes the keyboard focus from the screen (the scanner types there)."""
    button = FittedButton(text, "primary" if primary else name)
    button.setProperty("action", name)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return button


class IdlePage(QWidget):
    """No order open: what to scan, and how many orders wait."""

    def __init__(self, layout: Layout, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = _label(translate(CTX, "Packing"), "title", center=True)
        self.ask = _label(translate(CTX, "Scan a tote, an order number or an item"), "huge", center=True)
        self.waiting = _label("", "big", center=True)
        # An order the person before left half packed: nothing of it was saved, its tote waits here.
        self.left = _label("", "big", center=True)
        self.left.set_look(colour="#b3261e", weight=700)
        self.spool = _label("", "hint", center=True)
        self.keys = _label(translate(CTX, "F6 labels · F7 print the command sheet · F8 open a packed order again · F9 tare · "
                                          "F10 zero"),
                           "hint", center=True)
        self.keys.setVisible(not layout.handheld)  # the handheld's keypad legend has them
        column = QVBoxLayout(self)
        column.addStretch(1)
        for w in (self.title, self.ask, self.left, self.waiting, self.spool, self.keys):
            column.addWidget(w)
        column.addStretch(2)


class LineRow(QFrame):
    """One order line: what it is, and how many of it are verified out of how many."""

    def __init__(self, layout: Layout, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="line")
        self.name = _label("", "" if layout.handheld else "big")
        if layout.handheld:  # a handheld shows several lines at once: the name bold in the body size
            self.name.set_look(weight=700)
        self.codes = _label("", "hint")
        self.count = QLabel()
        self.count.setObjectName("big")
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        grid = QGridLayout(self)
        grid.setContentsMargins(10, 6, 10, 6)
        grid.addWidget(self.name, 0, 0)
        grid.addWidget(self.codes, 1, 0)
        grid.addWidget(self.count, 0, 1, 2, 1)
        grid.setColumnStretch(0, 1)

    def show_line(self, name: str, sku: str, gtin: str, verified: int, qty: int, current: bool) -> None:
        self.name.setText(name)
        self.codes.setText(translate(CTX, "SKU {sku} · GTIN {gtin}").format(sku=sku, gtin=gtin.lstrip("0")))
        self.count.setText(translate(CTX, "{verified} of {qty}").format(verified=verified, qty=qty))
        look = _DONE_LOOK if verified >= qty else (_CURRENT_LOOK if current else _OPEN_LOOK)
        if self.styleSheet() != look:
            self.setStyleSheet(look)


class OrderPage(QWidget):
    """The open order: its lines, the packing note, the open parcel's box and weight, and the keys."""

    def __init__(self, layout: Layout, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = layout
        self.order = _label("", "title")
        self.parcel = _label("", "big")
        self.note = _label("", "big")
        # The yellow is the frame's: a FittedLabel keeps its own style sheet for its type size.
        self.note_frame = QFrame(objectName="note")
        self.note_frame.setStyleSheet(_NOTE_LOOK)
        framed = QVBoxLayout(self.note_frame)
        framed.setContentsMargins(10, 6, 10, 6)
        framed.addWidget(self.note)
        self.rows: list[LineRow] = []
        self.lines_box = WrappedColumn()
        self.lines = self.lines_box.column
        scroll = QScrollArea(frameShape=QFrame.Shape.NoFrame, widgetResizable=True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys and scans stay with the packing screen
        scroll.setWidget(self.lines_box)
        self.scroll = scroll
        self.box = _label("", "" if layout.handheld else "big")
        self.boxes = _label("", "hint")
        self.weight = _label("", "" if layout.handheld else "big")
        if layout.handheld:
            self.box.set_look(weight=700)
            self.weight.set_look(weight=700)
        self.expected = _label("", "hint")
        self.keys = _label(translate(CTX, "Enter close · F2 count · F3 no barcode · F4 hold shelf · F5 next parcel · "
                                          "F9 tare · Backspace take back · Esc put aside"), "hint")
        side = QVBoxLayout()
        for w in (self.box, self.boxes, self.weight, self.expected):
            side.addWidget(w)
        side.addStretch(1)
        head = QVBoxLayout() if layout.handheld else QHBoxLayout()
        head.addWidget(self.order, 1)
        head.addWidget(self.parcel)
        outer = QVBoxLayout(self)
        outer.addLayout(head)
        outer.addWidget(self.note_frame)
        if layout.handheld:  # one column; the keys are on the handheld's own keypad legend
            outer.addWidget(scroll, 1)
            outer.addLayout(side)
            for hidden in (self.parcel, self.boxes, self.expected, self.keys):  # shown in other words below
                hidden.setVisible(False)
        else:
            body = QHBoxLayout()
            body.addWidget(scroll, 3)
            body.addLayout(side, 2)
            outer.addLayout(body, 1)
        outer.addWidget(self.keys)

    def show_order(self, draft: OrderDraft, current_line: int | None) -> None:
        self.order.setText(translate(CTX, "{order} · tote {tote}").format(order=draft.number, tote=draft.tote or "-")
                           if draft.tote else draft.number)
        self.parcel.setText(translate(CTX, "Parcel {n}").format(n=len(draft.parcels)))
        self.note.setText(draft.note or "")
        self.note_frame.setVisible(bool(draft.note))
        while len(self.rows) < len(draft.lines):
            row = LineRow(self._layout)
            self.rows.append(row)
            self.lines.insertWidget(self.lines.count() - 1, row)
        for row, line in zip(self.rows, draft.lines):
            row.show_line(line.name, line.sku, line.gtin, draft.verified(line.id), line.qty, line.id == current_line)
            row.setVisible(True)
        for row in self.rows[len(draft.lines):]:
            row.setVisible(False)
        self.lines_box.fit_height()
        if current_line is not None:  # the item F2 and F3 apply to stays in sight
            current = next((r for r, ln in zip(self.rows, draft.lines) if ln.id == current_line), None)
            if current is not None:
                self.scroll.ensureWidgetVisible(current)

    def show_box(self, box_words: str, boxes_words: str, weight_words: str, expected_words: str) -> None:
        if self._layout.handheld:  # two lines instead of five: the parcel and its box, the weights
            box_words = translate(CTX, "{parcel} · {box}").format(parcel=self.parcel.text(), box=box_words)
            weight_words = " · ".join(w for w in (weight_words, expected_words) if w)
        self.box.setText(box_words)
        self.boxes.setText(boxes_words)
        self.weight.setText(weight_words)
        self.expected.setText(expected_words)


class ChoicePage(QWidget):
    """A numbered question: which order, which reason. Number keys answer; the number buttons are for a tap,
    and each answer's words wrap beside its number (a longer language never cuts them)."""

    chosen = Signal(int)
    back = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.question = _label("", "big", center=True)
        self.rows: list[tuple[QWidget, FittedLabel]] = []
        self.list = QVBoxLayout()
        back = key_button(translate(CTX, "Back  Esc"), "back")
        back.clicked.connect(self.back.emit)
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addLayout(self.list)
        layout.addStretch(1)
        layout.addWidget(back)

    def ask(self, question: str, answers: list[str]) -> None:
        self.question.setText(question)
        while len(self.rows) < len(answers):
            n = len(self.rows) + 1
            row = QWidget()
            button = key_button(str(n), f"choice-{n}")
            button.clicked.connect(lambda _=False, n=n: self.chosen.emit(n))
            words = _label("", "big")
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            line.addWidget(button)
            line.addWidget(words, 1)
            self.rows.append((row, words))
            self.list.addWidget(row)
        for (row, words), answer in zip(self.rows, answers):
            words.setText(answer)
            row.setVisible(True)
        for row, _ in self.rows[len(answers):]:
            row.setVisible(False)


class EntryPage(QWidget):
    """A number typed on the keyboard: a count of one item, or a parcel's weight when there is no scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.question = _label("", "big", center=True)
        self.digits = _label("", "huge", center=True)
        self.hint = _label(translate(CTX, "Enter to confirm · Esc to go back"), "hint", center=True)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (self.question, self.digits, self.hint):
            layout.addWidget(w)
        layout.addStretch(2)
