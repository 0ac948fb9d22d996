"""The pages of the picking screen; each only shows what the picking session says, in large type."""

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QIntValidator, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from desktop_app.views.shell.style import Layout
from desktop_app.workflows.picking import SHORT_REASONS, BatchSummary, TaskCard, ToteCard

SHORT_WORDS = {"not_found": "Not found", "damaged": "Damaged", "qty_wrong": "Quantity wrong"}


def _label(text: str = "", name: str = "", wrap: bool = True, center: bool = False) -> QLabel:
    label = QLabel(text, objectName=name, wordWrap=wrap)
    if center:
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return label


def _restyle(label: QLabel, style: str) -> None:
    if label.styleSheet() != style:  # a new style sheet re-polishes the label: only when it changes
        label.setStyleSheet(style)


def _button(text: str, name: str, primary: bool = False) -> QPushButton:
    button = QPushButton(text, objectName="primary" if primary else name)
    button.setProperty("action", name)
    # Buttons are tapped; the keyboard focus stays on the picking screen so the scanner and
    # the function keys keep working.
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return button


class ProductName(QLabel):
    """A product's name in the largest type, between two sizes, in which it takes at most `lines` lines.

    Names run from "Rain Jacket, L" to sixty characters; a fixed large size would push the rest
    of the task off a handheld's screen.
    """

    def __init__(self, lines: int, parent: QWidget | None = None) -> None:
        super().__init__(parent, wordWrap=True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self._lines = lines
        self._sizes = (1, 1)
        self._weight = 700

    def show_name(self, name: str, largest: int, smallest: int, weight: int) -> None:
        self._sizes, self._weight = (largest, smallest), weight
        self.setText(name)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        largest, smallest = self._sizes
        room = QRect(0, 0, max(self.contentsRect().width(), 1), 100_000)
        font = QFont(self.font())
        font.setWeight(QFont.Weight(self._weight))
        size = largest
        while size > smallest:
            font.setPixelSize(size)
            metrics = QFontMetrics(font)
            if metrics.boundingRect(room, Qt.TextFlag.TextWordWrap, self.text()).height() <= \
                    metrics.lineSpacing() * self._lines:
                break
            size -= 2
        # In the label's own style sheet: the window's would override setFont().
        _restyle(self, f"font-size: {max(size, smallest)}px; font-weight: {self._weight};")


class StartPage(QWidget):
    """Before a batch: one big button to claim the next one."""

    start = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = _label("Picking", "title", center=True)
        self.message = _label("Press Enter or tap Start to get the next batch.", "big", center=True)
        self.button = _button("Start picking  ⏎", "start", primary=True)
        self.button.clicked.connect(self.start.emit)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (self.title, self.message, self.button):
            layout.addWidget(w)
        layout.addStretch(2)

    def set_busy(self, busy: bool, message: str | None = None) -> None:
        self.button.setEnabled(not busy)
        self.button.setText("Getting a batch…" if busy else "Start picking  ⏎")
        if message is not None:
            self.message.setText(message)


class TotePage(QWidget):
    """Batch start: one tote per order, assigned by scanning it. The tote is what is asked for, so it is the
    largest text; the order it is for comes second."""

    back = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step = _label("Scan an empty tote", "huge", center=True)
        self.order = _label("", "big", center=True)
        self.progress = _label("", "hint", center=True)
        back = _button("Back  Esc", "back")
        back.clicked.connect(self.back.emit)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (self.step, self.order, self.progress):
            layout.addWidget(w)
        layout.addStretch(2)
        row = QHBoxLayout()
        row.addWidget(back)
        row.addStretch(1)
        layout.addLayout(row)

    def show_card(self, card: ToteCard) -> None:
        self.order.setText(f"for order {card.order_number}")
        self.progress.setText(f"{card.orders_ready} of {card.orders_total} orders have a tote")


class TaskPage(QWidget):
    """One task: where to go, what to take, how many, into which tote.

    The thing to scan next is the largest text: the bin while walking to it, the product once there.
    """

    action = Signal(str)  # "count" | "short" | "skip" | "undo"

    def __init__(self, layout: Layout, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step = _label("", "big")
        self.location = _label("", "huge", wrap=False)
        self.product = ProductName(lines=3)
        self.codes = _label("", "hint")
        self.qty = _label("", "big")
        self.tote = _label("", "big")
        # At the bin the product's name is the largest text, in up to three lines: above the size of
        # "big" labels (Layout.style_sheet), and below the bin label's "huge" on the walk to it.
        self._aside = layout.px(24 if layout.handheld else 32)
        self._product = layout.px(32 if layout.handheld else 52)
        self.order = _label("", "hint")
        self.progress = QProgressBar(objectName="lines", textVisible=True)
        self.buttons = {name: _button(text, name) for name, text in
                        (("count", "Count  F5"), ("short", "Short  F6"), ("skip", "Skip  F7"), ("undo", "Undo  F8"))}
        for name, button in self.buttons.items():
            button.clicked.connect(lambda _=False, n=name: self.action.emit(n))

        self.handheld = layout.handheld
        where = QVBoxLayout()
        for w in (self.step, self.location, self.product, self.codes):
            where.addWidget(w)
        if layout.handheld:
            # One column: how many and which tote go under the bin, the order goes into the
            # codes line; a 480 x 800 screen has no room for more rows.
            self.order.hide()
            how = QVBoxLayout()
            how.addWidget(self.qty)
            how.addWidget(self.tote)
            columns = QVBoxLayout()
        else:
            how = QVBoxLayout()
            for w in (self.qty, self.tote, self.order):
                how.addWidget(w)
            how.addStretch(1)
            where.addStretch(1)
            columns = QHBoxLayout()
        columns.addLayout(where, 3)
        columns.addLayout(how, 2)
        grid = QGridLayout()
        for i, button in enumerate(self.buttons.values()):
            if layout.handheld:
                grid.addWidget(button, i // 2, i % 2)
            else:
                grid.addWidget(button, 0, i)
        outer = QVBoxLayout(self)
        outer.addLayout(columns, 1)
        outer.addWidget(self.progress)
        outer.addLayout(grid)

    def show_card(self, card: TaskCard, location_required: bool) -> None:
        at_bin = card.location_confirmed or not location_required
        self.step.setText("SCAN THE PRODUCT" if at_bin else "GO TO AND SCAN THE LOCATION")
        _restyle(self.step, f"color: {'#1b5e20' if at_bin else '#1f4e79'};")
        # At the bin its label is only a reminder; a handheld gives its row to the product's name.
        _restyle(self.location, f"font-size: {self._aside}px; font-weight: 700;" if at_bin else "")
        self.location.setVisible(not (at_bin and self.handheld))
        self.location.setText(card.location_label)
        if at_bin:
            self.product.show_name(card.product_name, self._product, self._aside + 4, 800)
        else:
            self.product.show_name(card.product_name, self._aside, self._aside, 700)
        where = f"{card.location_label} · " if at_bin and self.handheld else ""
        order = f"Order {card.order_number} · " if self.handheld else ""
        self.codes.setText(f"{where}{order}GTIN {card.gtin} · SKU {card.sku}")
        self.qty.setText(f"{card.remaining} of {card.qty} still to pick")
        self.tote.setText(f"into {card.tote}" if card.tote else "no tote")
        self.order.setText(f"Order {card.order_number}")
        self.progress.setRange(0, max(card.lines_total, 1))
        self.progress.setValue(card.lines_done)
        self.progress.setFormat(f"{card.lines_done} / {card.lines_total} lines")
        self.buttons["count"].setEnabled(card.picked_qty > 0 or at_bin)


class CountPage(QWidget):
    """Counting the rest by hand after one item was scanned."""

    counted = Signal(int, int)  # quantity, task id
    back = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task_id = 0
        self.question = _label("", "big")
        self.entry = QLineEdit(objectName="count", placeholderText="How many more?")
        self.entry.setValidator(QIntValidator(1, 9999, self))
        self.entry.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        ok, back = _button("Confirm  ⏎", "confirm", primary=True), _button("Back  Esc", "back")
        ok.clicked.connect(self._confirm)
        back.clicked.connect(self.back.emit)
        self.entry.returnPressed.connect(self._confirm)
        row = QHBoxLayout()
        row.addWidget(back)
        row.addWidget(ok, 1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.question)
        layout.addWidget(self.entry)
        layout.addLayout(row)
        layout.addStretch(2)

    def ask(self, card: TaskCard) -> None:
        self.task_id = card.task_id
        self.question.setText(f"{card.product_name}: how many more did you take? ({card.remaining} still needed)")
        self.entry.clear()
        self.entry.setFocus()

    def _confirm(self) -> None:
        if self.entry.hasAcceptableInput():
            self.counted.emit(int(self.entry.text()), self.task_id)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        # QLineEdit passes Enter on to its parents after returnPressed; here it must stop, or
        # the same Enter would also start the next batch on the summary page shown by now.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            return
        super().keyPressEvent(event)


class ShortPage(QWidget):
    """Why the rest of a task is not there; one key or tap per reason."""

    reason = Signal(str)
    back = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.question = _label("", "big")
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        for i, code in enumerate(SHORT_REASONS, start=1):
            button = _button(f"{i}  {SHORT_WORDS[code]}", f"reason:{code}")
            button.clicked.connect(lambda _=False, c=code: self.reason.emit(c))
            layout.addWidget(button)
        back = _button("Back  Esc", "back")
        back.clicked.connect(self.back.emit)
        layout.addWidget(back)
        layout.addStretch(1)

    def ask(self, card: TaskCard) -> None:
        self.question.setText(f"Short at {card.location_label}: {card.remaining} of {card.qty} {card.product_name} "
                              "missing. Why?")


class SummaryPage(QWidget):
    """The end of a batch: how it went, and the next batch one key away."""

    next_batch = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = _label("", "title", center=True)
        self.totals = _label("", "big", center=True)
        self.queue = _label("", "hint", center=True)
        self.button = _button("Next batch  ⏎", "next", primary=True)
        self.button.clicked.connect(self.next_batch.emit)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (self.title, self.totals, self.queue, self.button):
            layout.addWidget(w)
        layout.addStretch(2)

    def show_summary(self, summary: BatchSummary) -> None:
        self.title.setText(f"Batch {summary.code} done")
        self.totals.setText(f"{summary.lines_picked} of {summary.lines_total} lines picked, "
                            f"{summary.lines_short} short · {summary.qty_picked} items")
        self.queue.setText("All work sent." if summary.queued_actions == 0 else
                           f"{summary.queued_actions} actions are saved here and sent when the server answers.")
