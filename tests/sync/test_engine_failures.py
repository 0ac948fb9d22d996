"""The sync engine when things go wrong while it runs: damaged files, exceptions nobody planned for, half-working
servers, and people coming and going; always against the real reference API on loopback."""

import threading

import httpx

from sync.connectivity import SyncState
from sync.engine import EngineOptions
from sync.retry import Backoff, RetryPolicy
from sync.store.database import JOURNAL_FILE, REPLICA_FILE
from tests.sync.conftest import wait_until

FAST = EngineOptions(long_poll_s=2.0, backoff=Backoff(base=0.05, cap=0.2))


def _core(server, open_core, user="anna", **kwargs):
    kwargs.setdefault("options", FAST)
    core = open_core(server.url, **kwargs)
    core.signin.online(username=user, pin="1111")
    return core


def _pick(core, task, qty=1):
    return core.outbox.append("anna", "pick.confirm", {"task": task["id"], "location": task["location_label"],
                                                     "qty": qty, "barcode": task["gtin"]})


def _damage(path) -> None:
    """Overwrite every page but the header page, as a failing disk or a stray program would."""
    raw = bytearray(path.read_bytes())
    for offset in range(4096, len(raw), 4096):
        raw[offset:offset + 4096] = b"\xa5" * 4096
    path.write_bytes(bytes(raw))


class Flaky(httpx.BaseTransport):
    """Real HTTP, except for the paths told to fail; counts what it saw."""

    def __init__(self, failing: dict[str, httpx.Response]) -> None:
        self._real = httpx.HTTPTransport()
        self.failing, self.seen = failing, []
        self.first_failure = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.url.path)
        answer = self.failing.get(request.url.path)
        if answer is not None:
            self.first_failure.set()
            return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)
        return self._real.handle_request(request)

    def close(self) -> None:
        self._real.close()


def test_a_replica_damaged_while_the_engine_runs_is_rebuilt_and_nothing_queued_is_lost(server, open_core, tmp_path):
    core = _core(server, open_core)
    task = core.api.claim_batches()[0]["tasks"][0]
    core.engine.sync_once()
    server.server.stop()  # the queued pick must survive the rebuild, so it may not go out first
    queued = _pick(core, task)
    core.store.replica.dispose()  # the bytes below are read from disk, not from a connection's cache
    _damage(tmp_path / "client" / REPLICA_FILE)
    status = core.engine.pull_now()
    assert "damaged" in (status.last_error or "") and status.state is SyncState.ERROR
    assert [m.id for m in core.outbox.pending()] == [queued.id]
    assert any(p.name.startswith(f"{REPLICA_FILE}.damaged-") for p in (tmp_path / "client").iterdir())
    from order_api.server import start_in_thread
    from order_api.settings import ServerSettings

    port = int(server.url.rsplit(":", 1)[1])
    again = start_in_thread(ServerSettings(db_url=f"sqlite:///{tmp_path}/server.db",
                                           blob_store=f"fs:{tmp_path}/server/blobs", public_url=server.url), port=port)
    try:
        core.engine.kick()
        status = core.engine.sync_once()
        assert status.pending == 0 and status.last_error is None
        assert core.view.row("pick_task", task["id"])["picked_qty"] == 1  # pulled again, the pick counted once
    finally:
        again.stop()


def test_a_journal_damaged_while_running_stops_the_workers_and_says_so(server, open_core, tmp_path):
    core = _core(server, open_core)
    core.engine.start()
    core.engine.wait_for(lambda s: s.state is SyncState.IDLE, 30)
    core.store.journal.dispose()
    _damage(tmp_path / "client" / JOURNAL_FILE)
    core.engine.kick()
    status = core.engine.wait_for(lambda s: "journal is damaged" in (s.last_error or ""), 30)
    assert "journal is damaged" in status.last_error and str(tmp_path / "client") in status.last_error
    assert status.state is SyncState.ERROR
    for thread in core.engine._threads:
        thread.join(10)
        assert not thread.is_alive(), f"{thread.name} goes on writing into a damaged journal"


def test_an_exception_in_the_push_worker_is_survived_and_shown(server, open_core, monkeypatch, caplog):
    core = _core(server, open_core)
    task = core.api.claim_batches()[0]["tasks"][0]
    real, raised = core.outbox.pending, []

    def pending_once_broken(*args, **kwargs):
        if not raised:
            raised.append(True)
            raise RuntimeError("injected: the push worker meets something nobody planned for")
        return real(*args, **kwargs)

    monkeypatch.setattr(core.outbox, "pending", pending_once_broken)
    seen = []
    core.engine.subscribe(seen.append)
    _pick(core, task)
    core.engine.start()
    status = core.engine.wait_for(lambda s: s.pending == 0, 30)
    assert raised and status.pending == 0
    assert any("unexpected problem" in (s.last_error or "") for s in seen)
    assert "injected" not in "".join(s.last_error or "" for s in seen)  # people read plain words
    assert "injected: the push worker" in caplog.text  # the log has the detail


def test_an_exception_in_the_pull_worker_is_survived_and_shown(server, open_core, monkeypatch):
    from sync.store import replica

    core = _core(server, open_core, user="sam")
    real, raised = replica.pull_plan, []

    def plan_once_broken(conn):
        if not raised:
            raised.append(True)
            raise KeyError("injected")
        return real(conn)

    monkeypatch.setattr(replica, "pull_plan", plan_once_broken)
    seen = []
    core.engine.subscribe(seen.append)
    core.engine.start()
    core.engine.wait_for(lambda s: s.state is SyncState.IDLE and s.cursor > 0, 30)
    assert raised and any("unexpected problem" in (s.last_error or "") for s in seen)
    assert core.view.rows("order")  # it went on and pulled the office data


def test_a_push_retrying_against_a_busy_server_does_not_hold_the_pull_back(server, open_core):
    busy = httpx.Response(503, headers={"Retry-After": "30"})
    flaky = Flaky({"/v1/sync/push": busy})
    core = _core(server, open_core, transport=flaky, retry=RetryPolicy(attempts=3, backoff=Backoff(base=30, cap=30)))
    task = core.api.claim_batches()[0]["tasks"][0]
    core.engine.sync_once()
    _pick(core, task)
    core.engine.start()
    assert flaky.first_failure.wait(30)  # the pusher now waits about 30 s before its next attempt
    sam = server.sign_in("sam", pin="1111", device_id="office")
    assert sam.http.post(f"/v1/orders/{task['order_id']}/cancel").status_code == 200
    done = threading.Event()
    threading.Thread(target=lambda: (core.engine.pull_now(), done.set()), daemon=True).start()
    assert done.wait(10), "the pull waited for the push's retry cycle"
    assert core.view.row("pick_task", task["id"])["order_status"] == "cancelled"
    assert flaky.seen.count("/v1/sync/push") == 1


def test_pulls_that_keep_failing_while_pushes_work_ring_the_stale_alarm(server, open_core):
    flaky = Flaky({})
    core = _core(server, open_core, transport=flaky,
                 options=EngineOptions(long_poll_s=2.0, stuck_after_s=0.5, backoff=Backoff(0.05, 0.2)))
    task = core.api.claim_batches()[0]["tasks"][0]
    core.engine.sync_once()
    flaky.failing["/v1/sync/pull"] = httpx.Response(500)
    core.engine.start()
    _pick(core, task)
    status = core.engine.wait_for(lambda s: s.stale, 30)
    assert status.stale and not status.stuck and status.pending == 0


def test_queued_work_goes_out_when_a_person_signs_in_and_no_wake_up_is_lost(server, open_core):
    core = open_core(server.url, options=FAST)
    core.engine.start()
    core.signin.online(username="anna", pin="1111")
    task = core.api.claim_batches()[0]["tasks"][0]
    for round_ in range(3):
        core.signin.sign_out()
        core.engine.wait_for(lambda s: s.state is SyncState.AUTH_REQUIRED or s.pending == 0, 5)
        _pick(core, task)  # queued while nobody is signed in: nothing can go out
        wait_until(lambda: core.engine.connectivity.state is SyncState.AUTH_REQUIRED, "the engine to wait for a sign-in")
        assert core.engine.status().pending == 1
        core.signin.online(username="anna", pin="1111")
        status = core.engine.wait_for(lambda s: s.pending == 0 and s.state is SyncState.IDLE, 30)
        assert status.pending == 0 and status.state is SyncState.IDLE, f"round {round_}: {status}"


def test_a_switch_abandons_the_long_poll_and_pulls_the_new_scope_at_once(server, open_core):
    core = _core(server, open_core, options=EngineOptions(long_poll_s=25.0))
    core.engine.start()
    core.engine.wait_for(lambda s: s.state is SyncState.IDLE, 30)
    wait_until(lambda: any(t.name == "sync-long-poll" and t.is_alive() for t in threading.enumerate()),
               "anna's long poll")
    assert core.view.rows("order") == []  # a picker does not read the office's orders
    core.signin.online(username="sam", pin="1111")
    # Well inside the 25 s of anna's poll: the new scope is asked for at once.
    status = core.engine.wait_for(lambda s: len(core.view.rows("order")) == len(server.warehouse.orders), 10)
    assert len(core.view.rows("order")) == len(server.warehouse.orders), status


def test_a_switch_does_not_count_work_already_shown_twice(server, open_core):
    server.add_user("sue", "supervisor", pin="1111")
    core = _core(server, open_core, user="sam")
    task = core.api.claim_batches()[0]["tasks"][0]
    core.engine.sync_once()
    core.outbox.append("sam", "pick.confirm", {"task": task["id"], "location": task["location_label"], "qty": 1,
                                               "barcode": task["gtin"]})
    core.engine.sync_once()  # pushed, acknowledged and pulled: the replica shows it, nothing is laid over it
    assert core.view.row("pick_task", task["id"])["picked_qty"] == 1
    core.signin.online(username="sue", pin="1111")  # her own audience starts at cursor 0; office stays
    with core.store.replica.read() as conn:
        from sync.store import replica

        assert replica.cursor(conn) == 0 and replica.cursors(conn)["office"] > 0
    assert core.view.row("pick_task", task["id"])["picked_qty"] == 1  # office's copy has it: not 2
    core.engine.sync_once()
    assert core.view.row("pick_task", task["id"])["picked_qty"] == 1
