"""The sign-in screen: a name or a badge scan, then a PIN."""

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from desktop_app.i18n import translate
from desktop_app.views.card_list import breakable
from sync.catalogue.entry import QT_TRANSLATE_NOOP

# What people read; kept together so that translation finds them in one place (context "SignIn").
SIGN_IN = QT_TRANSLATE_NOOP("SignIn", "Sign in")
HINT = QT_TRANSLATE_NOOP("SignIn", "Scan your badge, or type your name and PIN.")


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
        self.title = QLabel(translate("SignIn", SIGN_IN), objectName="title", wordWrap=True)
        self.hint = QLabel(translate("SignIn", HINT), objectName="hint", wordWrap=True)
        self.username = QLineEdit(objectName="username", placeholderText=translate("SignIn", "Name"))
        self.pin = QLineEdit(objectName="pin", placeholderText=translate("SignIn", "PIN"),
                             echoMode=QLineEdit.EchoMode.Password)
        self.pin.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly | Qt.InputMethodHint.ImhSensitiveData)
        self.error = QLabel("", objectName="error", wordWrap=True)
        # Something about this device people should know once, not at every greeting.
        self.device_note = QLabel("", objectName="hint", wordWrap=True)
        self.device_note.hide()
        self.sign_in = QPushButton(translate("SignIn", SIGN_IN), objectName="primary")
        self.cancel = QPushButton(translate("SignIn", "Back"))
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
        self.title.setText(translate("SignIn", SIGN_IN) if switching_from is None
                           else translate("SignIn", "Switch user"))
        hint = (translate("SignIn", HINT) if switching_from is None
                else translate("SignIn", "{name} is signed in. Scan your badge or type your name, then your PIN.")
                .format(name=switching_from))
        # Breakable, like every sentence here: a long word of a longer language wraps within the form.
        self.hint.setText(breakable(f"{hint}\n{self.site_hint}" if self.site_hint else hint))
        self.username.setFocus()

    def set_device_note(self, note: str | None) -> None:
        """One plain sentence about this device under the form (e.g. no secure key store), or none."""
        self.device_note.setText(breakable(note or ""))
        self.device_note.setVisible(bool(note))

    def badge_scanned(self, badge: str) -> None:
        """A badge was scanned: that person only needs to type the PIN."""
        self._badge = badge
        self.username.setText(translate("SignIn", "Badge {badge}").format(badge=badge))
        self.username.setReadOnly(True)
        self.pin.clear()
        self.error.clear()
        self.pin.setFocus()

    def show_error(self, message: str) -> None:
        self.set_busy(False)
        self.error.setText(breakable(message))
        self.pin.clear()
        self.pin.setFocus()

    def set_busy(self, busy: bool) -> None:
        self.sign_in.setEnabled(not busy)
        self.sign_in.setText(translate("SignIn", "Signing in…") if busy else translate("SignIn", SIGN_IN))

    def _typed_name(self, _text: str) -> None:
        self._badge = None

    def _submit(self) -> None:
        if not self.sign_in.isEnabled():
            return
        name = None if self._badge else (self.username.text().strip() or None)
        if name is None and self._badge is None:
            self.show_error(translate("SignIn", "Scan your badge or type your name first."))
            self.username.setFocus()
            return
        if not self.pin.text():
            self.error.setText(breakable(translate("SignIn", "Enter your PIN.")))
            self.pin.setFocus()
            return
        self.set_busy(True)
        self.error.clear()
        self.submitted.emit(SignInRequest(name, self._badge, self.pin.text()))
