"""One device, several people in a shift: the whole app on the real reference API (SQLite and PostgreSQL).

After every switch the local data and every screen are exactly the new person's scope, the
previous person's session and banners are gone (or kept intact when a switch fails and Back
resumes), and work queued offline goes out by itself once the server answers.
"""

import pytest
from PySide6.QtCore import Qt

from order_api.feed import publish_shot
from order_api.models import ShotListItem
from sync.connectivity import SyncState
from tests.desktop_app.appdriver import assign_totes, make_driver, pick_current, start_batch
from tests.order_api import harness, scenario

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def station_server(tmp_path, db_url):
    """The reference API with a picker, a supervisor and a studio shot list, on SQLite and on PostgreSQL."""
    h = harness.start(tmp_path / "server", db_url)
    h.warehouse = scenario.build(h.db, batches=3)
    for name, roles, badge in (("anna", "picker", "U0001"), ("sam", "supervisor", "U0004")):
        h.add_user(name, roles, pin="1111", badge=badge)
    with h.db.write() as s:
        shot = ShotListItem(product_id=h.warehouse.products[0], status="open")
        s.add(shot)
        s.flush()
        publish_shot(s, shot)
    yield h
    h.stop()


@pytest.fixture
def station(qtbot, station_server, tmp_path):
    d = make_driver(qtbot, tmp_path, station_server.url, name="station")
    yield d
    d.app.close()


def badge_in(d, badge: str, pin: str = "1111") -> None:
    """Scan a badge over whoever is signed in, then type the PIN and Enter."""
    before = d.app.station.person
    d.scan(badge)
    d.qtbot.waitUntil(lambda: d.window.stack.currentWidget() is d.window.signin, timeout=5_000)
    d.window.signin.pin.setText(pin)
    d.press(Qt.Key.Key_Return)
    d.qtbot.waitUntil(lambda: d.app.station.person is not before and d.app.station.person is not None
                      or bool(d.window.signin.error.text()), timeout=15_000)


def anna_picks_a_batch(d) -> None:
    """anna signs in by name, her scope is pulled, she claims a batch and puts totes on its orders."""
    d.sign_in("anna")
    caught_up(d)
    start_batch(d)
    assign_totes(d, first=21)


def caught_up(d) -> None:
    d.qtbot.waitUntil(lambda: d.app.sync_signals.last is not None and d.app.sync_signals.last.state is SyncState.IDLE
                      and d.app.core.engine.cursor() > 0, timeout=20_000)


def test_the_data_and_screens_follow_each_person_on_a_shared_device(station, station_server):
    d, server = station, station_server
    anna_picks_a_batch(d)
    pick_current(d)
    anna_batch = d.picking.session.batch_id
    last_banner = d.banner()
    assert d.app.core.view.rows("order") == [] and d.app.core.view.rows("shot") == []

    badge_in(d, "U0004")  # sam, the supervisor, badges in over anna
    assert d.app.station.person.username == "sam"
    assert d.banner() != last_banner and "Sam" in d.banner()[1]  # anna's last verdict is gone
    d.qtbot.waitUntil(lambda: len(d.app.core.view.rows("order")) == len(server.warehouse.orders)
                      and len(d.app.core.view.rows("shot")) == 1, timeout=20_000)
    assert {r["id"] for r in d.app.core.view.rows("order")} == set(server.warehouse.orders)  # office orders
    assert d.window.nav_buttons["devices"].isVisible() and d.window.nav_buttons["pack"].isVisible()
    d.window.nav_buttons["devices"].click()
    d.qtbot.waitUntil(lambda: len(d.app.station.section("devices").view.cards) >= 1, timeout=10_000)
    names = [card.row.name for card in d.app.station.section("devices").view.cards]
    assert any("this device" in card.title.text() for card in d.app.station.section("devices").view.cards), names

    badge_in(d, "U0001")  # anna again
    assert d.app.station.person.username == "anna"
    caught_up(d)
    assert d.app.core.view.rows("order") == [] and d.app.core.view.rows("shot") == []  # none of sam's data
    assert not d.window.nav_buttons["devices"].isVisible() and not d.window.nav_buttons["pack"].isVisible()
    assert {t["batch_id"] for t in d.app.core.view.rows("pick_task")} == {anna_batch}
    assert d.app.station.current_section() == "pick"
    # anna's picks went out under whichever session was there, each as anna.
    d.qtbot.waitUntil(lambda: d.app.sync_signals.last.pending == 0, timeout=15_000)
    with server.db.read() as s:
        from sqlalchemy import select

        from order_api.models import MutationResult

        users = set(s.execute(select(MutationResult.username)).scalars())
    assert users == {"anna"}


def test_a_wrong_pin_during_a_switch_then_back_keeps_the_session_working(station, station_server):
    d, server = station, station_server
    anna_picks_a_batch(d)
    session_before = d.app.core.api.person
    badge_in(d, "U0004", pin="0000")  # sam fumbles his PIN
    assert "Wrong PIN" in d.window.signin.error.text()
    assert d.app.core.api.person is session_before  # nothing changed hands
    d.window.signin.cancel.click()  # Back
    assert d.app.station.person.username == "anna" and d.window.stack.currentWidget() is d.picking
    pick_current(d)
    d.qtbot.waitUntil(lambda: d.app.sync_signals.last.pending == 0, timeout=15_000)  # the next push succeeded
    outcome = d.app.core.api.renew_batch(d.picking.session.batch_id)  # and a lease renewal
    assert outcome["batch"]["claimed_by"] == d.app.station.person.user_id


def test_offline_sign_in_without_a_keyring_sends_the_work_once_the_server_answers(qtbot, server, restart_server,
                                                                                 tmp_path):
    """A kiosk without a keyring: anna signs in offline, picks, and nothing more is asked of her."""
    stop, start = restart_server
    first = make_driver(qtbot, tmp_path, server.url, name="kiosk", keyring="none")
    first.sign_in("anna")  # online once: the device registers and keeps anna's offline sign-in
    caught_up(first)
    start_batch(first)
    assign_totes(first, first=21)
    qtbot.waitUntil(lambda: first.app.sync_signals.last.pending == 0, timeout=15_000)
    first.app.close()
    stop()

    d = make_driver(qtbot, tmp_path, server.url, name="kiosk", keyring="none")  # the kiosk restarted, offline
    try:
        d.sign_in("anna")
        assert d.app.station.person.online is False
        assert d.app.station.person.note is None  # her offline sign-in holds a ticket: no "sign in again" note
        d.press(Qt.Key.Key_Return)  # continue the batch on the device
        qtbot.waitUntil(lambda: d.picking.pages.currentWidget() is d.picking.task_page, timeout=15_000)
        pick_current(d)
        pick_current(d)
        waiting = d.app.core.outbox.counts()[0]
        assert waiting >= 2
        seen = []
        d.app.sync_signals.status_changed.connect(seen.append)
        start()  # the server is back; nobody signs in again
        d.app.core.engine.kick()
        qtbot.waitUntil(lambda: any(s.pending == 0 for s in seen), timeout=30_000)
        # Online from the first call that got through, not after a long poll.
        first_answer = next(s for s in seen if s.last_push_at is not None or s.last_pull_at is not None)
        assert first_answer.state in (SyncState.SYNCING, SyncState.IDLE), [s.state for s in seen]
        qtbot.waitUntil(lambda: d.window.status.state.text() == "● Online", timeout=5_000)
        assert not d.window.offline.isVisible()
        with server.db.read() as s:
            from sqlalchemy import func, select

            from order_api.models import MutationResult

            applied = s.execute(select(func.count()).select_from(MutationResult)
                                .where(MutationResult.status == "applied")).scalar_one()
        assert applied >= waiting
    finally:
        d.app.close()


def test_a_device_taken_out_of_service_says_so_on_its_screen_and_keeps_its_work(station, station_server):
    d, server = station, station_server
    d.sign_in("anna")
    caught_up(d)
    start_batch(d)
    sam = server.sign_in("sam", pin="1111", device_id="office-7")
    assert sam.http.post(f"/v1/devices/{d.app.core.device.device_id}/revoke").status_code == 200
    assign_totes(d, first=21)  # work goes on locally and is kept
    d.qtbot.waitUntil(lambda: d.window.offline.isVisible() and "DEVICE NOT ACCEPTED" in d.window.offline.text(),
                      timeout=15_000)
    assert "Call IT" in d.window.offline.text()
    assert d.window.status.state.text() == "● Device not accepted"
    assert d.app.sync_signals.last.pending > 0
