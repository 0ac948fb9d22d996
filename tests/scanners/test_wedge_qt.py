"""Tests for scanners.wedge_qt: bursts never reach a focused text field, typing does."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from scanners.codes import Scan
from scanners.source import ScanSource
from scanners.wedge import WedgeSettings
from scanners.wedge_qt import WedgeScanner

# The offscreen platform plugin warns that it cannot resize windows to their size hints.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


class FakeClock:
    """Milliseconds that the test advances by hand, so no test waits for real time to pass."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def field(qtbot):
    window = QWidget()
    line = QLineEdit(window)
    QVBoxLayout(window).addWidget(line)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    line.setFocus()
    qtbot.waitUntil(lambda: QGuiApplication.focusObject() is line)
    yield line  # keeps the window alive for the test


def make_scanner(clock, settings=WedgeSettings()):
    scanner = WedgeScanner(settings, clock=clock)
    scanner.start()
    return scanner


@pytest.fixture
def scanner(clock):
    scanner = make_scanner(clock)
    yield scanner
    scanner.stop()


def press(widget, clock, keys, gap_ms):
    """Click keys (chars or Qt.Key values) into widget, advancing the clock gap_ms before each."""
    for key in keys:
        clock.now += gap_ms
        QTest.keyClick(widget, key)


def test_burst_is_swallowed_and_scanned(qtbot, field, clock, scanner):
    scans = []
    scanner.on_scan(scans.append)
    with qtbot.waitSignal(scanner.scanned) as blocker:
        press(field, clock, [*"4006381333931", Qt.Key.Key_Return], gap_ms=8)
    scan = blocker.args[0]
    assert isinstance(scan, Scan)
    assert (scan.raw, scan.source) == ("4006381333931", "wedge")
    assert scans == [scan]
    assert field.text() == ""


def test_burst_without_suffix_is_scanned_when_the_keys_stop(qtbot, field, clock, scanner):
    with qtbot.waitSignal(scanner.scanned) as blocker:
        press(field, clock, "T-0001", gap_ms=10)
    assert blocker.args[0].raw == "T-0001"
    assert field.text() == ""


def test_human_typing_lands_in_the_field(qtbot, field, clock, scanner):
    with qtbot.assertNotEmitted(scanner.scanned):
        press(field, clock, "hello", gap_ms=150)
        qtbot.waitUntil(lambda: field.text() == "hello")


def test_typing_then_scan_then_typing(qtbot, field, clock, scanner):
    press(field, clock, "ab", gap_ms=150)
    clock.now += 500
    with qtbot.waitSignal(scanner.scanned) as blocker:
        press(field, clock, [*"A-01-03-2", Qt.Key.Key_Tab], gap_ms=6)
    assert blocker.args[0].raw == "A-01-03-2"
    clock.now += 400
    press(field, clock, "c", gap_ms=150)
    qtbot.waitUntil(lambda: field.text() == "abc")


def test_short_fast_rollover_is_typing(qtbot, field, clock, scanner):
    with qtbot.assertNotEmitted(scanner.scanned):
        press(field, clock, "xy", gap_ms=20)
        qtbot.waitUntil(lambda: field.text() == "xy")


def test_arrow_key_releases_held_typing_first(qtbot, field, clock, scanner):
    press(field, clock, "ab", gap_ms=150)
    press(field, clock, [Qt.Key.Key_Left], gap_ms=150)
    press(field, clock, "X", gap_ms=150)
    qtbot.waitUntil(lambda: field.text() == "aXb")


def test_stop_gives_back_held_keys_and_removes_the_filter(qtbot, field, clock):
    scanner = make_scanner(clock)
    press(field, clock, "q", gap_ms=150)
    assert field.text() == ""  # held: it could be the start of a burst
    scanner.stop()
    assert field.text() == "q"
    with qtbot.assertNotEmitted(scanner.scanned):
        press(field, clock, [*"40063813", Qt.Key.Key_Return], gap_ms=5)
    assert field.text() == "q40063813"


def test_prefixed_scanner(qtbot, field, clock):
    scanner = make_scanner(clock, WedgeSettings(prefix="$", min_length=1))
    try:
        with qtbot.waitSignal(scanner.scanned) as blocker:
            press(field, clock, [*"$U0001", Qt.Key.Key_Return], gap_ms=120)
        assert blocker.args[0].raw == "U0001"
        press(field, clock, "ok", gap_ms=5)
        assert field.text() == "ok"  # without the prefix, keys are not even held
    finally:
        scanner.stop()


def test_is_a_scan_source(clock):
    assert isinstance(WedgeScanner(clock=clock), ScanSource)


def test_new_settings_apply_to_the_next_keys(qtbot, field, clock, scanner):
    scanner.configure(WedgeSettings(prefix="##"))
    scans = []
    scanner.on_scan(scans.append)
    press(field, clock, [*"##T-0001", Qt.Key.Key_Return], gap_ms=120)  # slow, but prefixed: a scan now
    assert [s.raw for s in scans] == ["T-0001"]
    assert field.text() == ""
