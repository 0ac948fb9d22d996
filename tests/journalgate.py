"""Holding the journal writer between "handed over" and "committed", and a journal with no room left.

JournalGate stops the writer thread (sync.journal_writer) at the door of its next write
transaction until the test opens it: a deterministic moment after an action was submitted
and before anything of it can be on disk. Nothing else is changed; the commit that follows
is the real one. fill_to_the_brim uses tests/diskfull.py and then takes the file's last free
bytes, so the very next action fails as on a full disk.
"""

import sqlite3
import threading
from contextlib import contextmanager

from sync.store.database import SqliteFile
from tests.diskfull import fill_up

WRITER_THREAD = "journal-writer"


class JournalGate:
    """Closed from construction: the writer thread's next journal write waits until open()."""

    def __init__(self, file: SqliteFile) -> None:
        self.entered = threading.Event()  # the writer is at the door, its group in hand
        self.synchronous: list[int] = []  # PRAGMA synchronous inside each gated commit (2 = FULL)
        self._opened = threading.Event()
        self._file, self._write = file, file.write
        file.write = self._gated  # the instance attribute shadows SqliteFile.write

    @contextmanager
    def _gated(self, **kwargs):
        writer = threading.current_thread().name == WRITER_THREAD
        if writer and not self._opened.is_set():
            self.entered.set()
            if not self._opened.wait(60):
                raise AssertionError("the journal gate was never opened")
        with self._write(**kwargs) as conn:
            if writer:
                self.synchronous.append(conn.exec_driver_sql("PRAGMA synchronous").scalar())
            yield conn

    def open(self) -> None:
        self._opened.set()

    def close(self) -> None:
        """Open, and take the gate away."""
        self.open()
        self._file.write = self._write


def fill_to_the_brim(file: SqliteFile) -> None:
    """The journal may not grow any more and its free bytes are used up: the next write fails as on a full disk."""
    fill_up(file)
    with file.writer.connect() as conn:
        raw = conn.connection.driver_connection
        for size in (2000, 500, 100, 20, 0):  # big rows take the free pages, small ones the gaps left
            try:
                while True:
                    raw.execute("INSERT INTO audit_log (at, action, detail) VALUES ('0', 'filler', ?)", ("x" * size,))
            except sqlite3.OperationalError as exc:
                assert "full" in str(exc), exc


def journal_actions(path) -> list[tuple[int, str, str]]:
    """(seq, id, name) of the outbox as a fresh connection finds it on disk, in seq order."""
    with sqlite3.connect(path, timeout=30) as conn:
        return conn.execute("SELECT seq, id, name FROM outbox ORDER BY seq").fetchall()
