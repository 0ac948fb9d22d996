"""The pages of the picking screen; each only shows what the picking session says, in large type."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIntValidator, QKeyEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QVBoxLayout, QWidget

from desktop_app.i18n import translate
from desktop_app.views.fitted import FittedButton, FittedLabel, restyle
from desktop_app.views.shell.style import Layout
from desktop_app.workflows.picking import SHORT_REASONS, BatchSummary, TaskCard, ToteCard
from sync.catalogue.entry import QT_TRANSLATE_NOOP

QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum" for a widget's size

SHORT_WORDS = {"not_found": QT_TRANSLATE_NOOP("PickingScreen", "Not found"),
               "damaged": QT_TRANSLATE_NOOP("PickingScreen", "Damaged"),
               "qty_wrong": QT_TRANSLATE_NOOP("PickingScreen", "Quantity wrong")}


def _label(text: str = "", name: str = "", center: bool = False) -> FittedLabel:
    """A text of the page: it wraps, and where a word is still too wide its type is set smaller."""
    return FittedLabel(text, name, center=center)


def _button(text: str, name: str, primary: bool = False, even: bool = False) -> FittedButton:
    button = FittedButton(text, "primary" if primary else name, even=even)
    button.setProperty("action", name)
    # Buttons are tapped; the keyboard focus stays on the picking screen so the scanner and
    # the function keys keep working.
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return button


class StartPage(QWidget):
    """Before a batch: one big button to claim the next one."""

    start = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = _label(translate("PickingScreen", "Picking"), "title", center=True)
        self.message = _label(translate("PickingScreen", "Press Enter or tap Start to get the next batch."), "big",
                              center=True)
        self.button = _button(translate("PickingScreen", "Start picking  ⏎"), "start", primary=True)
        self.button.clicked.connect(self.start.emit)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (self.title, self.message, self.button):
            layout.addWidget(w)
        layout.addStretch(2)

    def set_busy(self, busy: bool, message: str | None = None) -> None:
        self.button.setEnabled(not busy)
        self.button.setText(translate("PickingScreen", "Getting a batch…") if busy else
                            translate("PickingScreen", "Start picking  ⏎"))
        if message is not None:
            self.message.setText(message)


class TotePage(QWidget):
    """Batch start: one tote per order, assigned by scanning it. The tote is what is asked for, so it is the
    largest text; the order it is for comes second."""

    back = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step = _label(translate("PickingScreen", "Scan an empty tote"), "huge", center=True)
        self.order = _label("", "big", center=True)
        self.progress = _label("", "hint", center=True)
        back = _button(translate("PickingScreen", "Back  Esc"), "back")
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
        self.order.setText(translate("PickingScreen", "for order {order}").format(order=card.order_number))
        self.progress.setText(translate("PickingScreen", "{ready} of {total} orders have a tote").format(
            ready=card.orders_ready, total=card.orders_total))


class TaskPage(QWidget):
    """One task: where to go, what to take, how many, into which tote.

    The thing to scan next is the largest text: the bin while walking to it, the product once there.
    """

    action = Signal(str)  # "count" | "short" | "skip" | "undo"

    def __init__(self, layout: Layout, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # A handheld keeps the step, the count and the tote on one line each where a smaller type
        # allows it: a longer language would otherwise push the buttons off its screen.
        one_line = {"lines": 1, "smallest": layout.px(16)} if layout.handheld else {}
        self.step = FittedLabel(name="big", **one_line)
        self.location = QLabel(objectName="huge")  # a bin label: short, and never broken over two lines
        self.location.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        # Names run from "Rain Jacket, L" to sixty characters: the largest type in which they take
        # at most three lines, so that the rest of the task stays on a handheld's screen.
        self.product = FittedLabel(lines=3)
        self.codes = _label("", "hint")
        self.qty = FittedLabel(name="big", **one_line)
        self.tote = FittedLabel(name="big", **one_line)
        # At the bin the product's name is the largest text, in up to three lines: above the size of
        # "big" labels (Layout.style_sheet), and below the bin label's "huge" on the walk to it.
        self._aside = layout.px(24 if layout.handheld else 32)
        self._product = layout.px(32 if layout.handheld else 52)
        self.order = _label("", "hint")
        self.progress = QProgressBar(objectName="lines", textVisible=True)
        self.buttons = {name: _button(text, name, even=True) for name, text in
                        (("count", translate("PickingScreen", "Count  F5")),
                         ("short", translate("PickingScreen", "Short  F6")),
                         ("skip", translate("PickingScreen", "Skip  F7")),
                         ("undo", translate("PickingScreen", "Undo  F8")))}
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
        self.step.set_look(colour="#1b5e20" if at_bin else "#1f4e79",
                           text=translate("PickingScreen", "SCAN THE PRODUCT") if at_bin else
                           translate("PickingScreen", "GO TO AND SCAN THE LOCATION"))
        # At the bin its label is only a reminder; a handheld gives its row to the product's name. Folded
        # to no height rather than hidden: showing a widget again lays the whole window out at once, in
        # the scan's verdict (a few ms a task); a new size is laid out with the next paint.
        folded = at_bin and self.handheld
        if not folded:
            restyle(self.location, f"font-size: {self._aside}px; font-weight: 700;" if at_bin else "")
        self.location.setMaximumHeight(0 if folded else QWIDGETSIZE_MAX)
        self.location.setText("" if folded else card.location_label)
        if at_bin:
            self.product.set_look(weight=800, largest=self._product, smallest=self._aside + 4, text=card.product_name)
        else:
            self.product.set_look(weight=700, largest=self._aside, smallest=self._aside, text=card.product_name)
        if not self.handheld:
            codes = translate("PickingScreen", "GTIN {gtin} · SKU {sku}")
        elif at_bin:  # the bin's label is hidden: it goes into this line
            codes = translate("PickingScreen", "{location} · Order {order} · GTIN {gtin} · SKU {sku}")
        else:
            codes = translate("PickingScreen", "Order {order} · GTIN {gtin} · SKU {sku}")
        self.codes.setText(codes.format(location=card.location_label, order=card.order_number, gtin=card.gtin,
                                        sku=card.sku))
        self.qty.setText(translate("PickingScreen", "{remaining} of {qty} still to pick").format(
            remaining=card.remaining, qty=card.qty))
        self.tote.setText(translate("PickingScreen", "into {tote}").format(tote=card.tote) if card.tote else
                          translate("PickingScreen", "no tote"))
        self.order.setText(translate("PickingScreen", "Order {order}").format(order=card.order_number))
        # QProgressBar.setValue repaints at once when the value moves; drawn with the rest of the page instead.
        self.progress.setUpdatesEnabled(False)
        self.progress.setRange(0, max(card.lines_total, 1))
        self.progress.setValue(card.lines_done)
        self.progress.setUpdatesEnabled(True)
        self.progress.setFormat(translate("PickingScreen", "{done} / %n line(s)", None, card.lines_total)
                                .format(done=card.lines_done))
        self.buttons["count"].setEnabled(card.picked_qty > 0 or at_bin)


class CountPage(QWidget):
    """Counting the rest by hand after one item was scanned."""

    counted = Signal(int, int)  # quantity, task id
    back = Signal()

    def __init__(self, layout: Layout, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task_id = 0
        self.question = _label("", "big")
        self.entry = QLineEdit(objectName="count", placeholderText=translate("PickingScreen", "How many more?"))
        self.entry.setValidator(QIntValidator(1, 9999, self))
        self.entry.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        # On a handheld the two share the row evenly; on a desktop Back keeps to its text and Confirm takes the rest.
        even = layout.handheld
        ok = _button(translate("PickingScreen", "Confirm  ⏎"), "confirm", primary=True, even=even)
        back = _button(translate("PickingScreen", "Back  Esc"), "back", even=even)
        ok.clicked.connect(self._confirm)
        back.clicked.connect(self.back.emit)
        self.entry.returnPressed.connect(self._confirm)
        row = QHBoxLayout()
        row.addWidget(back, 1 if even else 0)
        row.addWidget(ok, 1)
        column = QVBoxLayout(self)
        column.addStretch(1)
        column.addWidget(self.question)
        column.addWidget(self.entry)
        column.addLayout(row)
        column.addStretch(2)

    def ask(self, card: TaskCard) -> None:
        self.task_id = card.task_id
        self.question.setText(translate("PickingScreen", "{product}: how many more did you take? "
                                                         "({remaining} still needed)").format(
            product=card.product_name, remaining=card.remaining))
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
            words = translate("PickingScreen", SHORT_WORDS[code])
            button = _button(f"{i}  {words}", f"reason:{code}")  # the key to press, then the reason
            button.clicked.connect(lambda _=False, c=code: self.reason.emit(c))
            layout.addWidget(button)
        back = _button(translate("PickingScreen", "Back  Esc"), "back")
        back.clicked.connect(self.back.emit)
        layout.addWidget(back)
        layout.addStretch(1)

    def ask(self, card: TaskCard) -> None:
        self.question.setText(translate("PickingScreen", "Short at {location}: {remaining} of {qty} {product} "
                                                         "missing. Why?").format(
            location=card.location_label, remaining=card.remaining, qty=card.qty, product=card.product_name))


class SummaryPage(QWidget):
    """The end of a batch: how it went, and the next batch one key away."""

    next_batch = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = _label("", "title", center=True)
        self.totals = _label("", "big", center=True)
        self.queue = _label("", "hint", center=True)
        self.button = _button(translate("PickingScreen", "Next batch  ⏎"), "next", primary=True)
        self.button.clicked.connect(self.next_batch.emit)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (self.title, self.totals, self.queue, self.button):
            layout.addWidget(w)
        layout.addStretch(2)

    def show_summary(self, summary: BatchSummary) -> None:
        self.title.setText(translate("PickingScreen", "Batch {batch} done").format(batch=summary.code))
        # One count per text, so that each can take its own plural form.
        lines = translate("PickingScreen", "{picked} of %n line(s) picked, {short} short", None, summary.lines_total)
        items = translate("PickingScreen", "%n item(s)", None, summary.qty_picked)
        self.totals.setText(translate("PickingScreen", "{lines} · {items}").format(
            lines=lines.format(picked=summary.lines_picked, short=summary.lines_short), items=items))
        self.queue.setText(translate("PickingScreen", "All work sent.") if summary.queued_actions == 0 else
                           translate("PickingScreen", "%n action(s) saved here, sent when the server answers.",
                                     None, summary.queued_actions))
