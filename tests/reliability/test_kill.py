"""kill -9 of the client during push and initial pull, and of the server mid-sync (ARCHITECTURE.md §2, §3, §7).

Nothing the client acknowledged may be lost or applied twice, and the replica must end
equal to what the server shows a fresh device.
"""

import math
import random
from collections import Counter

import pytest
from sqlalchemy import func, select

from order_api.changes import audiences_for
from order_api.db import Database
from order_api.models import Change, Device, MutationResult, PickEvent, PickTask, Stock
from order_api.models.base import utcnow
from order_api.seed import bench, load_rows
from sync.client import ClientCore
from sync.connectivity import SyncState
from sync.engine import EngineOptions
from sync.outbox import Outbox
from sync.retry import Backoff
from sync.store import replica
from sync.credentials import SecretStore, choose_keyring
from sync.store.database import LocalStore
from sync.store.schema import outbox, sync_state
from tests.reliability.conftest import PICKER, PIN, WAIT_S, add_user, fresh_pull, replica_rows, signed_in_http

FAST = EngineOptions(push_batch=10, long_poll_s=2.0, backoff=Backoff(base=0.05, cap=0.2))
SLOW_TIMEOUT_S = 1800


def open_client(data_dir, url: str, options: EngineOptions = FAST) -> ClientCore:
    """A client core in this process, signed in with the PIN (no keyring, as in the workers)."""
    core = ClientCore.open(data_dir, url, keyring="none", options=options)
    core.signin.online(username=PICKER, pin=PIN)
    core.engine.signed_in()
    return core


def pick(core: ClientCore, task: dict) -> str:
    return core.outbox.append(PICKER, "pick.confirm", {"task": task["id"], "location": task["location"], "qty": 1,
                                                       "barcode": task["barcode"]}).id


def applied_but_pending(data_dir, server_db: Database) -> set[str]:
    """Mutations the server has applied while the client's journal still waits for the answer."""
    store = LocalStore.open(data_dir)
    try:
        with store.journal.read() as conn:
            pending = list(conn.execute(select(outbox.c.id).where(outbox.c.state == "pending")).scalars())
    finally:
        store.close()
    with server_db.read() as s:
        return set(s.scalars(select(MutationResult.id).where(MutationResult.id.in_(pending))))


class SameDevice:
    """The killed client's device, signed in from the test: its empty push queues behind the device's own."""

    def __init__(self, http, device_id: str) -> None:
        self.http, self.device_id = http, device_id

    def wait_for_push_in_flight(self) -> None:
        """Return once a push the killed process left on the wire has committed or rolled back.

        The server finishes a request whose client died; checking before that would miss a
        mutation that is applied a moment later. The device's row lock (PostgreSQL) or the
        one writer (SQLite) makes this empty push wait for it.
        """
        r = self.http.post("/v1/sync/push", json={"device_id": self.device_id, "schema_version": 1, "mutations": []})
        assert r.status_code == 200, r.text


def same_device(data_dir, url: str) -> SameDevice:
    store = LocalStore.open(data_dir)
    try:
        device_id = Outbox(store).device_id()
    finally:
        store.close()
    # The workers keep no keyring: the device's credential is in the data folder's secrets file.
    secrets = SecretStore(choose_keyring("none"), data_dir).load(device_id)
    return SameDevice(signed_in_http(url, PICKER, device_id, device_secret=secrets.credential), device_id)


def assert_applied_exactly_once(floor, store, acknowledged: set[str]) -> None:
    """Every mutation the journal ever made reached the server once, with exactly its effects."""
    with store.journal.read() as conn:
        state = dict(conn.execute(select(sync_state.c.key, sync_state.c.value)).all())
        queued = conn.execute(select(outbox.c.seq, outbox.c.id, outbox.c.name, outbox.c.args, outbox.c.state)
                              .order_by(outbox.c.seq)).all()
    last_seq = int(state["last_seq"])
    assert [q.seq for q in queued] == list(range(1, last_seq + 1)), "the journal lost a mutation"
    assert acknowledged <= {q.id for q in queued}, "an acknowledged mutation is missing from the journal"
    assert Counter(q.state for q in queued) == Counter(done=last_seq)

    with floor.db.read() as s:
        device_seq = s.scalar(select(Device.last_seq).where(Device.id == state["device_id"]))
        results = {r.id: (r.seq, r.status, r.code) for r in s.scalars(
            select(MutationResult).where(MutationResult.device_id == state["device_id"]))}
        events = [(e.mutation_id, e.undone) for e in s.scalars(select(PickEvent))]
        tasks = {t.id: (t.picked_qty, t.line.picked_qty, (t.location_id, t.line.product_id))
                 for t in s.scalars(select(PickTask))}
        stock = {st.id: (st.qty, (st.location_id, st.product_id)) for st in s.scalars(select(Stock))}
    assert device_seq == last_seq
    assert results == {q.id: (q.seq, "applied", None) for q in queued}

    confirms = {q.id: q.args for q in queued if q.name == "pick.confirm"}
    undos = [q.args for q in queued if q.name == "pick.undo"]
    assert Counter(mutation_id for mutation_id, _ in events) == Counter(confirms.keys()), \
        "a pick was recorded twice, or without a mutation behind it"
    assert sorted(mutation_id for mutation_id, undone in events if undone) == sorted(a["confirmation"] for a in undos)
    net = Counter(a["task"] for a in confirms.values())
    net.subtract(a["task"] for a in undos)
    assert {task_id: picked for task_id, (picked, _, _) in tasks.items()} == {t: net[t] for t in tasks}
    assert all(task_picked == line_picked for task_picked, line_picked, _ in tasks.values())
    moved = Counter()
    for task_id, (_, _, bin_product) in tasks.items():
        moved[bin_product] += net[task_id]
    assert {sid: qty for sid, (qty, _) in stock.items()} == {
        sid: floor.stock_before[sid] - moved[bin_product] for sid, (_, bin_product) in stock.items()}


def assert_replica_converged(core: ClientCore, floor) -> None:
    """The replica holds exactly what a new device of the picker pulls; the view shows the server's picks."""
    rows = replica_rows(core.store)
    assert rows == fresh_pull(floor.server.url, PICKER)
    shown = {str(task["id"]): task for task in core.view.rows("pick_task")}
    assert shown == {row_id: data for (entity, row_id), data in rows.items() if entity == "pick_task"}
    with floor.db.read() as s:
        on_server = {str(task.id): task.picked_qty for task in s.scalars(select(PickTask))}
    assert {row_id: task["picked_qty"] for row_id, task in shown.items()} == on_server


# Each round is a worker process started and killed (2-3 s): the default run does a few, `-m slow` 200.
@pytest.mark.parametrize("rounds", [8, pytest.param(200, marks=[pytest.mark.slow,
                                                                  pytest.mark.timeout(SLOW_TIMEOUT_S)])])
def test_kill_during_push(picking_floor, run_worker, tmp_path, rounds):
    rng = random.Random(f"push/{rounds}")
    data_dir = tmp_path / "client"
    acknowledged: set[str] = set()
    in_doubt, device = 0, None
    for n in range(rounds):
        worker = run_worker("push", "--data-dir", str(data_dir), "--server", picking_floor.server.url,
                            "--user", PICKER, "--tasks", picking_floor.tasks_json, "--count", "1000000",
                            "--seed", str(n), "--filing-delay-ms", "30")
        # Kill after a random number of appends and then of answered pushes: the kill lands
        # while appending, while a push is in flight, or while its results are being filed.
        assert worker.wait_lines("ACK", rng.randint(1, 40)), worker.stderr()
        assert worker.wait_lines("PUSHED", rng.randint(0, 3)), worker.stderr()
        worker.kill()
        acked = {mutation_id for mutation_id, _name in worker.words("ACK")}
        assert acked, worker.stderr()
        acknowledged |= acked
        if device is None:
            device = same_device(data_dir, picking_floor.server.url)
        device.wait_for_push_in_flight()
        in_doubt += len(applied_but_pending(data_dir, picking_floor.db))

    device.http.close()
    assert in_doubt, "no kill landed between the server's commit and the client filing the answer"

    core = open_client(data_dir, picking_floor.server.url)
    try:
        status = core.engine.sync_once()
        assert (status.pending, status.rejected, status.last_error) == (0, 0, None)
        assert_applied_exactly_once(picking_floor, core.store, acknowledged)
        assert_replica_converged(core, picking_floor)
    finally:
        core.close()


@pytest.mark.parametrize("rounds, scale", [(8, 0.02), pytest.param(200, 0.1, marks=[
    pytest.mark.slow, pytest.mark.timeout(SLOW_TIMEOUT_S)])])
def test_kill_during_initial_pull(tmp_path, db_url, server_process, run_worker, rounds, scale):
    limit = 50
    db = Database(db_url)
    db.create_schema()
    load_rows(db, "bench", lambda: bench.build(utcnow(), scale=scale))
    user_id = add_user(db, "sue", "supervisor")  # the widest scope of the feed
    with db.read() as s:
        feed_rows = s.scalar(select(func.count()).select_from(Change)
                             .where(Change.audience.in_(audiences_for(["supervisor"], user_id))))
    db.dispose()
    full_pages = math.ceil(feed_rows / limit)
    assert full_pages > rounds * 3, "the feed must outlast the rounds"
    server = server_process(db_url)
    data_dir = tmp_path / "client"
    rng = random.Random(f"pull/{rounds}")

    def sync(*, kill_after: int | None):
        worker = run_worker("pull", "--data-dir", str(data_dir), "--server", server.url, "--user", "sue",
                            "--pull-limit", str(limit))
        if kill_after is None:
            assert worker.finish() == 0, worker.stderr()
        else:
            assert worker.wait_lines("PAGE", kill_after), worker.stderr()
            worker.kill()
        assert "full resync" not in worker.stderr()
        [[start]] = worker.words("START")
        return int(start), [int(c) for [c] in worker.words("PAGE")], worker.words("DONE")

    runs = [sync(kill_after=rng.randint(1, 3)) for _ in range(rounds)]
    runs.append(sync(kill_after=None))

    starts = [start for start, _, _ in runs]
    assert starts[0] == 0 and all(start > 0 for start in starts[1:])
    for (_, pages, _), (next_start, _, _) in zip(runs, runs[1:]):
        # Every announced page was committed with its cursor: the next run starts after it.
        assert pages == sorted(pages) and next_start >= pages[-1]
    assert [done for _, _, done in runs[:-1]] == [[]] * rounds, "a killed run finished the sync"
    assert sum(len(pages) for _, pages, _ in runs) <= full_pages, "pages were fetched again"

    [[final_cursor, _pending]] = runs[-1][2]
    store = LocalStore.open(data_dir)
    try:
        assert replica_rows(store) == fresh_pull(server.url, "sue")
        with store.replica.read() as conn:
            assert replica.cursor(conn) == int(final_cursor)
    finally:
        store.close()


def test_server_killed_and_restarted_mid_sync(picking_floor, tmp_path):
    core = open_client(tmp_path / "client", picking_floor.server.url)
    try:
        assert core.engine.sync_once().last_error is None
        states: list[SyncState] = []
        core.engine.subscribe(lambda status: states.append(status.state))
        total = 300
        queued = {pick(core, picking_floor.tasks[i % 4]) for i in range(total)}
        core.engine.start()
        core.engine.wait_for(lambda s: s.pending <= total - 2 * FAST.push_batch, WAIT_S)
        picking_floor.server.kill()
        status = core.engine.wait_for(lambda s: s.state is SyncState.OFFLINE, WAIT_S)
        assert status.state is SyncState.OFFLINE
        assert 0 < status.pending < total, "the server must die in the middle of the push"

        offline_from = len(states)

        picking_floor.server.start()  # same port and database file; no kick, no call from here

        def idle_again(status) -> bool:
            # Listeners hear of a change just after wait_for does: wait for the record too.
            return status.pending == 0 and SyncState.IDLE in states[offline_from:]

        status = core.engine.wait_for(idle_again, WAIT_S)
        assert idle_again(status), states[offline_from:]
        assert (status.pending, status.rejected) == (0, 0)
        core.engine.stop()
        core.engine.pull_now()  # the effects of the last push may still be on their way in
        assert_applied_exactly_once(picking_floor, core.store, queued)
        assert_replica_converged(core, picking_floor)
    finally:
        core.close()


def test_offline_then_online(picking_floor, tmp_path):
    core = open_client(tmp_path / "client", picking_floor.server.url)
    try:
        core.engine.start()
        core.engine.wait_for(lambda s: s.state is SyncState.IDLE, WAIT_S)
        task = picking_floor.tasks[0]
        before = core.view.row("pick_task", task["id"])["picked_qty"]
        picking_floor.server.stop()

        queued = {pick(core, task) for _ in range(5)}
        status = core.engine.wait_for(lambda s: s.state is SyncState.OFFLINE, WAIT_S)
        assert (status.state, status.pending) == (SyncState.OFFLINE, 5)
        assert core.view.row("pick_task", task["id"])["picked_qty"] == before + 5  # the screen shows the picks

        picking_floor.server.start()
        status = core.engine.wait_for(lambda s: s.pending == 0 and s.state is SyncState.IDLE, WAIT_S)
        assert (status.pending, status.rejected, status.state) == (0, 0, SyncState.IDLE)
        assert core.view.row("pick_task", task["id"])["picked_qty"] == before + 5  # counted once, now by the server
        core.engine.stop()
        core.engine.pull_now()
        assert_applied_exactly_once(picking_floor, core.store, queued)
        assert_replica_converged(core, picking_floor)
    finally:
        core.close()
