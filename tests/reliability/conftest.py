"""Fixtures of the kill tests: the order API and client workers as real processes, and a picking floor."""

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from order_api.db import Database
from order_api.feed import publish_order, publish_stock
from order_api.models import OrderLine, PickTask, Stock, User
from order_api.server import free_port
from tests.order_api import scenario
from tests.order_api.harness import DeviceKeys, pin_hash

REPO = Path(__file__).resolve().parents[2]
PIN = "1111"
PICKER = "anna"
WAIT_S = 60.0
# Large enough that picks of one never run out, so any order of picks and kills is valid.
ENDLESS_QTY = 1_000_000


class ServerProcess:
    """`floorhand-api serve` as a child process on a fixed port, so it can be killed and started again."""

    def __init__(self, db_url: str, workdir: Path) -> None:
        self.db_url, self.workdir = db_url, workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.proc is None, "the server is already running"
        self.starts += 1
        log = open(self.workdir / f"server-{self.starts}.log", "wb")
        cmd = [sys.executable, "-m", "order_api.cli", "serve", "--db", self.db_url, "--port", str(self.port),
               "--blob-store", f"fs:{self.workdir / 'blobs'}", "--seed", "none", "--log-level", "warning"]
        with log:
            self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                pass
            # Waiting on the process both paces the retries and notices a server that died.
            try:
                code = self.proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the order API did not listen on {self.url} within {WAIT_S} s"
                                         f"\n{self.log_tail()}") from None
                continue
            raise AssertionError(f"the order API exited with {code} at start\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, open transactions and connections die with the process."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM: uvicorn's graceful shutdown."""
        self._end(signal.SIGTERM)

    def _end(self, sig: int) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        self.proc.wait(timeout=WAIT_S)
        self.proc = None

    def log_tail(self, chars: int = 4000) -> str:
        logs = sorted(self.workdir.glob("server-*.log"))
        return logs[-1].read_text(errors="replace")[-chars:] if logs else ""


class Worker:
    """A tests.reliability.client_worker child process; its stdout arrives line by line through a queue."""

    def __init__(self, args: list[str], stderr_path: Path) -> None:
        env = {**os.environ, "FLOORHAND_PIN": PIN, "PYTHONUNBUFFERED": "1"}
        self.stderr_path = stderr_path
        with open(stderr_path, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.client_worker", *args],
                                         cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        self.lines: list[str] = []  # complete lines only; filled by the reader thread
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name=f"worker-{self.proc.pid}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            # A line cut off by SIGKILL has no newline: nothing was announced with it.
            if line.endswith("\n"):
                self.lines.append(line.rstrip("\n"))
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_lines(self, prefix: str, count: int, timeout: float = WAIT_S) -> bool:
        """Block until `count` lines starting with prefix arrived (True) or the process ended first (False)."""
        seen = 0
        deadline = time.monotonic() + timeout
        while seen < count:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {count} {prefix!r} lines within {timeout} s; got {self.lines[-5:]}"
                                     f"\n{self.stderr()}") from None
            if line is None:
                return False
            if line.startswith(prefix):
                seen += 1
        return True

    def kill(self) -> None:
        """SIGKILL, then collect every line written before the kill."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.finish()

    def finish(self, timeout: float = WAIT_S) -> int:
        """Wait for the process to end and for its last lines; returns the exit code."""
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout)
        self.proc.stdout.close()
        return code

    def words(self, prefix: str) -> list[list[str]]:
        """The words after prefix of every line starting with it, in order."""
        return [line.split()[1:] for line in self.lines if line.split()[:1] == [prefix]]

    def stderr(self, chars: int = 4000) -> str:
        return self.stderr_path.read_text(errors="replace")[-chars:]


@pytest.fixture
def server_process(tmp_path):
    """Factory of order API processes on a database URL; every one is killed at the end."""
    started: list[ServerProcess] = []

    def make(db_url: str) -> ServerProcess:
        workdir = tmp_path / f"server{len(started)}"
        workdir.mkdir()
        server = ServerProcess(db_url, workdir)
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.kill()


@pytest.fixture
def run_worker(tmp_path):
    """Factory of client worker processes; any still running at the end is killed."""
    started: list[Worker] = []

    def run(*args: str) -> Worker:
        worker = Worker(list(args), tmp_path / f"worker-{len(started)}.err")
        started.append(worker)
        return worker

    yield run
    for worker in started:
        worker.kill()


def add_user(db: Database, username: str, roles: str, pin: str = PIN) -> int:
    with db.write() as s:
        user = User(username=username, display_name=username.title(), roles=roles, pin_hash=pin_hash(pin))
        s.add(user)
        s.flush()
        return user.id


# Secrets of the devices the tests registered, so that a device signs in again (after a
# server restart too) with its credential.
DEVICES = DeviceKeys()


def signed_in_http(url: str, username: str, device_id: str, pin: str = PIN,
                   device_secret: str | None = None) -> httpx.Client:
    """An httpx client holding a fresh access token of username on device_id and the device's credential.

    A device id new to the server registers at this sign-in; a device registered elsewhere
    (a client's data folder) needs the device_secret it got.
    """
    if device_secret is not None:
        DEVICES.remember(url, device_id, device_secret)
    return DEVICES.signed_in(url, {"username": username, "pin": pin, "device_id": device_id})


def fresh_pull(url: str, username: str, limit: int = 1000) -> dict[tuple[str, str], dict]:
    """The user's whole scope as a new device pulls it: {(entity, id): data}."""
    rows: dict[tuple[str, str], dict] = {}
    cursor = 0
    with signed_in_http(url, username, f"checker-{username}") as http:
        while True:
            r = http.get("/v1/sync/pull", params={"cursor": cursor, "limit": limit})
            assert r.status_code == 200, r.text
            page = r.json()
            assert not page["reset"]
            for ch in page["changes"]:
                if ch["op"] == "delete":
                    rows.pop((ch["entity"], ch["id"]), None)
                else:
                    rows[(ch["entity"], ch["id"])] = ch["data"]
            cursor = page["cursor"]
            if not page["has_more"]:
                return rows


def replica_rows(store) -> dict[tuple[str, str], dict]:
    """Everything a client's replica holds, in the shape of fresh_pull."""
    from sync.store.schema import replica_other, replica_tables

    rows: dict[tuple[str, str], dict] = {}
    with store.replica.read() as conn:
        for entity, table in replica_tables.items():
            for row_id, data in conn.execute(select(table.c.id, table.c.data)):
                rows[(entity, str(row_id))] = json.loads(data)
        for entity, row_id, data in conn.execute(select(replica_other.c.entity, replica_other.c.id,
                                                        replica_other.c.data)):
            rows[(entity, row_id)] = json.loads(data)
    return rows


@dataclass
class PickingFloor:
    """A running order API whose picker holds one claimed batch of tasks that never run out."""

    server: ServerProcess
    db: Database
    tasks: list[dict]  # {id, location, barcode}, as client_worker takes them
    stock_before: dict[int, int] = field(default_factory=dict)  # stock id -> qty

    @property
    def tasks_json(self) -> str:
        return json.dumps(self.tasks)


@pytest.fixture
def picking_floor(db_url, server_process):
    """Four one-line orders in one batch claimed by the picker, with endless quantities and stock.

    The server runs on a SQLite file and, in a second run of each test, on PostgreSQL.
    """
    db = Database(db_url)
    db.create_schema()
    scenario.build(db, batches=1, orders_per_batch=4)
    add_user(db, PICKER, "picker")
    with db.write() as s:
        for line in s.scalars(select(OrderLine)):
            line.qty = ENDLESS_QTY
        for task in s.scalars(select(PickTask)):
            task.qty = ENDLESS_QTY
        for order in {line.order for line in s.scalars(select(OrderLine))}:
            publish_order(s, order)
        for stock in s.scalars(select(Stock)):
            stock.qty = ENDLESS_QTY
            publish_stock(s, stock)
    server = server_process(db_url)
    with signed_in_http(server.url, PICKER, "setup") as http:
        r = http.post("/v1/pick-batches/claim", json={"ahead": 0})
        assert r.status_code == 200, r.text
        claimed = r.json()["batches"]
    tasks = [{"id": t["id"], "location": t["location_label"], "barcode": t["gtin"]}
             for b in claimed for t in b["tasks"]]
    assert len(tasks) == 4 and all(t["qty"] == ENDLESS_QTY for b in claimed for t in b["tasks"])
    with db.read() as s:
        stock_before = {st.id: st.qty for st in s.scalars(select(Stock))}
    yield PickingFloor(server, db, tasks, stock_before)
    db.dispose()
