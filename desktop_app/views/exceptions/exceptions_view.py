"""The supervisor's screen of refused actions: one large card per action, with what to do about it."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QSizePolicy, QVBoxLayout, QWidget

from desktop_app.i18n import translate
from desktop_app.views.card_list import CardList, card_button, card_label, large
from desktop_app.workflows.exceptions import DamagedImage, ExceptionCard, HeldOrder
from sync.catalogue.entry import QT_TRANSLATE_NOOP

# What people read; kept together so that translation finds them in one place (context "Exceptions").
EMPTY_TEXT = QT_TRANSLATE_NOOP("Exceptions", "Nothing needs a supervisor. Refused actions appear here with the reason "
                                             "and what to do.")
NOT_ALLOWED_TEXT = QT_TRANSLATE_NOOP("Exceptions", "A supervisor marks these as dealt with.")
RESOLVE_TEXT = QT_TRANSLATE_NOOP("Exceptions", "Mark dealt with")

# Sizes come from the shell's style sheet through the shared object names (title, big,
# hint, error); only what is particular to a card is styled here.
_CARD_STYLE = """
QFrame#exception-card { border: 2px solid #c5cbcf; border-radius: 8px; background: #fffaf3; }
QFrame#exception-card QLabel { border: none; background: transparent; }
QLabel#reason { color: #b71c1c; font-weight: 700; }
QLabel#next-step { font-weight: 600; }
"""


class ExceptionCardFrame(QFrame):
    """One refused action: what, who and when, the server's reason, the next step, and the resolve button."""

    resolve_requested = Signal(str)

    def __init__(self, card: ExceptionCard, can_resolve: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="exception-card")
        self.card = card
        # The action, its description, reason and next step come translated from the exceptions workflow.
        title = (translate("Exceptions", "{action}: {what}").format(action=card.action, what=card.what) if card.what
                 else card.action)
        self.title = large(card_label(title, "big"), 1.4)
        self.who_when = card_label(f"{card.who} · {card.when_short}", "hint")
        self.who_when.setToolTip(card.when)
        self.reason = card_label(card.reason, "reason")
        self.next_step = card_label(translate("Exceptions", "What to do: {step}").format(step=card.next_step),
                                    "next-step")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        for w in (self.title, self.who_when, self.reason, self.next_step):
            layout.addWidget(w)
        self.resolve: QPushButton | None = None
        if can_resolve:
            self.resolve = card_button(translate("Exceptions", RESOLVE_TEXT), f"resolve:{card.mutation_id}")
            self.resolve.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            self.resolve.clicked.connect(self._clicked)
            layout.addWidget(self.resolve)

    def _clicked(self) -> None:
        # One request per card: the list is rebuilt from the database once it is done.
        self.resolve.setEnabled(False)
        self.resolve.setText(translate("Exceptions", "Marking…"))
        self.resolve_requested.emit(self.card.mutation_id)


class HeldOrderFrame(QFrame):
    """An order on the hold shelf: its number and tote, why, and (for a supervisor) back to packing."""

    release_requested = Signal(int)

    def __init__(self, held: HeldOrder, can_release: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="exception-card")
        self.held = held
        title = translate("Exceptions", "{order} is on the hold shelf").format(order=held.number)
        self.title = large(card_label(title, "big"), 1.4)
        self.where = card_label(translate("Exceptions", "In tote {tote}").format(tote=held.tote) if held.tote
                                else "", "hint")
        self.reason = card_label(held.reason, "reason")
        self.next_step = card_label(translate("Exceptions", "What to do: put it right (find the item, replace the "
                                                            "damaged one), then send it back to packing."),
                                    "next-step")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        for w in (self.title, self.where, self.reason, self.next_step):
            layout.addWidget(w)
        self.where.setVisible(bool(held.tote))
        self.release: QPushButton | None = None
        if can_release:
            self.release = card_button(translate("Exceptions", "Back to packing"), f"release:{held.order_id}")
            self.release.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            self.release.clicked.connect(self._clicked)
            layout.addWidget(self.release)

    def _clicked(self) -> None:
        self.release.setEnabled(False)
        self.release_requested.emit(self.held.order_id)


class DamagedImageFrame(QFrame):
    """An image the server found damaged in its store: which file, for which product, who uploads it again."""

    def __init__(self, image: DamagedImage, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="exception-card")
        self.image = image
        title = translate("Exceptions", "Photo {file} of {sku} is damaged").format(file=image.filename, sku=image.sku)
        self.title = large(card_label(title, "big"), 1.4)
        self.what = card_label(translate("Exceptions", "{product} · uploaded by {who}").format(
            product=image.product, who=image.uploaded_by) if image.product else
            translate("Exceptions", "Uploaded by {who}").format(who=image.uploaded_by), "hint")
        self.reason = card_label(translate("Exceptions", "The server read it back and it is not the file that was "
                                                         "uploaded."), "reason")
        self.next_step = card_label(translate("Exceptions", "What to do: ask {who} to upload {file} again (run the "
                                                            "same upload for its folder).").format(
            who=image.uploaded_by, file=image.filename), "next-step")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        for w in (self.title, self.what, self.reason, self.next_step):
            layout.addWidget(w)


class ExceptionsView(CardList):
    """Lists refused actions for a supervisor; it only displays and asks, the app does the work.

    The app calls show_cards with what the exceptions workflow read on a worker, and
    answers resolve_requested / refresh_requested the same way. refresh_requested is
    also emitted each time the view is shown, so the list is current when it is opened.
    """

    resolve_requested = Signal(str)  # mutation id
    release_requested = Signal(int)  # order id of a held order

    def __init__(self, parent: QWidget | None = None) -> None:
        refresh = card_button(translate("Exceptions", "Refresh"), "refresh")
        super().__init__(large(card_label("", "title"), 1.6), refresh, "exception-list", parent)
        self.setStyleSheet(_CARD_STYLE)
        self.note = card_label(translate("Exceptions", NOT_ALLOWED_TEXT), "hint")
        self.notes.addWidget(self.note)
        self.empty = large(card_label(translate("Exceptions", EMPTY_TEXT), "big"), 1.4)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.column.insertWidget(self.column.indexOf(self.scroll), self.empty, 1)
        self.show_cards([], can_resolve=False)

    def show_cards(self, cards: list[ExceptionCard], can_resolve: bool, held: list[HeldOrder] = (),
                   damaged: list[DamagedImage] = ()) -> None:
        """Replace the list with the hold shelf's orders, damaged images, then these cards; buttons for a supervisor."""
        shelf: list[QFrame] = [HeldOrderFrame(order, can_resolve, self.parent_of_cards) for order in held]
        for frame in shelf:
            frame.release_requested.connect(self.release_requested.emit)
        shelf += [DamagedImageFrame(image, self.parent_of_cards) for image in damaged]
        frames = [ExceptionCardFrame(card, can_resolve, self.parent_of_cards) for card in cards]
        for frame in frames:
            frame.resolve_requested.connect(self.resolve_requested.emit)
        self.set_cards(shelf + frames)
        waiting = len(cards) + len(shelf)
        self.header.setText(translate("Exceptions", "Exceptions — %n waiting", None, waiting))
        self.empty.setVisible(not waiting)
        self.scroll.setVisible(bool(waiting))
        self.note.setVisible(bool(waiting) and not can_resolve)
