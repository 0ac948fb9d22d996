"""A supervisor's list screen: a title with a Refresh button over cards that scroll up and down, never sideways."""

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from desktop_app.views.fitted import FittedButton

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


# Card and navigation buttons may be cut with "…" below this size (the whole title in the tooltip).
SMALLEST_BUTTON_PX = 12


def card_button(text: str, name: str) -> QPushButton:
    """A button on a card or over the list: big enough for a gloved finger, never taking the focus."""
    button = FittedButton(text, name, elide=True, smallest=SMALLEST_BUTTON_PX)
    button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
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
