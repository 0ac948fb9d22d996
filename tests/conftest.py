"""Test fixtures: temporary data folders, a PostgreSQL server, and the reference API on loopback."""

import itertools
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _own_config_and_logs(tmp_path_factory, monkeypatch):
    """No test reads this machine's Floorhand config or writes into the user's log folder
    (subprocesses inherit the same); a test that needs config files sets these itself."""
    home = tmp_path_factory.mktemp("floorhand-home")
    monkeypatch.setenv("FLOORHAND_MACHINE_CONFIG", str(home / "machine.toml"))
    monkeypatch.setenv("FLOORHAND_USER_CONFIG", str(home / "user.toml"))
    monkeypatch.setenv("FLOORHAND_LOG_DIR", str(home / "log"))


@pytest.fixture(autouse=True)
def _empty_test_keyrings():
    """The in-memory keyrings of the tests start empty in every test, as on a fresh machine."""
    from tests.sync.memory_keyring import MemoryKeyring, OtherMachineKeyring

    MemoryKeyring.wipe()
    OtherMachineKeyring.wipe()


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL cluster for the whole session; each test gets its own database."""
    from tests.pgserver import start_postgres

    server = start_postgres()
    yield server
    server.stop()


_db_names = itertools.count(1)


@pytest.fixture
def pg_url(postgres):
    """A fresh, empty PostgreSQL database."""
    import sqlalchemy

    name = f"t{os.getpid()}_{next(_db_names)}"
    engine = sqlalchemy.create_engine(postgres.admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return postgres.url(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """Each contract test runs once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/api.db"
    return request.getfixturevalue("pg_url")


UPLOAD_PART = 64 * 1024  # the fs store takes any part size; small parts give each file several


@pytest.fixture
def studio_server(tmp_path):
    """The reference API on the fs store with small parts, the scenario's SKUs and the photographer chloe."""
    from tests.order_api import harness, scenario

    h = harness.start(tmp_path / "server", f"sqlite:///{tmp_path}/server.db", upload_part_size=UPLOAD_PART)
    scenario.build(h.db)
    h.add_user("chloe", "photographer", pin="1111")
    yield h
    h.stop()



@pytest.fixture
def bench_printer():
    """A raw-TCP label printer on loopback (tests/peripherals/label_printer.py), switched off at the end."""
    from tests.peripherals.label_printer import LoopbackLabelPrinter

    printer = LoopbackLabelPrinter()
    yield printer
    printer.switch_off()
