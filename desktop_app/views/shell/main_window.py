"""The main window: who is signed in, the sections their roles allow, the feedback banner and the sync status."""

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QButtonGroup, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QMainWindow, QMenu, QPushButton,
                               QStackedWidget, QVBoxLayout, QWidget)

from desktop_app.views.shell.signin_view import SignInView
from desktop_app.views.shell.status_bar import OfflineBanner, SyncStatusBar
from desktop_app.views.shell.style import Layout

SECTIONS = ("pick", "pack", "studio", "exceptions", "devices")
SECTION_WORDS = {"pick": "Pick", "pack": "Pack", "studio": "Studio", "exceptions": "Exceptions", "devices": "Devices"}
MENU_SECTIONS = ("devices",)  # on a handheld: in the ☰ menu, so the sections keep to two rows


class MainWindow(QMainWindow):
    """Layout of the shell; what happens on a tap or a scan is decided by desktop_app.shell."""

    section_chosen = Signal(str)
    sign_out_requested = Signal()
    settings_requested = Signal()
    code_typed = Signal(str)  # the manual entry field, for labels the scanner cannot read
    closing = Signal()

    def __init__(self, layout: Layout, banner: QWidget, pages: dict[str, QWidget],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_kind = layout
        self.setWindowTitle("Floorhand")
        self.setStyleSheet(layout.style_sheet())
        self.signin = SignInView()
        self.offline = OfflineBanner()
        self.status = SyncStatusBar(compact=layout.handheld)
        self.banner = banner
        self.who = QLabel("", objectName="hint" if layout.handheld else "who", wordWrap=not layout.handheld)
        self.nav = QButtonGroup(self, exclusive=True)
        self.nav_buttons = {name: self._tool_button(SECTION_WORDS[name], f"nav:{name}") for name in SECTIONS}
        for name, button in self.nav_buttons.items():
            button.hide()  # shown in show_signed_in, for the sections the person's roles allow
            button.setCheckable(True)
            self.nav.addButton(button)
            button.clicked.connect(lambda _=False, n=name: self.section_chosen.emit(n))
        self.manual = QLineEdit(objectName="manual-entry", placeholderText="Type a code ⏎" if layout.handheld
                                else "Type a code from a damaged label ⏎")
        self.manual.returnPressed.connect(self._typed)
        self.pages = pages
        self.stack = QStackedWidget()
        self.stack.addWidget(self.signin)
        for page in pages.values():
            self.stack.addWidget(page)
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
            menu = QMenu(self)
            # Sections a handheld has no room for in its two rows go into the menu (MENU_SECTIONS).
            self.menu_sections = {name: menu.addAction(SECTION_WORDS[name],
                                                       lambda n=name: self.section_chosen.emit(n))
                                  for name in MENU_SECTIONS}
            menu.addAction("Settings", self.settings_requested.emit)
            menu.addAction("Sign out", self.sign_out_requested.emit)
            self.menu_button = self._tool_button("☰", "menu")
            self.menu_button.setMenu(menu)
            self.menu_button.setMinimumWidth(64)
            row = QHBoxLayout()
            row.addLayout(self.nav_row, 1)
            row.addWidget(self.menu_button)
            header_layout.addLayout(row)
            self.status.add_to_line(self.who)
        else:
            settings, sign_out = self._tool_button("Settings", "settings"), self._tool_button("Sign out", "sign-out")
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
        column.addWidget(self.offline)
        column.addWidget(self.header)
        column.addWidget(self.banner)
        column.addWidget(self.stack, 1)
        column.addWidget(self.manual)
        column.addWidget(self.status)
        return root

    def show_signed_out(self, switching_from: str | None = None) -> None:
        """The sign-in form (or the user switch form) fills the window."""
        self.header.setVisible(switching_from is not None)
        self.manual.hide()
        self.signin.reset(switching_from=switching_from)
        self.stack.setCurrentWidget(self.signin)
        self.signin.username.setFocus()

    def show_signed_in(self, who: str, sections: list[str]) -> None:
        """The header for the person signed in, with only the sections their roles allow."""
        self.who.setText(who.split(" · ")[0] if self.layout_kind.handheld else who)
        self.header.show()
        self.manual.show()
        while self.nav_row.count():
            self.nav_row.takeAt(0)
        in_menu = [name for name in sections if self.layout_kind.handheld and name in MENU_SECTIONS]
        buttons = [name for name in sections if name not in in_menu]
        columns = 2 if self.layout_kind.handheld and len(buttons) > 3 else max(len(buttons), 1)
        for i, name in enumerate(buttons):
            self.nav_row.addWidget(self.nav_buttons[name], i // columns, i % columns)
        for name, button in self.nav_buttons.items():
            button.setVisible(name in buttons)
        for name, action in getattr(self, "menu_sections", {}).items():
            action.setVisible(name in in_menu)

    def show_section(self, name: str) -> None:
        self.nav_buttons[name].setChecked(True)
        page = self.pages[name]
        self.stack.setCurrentWidget(page)
        activate = getattr(page, "activate", None)
        if activate is not None:
            activate()
        else:
            page.setFocus()

    def _typed(self) -> None:
        text = self.manual.text().strip()
        self.manual.clear()
        if text:
            self.code_typed.emit(text)
        current = self.stack.currentWidget()
        (getattr(current, "activate", None) or current.setFocus)()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.closing.emit()
        super().closeEvent(event)
