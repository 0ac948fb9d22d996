"""Labels and buttons of the picking screen whose type is set smaller where a text does not fit.

Texts are translated, and a translation runs up to 40% longer than English, with longer
words; product names run from "Rain Jacket, L" to sixty characters. At one fixed size such a
text would widen the window past a handheld's 480 px, or be cut off. These widgets keep the
size the window's style sheet gives them (Layout.style_sheet) while the text fits, and go down
to SMALLEST_PX when it does not; their minimum width is the text's at that size, so a layout
never needs more room than the smallest type takes.
"""

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QStyle, QStyleOptionButton, QWidget

# Smaller is hard to read at arm's length; a widget's minimum width is its text's at this size, so it never clips.
SMALLEST_PX = 14
_STEP_PX = 2


def _sized(font: QFont, size: int, weight: int | None = None) -> QFontMetrics:
    font = QFont(font)
    font.setPixelSize(size)
    if weight is not None:
        font.setWeight(QFont.Weight(weight))
    return QFontMetrics(font)


def _restyle(widget: QWidget, style: str) -> None:
    if widget.styleSheet() != style:  # a new style sheet re-polishes the widget: only when it changes
        widget.setStyleSheet(style)


class FittedLabel(QLabel):
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
                 smallest: int | None = None) -> None:
        """The label's own colour and weight, and its sizes when the page rather than the window decides them."""
        self._colour, self._weight = colour, weight
        if largest is not None:
            self._largest, self._own_largest = largest, True
        if smallest is not None:
            self._smallest = smallest
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

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

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
        size = self._largest
        while size - _STEP_PX >= self._smallest and not self._fits(size, self._lines):
            size -= _STEP_PX
        while size - _STEP_PX >= SMALLEST_PX and not self._fits(size, None):  # a word wider than the label
            size -= _STEP_PX
        # In the label's own style sheet: the window's would override setFont().
        style = [f"font-size: {size}px;"] if self._own_largest or size != self._largest else []
        style += [f"font-weight: {self._weight};"] if self._weight is not None else []
        style += [f"color: {self._colour};"] if self._colour else []
        _restyle(self, " ".join(style))


class FittedButton(QPushButton):
    """A one-line button whose text is set smaller, down to SMALLEST_PX, where it is too wide for the button.

    even: the button shares a row with others in equal parts (the layout's stretch decides, not
    its text), so that a row of buttons does not hand room back and forth as their type shrinks.
    """

    def __init__(self, text: str, name: str, *, even: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(text, parent, objectName=name)
        # A push button's own policy (Minimum) never lets a layout make it narrower than its size hint.
        policy = QSizePolicy.Policy.Ignored if even else QSizePolicy.Policy.Preferred
        self.setSizePolicy(policy, self.sizePolicy().verticalPolicy())
        self._even = even
        self._largest: int | None = None  # the window style sheet's size, read once the button is shown

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        super().setText(text)
        self._fit()

    def _at(self, hint: QSize, size: int) -> QSize:
        """A size hint of the current type recomputed for the text at `size` px."""
        now = QFontMetrics(self.font()).horizontalAdvance(self.text())
        return QSize(hint.width() - now + _sized(self.font(), size).horizontalAdvance(self.text()), hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self._at(super().sizeHint(), SMALLEST_PX)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

    def _room(self) -> int:
        option = QStyleOptionButton()
        self.initStyleOption(option)
        # The contents rectangle inside the style sheet's border and padding.
        return self.style().subElementRect(QStyle.SubElement.SE_PushButtonContents, option, self).width()

    def _fit(self) -> None:
        if not self.isVisible():
            return  # fitted when shown: only then does the window's style sheet apply to it
        if self._largest is None:
            self._largest = self.font().pixelSize()
        narrowest = self.minimumSizeHint().width()
        if self._even and self.minimumWidth() != narrowest:  # a layout gives an Ignored widget its minimum size
            self.setMinimumWidth(narrowest)
        room = self._room()
        size = self._largest
        while size - _STEP_PX >= SMALLEST_PX and _sized(self.font(), size).horizontalAdvance(self.text()) > room:
            size -= _STEP_PX
        _restyle(self, f"font-size: {size}px;" if size != self._largest else "")
