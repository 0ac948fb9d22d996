"""A page for a workflow that is not built yet: it says so plainly."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


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
