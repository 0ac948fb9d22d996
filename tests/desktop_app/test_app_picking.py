"""The whole app, built by its composition root, picking by scans against the real reference API."""

import pytest
from PySide6.QtCore import Qt

from order_api.models import Order, PickTask
from order_api.server import start_in_thread
from order_api.settings import ServerSettings
from sync.connectivity import SyncState
from tests.desktop_app.appdriver import assign_totes, pick_current, start_batch

# The offscreen platform warns that it cannot resize windows to their size hints.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def server_tasks(server, batch_id):
    with server.db.read() as s:
        return {t.id: (t.status, t.picked_qty) for t in s.query(PickTask).filter_by(batch_id=batch_id)}


def test_a_batch_picked_by_scans_alone_reaches_the_server(server, drive):
    d = drive()
    d.scan("U0001")  # badge on the sign-in screen: only the PIN is left to type
    assert d.window.signin.username.text() == "Badge U0001"
    assert d.focus() is d.window.signin.pin
    d.window.signin.pin.setText("1111")
    d.press(Qt.Key.Key_Return)
    d.qtbot.waitUntil(lambda: d.app.station.person is not None, timeout=15_000)
    assert d.app.station.person.username == "anna"
    assert [b.objectName() for b in d.window.nav_buttons.values() if b.isVisible()] == ["nav:pick", "nav:exceptions"]

    start_batch(d)
    batch_id = d.picking.session.batch_id
    assign_totes(d)
    while d.picking.pages.currentWidget() is d.picking.task_page:
        pick_current(d)

    assert d.picking.pages.currentWidget() is d.picking.summary_page
    assert d.banner()[0] == "done"
    assert "done" in d.picking.summary_page.title.text()
    d.qtbot.waitUntil(lambda: all(status == "done" for status, _ in server_tasks(server, batch_id).values()),
                      timeout=15_000)
    assert {qty for _, qty in server_tasks(server, batch_id).values()} == {2}

    # The next batch: T-0001 now holds a picked order waiting for packing. It is refused on the
    # spot, by order number, and nothing is queued to come back later as an exception.
    with server.db.read() as s:
        held = s.query(Order).filter_by(batch_id=batch_id, tote="T-0001").one().number
    start_batch(d)
    before = d.outbox()
    d.scan("T-0001")
    assert d.banner() == ("reject", f"T-0001 holds {held}: scan an empty tote")
    assert d.outbox() == before
    assert d.picking.pages.currentWidget() is d.picking.tote_page


def test_wrong_location_and_wrong_product_change_nothing(drive):
    d = drive()
    d.sign_in()
    start_batch(d)
    assign_totes(d)
    before = d.outbox()
    card = d.picking.session.current()

    d.scan("C-01-01-2" if card.location_label != "C-01-01-2" else "B-02-01-1")
    assert d.banner()[0] == "reject" and "Wrong location" in d.banner()[1]
    assert d.app.feedback.banner.background == "#c62828"  # the red flash
    d.scan(card.location_label)
    d.scan("4012345678901" if card.gtin != "4012345678901" else "4006381333931")
    assert d.banner()[0] == "reject" and "Wrong product" in d.banner()[1]
    d.scan("12345")
    assert d.banner()[0] == "reject"

    assert d.outbox() == before
    assert d.picking.session.current() == card.__class__(**{**card.__dict__, "location_confirmed": True})


def test_undo_skip_and_short_from_the_keyboard(drive):
    d = drive()
    d.sign_in()
    start_batch(d)
    assign_totes(d)
    first = d.picking.session.current()
    d.scan(first.location_label)
    d.scan(first.gtin)
    assert d.picking.session.current().picked_qty == 1

    d.press(Qt.Key.Key_F8)  # undo the last scan
    assert d.outbox()[-1][0] == "pick.undo"
    assert d.picking.session.current().picked_qty == 0

    d.press(Qt.Key.Key_F7)  # skip to the end of the walk
    second = d.picking.session.current()
    assert second.task_id != first.task_id

    d.press(Qt.Key.Key_F6)  # short: the reason page
    assert d.picking.pages.currentWidget() is d.picking.short_page
    d.press(Qt.Key.Key_2)  # damaged
    assert d.outbox()[-1] == ("pick.short", {"task": second.task_id, "reason": "damaged"})
    assert d.picking.session.current().task_id != second.task_id
    # The server offers the rest from another bin; the screen says so when the pull brings it.
    d.qtbot.waitUntil(lambda: any("Also at B-02-01-1: added to the end of the walk" in message
                                  for _, message in d.said), timeout=15_000)
    assert d.picking.session.summary().lines_total == 3

    counted = False

    def walk():
        nonlocal counted
        while d.picking.pages.currentWidget() is d.picking.task_page:
            card = d.picking.session.current()
            if card.task_id != first.task_id:
                pick_current(d)  # a short may be offered again from another bin
                continue
            d.scan(card.location_label)
            d.scan(card.gtin)
            d.press(Qt.Key.Key_F5)  # count the rest by hand
            assert d.picking.pages.currentWidget() is d.picking.count_page, d.said[-6:]
            assert d.focus() is d.picking.count_page.entry
            d.picking.count_page.entry.setText("1")
            d.press(Qt.Key.Key_Return)
            counted = True

    walk()
    # The short is offered again from another bin once the server has answered: pick that too.
    d.qtbot.waitUntil(lambda: d.app.core.outbox.counts()[0] == 0, timeout=15_000)
    d.app.core.engine.pull_now()
    d.picking.refresh()
    walk()
    assert counted
    assert d.picking.pages.currentWidget() is d.picking.summary_page, d.banner()
    summary = d.picking.session.summary()
    assert summary.lines_short == 1 and summary.lines_picked == summary.lines_total - 1


def _cancel_while_the_device_is_away(tmp_path, order_id: int) -> None:
    """A supervisor cancels an order through a second API process on the same database."""
    office = start_in_thread(ServerSettings(db_url=f"sqlite:///{tmp_path}/server.db",
                                            blob_store=f"fs:{tmp_path}/office-blobs"))
    try:
        from tests.order_api.harness import DeviceKeys

        with DeviceKeys().signed_in(office.url, {"username": "sam", "pin": "1111", "device_id": "office"}) as http:
            r = http.post(f"/v1/orders/{order_id}/cancel")
            assert r.status_code == 200, r.text
    finally:
        office.stop()


def test_a_batch_picked_offline_syncs_later_and_a_cancelled_order_becomes_an_exception(
        server, restart_server, drive, tmp_path):
    stop, start = restart_server
    d = drive()
    d.sign_in()
    start_batch(d)
    batch_id = d.picking.session.batch_id
    assign_totes(d)
    d.qtbot.waitUntil(lambda: d.app.core.outbox.counts()[0] == 0, timeout=15_000)  # the totes reached the server
    stop()
    first = d.picking.session.current()
    while d.picking.pages.currentWidget() is d.picking.task_page:
        pick_current(d)
    assert d.picking.pages.currentWidget() is d.picking.summary_page
    d.qtbot.waitUntil(lambda: d.window.offline.isVisible(), timeout=15_000)
    assert "OFFLINE" in d.window.offline.text()
    assert d.app.sync_signals.last.state is SyncState.OFFLINE and d.app.sync_signals.last.pending > 0

    with server.db.read() as s:
        cancelled_order = s.get(PickTask, first.task_id).line.order_id
    _cancel_while_the_device_is_away(tmp_path, cancelled_order)
    start()
    d.app.core.engine.kick()

    d.qtbot.waitUntil(lambda: d.app.sync_signals.last.pending == 0 and d.app.sync_signals.last.rejected > 0,
                      timeout=20_000)
    d.qtbot.waitUntil(lambda: not d.window.offline.isVisible(), timeout=15_000)
    tasks = server_tasks(server, batch_id)
    assert tasks[first.task_id] == ("open", 0)  # the cancelled order's goods were not booked
    assert all(v == ("done", 2) for k, v in tasks.items() if k != first.task_id)

    # The Exceptions button counts them, whichever section is on screen.
    d.qtbot.waitUntil(lambda: d.window.nav_buttons["exceptions"].badge == "2", timeout=5_000)
    d.window.nav_buttons["exceptions"].click()
    view = d.app.station.section("exceptions").view
    d.qtbot.waitUntil(lambda: len(view.cards) == 2, timeout=10_000)
    text = " ".join(label.text() for card in view.cards for label in card.findChildren(type(d.window.who)))
    assert "cancelled" in text.lower() and first.location_label in text


def test_the_accept_of_a_pick_comes_only_once_the_pick_is_on_disk(drive):
    from tests.journalgate import JournalGate, journal_actions

    d = drive()
    d.sign_in()
    start_batch(d)
    assign_totes(d)
    card = d.picking.session.current()
    d.scan(card.location_label)
    journal = d.app.core.store.journal.path
    # What a fresh connection finds in the journal file at the moment each verdict is shown.
    on_disk_when_shown = []
    d.app.feedback.shown.connect(lambda kind, message: on_disk_when_shown.append(
        (kind, sum(name == "pick.confirm" for _, _, name in journal_actions(journal)))))
    before = d.said[-1]

    gate = JournalGate(d.app.core.store.journal)
    d.scan(card.gtin, wait=False)
    d.qtbot.waitUntil(gate.entered.is_set, timeout=15_000)  # the event loop runs meanwhile
    assert d.picking.verdicts_waiting == 1
    assert d.said[-1] == before and on_disk_when_shown == []  # no sound, no flash, no text yet
    assert d.picking.session.current().picked_qty == 1  # the next scan is judged with it
    assert not any(name == "pick.confirm" for _, _, name in journal_actions(journal))

    gate.open()
    d.wait_for_verdicts()
    assert d.banner() == ("accept", f"1 of {card.qty} {card.product_name}")
    assert on_disk_when_shown == [("accept", 1)]
    assert d.picking.task_page.qty.text() == f"{card.qty - 1} of {card.qty} still to pick"


def test_on_a_full_disk_a_scan_is_refused_in_plain_words_and_the_same_scan_works_once_there_is_room(drive):
    from tests.diskfull import make_room
    from tests.journalgate import fill_to_the_brim

    d = drive()
    d.sign_in()
    start_batch(d)
    assign_totes(d)
    card = d.picking.session.current()
    d.scan(card.location_label)
    before = d.outbox()

    fill_to_the_brim(d.app.core.store.journal)
    d.scan(card.gtin)
    assert d.banner() == ("reject", "Not saved: the disk of this device is full. Nothing was recorded; call IT, "
                                    "then scan again.")
    assert d.outbox() == before
    assert d.picking.session.current() == card.__class__(**{**card.__dict__, "location_confirmed": True})
    assert d.picking.task_page.qty.text() == f"{card.qty} of {card.qty} still to pick"

    make_room(d.app.core.store.journal)
    d.scan(card.gtin)
    assert d.banner()[0] == "accept" and d.picking.session.current().picked_qty == 1
    assert d.outbox()[len(before):] == [("pick.confirm", {"task": card.task_id, "location": card.location_label,
                                                          "qty": 1, "barcode": "0" + card.gtin})]


def test_a_batch_that_cannot_be_got_is_told_in_plain_words(drive, monkeypatch):
    d = drive()
    d.sign_in()

    def broken():
        raise RuntimeError("sqlite3.OperationalError at 0x7f3a: no such table r_pick_batch")

    monkeypatch.setattr(d.picking.session, "start", broken)
    d.press(Qt.Key.Key_Return)
    d.qtbot.waitUntil(lambda: d.picking.start_page.button.isEnabled(), timeout=15_000)
    said = "Could not get a batch. Press Enter to try again; if it happens again, call IT."
    assert d.banner() == ("reject", said)
    assert d.picking.start_page.message.text() == said
