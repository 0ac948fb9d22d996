"""Honest settings: every declared setting is read by some code, and one that claims to apply at once does."""

import ast
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDialogButtonBox, QDoubleSpinBox, QLineEdit, QSpinBox

from desktop_app.app import APPLIED_WHEN_SAVED, wedge_settings
from desktop_app.settings import SETTINGS, Setting
from desktop_app.views.settings_dialog import SettingsDialog
from desktop_app.workflows.packing import PackingSession
from desktop_app.workflows.picking import PickingSession

REPO = Path(__file__).resolve().parents[2]
READING_PACKAGES = ("desktop_app", "sync", "scanners")
DECLARATION = REPO / "desktop_app" / "settings.py"

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def names_read_in(source: str) -> set[str]:
    """Strings used as a key to read with: x["name"], x.get("name"), x.value("name"), or in a table of names
    (a tuple, list or set of strings only). A key written (x["name"] = v) or sent in a dict body is no reader."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                found.add(key.value)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("get", "value") and node.args):
            key = node.args[0]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                found.add(key.value)
        elif isinstance(node, ast.Tuple | ast.List | ast.Set) and node.elts and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            found.update(e.value for e in node.elts)  # type: ignore[attr-defined]
    return found


def test_names_read_in_tells_reading_from_writing():
    source = ('a = settings["read.one"]\nb = env.get("read.two", 1)\nnames = ("read.three", "read.four")\n'
              'given["written"] = 1\nbody = {"sent": value}\n')
    assert names_read_in(source) == {"read.one", "read.two", "read.three", "read.four"}


def test_every_declared_setting_is_read_somewhere():
    read: set[str] = set()
    for package in READING_PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if path != DECLARATION:
                read |= names_read_in(path.read_text(encoding="utf-8"))
    unread = [setting.name for setting in SETTINGS if setting.name not in read]
    assert unread == [], f"declared in desktop_app/settings.py but read nowhere in {', '.join(READING_PACKAGES)}: " \
                         f"{', '.join(unread)}; read it, or drop the setting"


def test_a_setting_applies_at_once_exactly_when_the_save_handler_applies_it():
    assert len(set(APPLIED_WHEN_SAVED)) == len(APPLIED_WHEN_SAVED)
    declared = {setting.name for setting in SETTINGS}
    assert set(APPLIED_WHEN_SAVED) <= declared
    claims_at_once = {setting.name for setting in SETTINGS if not setting.restart}
    assert claims_at_once == set(APPLIED_WHEN_SAVED), (
        "settings with restart=False must be applied by _open_settings in desktop_app/app.py (APPLIED_WHEN_SAVED); "
        f"not applied: {sorted(claims_at_once - set(APPLIED_WHEN_SAVED))}; "
        f"applied but marked restart=True: {sorted(set(APPLIED_WHEN_SAVED) - claims_at_once)}")


def other_value(setting: Setting, current: object) -> object:
    """A valid value of `setting` different from `current`."""
    if setting.choices is not None:
        return next(choice for choice in setting.choices if choice != current)
    if setting.kind is bool:
        return not current
    if isinstance(current, int | float):
        step = 1 if setting.kind is int else 0.1
        up = round(current + step, 2)
        return up if setting.maximum is None or up <= setting.maximum else round(current - step, 2)
    return "~" if current != "~" else "^"


def set_editor(editor, value: object) -> None:
    if isinstance(editor, QComboBox):
        editor.setCurrentText(str(value))
    elif isinstance(editor, QCheckBox):
        editor.setChecked(bool(value))
    elif isinstance(editor, QSpinBox | QDoubleSpinBox):
        editor.setValue(value)
    else:
        assert isinstance(editor, QLineEdit)
        editor.setText(str(value))


def test_saving_each_setting_that_applies_at_once_changes_the_running_app(drive, qtbot, monkeypatch):
    d = drive()
    app = d.app
    wedge_given = [wedge_settings(app.settings)]
    configure = app.wedge.configure

    def configured(settings):
        wedge_given.append(settings)
        configure(settings)

    monkeypatch.setattr(app.wedge, "configure", configured)
    # A picker at work, whose rules must follow at once rather than at the next sign-in.
    d.picking.set_session(PickingSession(app.core, "anna", app.picking.options))
    app.packing.view.set_session(PackingSession(app.core, "ben", 2, app.packing.options, app.bench.spool))

    def running() -> tuple:
        return (wedge_given[-1], app.station.classify_options, app.picking.options, d.picking.session.options,
                app.packing.options, app.packing.view.session.options,
                app.feedback.sounds_enabled, app.feedback.volume, app.feedback.flash_ms)

    by_name = {setting.name: setting for setting in SETTINGS}
    for name in APPLIED_WHEN_SAVED:
        before = running()
        app.window.settings_requested.emit()
        dialog = next(w for w in app.window.findChildren(SettingsDialog) if w.isVisible())
        set_editor(dialog.editor(name), other_value(by_name[name], app.settings[name]))
        with qtbot.waitSignal(dialog.saved):
            qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)
        assert app.settings[name] != by_name[name].default
        assert running() != before, f"saving {name} changed nothing in the running app"
        assert d.said[-1] == ("info", "Settings saved")


def test_saving_a_setting_read_at_start_says_it_applies_after_a_restart(drive, qtbot):
    d = drive()
    d.app.window.settings_requested.emit()
    dialog = next(w for w in d.app.window.findChildren(SettingsDialog) if w.isVisible())
    dialog.editor("offline_days").setValue(3)
    with qtbot.waitSignal(dialog.saved):
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)
    assert d.said[-1] == ("info", "Settings saved. Some of the changes apply after Floorhand restarts.")
