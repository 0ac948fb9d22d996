"""Labels and buttons whose type is set smaller where a text does not fit, and the one rule that sizes it.

Texts are translated, and a translation runs up to 40% longer than English, with longer
words; product names run from "Rain Jacket, L" to sixty characters. At one fixed size such a
text would widen the window past a handheld's 480 px, or be cut off. These widgets keep the
size the window's style sheet gives them (Layout.style_sheet) while the text fits, and go down
to SMALLEST_PX when it does not; their minimum width is the text's at that size, so a layout
never needs more room than the smallest type takes.
"""

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontInfo, QFontMetrics, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QStyle, QStyleOptionButton, QVBoxLayout, QWidget

# Smaller is hard to read at arm's length; a widget's minimum width is its text's at this size, so it never clips.
SMALLEST_PX = 14
_STEP_PX = 2


# The size a label's text was fitted in, by text, room and type: a screen redrawn on every scan
# shows the same texts again and again.
_FITTED: dict[tuple, int] = {}
_FITTED_KEPT = 4_000


def _first_true(sizes: list[int], fits) -> int:
    """The index of the largest of these sizes (largest first) that fits, else of the smallest; a text that fits
    in a size fits in every smaller one, so a few layouts find it (a binary search), not one per size."""
    lo, hi = 0, len(sizes) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(sizes[mid]):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _sized(font: QFont, size: int, weight: int | None = None) -> QFontMetrics:
    font = QFont(font)
    font.setPixelSize(size)
    if weight is not None:
        font.setWeight(QFont.Weight(weight))
    return QFontMetrics(font)


def fit_one_line(font: QFont, text: str, room: int, largest: int, smallest: int) -> tuple[int, str]:
    """The largest pixel size from `largest` down to `smallest` in which one line of text fits `room`,
    and the text as it shows in it: cut with "…" only when even `smallest` is too wide."""
    size = largest
    while size > smallest and _sized(font, size).horizontalAdvance(text) > room:
        size -= 1
    return size, _sized(font, size).elidedText(text, Qt.TextElideMode.ElideRight, max(room, 1))


def restyle(widget: QWidget, style: str) -> None:
    if widget.styleSheet() != style:  # a new style sheet re-polishes the widget: only when it changes
        widget.setStyleSheet(style)


class _Refits:
    """Mixed into a widget with a _fit(): fitted again whenever it is shown or resized."""

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()


class FittedLabel(_Refits, QLabel):
    """A word-wrapped label in the largest type in which the text takes at most `lines` lines, down to
    `smallest` px (below, it wraps onto more lines), and in which every word fits its width, down to SMALLEST_PX."""

    def __init__(self, text: str = "", name: str = "", *, center: bool = False, lines: int | None = None,
                 smallest: int = SMALLEST_PX, parent: QWidget | None = None) -> None:
        super().__init__(text, parent, objectName=name, wordWrap=True)
        if center:
            self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self._lines = lines
        self._smallest = smallest
        self._largest: int | None = None  # None: the window style sheet's size, read once the label is shown
        self._own_largest = False  # set by set_look: the size is the page's, not the window style sheet's
        self._colour = ""
        self._weight: int | None = None  # None: the window style sheet's

    def set_look(self, colour: str = "", weight: int | None = None, largest: int | None = None,
                 smallest: int | None = None, text: str | None = None) -> None:
        """The label's own colour and weight, and its sizes when the page rather than the window decides them;
        with `text`, the new text too, fitted once for both."""
        self._colour, self._weight = colour, weight
        if largest is not None:
            self._largest, self._own_largest = largest, True
        if smallest is not None:
            self._smallest = smallest
        if text is not None:
            super().setText(text)
        self._fit()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        super().setText(text)
        self._fit()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = super().minimumSizeHint()  # as wide as the widest word in the current type
        words = self.text().split()
        if not words:
            return hint
        now, small = QFontMetrics(self.font()), _sized(self.font(), SMALLEST_PX, self._weight)
        widest_now = max(now.horizontalAdvance(w) for w in words)
        widest_small = max(small.horizontalAdvance(w) for w in words)
        return QSize(max(hint.width() - widest_now + widest_small, 0), hint.height())

    def _fits(self, size: int, lines: int | None) -> bool:
        room = max(self.contentsRect().width(), 1)
        metrics = _sized(self.font(), size, self._weight)
        needed = metrics.boundingRect(QRect(0, 0, room, 100_000), Qt.TextFlag.TextWordWrap, self.text())
        # Half a line of slack: the rectangle of n lines can be a pixel or two taller than n line spacings.
        return needed.width() <= room and (lines is None or needed.height() < metrics.lineSpacing() * (lines + 0.5))

    def _fit(self) -> None:
        if not self.isVisible():
            return  # fitted when shown: only then does the window's style sheet apply to it
        if self._largest is None:
            self._largest = self.font().pixelSize()  # no size of its own yet: the window's for this kind of label
        font = self.font()
        key = (self.text(), max(self.contentsRect().width(), 1), self._largest, self._smallest, self._lines,
               self._weight, font.family(), font.italic())
        size = _FITTED.get(key)
        if size is None:  # laying a text out at a size costs a millisecond or more: once per text and width
            sizes = list(range(self._largest, self._smallest - 1, -_STEP_PX))
            size = sizes[_first_true(sizes, lambda px: self._fits(px, self._lines))] if sizes else self._largest
            if size - _STEP_PX >= SMALLEST_PX and not self._fits(size, None):  # a word wider than the label
                smaller = list(range(size - _STEP_PX, SMALLEST_PX - 1, -_STEP_PX)) or [size]
                size = smaller[_first_true(smaller, lambda px: self._fits(px, None))]
            if len(_FITTED) >= _FITTED_KEPT:
                _FITTED.clear()
            _FITTED[key] = size
        # In the label's own style sheet: the window's would override setFont().
        style = [f"font-size: {size}px;"] if self._own_largest or size != self._largest else []
        style += [f"font-weight: {self._weight};"] if self._weight is not None else []
        style += [f"color: {self._colour};"] if self._colour else []
        restyle(self, " ".join(style))


class FittedButton(_Refits, QPushButton):
    """A one-line button whose text is set in the largest type, down to `smallest` px, that fits its width.

    The size goes into the button's own style sheet (a window's style sheet would override
    setFont()). `title` is the whole text; setText() changes it.
    even: the button shares a row with others in equal parts (the layout's stretch decides, not
    its text), so that a row of buttons does not hand room back and forth as their type shrinks.
    elide: its minimum width is a few characters, and below `smallest` the text is cut with "…"
    (the whole of it in the tooltip); without, its minimum width is the whole text at `smallest`.
    """

    def __init__(self, text: str, name: str = "", *, even: bool = False, elide: bool = False,
                 smallest: int = SMALLEST_PX, parent: QWidget | None = None) -> None:
        super().__init__(text, parent, objectName=name)
        self.title = text
        # A push button's own policy (Minimum) never lets a layout make it narrower than its size hint.
        policy = QSizePolicy.Policy.Ignored if even else QSizePolicy.Policy.Preferred
        self.setSizePolicy(policy, self.sizePolicy().verticalPolicy())
        self._even, self._elide, self._smallest = even, elide, smallest
        self._largest: int | None = None  # the type size the window's style sheet gives it, read while unshrunk
        self._fitting = False

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        self.title = text
        self._fit()

    def natural_width(self) -> int:
        """The width the whole title needs in the full type size."""
        return self._frame() + _sized(self.font(), self._full_size()).horizontalAdvance(self.title)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        least = _sized(self.font(), self._smallest).horizontalAdvance("MM…" if self._elide else self.title)
        return QSize(self._frame() + least, super().minimumSizeHint().height())

    def _full_size(self) -> int:
        if self._largest is None or not self.styleSheet():
            return QFontInfo(self.font()).pixelSize()
        return self._largest

    def _frame(self) -> int:
        """Padding and border around the text, as the style draws them."""
        option = QStyleOptionButton()
        self.initStyleOption(option)
        return self.style().sizeFromContents(QStyle.ContentsType.CT_PushButton, option, QSize(0, 0), self).width()

    def _fit(self) -> None:
        if self._fitting:
            return
        self._fitting = True
        try:
            if not self.isVisible():  # fitted when shown: only then does the window's style sheet apply to it
                if self.text() != self.title:
                    super().setText(self.title)
                return
            self._largest = self._full_size()
            if self._even and self.minimumWidth() != self.minimumSizeHint().width():
                self.setMinimumWidth(self.minimumSizeHint().width())  # a layout gives an Ignored widget its minimum
            size, shown = fit_one_line(self.font(), self.title, self.width() - self._frame(), self._largest,
                                       self._smallest)
            restyle(self, f"font-size: {size}px;" if size != self._largest else "")
            shown = shown if self._elide else self.title
            if shown != self.text():
                super().setText(shown)
            self.setToolTip(self.title if shown != self.title else "")
            self.setAccessibleName(self.title)
        finally:
            self._fitting = False


class WrappedColumn(QWidget):
    """Rows inside a scroll area, as tall as their wrapped words need at the width they get.

    A scroll area sizes its content by the minimum size, which knows nothing of wrapped text
    (Qt's height-for-width): without this, rows of several lines would be squeezed. Rows go
    into `column`, before its closing stretch.
    """

    def __init__(self) -> None:
        super().__init__()
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(0, 0, 0, 0)
        self.column.addStretch(1)

    def fit_height(self) -> None:
        need = self.column.heightForWidth(self.width()) if self.column.hasHeightForWidth() else -1
        need = max(need, self.column.minimumSize().height())
        if need != self.minimumHeight():
            self.setMinimumHeight(need)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fit_height()
