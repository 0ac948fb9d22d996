"""The local store: migrations match the models, the journal is copied before migrating, damage is handled."""

import sqlite3

import orjson

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from sync.store import schema
from sync.store.database import LocalStore, StoreDamaged
from sync.store.migrate import head_of
from tests.sync.rows import complete


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
    assert head_of("journal") != "j0000"


def test_a_journal_of_the_first_release_is_upgraded_with_its_queued_work(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine

    from sync.outbox import Outbox
    from sync.store import migrate

    journal = tmp_path / "journal.sqlite3"
    engine = create_engine(f"sqlite:///{journal}")
    with engine.begin() as conn:  # the file exactly as release j0001 made it, with queued work in it
        cfg = migrate.alembic_config("journal")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "j0001")
        conn.exec_driver_sql("INSERT INTO outbox (seq, id, name, args, user, at, state, attempts) VALUES "
                             "(1, 'q-1', 'pick.confirm', '{\"task\": 1}', 'anna', '2026-11-30T08:00:00+00:00', "
                             "'pending', 0)")
        conn.exec_driver_sql("INSERT INTO sync_state (key, value) VALUES ('last_seq', '1')")
        # An unkeyed verifier of the first release: a copied journal was enough to try PINs against it.
        conn.exec_driver_sql("INSERT INTO signin_verifiers (username, badge, user, verifier, signed_in_online_at, "
                             "failures) VALUES ('anna', 'U0001', '{}', 'scrypt$16384$8$1$c2FsdA==$aGFzaA==', "
                             "'2026-11-30T08:00:00+00:00', 0)")
    engine.dispose()

    store = LocalStore.open(tmp_path)
    try:
        assert [m.id for m in Outbox(store).pending()] == ["q-1"]
        with store.journal.read() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_of("journal")
            indexes = [r[1] for r in conn.exec_driver_sql("PRAGMA index_list('outbox')")]
            verifiers = conn.exec_driver_sql("SELECT count(*) FROM signin_verifiers").scalar()
            columns = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info('signin_verifiers')")]
        assert "ix_outbox_ack_cursor" in indexes and {"ticket", "ticket_expires"} <= set(columns)
        assert verifiers == 0  # dropped: anna signs in online once more and gets a keyed one
        assert Outbox(store).append("anna", "pick.undo", {"task": 1}).seq == 2  # the queue goes on
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


def test_a_replica_of_the_first_release_is_migrated_to_an_empty_usable_one(tmp_path):
    """r0001 rows carry no audience, so nobody may be shown them: they go, with the old single cursor."""
    from alembic import command
    from sqlalchemy import create_engine

    from sync.feed import decode_page
    from sync.store import migrate, replica

    path = tmp_path / "replica.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # the file as release r0001 left it, with rows and its cursor
        cfg = migrate.alembic_config("replica")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "r0001")
        conn.exec_driver_sql("INSERT INTO r_pick_task (id, version, data, batch_id) VALUES (1, 5, '{\"id\": 1}', 2)")
        conn.exec_driver_sql("INSERT INTO r_other (entity, id, version, data) VALUES ('tote', '7', 6, '{}')")
        conn.exec_driver_sql("INSERT INTO replica_meta (key, value) VALUES ('cursor', '812')")
    engine.dispose()

    store = LocalStore.open(tmp_path)
    try:
        with store.replica.read() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_of("replica")
            assert conn.exec_driver_sql("SELECT count(*) FROM r_pick_task").scalar() == 0
            assert conn.exec_driver_sql("SELECT count(*) FROM r_other").scalar() == 0
            assert conn.exec_driver_sql("SELECT count(*) FROM replica_meta").scalar() == 0
            assert replica.cursor(conn) == 0 and replica.pull_plan(conn) is None
        with store.replica.write() as conn:
            replica.set_scope(conn, ["floor"])
            plan = replica.pull_plan(conn)
            row = complete("pick_task", id=1, batch_id=2)
            body = orjson.dumps({"changes": [{"entity": "pick_task", "id": "1", "op": "upsert", "version": 900,
                                              "audience": "floor", "data": row}],
                                 "cursor": 900, "has_more": False, "reset": False, "audiences": ["floor"]})
            replica.store_page(conn, plan, decode_page(body))
        with store.replica.read() as conn:
            assert replica.load(conn, "pick_task", batch_id=2) == [row]
            assert replica.cursor(conn) == 900
    finally:
        store.close()
    assert len(list(tmp_path.glob("replica.sqlite3.before-r0001-*.bak"))) == 1


def test_a_replica_damaged_while_running_is_set_aside_and_rebuilt_empty(tmp_path):
    import sqlalchemy.exc

    from sync.outbox import Outbox
    from sync.store import replica

    store = LocalStore.open(tmp_path)
    try:
        queued = Outbox(store).append("anna", "pick.confirm", {"task": 1, "location": "A-01-01-1", "qty": 1})
        with store.replica.write() as conn:
            replica.set_scope(conn, ["floor"])
            conn.exec_driver_sql("INSERT INTO r_pick_task (id, version, data, mask) VALUES (1, 1, '{}', 1)")
        store.replica.dispose()  # the last connection closed: the WAL is checkpointed into the file
        path = tmp_path / "replica.sqlite3"
        assert not (tmp_path / "replica.sqlite3-wal").exists()
        with path.open("r+b") as f:  # the pages after the header: the schema and the tables
            f.seek(100)
            f.write(b"\xa5" * (path.stat().st_size - 100))
        with pytest.raises(sqlalchemy.exc.DatabaseError):
            with store.replica.read() as conn:
                conn.exec_driver_sql("SELECT count(*) FROM r_pick_task").scalar()

        moved = store.rebuild_replica("a read failed: database disk image is malformed")

        assert moved.exists() and moved.name.startswith("replica.sqlite3.damaged-")
        assert store.replica_rebuilt == "a read failed: database disk image is malformed"
        with store.replica.read() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM r_pick_task").scalar() == 0
            assert replica.scope(conn) == [] and replica.cursor(conn) == 0
        with store.replica.write() as conn:  # usable: a new scope and a page
            replica.set_scope(conn, ["floor"])
            assert replica.pull_plan(conn).cursor == 0
        assert [m.id for m in Outbox(store).pending()] == [queued.id]  # the journal untouched
        with pytest.raises(ValueError, match="never replaced"):
            store.journal.replace_file("not this one")
    finally:
        store.close()
    assert not list(tmp_path.glob("journal.sqlite3.damaged-*"))
