"""The sync engine against the real reference API: push, pull, rejections, reset, outages."""

import random
import time

from order_api.retention import purge_tombstones
from order_api.server import start_in_thread
from sync.connectivity import SyncState
from sync.engine import EngineOptions
from sync.retry import Backoff
from tests.sync.conftest import wait_until
from tests.sync.rows import complete

FAST = EngineOptions(long_poll_s=2.0, backoff=Backoff(base=0.05, cap=0.2))


def _signed_in(server, open_core, user="anna", **kwargs):
    kwargs.setdefault("options", FAST)
    core = open_core(server.url, **kwargs)
    core.signin.online(username=user, pin="1111")
    core.engine.signed_in()
    return core


def _claim(core):
    return core.api.claim_batches()[0]


def _pick(core, task, qty=None):
    return core.outbox.append("anna", "pick.confirm", {"task": task["id"], "location": task["location_label"],
                                                     "qty": qty or task["qty"], "barcode": task["gtin"]})


def test_sync_once_pulls_the_scope_and_pushes_the_queue(server, open_core):
    core = _signed_in(server, open_core)
    batch = _claim(core)
    task = batch["tasks"][0]
    _pick(core, task, 1)
    status = core.engine.sync_once()
    assert status.pending == 0 and status.last_error is None
    assert status.state is SyncState.IDLE
    row = core.view.row("pick_task", task["id"])
    assert row["picked_qty"] == 1
    with server.db.read() as s:
        from order_api.models import PickTask
        assert s.get(PickTask, task["id"]).picked_qty == 1


def test_the_view_is_server_state_plus_pending_mutations(server, open_core):
    core = _signed_in(server, open_core)
    task = _claim(core)["tasks"][0]
    core.engine.sync_once()
    _pick(core, task, 1)
    assert core.view.row("pick_task", task["id"])["picked_qty"] == 1  # predicted, not yet sent
    with core.store.replica.read() as conn:
        from sync.store import replica
        assert replica.load(conn, "pick_task", id=task["id"])[0]["picked_qty"] == 0
    core.engine.sync_once()
    assert core.view.row("pick_task", task["id"])["picked_qty"] == 1  # now server state, counted once


def test_background_engine_pushes_as_soon_as_something_is_queued(server, open_core):
    core = _signed_in(server, open_core)
    task = _claim(core)["tasks"][0]
    core.engine.start()
    core.engine.wait_for(lambda s: s.state is SyncState.IDLE, 30)
    _pick(core, task)
    status = core.engine.wait_for(lambda s: s.pending == 0 and core.view.row("pick_task", task["id"])["status"] == "done", 30)
    assert status.pending == 0
    assert core.view.row("pick_task", task["id"])["status"] == "done"


def test_a_change_on_the_server_reaches_the_replica_by_long_poll(server, open_core):
    core = _signed_in(server, open_core, user="sam")
    core.engine.start()
    core.engine.wait_for(lambda s: s.state is SyncState.IDLE, 30)
    sam = server.sign_in("sam", pin="1111", device_id="office")
    order_id = server.warehouse.orders[0]
    assert sam.http.post(f"/v1/orders/{order_id}/cancel").status_code == 200
    core.engine.wait_for(lambda s: (core.view.row("order", order_id) or {}).get("status") == "cancelled", 30)
    assert core.view.row("order", order_id)["status"] == "cancelled"


def test_changes_trickling_in_are_pulled_in_paced_rounds_and_all_arrive(server, open_core):
    # Another device changing one thing after another would otherwise end a long poll each time: a
    # round (request, page, store, status) per change, on the same interpreter as the screen.
    options = EngineOptions(long_poll_s=5.0, pull_pace_s=5.0, backoff=Backoff(base=0.05, cap=0.2))
    core = _signed_in(server, open_core, user="sam", options=options)
    core.engine.start()
    core.engine.wait_for(lambda s: s.state is SyncState.IDLE, 30)
    asked, pull = [], core.api.pull
    core.api.pull = lambda *args, **kwargs: asked.append(args) or pull(*args, **kwargs)
    office = server.sign_in("sam", pin="1111", device_id="office")
    orders = server.warehouse.orders[:12]
    for order_id in orders:  # back to back: each commit answers an open long poll at once
        assert office.http.post(f"/v1/orders/{order_id}/cancel").status_code == 200
    core.engine.wait_for(lambda s: all((core.view.row("order", o) or {}).get("status") == "cancelled"
                                       for o in orders), 30)
    assert all(core.view.row("order", o)["status"] == "cancelled" for o in orders)
    assert 1 <= len(asked) <= 2  # rounds at most 5 s apart: the first change, then the rest (6 unpaced)


def test_a_burst_of_scans_goes_out_in_one_push_after_the_burst(server, open_core):
    # Each push is a request and journal bookkeeping on the interpreter the screen shares: it waits
    # for the rest of the burst instead of going out inside each scan's verdict.
    options = EngineOptions(long_poll_s=2.0, push_gather_s=0.5, backoff=Backoff(base=0.05, cap=0.2))
    core = _signed_in(server, open_core, options=options)
    tasks = _claim(core)["tasks"]
    core.engine.start()
    core.engine.wait_for(lambda s: s.state is SyncState.IDLE, 30)
    pushed, push = [], core.api.push
    core.api.push = lambda device, mutations, *args, **kwargs: pushed.append(len(mutations)) or push(
        device, mutations, *args, **kwargs)
    for n in range(8):  # some are over-picks the server refuses: they go out all the same
        _pick(core, tasks[n % len(tasks)], 1)
    assert core.engine.wait_for(lambda s: s.pending == 0, 30).pending == 0
    assert pushed == [8]


def test_a_backlog_queued_before_the_start_goes_out_without_waiting_for_a_burst(server, open_core):
    # The gather is for scans arriving while the engine runs; a backlog is complete when it starts.
    options = EngineOptions(long_poll_s=2.0, push_gather_s=60.0, backoff=Backoff(base=0.05, cap=0.2))
    core = _signed_in(server, open_core, options=options)
    tasks = _claim(core)["tasks"]
    for n in range(4):
        _pick(core, tasks[n % len(tasks)], 1)
    core.engine.start()
    assert core.engine.wait_for(lambda s: s.pending == 0, 20).pending == 0  # not after the 60 s gather


def test_a_pick_for_an_order_cancelled_meanwhile_lands_in_the_rejected_list(server, open_core):
    core = _signed_in(server, open_core)
    task = _claim(core)["tasks"][0]
    core.engine.sync_once()
    sam = server.sign_in("sam", pin="1111", device_id="office")
    sam.http.post(f"/v1/orders/{task['order_id']}/cancel")
    _pick(core, task)
    status = core.engine.sync_once()
    assert status.pending == 0 and status.rejected == 1
    [rejected] = core.outbox.rejected()
    assert rejected.code == "order_cancelled" and rejected.mutation.args["task"] == task["id"]
    assert core.view.row("pick_task", task["id"])["picked_qty"] == 0


def test_offline_then_online(server, open_core, tmp_path):
    core = _signed_in(server, open_core)
    task = _claim(core)["tasks"][0]
    core.engine.sync_once()
    url, port = server.url, int(server.url.rsplit(":", 1)[1])
    server.server.stop()
    _pick(core, task, 1)
    status = core.engine.sync_once()
    assert status.state is SyncState.OFFLINE and status.pending == 1
    assert core.view.row("pick_task", task["id"])["picked_qty"] == 1
    from order_api.settings import ServerSettings
    restarted = start_in_thread(ServerSettings(db_url=f"sqlite:///{tmp_path}/server.db",
                                               blob_store=f"fs:{tmp_path}/server/blobs", public_url=url), port=port)
    try:
        core.engine.connectivity.fire("retry")
        status = core.engine.sync_once()
        assert status.pending == 0 and status.last_error is None or status.state is SyncState.IDLE
        assert core.view.row("pick_task", task["id"])["picked_qty"] == 1
    finally:
        restarted.stop()


def test_reset_rebuilds_the_replica_and_keeps_the_outbox(server, open_core):
    core = _signed_in(server, open_core)
    batch = _claim(core)
    core.engine.sync_once()
    sam = server.sign_in("sam", pin="1111", device_id="office")
    server.add_user("piet", "picker")
    sam.http.post(f"/v1/pick-batches/{batch['batch']['id']}/reassign", json={"username": "piet"})
    # The tombstones of the reassigned batch are purged before this client saw them.
    assert purge_tombstones(server.db, older_than_s=0) > 0
    queued = _pick(core, batch["tasks"][0], 1)
    status = core.engine.pull_now()
    assert status.last_error is None
    assert [m.id for m in core.outbox.pending()] == [queued.id]
    assert core.view.rows("pick_task") == []  # the batch left anna's scope: gone after the rebuild
    assert len(core.view.rows("product")) == 2


def test_a_damaged_replica_is_rebuilt_and_queued_mutations_survive(server, open_core, tmp_path):
    core = _signed_in(server, open_core)
    task = _claim(core)["tasks"][0]
    core.engine.sync_once()
    queued = _pick(core, task, 1)
    core.close()
    replica_file = tmp_path / "client" / "replica.sqlite3"
    raw = bytearray(replica_file.read_bytes())
    garbage = random.Random(7)
    for offset in range(4096, len(raw), 4096 * 3):  # every third page but the header page
        raw[offset:offset + 4096] = garbage.randbytes(4096)
    replica_file.write_bytes(bytes(raw))
    again = open_core(server.url, options=FAST)
    assert again.store.replica_rebuilt
    assert [m.id for m in again.outbox.pending()] == [queued.id]
    again.signin.online(username="anna", pin="1111")
    again.engine.signed_in()
    status = again.engine.sync_once()
    assert status.pending == 0
    assert again.view.row("pick_task", task["id"])["picked_qty"] == 1


def test_the_stuck_queue_alarm_rings_when_pushes_fail_while_the_server_answers(server, open_core):
    from datetime import datetime, timedelta, timezone

    from sync.outbox import Outbox

    core = _signed_in(server, open_core, options=EngineOptions(stuck_after_s=300, backoff=Backoff(0.05, 0.2)))
    long_ago = datetime.now(timezone.utc) - timedelta(minutes=10)
    # A mutation the server refuses as a whole request (413, body too large) blocks the queue.
    Outbox(core.store, clock=lambda: long_ago).append("anna", "pick.confirm", {"task": 1, "note": "x" * 3_000_000})
    status = core.engine.sync_once()
    assert status.pending == 1 and status.last_pull_at is not None
    assert "larger than" in (status.last_error or "")
    assert status.stuck is True
    assert status.oldest_pending_age_s >= 600


def test_a_page_with_a_row_that_does_not_fit_stores_nothing_and_says_why(open_core):
    """A valid row before the bad one is not stored either: the page and its cursor go together."""
    import httpx

    from sync.answers import Tokens

    good = {"entity": "pick_task", "id": "4", "op": "upsert", "version": 9, "audience": "floor",
            "data": complete("pick_task", id=4, batch_id=1, route_key="A")}
    bad = {"entity": "pick_task", "id": "5", "op": "upsert", "version": 10, "audience": "floor",
           "data": complete("pick_task", id=5, batch_id={"nested": 1}, route_key="A")}
    pages = [{"changes": [good, bad], "cursor": 10, "has_more": False, "reset": False, "audiences": ["floor"]},
             {"changes": [good], "cursor": 10, "has_more": False, "reset": False, "audiences": ["floor"]}]

    def feed(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages.pop(0) if len(pages) > 1 else pages[0])

    core = open_core("http://feed.invalid", transport=httpx.MockTransport(feed), options=FAST)
    core.engine.set_scope(["floor"])
    core.api.install("anna", Tokens("access", "refresh", 900))
    status = core.engine.pull_now()
    assert "pick_task '5'" in status.last_error and "cannot be stored" in status.last_error
    assert core.engine.cursor() == 0 and core.view.row("pick_task", 4) is None
    status = core.engine.pull_now()  # the server sends a good page again
    assert core.engine.cursor() == 10 and core.view.row("pick_task", 4)["route_key"] == "A"


def _long_polls() -> list:
    import threading

    return [t for t in threading.enumerate() if t.name == "sync-long-poll" and t.is_alive()]


def test_stopping_does_not_wait_for_a_long_poll_and_nothing_is_stored_after(server, open_core):
    core = _signed_in(server, open_core, user="sam", options=EngineOptions(long_poll_s=25.0))
    core.engine.start()
    core.engine.wait_for(lambda s: s.state is SyncState.IDLE, 30)
    wait_until(lambda: _long_polls(), "the engine's long poll")  # the puller is waiting on the server now
    cursor = core.engine.cursor()
    [poll] = _long_polls()
    puller = next(t for t in core.engine._threads if t.name == "sync-pull")
    core.engine.stop()
    assert not puller.is_alive() and poll.is_alive(), "stop() waited for the long poll"
    # News on the server answers the poll; the stopped engine must store none of it.
    sam = server.sign_in("sam", pin="1111", device_id="office")
    order_id = server.warehouse.orders[0]
    assert sam.http.post(f"/v1/orders/{order_id}/cancel").status_code == 200
    poll.join(30)
    assert not poll.is_alive()
    assert core.engine.cursor() == cursor and core.view.row("order", order_id)["status"] != "cancelled"


def test_a_full_disk_stops_the_pull_with_the_reason_and_it_resumes_once_there_is_room(server, open_core):
    from tests.diskfull import fill_up, make_room

    from order_api.feed import publish_product
    from order_api.models import Product

    with server.db.write() as s:  # a catalogue that cannot fit into the empty replica's pages
        products = [Product(sku=f"BULK-{n}", gtin=f"20{n:011d}", name=f"Bulk item {n} " + "x" * 100, length_mm=1,
                            width_mm=1, height_mm=1, weight_g=1) for n in range(300)]
        s.add_all(products)
        s.flush()
        for p in products:
            publish_product(s, p)
    core = _signed_in(server, open_core, user="sam")
    fill_up(core.store.replica)
    status = core.engine.pull_now()
    assert status.last_error == "the disk of this device is full"
    assert status.state is SyncState.ERROR
    make_room(core.store.replica)
    assert core.engine.cursor() == 0  # nothing of the page was kept
    status = core.engine.pull_now()
    assert status.state is not SyncState.ERROR and core.engine.cursor() > 0
    assert core.view.row("product", products[-1].id)["sku"] == "BULK-299"

