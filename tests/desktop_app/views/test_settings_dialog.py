"""The settings dialog: generated from SETTINGS, honours locks, saves only what changed, refuses inline."""

import tomllib

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QLabel, QLineEdit,
                               QScrollArea, QSpinBox, QWidget)

from desktop_app.settings import SETTINGS, Settings
from desktop_app.views.settings_dialog import SettingsDialog, readable

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def paths(tmp_path):
    machine, user = tmp_path / "etc" / "config.toml", tmp_path / "home" / "config.toml"
    machine.parent.mkdir()
    return machine, user


@pytest.fixture
def open_dialog(qtbot, paths):
    def open_dialog(environ=None) -> SettingsDialog:
        machine, user = paths
        dialog = SettingsDialog(Settings.load(machine_path=machine, user_path=user, environ=environ or {}))
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        return dialog
    return open_dialog


def save_button(dialog: SettingsDialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Save)


def test_one_editor_per_declared_setting_of_the_right_kind(open_dialog):
    dialog = open_dialog()
    editors = {w.objectName().removeprefix("setting:"): w for w in dialog.findChildren(QWidget)
               if w.objectName().startswith("setting:")}
    assert sorted(editors) == sorted(s.name for s in SETTINGS)
    assert isinstance(editors["server_url"], QLineEdit)
    assert isinstance(editors["ui.layout"], QComboBox)
    assert [editors["ui.layout"].itemText(i) for i in range(3)] == ["auto", "desktop", "handheld"]
    assert isinstance(editors["sounds.enabled"], QCheckBox) and editors["sounds.enabled"].isChecked()
    assert isinstance(editors["sounds.volume"], QDoubleSpinBox) and editors["sounds.volume"].value() == 0.8
    gap = editors["scanner.max_gap_ms"]
    assert isinstance(gap, QSpinBox)
    assert (gap.minimum(), gap.maximum(), gap.value()) == (5, 500, 50)
    assert all(editor.height() >= 48 and editor.isEnabled() for editor in editors.values())
    assert dialog.findChild(QLabel, "label:scanner.max_gap_ms").text() == "Max gap (ms)"
    assert gap.toolTip() == SETTINGS[[s.name for s in SETTINGS].index("scanner.max_gap_ms")].description
    assert readable("ca_bundle") == "CA bundle" and readable("sounds.enabled") == "Enabled"


def test_the_dialog_fits_a_portrait_handheld(open_dialog):
    dialog = open_dialog()
    hint = dialog.minimumSizeHint()
    assert hint.width() <= 480 and hint.height() <= 800
    assert save_button(dialog).height() >= 48


def test_a_locked_setting_is_read_only_with_a_note(open_dialog, paths):
    machine, _ = paths
    machine.write_text('locked = ["server_url"]\nserver_url = "https://orders.example"\n', encoding="utf-8")
    dialog = open_dialog(environ={"FLOORHAND_SERVER_URL": "https://mine"})
    url = dialog.editor("server_url")
    assert not url.isEnabled()
    assert url.text() == "https://orders.example"
    notes = [label.text() for label in dialog.findChildren(QLabel, "note") if label.isVisible()]
    assert notes == [f"Set by your IT department: machine config ({machine}). "
                     "Ignored: environment (FLOORHAND_SERVER_URL)."]
    assert dialog.editor("device_name").isEnabled()


def test_save_writes_only_changed_values_and_emits_the_new_settings(qtbot, open_dialog, paths):
    _, user = paths
    dialog = open_dialog()
    dialog.editor("scanner.max_gap_ms").setValue(30)
    dialog.editor("ui.layout").setCurrentText("handheld")
    sounds = dialog.editor("sounds.enabled")
    dialog.findChild(QScrollArea).ensureWidgetVisible(sounds)
    qtbot.mouseClick(sounds, Qt.MouseButton.LeftButton, pos=QPoint(12, sounds.height() // 2))  # on the box
    with qtbot.waitSignal(dialog.saved) as saved:
        qtbot.mouseClick(save_button(dialog), Qt.MouseButton.LeftButton)

    assert tomllib.loads(user.read_text(encoding="utf-8")) == {
        "scanner": {"max_gap_ms": 30}, "ui": {"layout": "handheld"}, "sounds": {"enabled": False}}
    fresh = saved.args[0]
    assert fresh is dialog.result_settings
    assert (fresh["scanner.max_gap_ms"], fresh["ui.layout"], fresh["sounds.enabled"]) == (30, "handheld", False)
    assert dialog.restart_needed == ["ui.layout"]
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_a_restart_note_shows_while_a_restart_setting_differs(qtbot, open_dialog):
    dialog = open_dialog()
    line = dialog.editor("server_url")
    restart_notes = lambda: [n for n in dialog.findChildren(QLabel, "restart") if n.isVisible()]  # noqa: E731
    assert restart_notes() == []
    qtbot.keyClicks(line, "https://orders.example")
    assert [n.text() for n in restart_notes()] == ["Takes effect after Floorhand restarts."]
    line.clear()
    assert restart_notes() == []
    dialog.editor("scanner.min_length").setValue(9)  # applied while running: no note
    assert restart_notes() == []


def test_cancel_writes_nothing(qtbot, open_dialog, paths):
    _, user = paths
    dialog = open_dialog()
    dialog.editor("device_name").setText("pack-2")
    with qtbot.assertNotEmitted(dialog.saved):
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert dialog.result_settings is None
    assert not user.exists()


def test_a_refused_save_is_shown_inline_and_the_dialog_stays_open(qtbot, open_dialog, paths):
    machine, user = paths
    dialog = open_dialog()
    dialog.editor("scanner.max_gap_ms").setValue(20)
    machine.write_text('locked = ["scanner.max_gap_ms"]\n', encoding="utf-8")  # IT locks it while the dialog is open
    with qtbot.assertNotEmitted(dialog.saved):
        qtbot.mouseClick(save_button(dialog), Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert dialog.error.isVisible()
    assert dialog.error.text() == (f"Not saved: scanner.max_gap_ms is set by your IT department in {machine}; "
                                   "it cannot be changed here")
    assert not user.exists()


def test_values_from_the_environment_are_marked_and_problems_listed(open_dialog, paths):
    _, user = paths
    user.parent.mkdir()
    user.write_text('[scanner]\nmax_gap = 30\n', encoding="utf-8")
    dialog = open_dialog(environ={"FLOORHAND_OFFLINE_DAYS": "14"})
    assert dialog.editor("offline_days").value() == 14
    notes = [label.text() for label in dialog.findChildren(QLabel, "note") if label.isVisible()]
    assert notes == ["This run uses the value from the environment (FLOORHAND_OFFLINE_DAYS), "
                     "which wins over what is saved here."]
    assert dialog.problems.isVisible()
    assert "unknown setting 'scanner.max_gap' (did you mean 'scanner.max_gap_ms'?)" in dialog.problems.text()


def test_save_without_changes_writes_nothing(qtbot, open_dialog, paths):
    _, user = paths
    dialog = open_dialog()
    with qtbot.assertNotEmitted(dialog.saved):
        qtbot.mouseClick(save_button(dialog), Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.result_settings is dialog.settings
    assert not user.exists()


def test_settings_read_only_at_start_say_so_next_to_their_name(open_dialog):
    dialog = open_dialog()
    marks = dialog.findChildren(QLabel, "applies-after-restart")
    assert all(mark.text() == "Applies after a restart" for mark in marks)
    assert len(marks) == sum(1 for s in SETTINGS if s.restart)
    for setting in SETTINGS:
        heading = dialog.findChild(QLabel, f"label:{setting.name}") or dialog.editor(setting.name)
        top = heading.mapTo(dialog, QPoint(0, 0)).y()
        beside = [mark for mark in marks
                  if top <= mark.mapTo(dialog, QPoint(0, mark.height() // 2)).y() <= top + heading.height()]
        assert len(beside) == (1 if setting.restart else 0), setting.name
        if beside:  # on the right of the name, on the same line
            assert beside[0].mapTo(dialog, QPoint(0, 0)).x() > heading.mapTo(dialog, QPoint(0, 0)).x()
