"""The settings dialog, generated from the SETTINGS table: one editor per declared setting, grouped by prefix;
those read only at start (restart=True) say they apply after a restart."""

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from desktop_app.settings import COMMAND_LINE, SETTINGS, Setting, SettingError, Settings, Value

APPLIES_AFTER_RESTART = "Applies after a restart"  # next to every setting marked restart=True
TOUCH = 48  # smallest height of anything a person taps; 48 px is the usual minimum for a fingertip
_WORDS = {"ca": "CA", "url": "URL", "ui": "UI", "gs": "GS", "ms": "(ms)", "dir": "folder"}
_GROUP_TITLES = {"": "General", "ui": "Screen"}
_STYLE = f"""
QLabel#description {{ color: #4a545b; }}
QLabel#note {{ color: #8a4b00; font-weight: 600; }}
QLabel#restart {{ color: #1f4e79; font-weight: 600; }}
QLabel#applies-after-restart {{ color: #1f4e79; }}
QLabel#settings-error {{ color: #b71c1c; font-weight: 700; }}
QCheckBox::indicator {{ width: 28px; height: 28px; }}
QPushButton {{ min-height: {TOUCH}px; }}
"""


def readable(name: str) -> str:
    """A setting's label for people: "scanner.max_gap_ms" -> "Max gap (ms)"."""
    words = [_WORDS.get(word, word) for word in name.rpartition(".")[2].split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def group_of(setting: Setting) -> str:
    """The dotted prefix that groups a setting; "" for settings without one."""
    return setting.name.rpartition(".")[0]


def group_title(group: str) -> str:
    """The heading of a group of settings."""
    return _GROUP_TITLES.get(group, group.replace("_", " ").capitalize())


@dataclass
class _Row:
    setting: Setting
    editor: QWidget
    read: Callable[[], object]
    initial: object  # read back from the editor once filled, so rounding in a spin box is no change
    restart_note: QLabel

    def changed(self) -> bool:
        return self.read() != self.initial


class SettingsDialog(QDialog):
    """Shows every declared setting with its effective value; Save writes what was changed to the user config."""

    saved = Signal(object)  # the Settings read afresh after saving

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.result_settings: Settings | None = None
        self.restart_needed: list[str] = []  # names of saved settings that take effect after a restart
        self.setWindowTitle("Settings")
        self.setStyleSheet(_STYLE)
        font = self.font()
        font.setPointSizeF(max(font.pointSizeF(), 12.0))
        self.setFont(font)
        self._rows: dict[str, _Row] = {}

        form = QWidget()
        form_layout = QVBoxLayout(form)
        groups: dict[str, QVBoxLayout] = {}
        for setting in SETTINGS:
            group = group_of(setting)
            if group not in groups:
                box = QGroupBox(group_title(group), objectName=f"group:{group or 'general'}")
                form_layout.addWidget(box)
                groups[group] = QVBoxLayout(box)
            self._add_row(groups[group], settings.value(setting.name))
        form_layout.addStretch(1)
        scroll = QScrollArea(widgetResizable=True, horizontalScrollBarPolicy=Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(form)

        self.problems = QLabel("", objectName="problems", wordWrap=True)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems.setText("Some settings could not be used:\n" + "\n".join(f"• {p}" for p in settings.problems))
        self.problems.setVisible(bool(settings.problems))
        self.error = QLabel("", objectName="settings-error", wordWrap=True)
        self.error.hide()
        buttons = QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        self.buttons = QDialogButtonBox(buttons)
        for button in self.buttons.buttons():
            button.setMinimumHeight(TOUCH)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.problems)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(480, 720)  # fits a 480 x 800 portrait handheld; the form scrolls

    def editor(self, name: str) -> QWidget:
        """The editor of one setting."""
        return self._rows[name].editor

    def changes(self) -> dict[str, object]:
        """The values the person changed, by setting name; locked settings cannot change."""
        return {name: row.read() for name, row in self._rows.items() if row.changed()}

    def save(self) -> None:
        """Write the changed values to the user config; a refusal is shown in the dialog, which stays open."""
        changes = self.changes()
        if not changes:
            self.result_settings = self.settings
            self.accept()
            return
        try:
            fresh = self.settings.save_user(changes)
        except SettingError as error:
            self._show_error(str(error))
            return
        except OSError as error:
            self._show_error(f"Could not write {self.settings.user_path}: {error.strerror or error}")
            return
        self.restart_needed = [name for name in changes if self._rows[name].setting.restart]
        self.result_settings = fresh
        self.saved.emit(fresh)
        self.accept()

    def _show_error(self, message: str) -> None:
        self.error.setText(f"Not saved: {message}")
        self.error.show()

    def _add_row(self, layout: QVBoxLayout, value: Value) -> None:
        setting = value.setting
        editor, read, changed = _editor(setting, value.value)
        editor.setObjectName("setting:" + setting.name)
        editor.setMinimumHeight(TOUCH)
        editor.setToolTip(setting.description)
        if isinstance(editor, QCheckBox):
            editor.setText(readable(setting.name))  # the box's own text is the label, so all of it is tappable
            heading: QWidget = editor
        else:
            heading = QLabel(readable(setting.name), objectName=f"label:{setting.name}")
            heading.setBuddy(editor)
            heading.setToolTip(setting.description)
        if setting.restart:
            # Said before anyone changes it, so nobody expects the running app to follow at once.
            line = QHBoxLayout()
            line.addWidget(heading, 1)
            line.addWidget(QLabel(APPLIES_AFTER_RESTART, objectName="applies-after-restart"), 0,
                           Qt.AlignmentFlag.AlignRight)
            layout.addLayout(line)
        else:
            layout.addWidget(heading)
        if heading is not editor:
            layout.addWidget(editor)
        layout.addWidget(QLabel(setting.description, objectName="description", wordWrap=True))
        note = _source_note(value)
        if note:
            layout.addWidget(QLabel(note, objectName="note", wordWrap=True))
        restart_note = QLabel("Takes effect after Floorhand restarts.", objectName="restart")
        restart_note.hide()
        layout.addWidget(restart_note)
        layout.addSpacing(12)
        editor.setEnabled(not value.locked)
        row = _Row(setting, editor, read, read(), restart_note)
        self._rows[setting.name] = row
        if setting.restart:
            changed.connect(lambda *_: row.restart_note.setVisible(row.changed()))


def _source_note(value: Value) -> str:
    if value.locked:
        ignored = f" Ignored: {', '.join(value.overridden)}." if value.overridden else ""
        return f"Set by your IT department: {value.source}.{ignored}"
    if value.source.startswith("environment") or value.source == COMMAND_LINE:
        return f"This run uses the value from the {value.source}, which wins over what is saved here."
    return ""


def _editor(setting: Setting, value: object) -> tuple[QWidget, Callable[[], object], SignalInstance]:
    """The widget that edits one kind of setting, how to read it, and the signal that says it changed."""
    if setting.choices is not None:
        combo = QComboBox()
        combo.addItems(list(setting.choices))
        combo.setCurrentText(str(value))
        return combo, combo.currentText, combo.currentTextChanged
    if setting.kind is bool:
        check = QCheckBox()
        check.setChecked(bool(value))
        return check, check.isChecked, check.toggled
    if setting.kind is int:
        spin = QSpinBox()
        spin.setRange(int(setting.minimum if setting.minimum is not None else -(2**31)),
                      int(setting.maximum if setting.maximum is not None else 2**31 - 1))
        spin.setValue(int(value))  # type: ignore[call-overload]
        return spin, spin.value, spin.valueChanged
    if setting.kind is float:
        real = QDoubleSpinBox(decimals=2, singleStep=0.05)
        real.setRange(setting.minimum if setting.minimum is not None else -1e9,
                      setting.maximum if setting.maximum is not None else 1e9)
        real.setValue(float(value))  # type: ignore[arg-type]
        return real, real.value, real.valueChanged
    line = QLineEdit(str(value))
    return line, line.text, line.textChanged
