"""A section whose work is not built yet: its page says so plainly."""

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop_app.sections import Banners, Section


class NotBuiltYet(QWidget):
    """Tells the person this part of Floorhand does not exist yet, instead of showing an empty screen."""

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel(what, objectName="title", alignment=Qt.AlignmentFlag.AlignCenter)
        text = QLabel(f"{what} is not part of this version of Floorhand yet. "
                      "Use the paper process or the office system for now.",
                      objectName="big", wordWrap=True, alignment=Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addStretch(2)


class NotBuiltYetSection(Section):
    """A section people can open although its work is not built yet: it says so, and takes no scan."""

    def __init__(self, key: str, title: str, roles: Iterable[str], what: str, banners: Banners) -> None:
        super().__init__(key, title, roles, NotBuiltYet(what), banners.voice(key))
