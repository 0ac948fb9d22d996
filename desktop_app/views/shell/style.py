"""Sizes and the style sheet of the two layouts: a workstation screen, and a handheld held in a gloved hand."""

from dataclasses import dataclass

from PySide6.QtCore import QSize

HANDHELD_MAX_WIDTH = 600  # portrait handhelds start at 480 x 800; anything this narrow gets one column


@dataclass(frozen=True)
class Layout:
    """What differs between desktop and handheld: columns, type size, touch target size."""

    handheld: bool
    font_scale: float = 1.0

    @property
    def touch(self) -> int:
        """Smallest height of anything a person taps; 48 px is the usual minimum for a fingertip."""
        return 56 if self.handheld else 52

    def px(self, size: int) -> int:
        """A font size in pixels scaled for this layout and the ui.font_scale setting."""
        return round(size * self.font_scale * (1.1 if self.handheld else 1.0))

    def style_sheet(self) -> str:
        return f"""
        QWidget {{ font-size: {self.px(18)}px; }}
        QPushButton {{ min-height: {self.touch}px; padding: 4px 14px; font-size: {self.px(20)}px;
                      font-weight: 600; border-radius: 6px; border: 2px solid #5f6b73; background: #eef1f3; }}
        QPushButton:checked {{ background: #1f4e79; color: white; border-color: #1f4e79; }}
        QPushButton#primary {{ background: #1f4e79; color: white; border-color: #1f4e79; }}
        QPushButton:disabled {{ color: #9aa3a9; border-color: #c5cbcf; }}
        QLineEdit {{ min-height: {self.touch}px; font-size: {self.px(22)}px; padding: 0 8px; }}
        QLabel#title {{ font-size: {self.px(28)}px; font-weight: 700; }}
        QLabel#huge {{ font-size: {self.px(44 if self.handheld else 64)}px; font-weight: 800; }}
        QLabel#big {{ font-size: {self.px(24 if self.handheld else 32)}px; font-weight: 700; }}
        QLabel#hint {{ color: #4a545b; }}
        QLabel#error {{ color: #b71c1c; font-weight: 700; }}
        QMenu {{ font-size: {self.px(20)}px; }}
        QMenu::item {{ min-height: {self.touch - 16}px; padding: 8px 32px 8px 16px; }}
        QMenu::item:selected {{ background: #1f4e79; color: white; }}
        QMenu::separator {{ height: 2px; background: #c5cbcf; margin: 4px 8px; }}
        QProgressBar {{ min-height: 28px; font-size: {self.px(18)}px; font-weight: 700; }}
        """


def choose_layout(setting: str, screen: QSize | None, font_scale: float = 1.0) -> Layout:
    """The layout the ui.layout setting (or --handheld) asks for; "auto" decides by the screen's shape."""
    if setting == "handheld":
        return Layout(True, font_scale)
    if setting == "desktop" or screen is None:
        return Layout(False, font_scale)
    narrow = screen.width() <= HANDHELD_MAX_WIDTH or (screen.height() > screen.width() and screen.width() < 800)
    return Layout(narrow, font_scale)
