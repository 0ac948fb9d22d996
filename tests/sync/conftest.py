"""Fixtures of the client-core tests: the real reference API on loopback and a client data folder."""

import pytest

from sync.client import ClientCore
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


UPLOAD_PART = 64 * 1024  # the fs store takes any part size; small parts give each file several


@pytest.fixture
def studio_server(tmp_path):
    """The reference API on the fs store with small parts, the scenario's SKUs and the photographer chloe."""
    h = harness.start(tmp_path / "server", f"sqlite:///{tmp_path}/server.db", upload_part_size=UPLOAD_PART)
    scenario.build(h.db)
    h.add_user("chloe", "photographer", pin="1111")
    yield h
    h.stop()
