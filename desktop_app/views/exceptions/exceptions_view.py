"""The supervisor's screen of refused actions: one large card per action, with what to do about it."""

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy, QVBoxLayout, QWidget,
)

from desktop_app.workflows.exceptions import ExceptionCard

EMPTY_TEXT = "Nothing needs a supervisor. Refused actions appear here with the reason and what to do."
NOT_ALLOWED_TEXT = "A supervisor marks these as dealt with."
RESOLVE_TEXT = "Mark dealt with"
RESOLVE_MIN_HEIGHT = 48  # a fingertip in a glove; the shell's style sheet may raise it

# Sizes come from the shell's style sheet through the shared object names (title, big,
# hint, error); only what is particular to a card is styled here.
_CARD_STYLE = """
QFrame#exception-card { border: 2px solid #c5cbcf; border-radius: 8px; background: #fffaf3; }
QFrame#exception-card QLabel { border: none; background: transparent; }
QLabel#reason { color: #b71c1c; font-weight: 700; }
QLabel#next-step { font-weight: 600; }
"""


def breakable(text: str, every: int = 12) -> str:
    """Text with zero-width spaces inside long runs (barcodes, location paths), so they wrap too."""
    return re.sub(rf"\S{{{2 * every},}}",
                  lambda m: "\u200b".join(m[0][i:i + every] for i in range(0, len(m[0]), every)), text)


def _label(text: str, name: str) -> QLabel:
    label = QLabel(breakable(text), objectName=name, wordWrap=True)
    # Ignored width: whatever is left unbreakable must not widen the card past a handheld screen.
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return label


def _large(label: QLabel, scale: float) -> QLabel:
    """Large bold type even without the shell's style sheet (which, when present, sets the size)."""
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    label.setFont(font)
    return label


def _button(text: str, name: str) -> QPushButton:
    button = QPushButton(text, objectName=name)
    # Tapped or clicked only: keyboard focus stays with the scanner flow.
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setMinimumHeight(RESOLVE_MIN_HEIGHT)
    return button


class ExceptionCardFrame(QFrame):
    """One refused action: what, who and when, the server's reason, the next step, and the resolve button."""

    resolve_requested = Signal(str)

    def __init__(self, card: ExceptionCard, can_resolve: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="exception-card")
        self.card = card
        title = f"{card.action}: {card.what}" if card.what else card.action
        self.title = _large(_label(title, "big"), 1.4)
        self.who_when = _label(f"{card.who} · {card.when_short}", "hint")
        self.who_when.setToolTip(card.when)
        self.reason = _label(card.reason, "reason")
        self.next_step = _label(f"What to do: {card.next_step}", "next-step")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        for w in (self.title, self.who_when, self.reason, self.next_step):
            layout.addWidget(w)
        self.resolve: QPushButton | None = None
        if can_resolve:
            self.resolve = _button(RESOLVE_TEXT, f"resolve:{card.mutation_id}")
            self.resolve.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            self.resolve.clicked.connect(self._clicked)
            layout.addWidget(self.resolve)

    def _clicked(self) -> None:
        # One request per card: the list is rebuilt from the database once it is done.
        self.resolve.setEnabled(False)
        self.resolve.setText("Marking…")
        self.resolve_requested.emit(self.card.mutation_id)


class ExceptionsView(QWidget):
    """Lists refused actions for a supervisor; it only displays and asks, the app does the work.

    The app calls show_cards with what the exceptions workflow read on a worker, and
    answers resolve_requested / refresh_requested the same way. refresh_requested is
    also emitted each time the view is shown, so the list is current when it is opened.
    """

    resolve_requested = Signal(str)  # mutation id
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(_CARD_STYLE)
        self.cards: list[ExceptionCardFrame] = []
        self.header = _large(_label("", "title"), 1.6)
        self.refresh = _button("Refresh", "refresh")
        self.refresh.clicked.connect(self.refresh_requested.emit)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.refresh, 0, Qt.AlignmentFlag.AlignTop)

        self.note = _label(NOT_ALLOWED_TEXT, "hint")
        self.empty = _large(_label(EMPTY_TEXT, "big"), 1.4)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self._list = QWidget(objectName="exception-list")
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

        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.scroll, 1)
        self.show_cards([], can_resolve=False)

    def show_cards(self, cards: list[ExceptionCard], can_resolve: bool) -> None:
        """Replace the list with these cards; resolve buttons only when the person may resolve."""
        for frame in self.cards:
            self._list_layout.removeWidget(frame)
            frame.setParent(None)
            frame.deleteLater()
        self.cards = []
        for card in cards:
            frame = ExceptionCardFrame(card, can_resolve, self._list)
            frame.resolve_requested.connect(self.resolve_requested.emit)
            self._list_layout.insertWidget(self._list_layout.count() - 1, frame)
            self.cards.append(frame)
        self.header.setText(f"Exceptions — {len(cards)} waiting")
        self.empty.setVisible(not cards)
        self.scroll.setVisible(bool(cards))
        self.note.setVisible(bool(cards) and not can_resolve)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not event.spontaneous():
            self.refresh_requested.emit()
