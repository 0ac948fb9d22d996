"""The sign-in screen: a name or a badge scan, then a PIN."""

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget


@dataclass(frozen=True)
class SignInRequest:
    """Who wants to sign in: a username or a badge, and the PIN they typed."""

    username: str | None
    badge: str | None
    pin: str


class SignInView(QWidget):
    """Name or badge plus PIN; also used to switch to the person whose badge was just scanned."""

    submitted = Signal(object)  # SignInRequest
    cancelled = Signal()  # leave a user switch and go back to the person signed in

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._badge: str | None = None
        self.site_hint = ""  # e.g. who to sign in as in the demo warehouse
        self.title = QLabel("Sign in", objectName="title")
        self.hint = QLabel("Scan your badge, or type your name and PIN.", objectName="hint", wordWrap=True)
        self.username = QLineEdit(objectName="username", placeholderText="Name")
        self.pin = QLineEdit(objectName="pin", placeholderText="PIN", echoMode=QLineEdit.EchoMode.Password)
        self.pin.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly | Qt.InputMethodHint.ImhSensitiveData)
        self.error = QLabel("", objectName="error", wordWrap=True)
        # Something about this device people should know once, not at every greeting.
        self.device_note = QLabel("", objectName="hint", wordWrap=True)
        self.device_note.hide()
        self.sign_in = QPushButton("Sign in", objectName="primary")
        self.cancel = QPushButton("Back")
        self.cancel.hide()
        for button in (self.sign_in, self.cancel):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the cursor stays in the PIN field

        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.sign_in, 1)
        form = QVBoxLayout()
        form.setSpacing(14)
        for w in (self.title, self.hint, self.username, self.pin, self.error):
            form.addWidget(w)
        form.addLayout(buttons)
        form.addWidget(self.device_note)
        box = QWidget(objectName="signin-form")
        box.setLayout(form)
        box.setMaximumWidth(560)
        # Stretches rather than an alignment flag: an aligned widget gets its size hint's height,
        # too little once its wrapped hint text needs an extra line.
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box, 100)
        row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

        self.username.returnPressed.connect(self.pin.setFocus)
        self.username.textEdited.connect(self._typed_name)
        self.pin.returnPressed.connect(self._submit)
        self.sign_in.clicked.connect(self._submit)
        self.cancel.clicked.connect(self.cancelled.emit)

    def reset(self, *, switching_from: str | None = None) -> None:
        """Empty the form; with switching_from, offer Back to that person."""
        self._badge = None
        self.username.clear()
        self.username.setReadOnly(False)
        self.pin.clear()
        self.error.clear()
        self.set_busy(False)
        self.cancel.setVisible(switching_from is not None)
        self.title.setText("Sign in" if switching_from is None else "Switch user")
        hint = ("Scan your badge, or type your name and PIN." if switching_from is None
                else f"{switching_from} is signed in. Scan your badge or type your name, then your PIN.")
        self.hint.setText(f"{hint}\n{self.site_hint}" if self.site_hint else hint)
        self.username.setFocus()

    def set_device_note(self, note: str | None) -> None:
        """One plain sentence about this device under the form (e.g. no secure key store), or none."""
        self.device_note.setText(note or "")
        self.device_note.setVisible(bool(note))

    def badge_scanned(self, badge: str) -> None:
        """A badge was scanned: that person only needs to type the PIN."""
        self._badge = badge
        self.username.setText(f"Badge {badge}")
        self.username.setReadOnly(True)
        self.pin.clear()
        self.error.clear()
        self.pin.setFocus()

    def show_error(self, message: str) -> None:
        self.set_busy(False)
        self.error.setText(message)
        self.pin.clear()
        self.pin.setFocus()

    def set_busy(self, busy: bool) -> None:
        self.sign_in.setEnabled(not busy)
        self.sign_in.setText("Signing in…" if busy else "Sign in")

    def _typed_name(self, _text: str) -> None:
        self._badge = None

    def _submit(self) -> None:
        if not self.sign_in.isEnabled():
            return
        name = None if self._badge else (self.username.text().strip() or None)
        if name is None and self._badge is None:
            self.show_error("Scan your badge or type your name first.")
            self.username.setFocus()
            return
        if not self.pin.text():
            self.error.setText("Enter your PIN.")
            self.pin.setFocus()
            return
        self.set_busy(True)
        self.error.clear()
        self.submitted.emit(SignInRequest(name, self._badge, self.pin.text()))
