"""Opening the local files: integrity check, migration, one writer and free readers."""

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

from sync.store import migrate

log = logging.getLogger(__name__)

JOURNAL_FILE = "journal.sqlite3"
REPLICA_FILE = "replica.sqlite3"


class StoreDamaged(Exception):
    """The journal file is unreadable; it is left untouched for recovery."""


class WriteFailed(Exception):
    """A local write that did not happen (a full disk, a file that cannot be written); nothing of it was kept."""

    def __init__(self, path: Path, cause: Exception) -> None:
        detail = str(getattr(cause, "orig", None) or cause)
        self.disk_full = "full" in detail.lower()  # SQLITE_FULL: "database or disk is full"
        super().__init__("the disk of this device is full" if self.disk_full
                         else f"{path.name} cannot be written ({detail})")


# The replica's one writer stores pages of thousands of rows into indexed tables (an initial
# sync is hundreds of thousands): a larger page cache keeps the indexes' inner pages in memory,
# and checkpointing every 40 MB of WAL instead of every 4 MB writes a page that many pulls touch
# (an index's) into the file once instead of ten times. The WAL file is cut back to 64 MB after
# a checkpoint. Docs/benchmarks.md, "Client core", measures it.
_BULK_WRITER = ("cache_size=-32000", "wal_autocheckpoint=10000", "journal_size_limit=67108864")


@dataclass
class SqliteFile:
    """One SQLite file in WAL mode with a single writer connection and a pool of readers."""

    path: Path
    durable: bool
    kind: str  # "journal" or "replica": which migrations build the file
    writer: Engine = field(init=False)
    reader: Engine = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._open_engines()

    def _open_engines(self) -> None:
        url = f"sqlite:///{self.path}"
        args = {"check_same_thread": False, "timeout": 30}
        self.writer = create_engine(url, connect_args=args, poolclass=QueuePool, pool_size=1, max_overflow=0)
        self.reader = create_engine(url, connect_args=args, pool_size=4, max_overflow=8)
        for engine, begin in ((self.writer, "BEGIN IMMEDIATE"), (self.reader, "BEGIN")):
            self._configure(engine, begin)

    def _configure(self, engine: Engine, begin: str) -> None:
        pragmas = ["journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000",
                   # FULL syncs the WAL on every commit: an acknowledged action
                   # survives power loss, not just a killed process.
                   f"synchronous={'FULL' if self.durable else 'NORMAL'}"]
        if engine is self.writer and not self.durable:
            pragmas += _BULK_WRITER

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (SQLAlchemy's pysqlite recipe)
            for pragma in pragmas:
                dbapi_conn.execute(f"PRAGMA {pragma}")

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql(begin)

    @contextmanager
    def write(self, *, synced: bool = True) -> Iterator[Connection]:
        """The one write transaction at a time; committed when the block ends without error.

        Raises WriteFailed (and nothing of the block is kept) when SQLite cannot write, for
        example on a full disk.

        synced=False is for bookkeeping that can be worked out again (filing a push's
        answer, settling acknowledged actions): its commit skips the fsync of a durable
        file, so a person's next action does not queue behind it. A crash never leaves the
        file damaged either way; power loss may lose such a commit, never an earlier synced one.
        """
        with self._lock:
            relaxed = self.durable and not synced
            try:
                if relaxed:
                    self._synchronous("NORMAL")
                with self.writer.begin() as conn:
                    yield conn
            except (OperationalError, sqlite3.OperationalError) as exc:
                # Rolled back; the caller says so to the person instead of failing somewhere deeper.
                raise WriteFailed(self.path, exc) from exc
            finally:
                if relaxed:
                    self._synchronous("FULL")

    def _synchronous(self, level: str) -> None:
        # Outside any transaction (SQLite ignores the change inside one), on the one writer connection.
        with self.writer.connect() as conn:
            conn.connection.driver_connection.execute(f"PRAGMA synchronous={level}")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction on one snapshot; never waits for the writer (WAL)."""
        with self.reader.connect() as conn:
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.writer.dispose()
        self.reader.dispose()

    def replace_file(self, reason: str) -> Path:
        """Set a file found damaged while the app runs aside and go on with a new, empty one.

        Only for a file that can be rebuilt (the replica): under the writer lock the engines
        are closed, the file and its -wal/-shm renamed, and new engines opened on a fresh
        file migrated to head. read() and write() called afterwards use the new file.
        Returns where the damaged file went. reason is for the caller's log.
        """
        if self.kind != "replica":
            raise ValueError(f"{self.path.name} holds work that exists nowhere else; it is never replaced ({reason})")
        with self._lock:
            self.dispose()
            try:
                moved = _set_aside(self.path)
            finally:
                # Even when the rename failed (a reader still holds the file on Windows),
                # the engines must be usable again; they then open the old file.
                self._open_engines()
            migrate.upgrade(self.writer, self.kind, self.path)
        return moved


@dataclass
class LocalStore:
    """The journal (precious) and the replica (rebuildable) of one data folder."""

    data_dir: Path
    journal: SqliteFile
    replica: SqliteFile
    replica_rebuilt: str | None = None  # why the replica was last thrown away (at start or while running)

    @classmethod
    def open(cls, data_dir: Path | str) -> "LocalStore":
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        journal_path, replica_path = data_dir / JOURNAL_FILE, data_dir / REPLICA_FILE
        problem = integrity_problem(journal_path)
        if problem:
            raise StoreDamaged(
                f"The local journal {journal_path} is damaged ({problem}). It holds actions not yet sent to "
                f"the server, so it was left untouched: copy the folder {data_dir} for support before removing it.")
        rebuilt = integrity_problem(replica_path)
        if rebuilt:
            _set_aside(replica_path)
            log.warning("local cache %s was damaged (%s); it is rebuilt from the server", replica_path, rebuilt)
        journal = SqliteFile(journal_path, durable=True, kind="journal")
        replica = SqliteFile(replica_path, durable=False, kind="replica")
        migrate.upgrade(journal.writer, "journal", journal_path)
        migrate.upgrade(replica.writer, "replica", replica_path)
        return cls(data_dir, journal, replica, rebuilt)

    def rebuild_replica(self, reason: str) -> Path:
        """Replace a replica found damaged while running with an empty one, pulled again from the server.

        The journal is never replaced this way: it holds work that exists nowhere else.
        Returns where the damaged replica went.
        """
        moved = self.replica.replace_file(reason)
        self.replica_rebuilt = reason
        log.warning("local cache %s was damaged (%s); set aside as %s, it is rebuilt from the server",
                    self.replica.path, reason, moved.name)
        return moved

    def close(self) -> None:
        self.journal.dispose()
        self.replica.dispose()


def integrity_problem(path: Path) -> str | None:
    """None when the file is absent or passes SQLite's quick_check; else what is wrong. Opens it read-only."""
    if not path.exists():
        return None
    try:
        # as_uri() escapes what a file: URI must not hold raw (%, #, ? in folder names).
        with sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=30) as conn:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if rows == ["ok"] else "; ".join(rows)


def _set_aside(path: Path) -> Path:
    """Keep the damaged file (and its WAL) for diagnosis instead of deleting it; returns its new path."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while any(target.with_name(target.name + s).exists() for s in ("", "-wal", "-shm")):
        n += 1  # damaged twice within a second: never overwrite the first copy
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            part.rename(path.with_name(target.name + suffix))
    return target
