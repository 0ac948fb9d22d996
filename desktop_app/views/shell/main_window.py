"""The main window: who is signed in, the sections their roles allow, the feedback banner and the sync status."""

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QCloseEvent, QColor, QFont, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import (QButtonGroup, QSizePolicy, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QMainWindow, QMenu,
                               QPushButton, QStackedWidget, QVBoxLayout, QWidget)

from desktop_app.i18n import translate
from desktop_app.views.card_list import SMALLEST_BUTTON_PX
from desktop_app.views.fitted import FittedButton
from desktop_app.views.shell.signin_view import SignInView
from desktop_app.views.shell.status_bar import SyncStatusBar
from desktop_app.views.shell.style import Layout
from sync.catalogue.entry import QT_TRANSLATE_NOOP

# A handheld's 800 px of height holds two rows of two section buttons; more go into the ☰ menu.
HANDHELD_BUTTONS = 4

# What people read; kept together so that translation finds them in one place (context "MainWindow").
SETTINGS = QT_TRANSLATE_NOOP("MainWindow", "Settings")
SIGN_OUT = QT_TRANSLATE_NOOP("MainWindow", "Sign out")
TYPE_A_CODE = QT_TRANSLATE_NOOP("MainWindow", "Type a code from a damaged label ⏎")
TYPE_A_CODE_SHORT = QT_TRANSLATE_NOOP("MainWindow", "Type a code ⏎")


class NavButton(FittedButton):
    """A section's button: its title, and the section's status (how many things wait there) in a small badge.

    The title's type shrinks to fit the button's share of the row (two buttons on a handheld's 480 px).
    """

    def __init__(self, title: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(title, name, elide=True, smallest=SMALLEST_BUTTON_PX, parent=parent)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.badge = ""

    def set_badge(self, text: str) -> None:
        self.badge = text
        self.setAccessibleDescription(text)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        # Painted in the corner rather than added to the title, so the title never needs more width.
        super().paintEvent(event)
        if not self.badge:
            return
        font = QFont(self.font())
        font.setBold(True)
        font.setPixelSize(max(11, self.height() // 5))
        metrics = QFontMetrics(font)
        height = metrics.height()
        width = max(height, metrics.horizontalAdvance(self.badge) + height // 2)
        box = QRect(self.width() - width - 4, 4, width, height)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#b71c1c"))
        painter.drawRoundedRect(box, height / 2, height / 2)
        painter.setPen(QColor("white"))
        painter.setFont(font)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.badge)
        painter.end()


class MainWindow(QMainWindow):
    """Layout of the station; what happens on a tap or a scan is decided by desktop_app.station."""

    section_chosen = Signal(str)
    sign_out_requested = Signal()
    settings_requested = Signal()
    code_typed = Signal(str)  # the manual entry field, for labels the scanner cannot read
    closing = Signal()

    def __init__(self, layout: Layout, banner: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_kind = layout
        self.setWindowTitle(translate("MainWindow", "Floorhand"))
        self.setStyleSheet(layout.style_sheet())
        self.signin = SignInView()
        self.status = SyncStatusBar(layout)
        self.offline = self.status.notice  # offline, or work not getting through: in the status line's place
        self.banner = banner
        self.who = QLabel("", objectName="hint" if layout.handheld else "who", wordWrap=not layout.handheld)
        self.nav = QButtonGroup(self, exclusive=True)
        self.nav_buttons: dict[str, NavButton] = {}
        self.titles: dict[str, str] = {}
        self.menu_sections: dict = {}  # key -> QAction, on a handheld: sections past its two rows of buttons
        self.manual = QLineEdit(objectName="manual-entry", placeholderText=translate(
            "MainWindow", TYPE_A_CODE_SHORT if layout.handheld else TYPE_A_CODE))
        self.manual.returnPressed.connect(self._typed)
        self.pages: dict[str, QWidget] = {}
        self.stack = QStackedWidget()
        self.stack.addWidget(self.signin)
        self.setCentralWidget(self._build(layout))
        self.show_signed_out()

    def _tool_button(self, text: str, name: str) -> QPushButton:
        button = QPushButton(text, objectName=name)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return button

    def _build(self, layout: Layout) -> QWidget:
        self.nav_row = QGridLayout()
        self.header = QWidget(objectName="header")
        header_layout = QVBoxLayout(self.header)
        header_layout.setContentsMargins(0, 0, 0, 0)
        if layout.handheld:
            # 800 px of height: the sections and a menu share one row, the name goes to the
            # status line at the bottom.
            self.menu = QMenu(self, objectName="menu-list")
            self._menu_end = self.menu.addSeparator()  # sections go above it
            self.menu.addAction(translate("MainWindow", SETTINGS), self.settings_requested.emit)
            self.menu.addAction(translate("MainWindow", SIGN_OUT), self.sign_out_requested.emit)
            self.menu_button = self._tool_button("☰", "menu")
            self.menu_button.setMenu(self.menu)
            self.menu_button.setMinimumWidth(64)
            row = QHBoxLayout()
            row.addLayout(self.nav_row, 1)
            row.addWidget(self.menu_button)
            header_layout.addLayout(row)
            self.status.add_to_line(self.who)
        else:
            settings = self._tool_button(translate("MainWindow", SETTINGS), "settings")
            sign_out = self._tool_button(translate("MainWindow", SIGN_OUT), "sign-out")
            settings.clicked.connect(self.settings_requested.emit)
            sign_out.clicked.connect(self.sign_out_requested.emit)
            top = QHBoxLayout()
            top.addWidget(self.who, 1)
            top.addWidget(settings)
            top.addWidget(sign_out)
            header_layout.addLayout(top)
            header_layout.addLayout(self.nav_row)
        root = QWidget()
        column = QVBoxLayout(root)
        column.setContentsMargins(8 if layout.handheld else 16, 8, 8 if layout.handheld else 16, 4)
        column.addWidget(self.header)
        column.addWidget(self.banner)
        column.addWidget(self.stack, 1)
        column.addWidget(self.manual)
        column.addWidget(self.status)  # a fixed height, whatever it says: nothing above it moves
        return root

    def add_section(self, key: str, title: str, page: QWidget) -> None:
        """A section's button (and, on a handheld, its menu item) and its page; shown in show_signed_in.

        `title` is as people read it, translated already."""
        button = NavButton(title, f"nav:{key}")
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setCheckable(True)
        button.hide()
        button.clicked.connect(lambda _=False: self.section_chosen.emit(key))
        self.nav.addButton(button)
        self.nav_buttons[key], self.titles[key], self.pages[key] = button, title, page
        if self.layout_kind.handheld:
            action = self.menu.addAction(title, lambda: self.section_chosen.emit(key))
            self.menu.removeAction(action)
            self.menu.insertAction(self._menu_end, action)
            action.setVisible(False)
            self.menu_sections[key] = action
        self.stack.addWidget(page)

    def set_section_status(self, key: str, text: str) -> None:
        """A section's status (a count of what waits there) on its button and menu item."""
        self.nav_buttons[key].set_badge(text)
        if key in self.menu_sections:
            self.menu_sections[key].setText(f"{self.titles[key]} ({text})" if text else self.titles[key])

    def signing_in(self) -> bool:
        """Whether the sign-in (or switch) form is on screen."""
        return self.stack.currentWidget() is self.signin

    def show_signed_out(self, switching_from: str | None = None) -> None:
        """The sign-in form (or the user switch form) fills the window."""
        self.header.setVisible(switching_from is not None)
        self.manual.hide()
        self.signin.reset(switching_from=switching_from)
        self.stack.setCurrentWidget(self.signin)
        self.signin.username.setFocus()

    def show_signed_in(self, name: str, about: str, sections: list[str]) -> None:
        """The header for the person signed in (a handheld's line has room for the name only, the desktop's for
        `about`: name, roles, offline), with only the sections their roles allow."""
        self.who.setText(name if self.layout_kind.handheld else about)
        self.show_signed_in_again()
        while self.nav_row.count():
            self.nav_row.takeAt(0)
        handheld = self.layout_kind.handheld
        buttons = sections[:HANDHELD_BUTTONS] if handheld else list(sections)
        in_menu = [key for key in sections if key not in buttons]
        columns = min(2, len(buttons)) if handheld else len(buttons)
        for i, key in enumerate(buttons):
            self.nav_row.addWidget(self.nav_buttons[key], i // max(columns, 1), i % max(columns, 1))
        for column in range(len(self.nav_buttons)):  # columns of one width, whatever their titles' length
            self.nav_row.setColumnStretch(column, 1 if column < columns else 0)
        for key, button in self.nav_buttons.items():
            button.setVisible(key in buttons)
        for key, action in self.menu_sections.items():
            action.setVisible(key in in_menu)

    def show_signed_in_again(self) -> None:
        """Back from the switch form to the person who was working."""
        self.header.show()
        self.manual.show()

    def show_section(self, key: str) -> None:
        self.nav_buttons[key].setChecked(True)
        page = self.pages[key]
        self.stack.setCurrentWidget(page)
        page.setFocus()

    def _typed(self) -> None:
        text = self.manual.text().strip()
        self.manual.clear()
        if text:
            self.code_typed.emit(text)
        if not self.signing_in():  # a badge typed here opened the switch form, whose fields keep the focus
            self.stack.currentWidget().setFocus()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.closing.emit()
        super().closeEvent(event)
