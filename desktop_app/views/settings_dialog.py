"""The settings dialog, generated from the SETTINGS table: one editor per declared setting, grouped by prefix;
those read only at start (restart=True) say they apply after a restart.

Every text is translated with the context "Settings", a setting's label and description too: they are
looked up as desktop_app/settings.py words them. The values (choices, numbers, paths) are shown as they
are written in a config file.
"""

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QScrollArea, QSizePolicy, QSpinBox, QVBoxLayout,
                               QWidget)

from desktop_app.i18n import translate
from desktop_app.settings import COMMAND_LINE, DEFAULT, SETTINGS, Setting, SettingError, Settings, Value
from desktop_app.views.card_list import breakable
from sync.catalogue.entry import QT_TRANSLATE_NOOP

APPLIES_AFTER_RESTART = QT_TRANSLATE_NOOP("Settings", "Applies after a restart")  # next to every restart=True one
TOUCH = 48  # smallest height of anything a person taps; 48 px is the usual minimum for a fingertip
_WORDS = {"ca": "CA", "url": "URL", "ui": "UI", "gs": "GS", "ms": "(ms)", "dir": "folder"}
_GROUP_TITLES = {"": QT_TRANSLATE_NOOP("Settings", "General"),
                 "ui": QT_TRANSLATE_NOOP("Settings", "Screen"),
                 "scanner": QT_TRANSLATE_NOOP("Settings", "Scanner"),
                 "picking": QT_TRANSLATE_NOOP("Settings", "Picking"),
                 "sounds": QT_TRANSLATE_NOOP("Settings", "Sounds"),
                 "feedback": QT_TRANSLATE_NOOP("Settings", "Feedback")}
# Where a value comes from (Value.source in desktop_app/settings.py: "<kind> (<where>)" or a bare kind).
_SOURCES = {"machine config": QT_TRANSLATE_NOOP("Settings", "machine config ({where})"),
            "user config": QT_TRANSLATE_NOOP("Settings", "user config ({where})"),
            "environment": QT_TRANSLATE_NOOP("Settings", "environment ({where})"),
            COMMAND_LINE: QT_TRANSLATE_NOOP("Settings", "command line"),
            DEFAULT: QT_TRANSLATE_NOOP("Settings", "default")}
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
    """The heading of a group of settings, in English (translated where it is shown)."""
    return _GROUP_TITLES.get(group, group.replace("_", " ").capitalize())


def source_words(source: str) -> str:
    """Where a value comes from, in the person's language; the path or variable stays as it is."""
    kind, _, where = source.partition(" (")
    if kind not in _SOURCES or bool(where) != ("{where}" in _SOURCES[kind]):
        return source
    return translate("Settings", _SOURCES[kind]).format(where=where.removesuffix(")"))


class _CheckText(QLabel):
    """A check box's words, wrapped (a check box's own text cannot wrap); a tap on them toggles the box too."""

    def __init__(self, text: str, box: QCheckBox, name: str) -> None:
        super().__init__(text, objectName=name, wordWrap=True)
        self._box = box
        self.setBuddy(box)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self._box.isEnabled() and self.rect().contains(
                event.position().toPoint()):
            self._box.toggle()
        super().mouseReleaseEvent(event)


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
        self.setWindowTitle(translate("Settings", "Settings"))
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
                box = QGroupBox(translate("Settings", group_title(group)), objectName=f"group:{group or 'general'}")
                form_layout.addWidget(box)
                groups[group] = QVBoxLayout(box)
            self._add_row(groups[group], settings.value(setting.name))
        form_layout.addStretch(1)
        scroll = QScrollArea(widgetResizable=True, horizontalScrollBarPolicy=Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(form)

        self.problems = QLabel("", objectName="problems", wordWrap=True)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # The problems themselves are for IT, worded by the settings loader as in the log.
        self.problems.setText("\n".join([translate("Settings", "Some settings could not be used:"),
                                         *(f"• {p}" for p in settings.problems)]))
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
            self._show_error(translate("Settings", "Could not write {path}: {problem}").format(
                path=self.settings.user_path, problem=error.strerror or error))
            return
        self.restart_needed = [name for name in changes if self._rows[name].setting.restart]
        self.result_settings = fresh
        self.saved.emit(fresh)
        self.accept()

    def _show_error(self, message: str) -> None:
        self.error.setText(translate("Settings", "Not saved: {problem}").format(problem=message))
        self.error.show()

    def _add_row(self, layout: QVBoxLayout, value: Value) -> None:
        setting = value.setting
        editor, read, changed = _editor(setting, value.value)
        editor.setObjectName("setting:" + setting.name)
        editor.setMinimumHeight(TOUCH)
        description = translate("Settings", setting.description)
        label = translate("Settings", readable(setting.name))
        editor.setToolTip(description)
        line = QHBoxLayout()
        if isinstance(editor, QCheckBox):
            # The box and its words on one line, the words tappable too.
            heading: QLabel = _CheckText(label, editor, f"label:{setting.name}")
            editor.setAccessibleName(label)
            line.addWidget(editor)
        else:
            heading = QLabel(label, objectName=f"label:{setting.name}", wordWrap=True)
            heading.setBuddy(editor)
        heading.setToolTip(description)
        # Ignored width: the name takes what the line leaves and wraps, so a longer language never widens the form.
        heading.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        line.addWidget(heading, 1)
        if setting.restart:
            # Said before anyone changes it, so nobody expects the running app to follow at once.
            line.addWidget(QLabel(translate("Settings", APPLIES_AFTER_RESTART), objectName="applies-after-restart",
                                  wordWrap=True), 0, Qt.AlignmentFlag.AlignRight)
        layout.addLayout(line)
        if not isinstance(editor, QCheckBox):
            layout.addWidget(editor)
        # Breakable: a long word (a URL, a longer language's compound) wraps rather than widening the form.
        layout.addWidget(QLabel(breakable(description), objectName="description", wordWrap=True))
        note = _source_note(value)
        if note:
            # Ignored width: a path that cannot wrap must not widen the form past a handheld's screen.
            note_label = QLabel(note, objectName="note", wordWrap=True)
            note_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            layout.addWidget(note_label)
        restart_note = QLabel(translate("Settings", "Takes effect after Floorhand restarts."), objectName="restart",
                              wordWrap=True)
        restart_note.hide()
        layout.addWidget(restart_note)
        layout.addSpacing(12)
        editor.setEnabled(not value.locked)
        row = _Row(setting, editor, read, read(), restart_note)
        self._rows[setting.name] = row
        if setting.restart:
            changed.connect(lambda *_: row.restart_note.setVisible(row.changed()))


def _source_note(value: Value) -> str:
    """Where a value that is not the person's own comes from. The sentence is made breakable before the
    paths go in: a longer language's long word wraps, a path is shown as it is."""
    source = source_words(value.source)
    if value.locked and value.overridden:
        return breakable(translate("Settings", "Set by your IT department: {source}. Ignored: {ignored}.")).format(
            source=source, ignored=", ".join(source_words(s) for s in value.overridden))
    if value.locked:
        return breakable(translate("Settings", "Set by your IT department: {source}.")).format(source=source)
    if value.source == COMMAND_LINE:
        return breakable(translate("Settings", "This run uses the value from the command line, which wins over what "
                                               "is saved here."))
    kind, _, where = value.source.partition(" (")
    if kind == "environment":
        sentence = translate("Settings", "This run uses the value from the environment ({variable}), which wins "
                                         "over what is saved here.")
        return breakable(sentence).format(variable=where.removesuffix(")"))
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
