"""The station: switching user by badge, offline sign-in, sections by role, settings, and the command line."""

import subprocess
import sys
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from desktop_app.main import main, overrides_of, parse_args
from desktop_app.settings import Settings
from desktop_app.views.settings_dialog import SettingsDialog
from sync.connectivity import SyncState
from tests.desktop_app.appdriver import assign_totes, start_batch

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def test_scanning_another_badge_switches_user_and_back_returns(drive):
    d = drive()
    d.sign_in("anna")
    start_batch(d)
    assign_totes(d)
    anna_session = d.picking.session

    d.scan("U0004")  # sam's badge, while anna is picking
    assert d.window.stack.currentWidget() is d.window.signin
    assert d.window.signin.username.text() == "Badge U0004" and d.focus() is d.window.signin.pin
    d.window.signin.cancel.click()  # Back: anna goes on where she was
    assert d.app.station.person.username == "anna" and d.picking.session is anna_session
    assert d.picking.pages.currentWidget() is d.picking.task_page

    d.scan("U0004")
    d.window.signin.pin.setText("1111")
    d.press(Qt.Key.Key_Return)
    d.qtbot.waitUntil(lambda: d.app.station.person.username == "sam", timeout=15_000)
    visible = [name for name, b in d.window.nav_buttons.items() if b.isVisible()]
    assert visible == ["pick", "pack", "studio", "exceptions", "devices"]
    assert d.picking.session is not anna_session and d.picking.session.user == "sam"
    d.window.nav_buttons["pack"].click()
    assert d.app.station.current_section() == "pack" and d.app.packing.view.session.user == "sam"
    d.window.nav_buttons["studio"].click()
    studio = d.app.station.section("studio")
    assert d.app.station.current_section() == "studio" and studio.session.user == "sam"
    assert studio.view.active.sku.text() == "Scan a sample or a product to start"


def test_the_status_line_follows_counts_at_its_own_pace_and_news_at_once(drive):
    # Every stored scan, push and pulled page sends a status; the line is laid out for at most a
    # few of them a second, so a picker's scans keep the screen's thread. Offline is told at once.
    d = drive()
    d.sign_in("anna")
    d.qtbot.waitUntil(lambda: d.app.station._status is not None, timeout=15_000)
    bar, now = d.window.status, d.app.station._status
    shown = []
    real = bar.show_status
    bar.show_status = lambda status: shown.append(status) or real(status)
    d.qtbot.waitUntil(lambda: not d.app.station._status_due.isActive(), timeout=5_000)  # the last turn is over
    shown.clear()
    for pending in range(1, 41):
        d.app.sync_signals.status_changed.emit(replace(now, state=SyncState.IDLE, pending=pending))
    assert [s.pending for s in shown] == [1]  # the first at once
    d.qtbot.waitUntil(lambda: shown[-1].pending == 40, timeout=2_000)  # the last one when its turn comes
    assert len(shown) == 2 and "40 actions waiting" in bar.details.text()
    d.app.sync_signals.status_changed.emit(replace(now, state=SyncState.OFFLINE, pending=40))
    assert shown[-1].state is SyncState.OFFLINE  # not after the line's turn: at once


def test_on_the_sign_in_form_anything_but_a_badge_is_told_as_not_a_badge(drive):
    # Four digits typed at a scanner's speed, or a product scanned by habit: the form says what it
    # wants, never the classifier's reason about product codes.
    d = drive()
    for code in ("4444", "4006381333931", "A-01-01-1"):
        d.scan(code)
        assert d.window.signin.error.text() == "That was not a badge. Scan your badge, or type your name and PIN."
        assert d.banner() == ("reject", d.window.signin.error.text())
    d.scan("U0001")  # anna's badge
    assert d.window.signin.username.text() == "Badge U0001"


def test_a_wrong_pin_is_shown_in_the_form_and_the_next_try_works(drive):
    d = drive()
    signin = d.window.signin
    signin.username.setText("anna")
    signin.pin.setText("0000")
    signin.sign_in.click()
    d.qtbot.waitUntil(lambda: signin.error.text() != "", timeout=15_000)
    assert "Wrong PIN" in signin.error.text() and d.banner()[0] == "reject"
    assert signin.pin.text() == "" and signin.sign_in.isEnabled()
    d.sign_in("anna", "1111")


def test_signing_in_offline_with_the_kept_pin_after_an_online_sign_in(server, restart_server, drive):
    stop, _ = restart_server
    d = drive()
    d.sign_in("anna")
    d.window.sign_out_requested.emit()
    stop()
    signin = d.window.signin
    signin.username.setText("anna")
    signin.pin.setText("1111")
    signin.sign_in.click()
    d.qtbot.waitUntil(lambda: d.app.station.person is not None or bool(signin.error.text()), timeout=15_000)
    assert signin.error.text() == ""
    assert d.app.station.person.online is False
    assert "offline" in d.window.who.text()
    d.press(Qt.Key.Key_Return)  # no batch was claimed on this device, and claiming needs the server
    d.qtbot.waitUntil(lambda: d.said[-1][0] == "reject", timeout=15_000)
    assert "No batch on this device" in d.said[-1][1]
    assert d.picking.pages.currentWidget() is d.picking.start_page


def test_the_settings_dialog_shows_locked_keys_read_only_and_applies_sound_changes(drive, tmp_path):
    (tmp_path / "machine.toml").write_text('locked = ["scanner.max_gap_ms"]\n[scanner]\nmax_gap_ms = 30\n')
    d = drive()
    assert d.app.settings["scanner.max_gap_ms"] == 30 and d.app.settings.locked("scanner.max_gap_ms")
    d.window.settings_requested.emit()
    dialog = d.window.findChild(SettingsDialog)
    assert dialog is not None and dialog.isVisible()
    assert not dialog.editor("scanner.max_gap_ms").isEnabled()
    dialog.editor("sounds.enabled").setChecked(False)
    dialog.save()
    d.qtbot.waitUntil(lambda: d.app.feedback.sounds_enabled is False)
    assert Settings.load(machine_path=tmp_path / "machine.toml", user_path=tmp_path / "user.toml",
                         environ={})["sounds.enabled"] is False


def test_command_line_options_become_the_top_settings_layer():
    args = parse_args(["--server", "https://orders.example", "--handheld", "--set", "scanner.max_gap_ms=30"])
    assert overrides_of(args) == {"server_url": "https://orders.example", "ui.layout": "handheld",
                                  "scanner.max_gap_ms": "30"}
    with pytest.raises(SystemExit):
        overrides_of(parse_args(["--set", "no-equals-sign"]))


def test_without_a_server_the_app_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FLOORHAND_MACHINE_CONFIG", str(tmp_path / "machine.toml"))
    monkeypatch.setenv("FLOORHAND_USER_CONFIG", str(tmp_path / "user.toml"))
    monkeypatch.delenv("FLOORHAND_SERVER_URL", raising=False)
    assert main([]) == 2
    assert "--demo" in capsys.readouterr().err


def test_floorhand_status_still_runs_headless(tmp_path):
    run = subprocess.run([sys.executable, "-m", "desktop_app.main", "--data-dir", str(tmp_path), "status"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "pending: 0" in run.stdout
