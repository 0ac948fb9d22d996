"""A section whose work is not built yet: its page says so plainly."""

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop_app.i18n import translate
from desktop_app.sections import Banners, Section
from desktop_app.views.card_list import breakable


class NotBuiltYet(QWidget):
    """Tells the person this part of Floorhand does not exist yet, instead of showing an empty screen.

    `heading` and `text` are marked for translation where the section is registered (context "Sections").
    """

    def __init__(self, heading: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Breakable: a long word of a longer language wraps instead of widening the window past a handheld's.
        title = QLabel(breakable(translate("Sections", heading)), objectName="title", wordWrap=True,
                       alignment=Qt.AlignmentFlag.AlignCenter)
        words = QLabel(breakable(translate("Sections", text)), objectName="big", wordWrap=True,
                       alignment=Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(title)
        layout.addWidget(words)
        layout.addStretch(2)


class NotBuiltYetSection(Section):
    """A section people can open although its work is not built yet: it says so, and takes no scan."""

    def __init__(self, key: str, title: str, roles: Iterable[str], heading: str, text: str,
                 banners: Banners) -> None:
        super().__init__(key, title, roles, NotBuiltYet(heading, text), banners.voice(key))
