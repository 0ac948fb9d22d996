"""Start in a dead zone: when the engine already knows it is offline, one short claim attempt, then the local batch."""

import socket
import threading

import pytest

from desktop_app.workflows.picking import PickingSession
from sync.answers import Tokens
from sync.api import QUICK
from sync.client import ClientCore
from sync.connectivity import SyncState

KEYRING = "tests.sync.memory_keyring.MemoryKeyring"


class BlackHole:
    """A server that takes connections and never answers, as a network dropping replies looks to a client."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self._sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def black_hole():
    hole = BlackHole()
    yield hole
    hole.close()


def test_start_while_offline_makes_one_short_attempt_and_goes_on_from_the_device(black_hole, tmp_path):
    core = ClientCore.open(tmp_path / "client", black_hole.url, keyring=KEYRING)
    try:
        core.api.install("anna", Tokens("access", "refresh", 900))
        core.engine.connectivity.fire("network_down")  # the engine already found the network gone
        assert core.engine.connectivity.state is SyncState.OFFLINE
        outcome = PickingSession(core, "anna").start()
        assert outcome.kind == "reject" and "out of reach" in outcome.message  # no batch on this new device
        assert len(black_hole.accepted) == 1  # one attempt, not the four of a normal call
        assert QUICK.read == QUICK.connect == 2.0  # and it gave up after at most 2 s
    finally:
        core.close()
