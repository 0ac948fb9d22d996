"""End-to-end speed of the client core (sync/) against the reference API, on the bench seed.

Run: .venv/bin/python -m benchmarks.client_sync [--rounds 3] [--pull-limits 1000,2000,5000]
     [--push-batches 100,250,500] [--mutations 2500] [--polls 30]

The server runs in its own process, as in benchmarks.server_sync. Measured in one run:

- initial sync: a fresh data folder, signed in as the supervisor (the widest scope), and
  engine.pull_now() from cursor 0 to the end of the feed; rows/s = rows stored / wall time;
- the physical limit: the same rows put with plain sqlite3 executemany, in one transaction,
  into an empty replica file (same tables, indexes and pragmas as the client's);
- where the initial sync's time goes: the server alone (plain httpx fetching the same feed,
  bodies kept, not decoded) and the client alone (the engine pulling those recorded pages
  from an httpx.MockTransport, so no time is spent waiting for a server). The client alone
  signs in as the supervisor first, for real and untimed: the client core's own sign-in
  (device registration, /v1/me, the scope set on the replica) goes through that transport
  to the server; then the transport answers /v1/sync/pull from the recording only and
  refuses to pass anything on, so the timed pull_now() spends no time in the server at all;
- push: a picker queues pick.confirm mutations through the outbox (each append its own
  durable transaction), per push_batch twice: with the engine running, timed from the first
  append until the engine reports nothing pending; and as a backlog queued while the engine
  is stopped, timed from engine start until nothing is pending (its appends, with nothing
  else running, give the local append rate). The same number of mutations sent in requests
  of the same size by a plain httpx client shows how much of the time is the server's;
- long-poll latency: a supervisor's engine runs in the background with its replica caught
  up; another session cancels an order, timed from sending the request until the replica
  shows the order cancelled (an engine status listener looks after every pull page).
"""

import argparse
import json
import logging
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import httpx

from benchmarks.machine import describe
from benchmarks.server_sync import sign_in, start_server
from sync.client import ClientCore
from sync.connectivity import SyncState
from sync.engine import EngineOptions
from sync.store.database import REPLICA_FILE, LocalStore
from sync.store.schema import replica_other, replica_tables

SUPERVISOR = ("sam", "4444")
PICKER = ("anna", "1111")
REPLICA_TABLES = [t.name for t in (*replica_tables.values(), replica_other)]


def open_core(folder: Path, url: str, user: tuple[str, str], options: EngineOptions,
              transport: httpx.BaseTransport | None = None) -> ClientCore:
    core = ClientCore.open(folder, url, keyring="none", transport=transport, options=options)
    core.signin.online(username=user[0], pin=user[1])
    core.engine.signed_in()
    return core


def replica_rows(core: ClientCore) -> int:
    with core.store.replica.read() as conn:
        return sum(conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one() for name in REPLICA_TABLES)


# --- initial sync and the limit -----------------------------------------------------------

def initial_sync(url: str, folder: Path, pull_limit: int) -> tuple[int, float]:
    """(rows stored, seconds) of one pull from cursor 0 to the end of the feed."""
    core = open_core(folder, url, SUPERVISOR, EngineOptions(pull_limit=pull_limit))
    return timed_pull(core, "the initial sync")


def timed_pull(core, what: str) -> tuple[int, float]:
    """(rows stored, seconds) of core's pull from its cursor to the end of the feed; closes core."""
    try:
        started = time.perf_counter()
        status = core.engine.pull_now()
        spent = time.perf_counter() - started
        if status.last_error:
            raise RuntimeError(f"{what} failed: {status.last_error}")
        return replica_rows(core), spent
    finally:
        core.close()


def sqlite_limit(source: Path, folder: Path) -> tuple[int, float]:
    """(rows, seconds) of plain executemany of a synced replica's rows into an empty replica file."""
    with sqlite3.connect(source) as src:
        tables = {name: src.execute(f"SELECT * FROM {name}").fetchall() for name in REPLICA_TABLES}
    LocalStore.open(folder).close()  # the empty replica, made by the client's own migrations
    conn = sqlite3.connect(folder / REPLICA_FILE, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    for name, rows in tables.items():
        if rows:
            conn.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    conn.execute("COMMIT")
    spent = time.perf_counter() - started
    conn.close()
    return sum(len(rows) for rows in tables.values()), spent


def fetch_pages(client: httpx.Client, pull_limit: int) -> tuple[dict[int, bytes], float]:
    """The feed's pages by cursor as the server sends them, and the seconds to fetch them (not decoded)."""
    pages, cursor = {}, 0
    started = time.perf_counter()
    while True:
        body = client.get("/v1/sync/pull", params={"cursor": cursor, "limit": pull_limit}).content
        pages[cursor] = body
        tail = json.loads(b"{" + body[body.rindex(b'"cursor":'):])  # the reference server writes changes first
        if not tail["has_more"]:
            return pages, time.perf_counter() - started
        cursor = tail["cursor"]


def client_alone(url: str, pages: dict[int, bytes], folder: Path, pull_limit: int) -> tuple[int, float]:
    """(rows stored, seconds) of the engine pulling recorded pages from a MockTransport: no server time at all.

    The supervisor signs in first through the same transport, which hands the sign-in's calls
    to the server (untimed); once replaying, it answers pulls from `pages` and nothing else.
    """
    server = httpx.HTTPTransport()
    replaying = threading.Event()

    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/sync/pull":
            return httpx.Response(200, content=pages[int(request.url.params["cursor"])],
                                  headers={"Content-Type": "application/json"})
        if replaying.is_set():
            raise RuntimeError(f"the replayed sync sent {request.method} {request.url.path} to the server")
        return server.handle_request(request)

    try:
        core = open_core(folder, url, SUPERVISOR, EngineOptions(pull_limit=pull_limit), httpx.MockTransport(serve))
        replaying.set()
        return timed_pull(core, "the replayed sync")
    finally:
        server.close()


# --- push ---------------------------------------------------------------------------------

def open_tasks(batches: list[dict]) -> list[dict]:
    return [t for b in batches for t in b["tasks"] if t["status"] == "open"]


def hold_open_tasks(claim, office: httpx.Client, released: list[int], wanted: int) -> list[dict]:
    """`wanted` open tasks of batches the picker holds: the supervisor assigns released
    batches to the picker (POST /v1/pick-batches/{id}/reassign) until the picker's claim
    (ahead=10) hands back that many open tasks."""
    held = len(open_tasks(claim()))
    while held < wanted and released:
        answer = office.post(f"/v1/pick-batches/{released.pop()}/reassign", json={"username": PICKER[0]})
        answer.raise_for_status()
        held += len(open_tasks([answer.json()]))
    return open_tasks(claim())[:wanted]


def pick_args(task: dict) -> dict:
    return {"task": task["id"], "location": task["location_label"], "qty": task["qty"] - task["picked_qty"],
            "barcode": task["gtin"]}


@dataclass
class PushBlock:
    """One block of pick.confirm mutations pushed by the engine."""

    size: int  # EngineOptions.push_batch
    running: bool  # the engine ran while the block was appended (else it started after the last append)
    mutations: int
    rejected: int
    appending: float  # seconds from the first append to the last
    until_sent: float  # seconds from the first append until the engine reports nothing pending

    @property
    def draining(self) -> float:
        return self.until_sent - self.appending


def push_block(url: str, folder: Path, office: httpx.Client, released: list[int], size: int, count: int,
               running: bool) -> PushBlock:
    """Queue `count` picks through the outbox and time the engine pushing them in batches of `size`."""
    core = open_core(folder, url, PICKER, EngineOptions(push_batch=size))
    try:
        core.engine.sync_once()  # the picker's scope first: the background pull then follows changes only
        tasks = hold_open_tasks(lambda: core.api.claim_batches(ahead=10), office, released, count)
        rejected_before = core.engine.status().rejected
        if running:
            core.engine.start()
        started = time.perf_counter()
        for task in tasks:
            core.outbox.append(PICKER[0], "pick.confirm", pick_args(task))
        appending = time.perf_counter() - started
        if not running:
            core.engine.start()
        status = core.engine.wait_for(lambda s: s.pending == 0, timeout=600)
        until_sent = time.perf_counter() - started
        if status.pending:
            raise RuntimeError(f"{status.pending} mutations still pending after 600 s: {status.last_error}")
        return PushBlock(size, running, len(tasks), status.rejected - rejected_before, appending, until_sent)
    finally:
        core.close()


def raw_push(url: str, office: httpx.Client, released: list[int], size: int, count: int) -> tuple[int, float, float]:
    """(applied, seconds, median seconds per request) of plain httpx pushes in requests of `size`."""
    device = f"bench-raw-{size}-{uuid.uuid4().hex[:8]}"
    picker = sign_in(url, *PICKER, device)
    try:
        claim = lambda: picker.post("/v1/pick-batches/claim", json={"ahead": 10}).json()["batches"]  # noqa: E731
        tasks = hold_open_tasks(claim, office, released, count)
        at = datetime.now(timezone.utc).isoformat()
        muts = [{"seq": seq, "id": str(uuid.uuid4()), "name": "pick.confirm", "user": PICKER[0], "at": at,
                 "args": pick_args(t)} for seq, t in enumerate(tasks, 1)]
        applied, requests = 0, []
        started = time.perf_counter()
        for i in range(0, len(muts), size):
            sent = time.perf_counter()
            answer = picker.post("/v1/sync/push", json={"device_id": device, "schema_version": 1,
                                                        "mutations": muts[i:i + size]})
            answer.raise_for_status()
            requests.append(time.perf_counter() - sent)
            applied += sum(r["status"] == "applied" for r in answer.json()["results"])
        return applied, time.perf_counter() - started, statistics.median(requests)
    finally:
        picker.close()


# --- long poll ----------------------------------------------------------------------------

def long_poll(url: str, folder: Path, office: httpx.Client, rounds: int) -> list[float]:
    """Seconds from sending a cancel to the order showing cancelled in a background engine's replica."""
    core = open_core(folder, url, SUPERVISOR, EngineOptions())
    watched: dict[str, float | int | None] = {"order": None, "seen": None}
    arrived = threading.Event()

    def look(_status) -> None:
        order = watched["order"]
        if order is not None and not arrived.is_set():
            if (core.view.row("order", order) or {}).get("status") == "cancelled":
                watched["seen"] = time.perf_counter()
                arrived.set()

    try:
        core.engine.subscribe(look)
        core.engine.start()
        status = core.engine.wait_for(lambda s: s.state is SyncState.IDLE, 300)
        if status.state is not SyncState.IDLE:
            raise RuntimeError(f"the supervisor's engine did not catch up: {status}")
        with core.store.replica.read() as conn:
            orders = [r[0] for r in conn.exec_driver_sql(
                "SELECT id FROM r_order WHERE status = 'released' ORDER BY id LIMIT ?", (rounds,))]
        latencies = []
        for order in orders:
            time.sleep(0.2)  # let the engine settle into its next long poll
            arrived.clear()
            watched["order"] = order
            started = time.perf_counter()
            office.post(f"/v1/orders/{order}/cancel").raise_for_status()
            if not arrived.wait(30):
                raise RuntimeError(f"order {order} did not arrive within 30 s")
            latencies.append(watched["seen"] - started)
        return latencies
    finally:
        core.close()


# --- the run ------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pull-limits", default="1000,2000,5000")
    parser.add_argument("--push-batches", default="100,250,500")
    parser.add_argument("--mutations", type=int, default=2500)
    parser.add_argument("--polls", type=int, default=30)
    args = parser.parse_args()
    limits = [int(x) for x in args.pull_limits.split(",")]
    sizes = [int(x) for x in args.push_batches.split(",")]
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("sync.credentials").setLevel(logging.ERROR)  # "no usable keyring": keyring off on purpose

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        proc, url, startup = start_server(f"sqlite:///{tmp}/bench.db", tmp / "blobs")
        try:
            syncs: dict[int, list[tuple[int, float]]] = {limit: [] for limit in limits}
            first = tmp / "sync-first"
            for r in range(args.rounds):
                for limit in limits:  # interleaved, so that drift of the machine hits every limit alike
                    folder = first if not (first / REPLICA_FILE).exists() else tmp / f"sync-{r}-{limit}"
                    syncs[limit].append(initial_sync(url, folder, limit))
                    if folder != first:
                        shutil.rmtree(folder)
            limit_runs = [sqlite_limit(first / REPLICA_FILE, tmp / f"limit-{i}") for i in range(args.rounds)]

            office = sign_in(url, *SUPERVISOR, "bench-office")
            split_limit = EngineOptions().pull_limit
            fetches, alone = [], []
            for r in range(args.rounds):
                pages, spent = fetch_pages(office, split_limit)
                fetches.append(spent)
                alone.append(client_alone(url, pages, tmp / f"alone-{r}", split_limit))
                shutil.rmtree(tmp / f"alone-{r}")
            del pages
            with sqlite3.connect(first / REPLICA_FILE) as conn:
                released = [r[0] for r in conn.execute("SELECT id FROM r_pick_batch WHERE status = 'released' "
                                                       "ORDER BY id")]
            blocks: list[PushBlock] = []
            raws = {}
            for size in sizes:
                for running in (True, False):
                    blocks.append(push_block(url, tmp / "picker", office, released, size, args.mutations, running))
                raws[size] = raw_push(url, office, released, size, args.mutations)
            latencies = long_poll(url, first, office, args.polls)
        finally:
            proc.terminate()
            proc.wait(30)

    rows = syncs[limits[0]][0][0]
    rates = {limit: statistics.median(n / s for n, s in runs) for limit, runs in syncs.items()}
    best = max(rates, key=rates.get)
    limit_rate = statistics.median(n / s for n, s in limit_runs)
    print(f"Machine: {describe()}")
    print(f"Server: SQLite file, bench seed; seed + start-up {startup:.1f} s\n")
    print("| measure | value |\n|---|---|")
    for limit in limits:
        spread = ", ".join(f"{n / s:,.0f}" for n, s in syncs[limit])
        print(f"| initial sync, supervisor ({rows:,} rows), pull_limit {limit:,}: median of {len(syncs[limit])} "
              f"({spread}) | {rates[limit]:,.0f} rows/s |")
    print(f"| plain sqlite3 executemany of the same rows, one transaction, median of {len(limit_runs)} | "
          f"{limit_rate:,.0f} rows/s |")
    print(f"| end to end / limit, pull_limit {best:,} | {rates[best] / limit_rate:.0%} |")
    print(f"| server alone: plain httpx GET of the same feed, bodies not decoded, pull_limit {split_limit:,}, "
          f"median of {len(fetches)} | {statistics.median(rows / s for s in fetches):,.0f} rows/s |")
    print(f"| client alone: pull_now() replaying those pages from an httpx.MockTransport, median of {len(alone)} | "
          f"{statistics.median(n / s for n, s in alone):,.0f} rows/s |")
    queued = [b for b in blocks if not b.running]
    print(f"| outbox.append of pick.confirm, local only, engine stopped ({sum(b.mutations for b in queued):,}) | "
          f"{sum(b.mutations for b in queued) / sum(b.appending for b in queued):,.0f} mutations/s |")
    for b in blocks:
        if b.running:
            print(f"| push end to end, push_batch {b.size}, engine running: first append to nothing pending "
                  f"({b.mutations:,}, {b.rejected} rejected) | {b.mutations / b.until_sent:,.0f} mutations/s |")
        else:
            print(f"| push of a queued backlog, push_batch {b.size}: engine start to nothing pending "
                  f"({b.mutations:,}, {b.rejected} rejected) | {b.mutations / b.draining:,.0f} mutations/s |")
    for size, (applied, spent, per_request) in raws.items():
        print(f"| plain httpx push, requests of {size} ({applied:,} applied; median request {per_request * 1000:,.0f} ms) "
              f"| {applied / spent:,.0f} mutations/s |")
    p95 = statistics.quantiles(latencies, n=20, method="inclusive")[18]
    print(f"| long poll: cancel sent to visible in the replica, {len(latencies)} rounds | "
          f"p50 {statistics.median(latencies) * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms, "
          f"max {max(latencies) * 1000:,.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
