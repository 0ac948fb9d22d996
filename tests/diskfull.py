"""A full disk as SQLite meets it: the file may not grow (SQLITE_FULL, "database or disk is full").

The limit is SQLite's own max_page_count on the one writer connection, so the error comes
through the same code path as a full file system, without needing a tiny mounted disk.
"""

from sync.store.database import SqliteFile


def fill_up(file: SqliteFile) -> None:
    """From now on, a write that needs one more page fails as on a full disk."""
    _limit(file, None)


def make_room(file: SqliteFile) -> None:
    _limit(file, 1_073_741_823)  # SQLite's largest page count


def _limit(file: SqliteFile, pages: int | None) -> None:
    with file.writer.connect() as conn:
        raw = conn.connection.driver_connection
        if pages is None:
            pages = raw.execute("PRAGMA page_count").fetchone()[0]
        raw.execute(f"PRAGMA max_page_count={pages}")
