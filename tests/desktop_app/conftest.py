"""Fixtures of the desktop app tests: the real reference API on loopback, and the whole app built on it."""

import pytest

from order_api.server import start_in_thread
from order_api.settings import ServerSettings
from sync.engine import EngineOptions
from sync.retry import Backoff, RetryPolicy
from tests.order_api import harness, scenario

KEYRING = "tests.sync.memory_keyring.MemoryKeyring"
FAST = EngineOptions(long_poll_s=2.0, backoff=Backoff(base=0.05, cap=0.2))
# One attempt per call, so a stopped server reads as "offline" at once.
NO_RETRY = RetryPolicy(attempts=1)


@pytest.fixture
def server(tmp_path):
    """The reference API on a SQLite file: three batches of two one-line orders, a picker and a supervisor."""
    h = harness.start(tmp_path / "server", f"sqlite:///{tmp_path}/server.db")
    h.warehouse = scenario.build(h.db, batches=3)
    for name, roles, badge in (("anna", "picker", "U0001"), ("sam", "supervisor", "U0004")):
        h.add_user(name, roles, pin="1111", badge=badge)
    yield h
    h.stop()


@pytest.fixture
def restart_server(server, tmp_path):
    """Stop the reference API, and bring it back on the same port and database when asked."""
    running = []

    def stop():
        server.server.stop()

    def start():
        port = int(server.url.rsplit(":", 1)[1])
        settings = ServerSettings(db_url=f"sqlite:///{tmp_path}/server.db", blob_store=f"fs:{tmp_path}/server/blobs",
                                  public_url=server.url)
        running.append(start_in_thread(settings, port=port))

    yield stop, start
    for r in running:
        r.stop()


@pytest.fixture
def drive(qtbot, server, tmp_path):
    """Factory of running apps against the `server` fixture; closed at the end of the test."""
    from tests.desktop_app.appdriver import make_driver

    drivers = []

    def make(**overrides):
        d = make_driver(qtbot, tmp_path, server.url, name=f"client{len(drivers)}", **overrides)
        drivers.append(d)
        return d

    yield make
    for d in drivers:
        d.app.close()
