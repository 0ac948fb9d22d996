"""The supervisor's screen of the device fleet: one card per workstation or handheld, with what can be done to it.

It only displays and asks; the shell runs the device workflow (desktop_app/workflows/devices.py)
on a worker and hands the results back. Taking a device out of service is done with two
taps on the same button (the second within a few seconds) instead of a dialog: a dialog
would steal the keyboard focus from the scanner flow.
"""

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QFrame, QHBoxLayout, QVBoxLayout, QWidget

from desktop_app.i18n import translate
from desktop_app.views.card_list import CardList, card_button, card_label, large
from desktop_app.workflows.devices import DeviceRow, RecoveryCode
from sync.catalogue.entry import QT_TRANSLATE_NOOP

CONFIRM_MS = 4000
RECOVER_COMMAND = "floorhand device recover --code …"  # typed by IT as it stands: not translated

# What people read; kept together so that translation finds them in one place (context "Devices").
TAKE_OUT = QT_TRANSLATE_NOOP("Devices", "Take out of service")
_CARD_STYLE = """
QFrame#device-card { border: 2px solid #c5cbcf; border-radius: 8px; background: #f6f9fb; }
QFrame#device-card[out="true"] { background: #fbeaea; border-color: #b71c1c; }
QFrame#device-card QLabel { border: none; background: transparent; }
QLabel#code { font-family: monospace; letter-spacing: 2px; }
"""


class DeviceCard(QFrame):
    """One device: name, when it last called, who used it, its state; take out of service and recovery code."""

    revoke_requested = Signal(str)
    code_requested = Signal(str)

    def __init__(self, row: DeviceRow, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="device-card")
        self.row = row
        self.setProperty("out", not row.in_service)
        title = translate("Devices", "{device} (this device)") if row.this_device else "{device}"
        self.title = large(card_label(title.format(device=row.name), "big"), 1.3)
        used = (translate("Devices", "Last used by {person}").format(person=row.last_user) if row.last_user
                else translate("Devices", "Not used yet"))
        version = translate("Devices", "App {version}").format(version=row.app_version)
        self.details = card_label(" · ".join((row.last_seen, used, version)), "hint")
        self.state = card_label(row.state, "error" if not row.in_service else "hint")
        self.code = card_label("", "code")
        self.code.hide()
        self.revoke = card_button(translate("Devices", TAKE_OUT), f"revoke:{row.device_id}")
        self.recover = card_button(translate("Devices", "Recovery code"), f"recovery:{row.device_id}")
        self.revoke.setVisible(row.in_service and not row.this_device)
        self.revoke.clicked.connect(self._revoke_clicked)
        self.recover.clicked.connect(lambda: self.code_requested.emit(self.row.device_id))
        self._armed = QTimer(self, singleShot=True, interval=CONFIRM_MS)
        self._armed.timeout.connect(self._disarm)
        self.buttons = QHBoxLayout()
        self.buttons.addWidget(self.revoke)
        self.buttons.addWidget(self.recover)
        self.buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(6)
        for w in (self.title, self.details, self.state, self.code):
            layout.addWidget(w)
        layout.addLayout(self.buttons)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        # Side by side while both fit with their whole text, else one under the other, each the card's width.
        super().resizeEvent(event)
        shown = [b for b in (self.revoke, self.recover) if b.isVisibleTo(self)]
        needed = sum(b.natural_width() for b in shown) + self.buttons.spacing() * (len(shown) - 1)
        room = self.contentsRect().width() - 28  # the layout's margins
        direction = QBoxLayout.Direction.LeftToRight if needed <= room else QBoxLayout.Direction.TopToBottom
        if self.buttons.direction() != direction:
            self.buttons.setDirection(direction)

    def show_code(self, code: RecoveryCode) -> None:
        self.code.setText(translate("Devices", "Recovery code {code} — valid %n min, once. IT enters it on the "
                                               "device with: {command}", None, code.valid_minutes)
                          .format(code=code.code, command=RECOVER_COMMAND))
        self.code.show()

    def _revoke_clicked(self) -> None:
        if self._armed.isActive():
            self._armed.stop()
            self.revoke.setEnabled(False)
            self.revoke.setText(translate("Devices", "Taking out of service…"))
            self.revoke_requested.emit(self.row.device_id)
            return
        self.revoke.setText(translate("Devices", "Tap again to confirm"))
        self._armed.start()

    def _disarm(self) -> None:
        self.revoke.setText(translate("Devices", TAKE_OUT))


class DevicesView(CardList):
    """Lists the devices for a supervisor; refresh_requested is emitted each time the view is shown."""

    revoke_requested = Signal(str)  # device id
    code_requested = Signal(str)  # device id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(large(card_label(translate("Devices", "Devices"), "title"), 1.6),
                         card_button(translate("Devices", "Refresh"), "refresh-devices"), "device-list", parent)
        self.setStyleSheet(_CARD_STYLE)
        self.message = card_label("", "hint")
        self.message.hide()
        self.notes.addWidget(self.message)

    def show_devices(self, rows: list[DeviceRow]) -> None:
        """Replace the list with these devices."""
        cards = [DeviceCard(row, self.parent_of_cards) for row in rows]
        for card in cards:
            card.revoke_requested.connect(self.revoke_requested.emit)
            card.code_requested.connect(self.code_requested.emit)
        self.set_cards(cards)
        out = sum(1 for r in rows if not r.in_service)
        header = (translate("Devices", "Devices — {count}, %n out of service", None, out) if out
                  else translate("Devices", "Devices — {count}"))
        self.header.setText(header.format(count=len(rows)))

    def show_code(self, code: RecoveryCode) -> None:
        for card in self.cards:
            if card.row.device_id == code.device_id:
                card.show_code(code)

    def say(self, message: str) -> None:
        """A line above the list: what the last action did, or why it did not."""
        self.message.setText(message)
        self.message.setVisible(bool(message))
