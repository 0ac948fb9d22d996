"""The handheld layout at 480 x 800 and the desktop one: nothing clipped, nothing overlapping, nothing moving, big
targets."""

from datetime import datetime, timezone

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QRect, Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractScrollArea, QLabel, QLineEdit, QProgressBar, QWidget

from desktop_app.workflows.exceptions import ExceptionCard
from sync.connectivity import SyncState
from sync.engine import SyncStatus
from tests.desktop_app.appdriver import assign_totes, start_batch

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

CONTROLS = (QLabel, QAbstractButton, QLineEdit, QProgressBar)


def _in_scroll_area(w: QWidget) -> bool:
    p = w.parentWidget()
    while p is not None:
        if isinstance(p, QAbstractScrollArea):
            return True
        p = p.parentWidget()
    return False


def layout_problems(window: QWidget, min_touch: int = 48) -> list[str]:
    """Every visible control that is clipped, overlaps another one, or is too small to tap."""
    problems, placed = [], []
    frame = window.rect()
    for w in window.findChildren(QWidget):
        if not isinstance(w, CONTROLS) or not w.isVisibleTo(window) or _in_scroll_area(w):
            continue
        name = f"{type(w).__name__}({w.objectName() or getattr(w, 'text', lambda: '')()[:30]!r})"
        rect = QRect(w.mapTo(window, w.rect().topLeft()), w.size())
        if not frame.contains(rect):
            problems.append(f"{name} at {rect} is outside the window {frame}")
        parent = w.parentWidget()
        if parent is not None and not parent.rect().contains(w.geometry()):
            problems.append(f"{name} at {w.geometry()} is clipped by its parent {parent.rect()}")
        if isinstance(w, QLabel) and w.text():
            if w.wordWrap():
                if w.heightForWidth(w.width()) > w.height() + 1:
                    problems.append(f"{name} needs {w.heightForWidth(w.width())} px of height, has {w.height()}")
            elif w.minimumSizeHint().width() > w.width() + 1 and w.sizePolicy().horizontalPolicy() != \
                    w.sizePolicy().Policy.Ignored:
                problems.append(f"{name} needs {w.minimumSizeHint().width()} px of width, has {w.width()}")
        if isinstance(w, (QAbstractButton, QLineEdit)):
            if w.height() < min_touch:
                problems.append(f"{name} is {w.height()} px high, under {min_touch} px")
            if isinstance(w, QAbstractButton) and w.sizeHint().width() > w.width() + 1:
                problems.append(f"{name} text needs {w.sizeHint().width()} px, has {w.width()}")
        for other_name, other in placed:
            if rect.intersects(other):
                problems.append(f"{name} at {rect} overlaps {other_name} at {other}")
        placed.append((name, rect))
    return problems


def settle(d) -> None:
    d.qtbot.wait(50)
    # A sync status that changed during the wait (the scan's action going out) has posted a
    # layout request of its own: run the pending ones so the measurement sees the laid-out screen.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)


@pytest.mark.parametrize("layout, size", [("handheld", (480, 800)), ("desktop", (1280, 800))])
def test_every_picking_screen_fits(drive, layout, size):
    d = drive(**{"ui.layout": layout})
    d.window.resize(*size)
    screens = {}
    settle(d)
    screens["sign-in"] = layout_problems(d.window)
    d.sign_in()
    settle(d)
    screens["start"] = layout_problems(d.window)
    start_batch(d)
    settle(d)
    screens["totes"] = layout_problems(d.window)
    assign_totes(d)
    card = d.picking.session.current()
    d.scan(card.location_label)
    d.scan("4012345678901" if card.gtin != "4012345678901" else "4006381333931")  # a long red message
    settle(d)
    screens["task"] = layout_problems(d.window)
    d.scan(card.gtin)
    d.press(Qt.Key.Key_F5)
    settle(d)
    screens["count"] = layout_problems(d.window)
    d.press(Qt.Key.Key_Escape)
    d.press(Qt.Key.Key_F6)
    settle(d)
    screens["short"] = layout_problems(d.window)

    assert d.window.size().width() == size[0] and d.window.size().height() == size[1]
    assert {k: v for k, v in screens.items() if v} == {}


def test_the_handheld_exceptions_list_fits_a_narrow_screen(drive):
    d = drive(**{"ui.layout": "handheld"})
    d.window.resize(480, 800)
    d.sign_in("sam")
    d.window.nav_buttons["exceptions"].click()
    view = d.app.station.section("exceptions").view
    card = ExceptionCard("m1", 7, "Pick confirmed", "anna", "2026-11-23T10:00:00+00:00", "today 10:00",
                         "task 12 at A-01-03-2, 2 items", "order_cancelled",
                         "Order SO-100021 was cancelled; this pick is not booked.",
                         "Put the 2 items back at A-01-03-2 and empty the tote.")
    view.show_cards([card, card.__class__(**{**card.__dict__, "mutation_id": "m2"})], True)
    settle(d)
    assert layout_problems(d.window) == []
    assert view.scroll.horizontalScrollBar().maximum() == 0


def test_a_small_screen_gets_the_handheld_layout(drive):
    from PySide6.QtCore import QSize

    from desktop_app.views.shell.style import choose_layout

    assert choose_layout("auto", QSize(480, 800)).handheld
    assert choose_layout("auto", QSize(600, 1024)).handheld
    assert not choose_layout("auto", QSize(1280, 800)).handheld
    assert not choose_layout("desktop", QSize(480, 800)).handheld
    assert choose_layout("handheld", QSize(1920, 1080)).handheld


def control_places(window: QWidget) -> dict[str, QRect]:
    """Where every visible button and entry field is, in window coordinates."""
    places = {}
    for w in window.findChildren(QWidget):
        if isinstance(w, (QAbstractButton, QLineEdit)) and w.isVisibleTo(window):
            name = f"{type(w).__name__}({w.objectName() or w.text()!r})"
            places[name] = QRect(w.mapTo(window, w.rect().topLeft()), w.size())
    return places


@pytest.mark.parametrize("layout, size", [("handheld", (480, 800)), ("desktop", (1280, 800))])
def test_no_control_moves_when_the_network_drops(drive, restart_server, layout, size):
    stop, _ = restart_server
    d = drive(**{"ui.layout": layout})
    d.window.resize(*size)
    d.sign_in("anna")
    start_batch(d)
    d.qtbot.waitUntil(lambda: d.app.sync_signals.last is not None and not d.window.offline.isVisible(), timeout=15_000)
    settle(d)
    online = control_places(d.window)
    assert any(name.startswith("NavButton") for name in online) and "QLineEdit('manual-entry')" in online

    stop()
    d.app.core.engine.kick()
    d.qtbot.waitUntil(lambda: d.window.offline.isVisible(), timeout=15_000)
    settle(d)
    assert "OFFLINE" in d.window.offline.text()
    assert control_places(d.window) == online
    assert layout_problems(d.window) == []


def test_the_handheld_menu_items_are_big_enough_to_tap(drive):
    d = drive(**{"ui.layout": "handheld"})
    d.window.resize(480, 800)
    d.sign_in("sam")
    menu = d.window.menu_button.menu()
    items = [a for a in menu.actions() if a.isVisible() and not a.isSeparator()]
    assert [a.text() for a in items] == ["Devices", "Settings", "Sign out"]  # two rows of buttons are full
    heights = {a.text(): menu.actionGeometry(a).height() for a in items}
    assert min(heights.values()) >= 48, heights


def _status(state: SyncState, pending: int = 0, rejected: int = 0, **flags) -> SyncStatus:
    at = datetime(2026, 11, 23, 14, 2, 11, tzinfo=timezone.utc)
    return SyncStatus(state=state, pending=pending, rejected=rejected, oldest_pending_age_s=None, last_push_at=at,
                      last_pull_at=at, last_error=flags.pop("last_error", None), stuck=flags.pop("stuck", False),
                      cursor=1, stale=flags.pop("stale", False))


STATUSES = [_status(SyncState.IDLE), _status(SyncState.SYNCING, 12, 3), _status(SyncState.CONNECTING, 7),
            _status(SyncState.OFFLINE, 1250, 12), _status(SyncState.AUTH_REQUIRED, 4),
            _status(SyncState.ERROR, 30, last_error="The server answered 502 Bad Gateway"),
            _status(SyncState.DEVICE_REFUSED, 8), _status(SyncState.IDLE, 40, stuck=True),
            _status(SyncState.IDLE, stale=True)]


def test_the_handheld_status_line_says_everything_at_480_px(server, drive):
    from desktop_app.views.shell.status_bar import FitLabel

    server.add_user("josephine", "picker", pin="1111")
    d = drive(**{"ui.layout": "handheld"})
    d.window.resize(480, 800)
    d.sign_in("josephine")
    bar = d.window.status
    height = bar.height()
    for status in STATUSES:
        bar.show_status(status)
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        shown = [w for w in (bar.state, bar.details, bar.notice, d.window.who) if w.isVisibleTo(d.window)]
        assert d.window.who in shown and "Josephine" in d.window.who.text()
        for label in shown:
            room = label.width() - (16 if isinstance(label, FitLabel) else 0)
            needed = label.fontMetrics().horizontalAdvance(label.text())
            assert needed <= room, f"{status.state} {label.objectName()}: {label.text()!r} needs {needed} px of {room}"
            if isinstance(label, FitLabel):
                assert label.text() == label.full_text, f"{status.state}: {label.full_text!r} was shortened"
        assert bar.height() == height
