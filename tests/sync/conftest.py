"""Fixtures of the client-core tests: the real reference API on loopback and a client data folder."""

import threading
import time

import pytest

from sync.client import ClientCore
from tests.conftest import UPLOAD_PART  # noqa: F401 (the upload tests import it from here)
from tests.order_api import harness, scenario

KEYRING = "tests.sync.memory_keyring.MemoryKeyring"


@pytest.fixture
def server(tmp_path):
    """The reference API on a SQLite file with a tiny warehouse and one user per role."""
    h = harness.start(tmp_path / "server", f"sqlite:///{tmp_path}/server.db")
    h.warehouse = scenario.build(h.db, batches=3)
    for name, roles in (("anna", "picker"), ("ben", "packer"), ("sam", "supervisor")):
        h.add_user(name, roles, pin="1111")
    yield h
    h.stop()


@pytest.fixture
def open_core(tmp_path):
    """Factory of client cores on one data folder; all are closed at the end."""
    opened: list[ClientCore] = []

    def make(url: str, data_dir=None, **kwargs) -> ClientCore:
        core = ClientCore.open(data_dir or tmp_path / "client", url, keyring=KEYRING, **kwargs)
        opened.append(core)
        return core

    yield make
    for core in opened:
        core.close()


@pytest.fixture
def sam(server, open_core):
    """A supervisor's client core, signed in and synced once."""
    from sync.engine import EngineOptions
    from sync.retry import Backoff

    core = open_core(server.url, options=EngineOptions(long_poll_s=2.0, backoff=Backoff(base=0.05, cap=0.2)))
    core.signin.online(username="sam", pin="1111")
    core.engine.signed_in()
    assert core.engine.sync_once().last_error is None
    return core


class StoreTally:
    """Counts what the fs store receives: bytes written and parts stored, by part number."""

    def __init__(self, blobs) -> None:
        self._lock = threading.Lock()
        self.bytes = 0
        self.started: list[int] = []
        self.stored: list[int] = []
        make_writer = blobs.part_writer
        tally = self

        class Counted:
            def __init__(self, writer) -> None:
                self._writer = writer

            def write(self, data: bytes) -> None:
                with tally._lock:
                    tally.bytes += len(data)
                self._writer.write(data)

            def commit(self, expected_md5):
                part = self._writer.commit(expected_md5)
                with tally._lock:
                    tally.stored.append(part.number)
                return part

            def discard(self) -> None:
                self._writer.discard()

        def counted_writer(upload_id: str, number: int, expected_size: int):
            writer = make_writer(upload_id, number, expected_size)
            with tally._lock:
                tally.started.append(number)
            return Counted(writer)

        blobs.part_writer = counted_writer

    def reset(self) -> None:
        with self._lock:
            self.bytes, self.started, self.stored = 0, [], []


@pytest.fixture
def store_tally(studio_server):
    """What the studio server's fs store receives from now on."""
    return StoreTally(studio_server.ctx.blobs)


def wait_until(condition, what: str, timeout: float = 30.0) -> None:
    """Wait for a condition with a deadline; the polling interval is not a timing assumption."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        threading.Event().wait(0.02)
