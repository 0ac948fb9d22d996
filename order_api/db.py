"""Engine and session factories: SQLite (WAL, immediate write transactions) or PostgreSQL."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from order_api.models import Base, SyncMeta


class Database:
    """Owns the engine; hands out short read and write sessions.

    SQLite writes start with BEGIN IMMEDIATE so two writers never deadlock on the upgrade
    from a read lock; reads use a deferred BEGIN and, in WAL mode, see one snapshot.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            self._writer = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            for eng, begin in ((self.engine, "BEGIN"), (self._writer, "BEGIN IMMEDIATE")):
                _sqlite_pragmas(eng, begin)
        else:
            self.engine = create_engine(url, pool_size=20, max_overflow=40, pool_pre_ping=True)
            self._writer = self.engine
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self._writer, expire_on_commit=False)

    def create_schema(self) -> None:
        Base.metadata.create_all(self._writer)
        with self.write() as s:
            for key in ("last_seq", "purged_seq"):
                if s.get(SyncMeta, key) is None:
                    s.add(SyncMeta(key=key, value=0))

    def drop_schema(self) -> None:
        Base.metadata.drop_all(self._writer)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed on success and rolled back on error."""
        with self._write() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction on one snapshot."""
        with self._read() as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._writer is not self.engine:
            self._writer.dispose()


def _sqlite_pragmas(engine: Engine, begin: str) -> None:
    # pysqlite's own transaction handling issues BEGIN lazily and cannot do IMMEDIATE;
    # SQLAlchemy's documented recipe: disable it and emit BEGIN ourselves.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql(begin)
