"""The local store: migrations match the models, the journal is copied before migrating, damage is handled."""

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from sync.store import schema
from sync.store.database import LocalStore, StoreDamaged
from sync.store.migrate import head_of


def test_migrations_build_exactly_the_declared_schema(tmp_path):
    store = LocalStore.open(tmp_path)
    for engine, metadata in ((store.journal.writer, schema.journal), (store.replica.writer, schema.replica)):
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []


def test_files_use_wal_and_the_journal_syncs_every_commit(tmp_path):
    store = LocalStore.open(tmp_path)
    with store.journal.write() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_bookkeeping_commits_skip_the_sync_and_the_next_action_syncs_again(tmp_path):
    store = LocalStore.open(tmp_path)
    with store.journal.write(synced=False) as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL: no fsync at commit
        conn.exec_driver_sql("INSERT INTO sync_state (key, value) VALUES ('k', 'v')")
    with store.journal.write() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL again
    with pytest.raises(RuntimeError):
        with store.journal.write(synced=False):
            raise RuntimeError("a failed bookkeeping transaction")
    with store.journal.write() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    with store.journal.read() as conn:
        assert conn.exec_driver_sql("SELECT value FROM sync_state WHERE key = 'k'").scalar() == "v"


def test_an_old_journal_is_copied_before_it_is_migrated(tmp_path):
    store = LocalStore.open(tmp_path)
    store.close()
    journal = tmp_path / "journal.sqlite3"
    with sqlite3.connect(journal) as conn:  # pretend an older release made this file
        conn.execute("UPDATE alembic_version SET version_num = 'j0000'")
    from sync.store import migrate
    from sqlalchemy import create_engine
    # A revision "j0000" does not exist, so migrating must fail after the copy is made.
    with pytest.raises(Exception):
        migrate.upgrade(create_engine(f"sqlite:///{journal}"), "journal", journal)
    copies = list(tmp_path.glob("journal.sqlite3.before-j0000-*.bak"))
    assert len(copies) == 1
    with sqlite3.connect(copies[0]) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("j0000",)
    assert head_of("journal") == "j0002"


def test_a_journal_of_the_first_release_is_upgraded_with_its_queued_work(tmp_path):
    from sync.outbox import Outbox

    store = LocalStore.open(tmp_path)
    queued = Outbox(store).append("anna", "pick.confirm", {"task": 1, "location": "A-01-01-1", "qty": 1})
    store.close()
    journal = tmp_path / "journal.sqlite3"
    with sqlite3.connect(journal) as conn:  # the file as release j0001 left it
        conn.execute("DROP INDEX ix_outbox_ack_cursor")
        conn.execute("UPDATE alembic_version SET version_num = 'j0001'")

    store = LocalStore.open(tmp_path)
    try:
        assert [m.id for m in Outbox(store).pending()] == [queued.id]
        with store.journal.read() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "j0002"
            indexes = [r[1] for r in conn.exec_driver_sql("PRAGMA index_list('outbox')")]
        assert "ix_outbox_ack_cursor" in indexes
    finally:
        store.close()
    assert len(list(tmp_path.glob("journal.sqlite3.before-j0001-*.bak"))) == 1


def test_a_damaged_journal_stops_with_a_clear_message_and_is_left_alone(tmp_path):
    LocalStore.open(tmp_path).close()
    journal = tmp_path / "journal.sqlite3"
    journal.write_bytes(b"this is not a database" * 500)
    with pytest.raises(StoreDamaged, match="left untouched"):
        LocalStore.open(tmp_path)
    assert journal.read_bytes().startswith(b"this is not a database")


def test_a_replica_that_is_not_a_database_is_set_aside(tmp_path):
    LocalStore.open(tmp_path).close()
    (tmp_path / "replica.sqlite3").write_bytes(b"garbage" * 1000)
    store = LocalStore.open(tmp_path)
    assert store.replica_rebuilt
    assert list(tmp_path.glob("replica.sqlite3.damaged-*"))
