"""A supervisor's list screen: a title with a Refresh button over cards that scroll up and down, never sideways."""

import re

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontInfo, QFontMetrics, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy, QStyle,
                               QStyleOptionButton, QVBoxLayout, QWidget)

MIN_TOUCH = 48  # a fingertip in a glove; the shell's style sheet may raise it


def breakable(text: str, every: int = 12) -> str:
    """Text with zero-width spaces inside long runs (barcodes, location paths), so they wrap too.

    Braces end a run: a `{field}` of a text still to be filled in is never broken.
    """
    return re.sub(rf"[^\s{{}}]{{{2 * every},}}",
                  lambda m: "\u200b".join(m[0][i:i + every] for i in range(0, len(m[0]), every)), text)


def card_label(text: str, name: str) -> QLabel:
    """Wrapped text of a card, in the style of `name` (title, big, hint, error ...)."""
    label = QLabel(breakable(text), objectName=name, wordWrap=True)
    # Ignored width: whatever is left unbreakable must not widen the card past a handheld screen.
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return label


def large(label: QLabel, scale: float) -> QLabel:
    """Large bold type even without the shell's style sheet (which, when present, sets the size)."""
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    label.setFont(font)
    return label


class FitButton(QPushButton):
    """A button whose text is set in the largest type, down to a floor, that fits the width it is given.

    Its minimum width is a few characters, so a longer language never widens a screen past a
    handheld's 480 px; the type shrinks instead, and below the floor the text is cut with "…" and
    the whole of it is in the tooltip. The size goes into the button's own style sheet (a window's
    style sheet would override setFont()). `title` is the whole text; setText() changes it.
    """

    SMALLEST_PIXEL_SIZE = 12

    def __init__(self, title: str, name: str = "", parent: QWidget | None = None) -> None:
        super().__init__(title, parent, objectName=name)
        self.title = title
        self._base: int | None = None  # the type size the window's style sheet gives it, read while unshrunk
        self._fitting = False
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        self.title = text
        self._fit()

    def natural_width(self) -> int:
        """The width the whole title needs in the full type size."""
        return self._frame() + QFontMetrics(self._font(self._base_size())).horizontalAdvance(self.title)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        small = QFontMetrics(self._font(self.SMALLEST_PIXEL_SIZE)).horizontalAdvance("MM…")
        return QSize(self._frame() + small, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._fit()

    def _base_size(self) -> int:
        if self._base is None or not self.styleSheet():
            return QFontInfo(self.font()).pixelSize()
        return self._base

    def _font(self, size: int) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(size)
        return font

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
            if not self.isVisible():  # not styled yet: the whole title until it is shown in its place
                super().setText(self.title)
                return
            self._base = self._base_size()
            room = max(self.width() - self._frame(), 1)
            size = self._base
            while size > self.SMALLEST_PIXEL_SIZE and \
                    QFontMetrics(self._font(size)).horizontalAdvance(self.title) > room:
                size -= 1
            sheet = f"font-size: {size}px;" if size != self._base else ""
            if sheet != self.styleSheet():
                self.setStyleSheet(sheet)
            shown = QFontMetrics(self._font(size)).elidedText(self.title, Qt.TextElideMode.ElideRight, room)
            if shown != self.text():
                super().setText(shown)
            self.setToolTip(self.title if shown != self.title else "")
            self.setAccessibleName(self.title)
        finally:
            self._fitting = False


def card_button(text: str, name: str) -> QPushButton:
    """A button on a card or over the list: big enough for a gloved finger, never taking the focus."""
    button = FitButton(text, name)
    # Tapped or clicked only: keyboard focus stays with the scanner flow.
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setMinimumHeight(MIN_TOUCH)
    return button


class CardList(QWidget):
    """Holds the title, the Refresh button and the cards; a view puts its own notes between them.

    refresh_requested is also emitted each time the list is shown, so it is current when opened.
    """

    refresh_requested = Signal()

    def __init__(self, header: QLabel, refresh: QPushButton, list_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header, self.refresh = header, refresh
        self.cards: list[QWidget] = []
        refresh.clicked.connect(self.refresh_requested.emit)
        top = QHBoxLayout()
        top.addWidget(header, 1)
        top.addWidget(refresh, 0, Qt.AlignmentFlag.AlignTop)
        self._list = QWidget(objectName=list_name)
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.setSpacing(12)
        self._list_layout.addStretch(1)
        self.scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        # Vertical only: cards wrap to the width, and a sideways scroll would hide half of
        # every sentence on a 480 px handheld.
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.scroll.setWidget(self._list)
        self.column = QVBoxLayout(self)
        self.column.setSpacing(12)
        self.column.addLayout(top)
        self.notes = QVBoxLayout()  # what a view shows between the title and the cards
        self.column.addLayout(self.notes)
        self.column.addWidget(self.scroll, 1)

    @property
    def parent_of_cards(self) -> QWidget:
        return self._list

    def set_cards(self, cards: list[QWidget]) -> None:
        """Replace the cards (made with parent_of_cards as their parent)."""
        for card in self.cards:
            self._list_layout.removeWidget(card)
            card.setParent(None)
            card.deleteLater()
        self.cards = list(cards)
        for card in self.cards:
            self._list_layout.insertWidget(self._list_layout.count() - 1, card)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not event.spontaneous():
            self.refresh_requested.emit()
