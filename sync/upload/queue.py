"""The durable queue of image files to upload, kept in the journal file.

Photographers queue hundreds of large files a day and the client may be killed or the
workstation rebooted at any moment, so everything a transfer needs to resume lives here:
the file as it was when queued (size, mtime), the server's upload session and the parts
that reached it. Each change of state is one journal transaction (ARCHITECTURE.md §3).
This module knows nothing of the network: where the server must be told something (an
upload to abort), the upload id is handed back to the caller. The upload id of a file taken
off the queue (cancelled, failed for good, vanished) is kept until the caller reports the
server aborted it (forget_orphan), so an abort that could not reach the server is tried
again by the next run instead of leaving the parts on the server.
"""

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, delete, func, insert, select, update

from sync.outbox import utcnow
from sync.store.database import LocalStore
from sync.store.schema import upload_files, upload_parts, upload_sessions

STATES = ("queued", "uploading", "done", "failed", "missing", "cancelled")
ACTIVE = ("queued", "uploading")
MAX_ERROR = 500
MAX_SKU = 32  # upload_files.sku is VARCHAR(32)
_IDS_AT_ONCE = 500


@dataclass(frozen=True)
class QueuedFile:
    """One image file in the upload queue, as the journal holds it."""

    id: int
    path: Path
    size: int
    mtime_ns: int
    sku: str
    state: str
    attempts: int
    last_error: str | None
    sha256: str | None
    queued_at: str


@dataclass(frozen=True)
class UploadSession:
    """The server's multipart upload of one file."""

    upload_id: str
    part_size: int
    part_count: int
    created_at: str


@dataclass(frozen=True)
class StoredPart:
    """A part the server has acknowledged."""

    size: int
    etag: str


@dataclass(frozen=True)
class Reconciled:
    """What reconcile() found; orphaned_sessions are upload ids to abort on the server."""

    resumed: list[int]
    restarted: list[int]
    vanished: list[int]
    orphaned_sessions: list[str]


class UploadQueue:
    """Queue files for upload and record each transfer's progress durably."""

    def __init__(self, store: LocalStore, clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._clock = clock

    def add(self, paths: Iterable[Path], sku_for: Callable[[Path], str]) -> list[QueuedFile]:
        """Queue files for their SKUs; a file already queued or done, unchanged, is returned as is.

        Re-running the same command therefore resumes instead of uploading twice. All paths
        and SKUs are checked before anything is written, so a bad one queues nothing. An
        unfinished entry for the same path is reused even if the file has changed since;
        reconcile() restarts it. Failed, missing and cancelled entries are queued afresh.
        """
        wanted = []
        for path in paths:
            path = Path(path)
            if not path.is_file():
                why = "it does not exist" if not path.exists() else "it is not a regular file"
                raise ValueError(f"Cannot queue {path} for upload: {why}. Pass image files, not folders.")
            sku = _checked_sku(sku_for(path), path)
            st = path.stat()
            if st.st_size == 0:  # the server refuses an empty upload; nothing of a photo is in it
                raise ValueError(f"Cannot queue {path} for upload: it is empty (0 bytes).")
            wanted.append((path.resolve(), sku, st.st_size, st.st_mtime_ns))
        now = self._clock().isoformat()
        ids = []
        with self._store.journal.write() as conn:
            for path, sku, size, mtime_ns in wanted:
                file_id = _already_queued(conn, path, size, mtime_ns)
                if file_id is None:
                    file_id = conn.execute(insert(upload_files).values(
                        path=str(path), size=size, mtime_ns=mtime_ns, sku=sku, state="queued",
                        attempts=0, queued_at=now)).inserted_primary_key[0]
                ids.append(file_id)
            return [_file(conn, file_id) for file_id in ids]

    def reconcile(self) -> Reconciled:
        """Check unfinished files against the disk after a start, crash or reboot."""
        found = Reconciled([], [], [], [])
        # One transaction, stat calls included: nothing may start a transfer on a file
        # between the check of the disk and the decision taken from it.
        with self._store.journal.write() as conn:
            rows = conn.execute(select(upload_files).where(upload_files.c.state.in_(ACTIVE))
                                .order_by(upload_files.c.id)).all()
            for row in rows:
                try:
                    st = Path(row.path).stat()
                except (FileNotFoundError, NotADirectoryError):
                    _orphan_session(conn, row.id)
                    _set(conn, row.id, state="missing", last_error=f"file vanished: {row.path}")
                    found.vanished.append(row.id)
                    continue
                if (st.st_size, st.st_mtime_ns) == (row.size, row.mtime_ns):
                    found.resumed.append(row.id)
                    continue
                # The parts already sent hold the old bytes, and the server checks the
                # SHA-256 of the whole: the only safe way on is a new upload from part 1.
                found.orphaned_sessions.extend(_drop_session(conn, row.id))
                _set(conn, row.id, state="queued", size=st.st_size, mtime_ns=st.st_mtime_ns,
                     last_error="changed since it was queued; starting over")
                found.restarted.append(row.id)
            # Sessions of files cancelled, failed for good or vanished, this time or in an
            # earlier run whose abort did not reach the server.
            found.orphaned_sessions.extend(_orphans(conn))
        return found

    def pending(self) -> list[QueuedFile]:
        """Files still to upload (queued or uploading), oldest first."""
        return self._select(upload_files.c.state.in_(ACTIVE))

    def all(self) -> list[QueuedFile]:
        return self._select(True)

    def get(self, file_id: int) -> QueuedFile:
        with self._store.journal.read() as conn:
            return _file(conn, file_id)

    def start_session(self, file_id: int, upload_id: str, part_size: int, part_count: int) -> None:
        """Remember the upload the server opened for a queued file; it is now uploading."""
        with self._store.journal.write() as conn:
            state = _file(conn, file_id).state
            if state != "queued":
                raise ValueError(f"Upload {file_id} is {state}; only a queued file can start an upload.")
            conn.execute(insert(upload_sessions).values(file_id=file_id, upload_id=upload_id, part_size=part_size,
                                                        part_count=part_count, created_at=self._clock().isoformat()))
            _set(conn, file_id, state="uploading")

    def session(self, file_id: int) -> UploadSession | None:
        """The server upload of a file still to upload; None for a file without one or off the queue."""
        with self._store.journal.read() as conn:
            row = conn.execute(select(upload_sessions)
                               .join(upload_files, upload_files.c.id == upload_sessions.c.file_id)
                               .where(upload_sessions.c.file_id == file_id, upload_files.c.state.in_(ACTIVE))).first()
        return None if row is None else UploadSession(row.upload_id, row.part_size, row.part_count, row.created_at)

    def orphaned_sessions(self) -> list[str]:
        """Upload ids of files off the queue (cancelled, failed, vanished) not yet aborted on the server."""
        with self._store.journal.read() as conn:
            return _orphans(conn)

    def forget_orphan(self, upload_id: str) -> None:
        """The server aborted (or no longer knows) an orphaned upload: stop remembering it."""
        with self._store.journal.write() as conn:
            conn.execute(delete(upload_sessions).where(
                upload_sessions.c.upload_id == upload_id,
                upload_sessions.c.file_id.in_(select(upload_files.c.id).where(upload_files.c.state.not_in(ACTIVE)))))

    def restart(self, file_id: int, reason: str) -> str | None:
        """Start a file over from part 1 (its server upload is gone); returns the old upload id, if any."""
        with self._store.journal.write() as conn:
            state = _file(conn, file_id).state
            if state not in ACTIVE:
                raise ValueError(f"Upload {file_id} is {state}; only a file still to upload can start over.")
            dropped = next(iter(_drop_session(conn, file_id)), None)
            _set(conn, file_id, state="queued", last_error=reason[:MAX_ERROR])
        return dropped

    def record_part(self, file_id: int, number: int, size: int, etag: str) -> None:
        """Note that the server took a part; recording the same part again is harmless."""
        with self._store.journal.write() as conn:
            _put_part(conn, file_id, number, size, etag)

    def stored_parts(self, file_id: int) -> dict[int, StoredPart]:
        with self._store.journal.read() as conn:
            rows = conn.execute(select(upload_parts).where(upload_parts.c.file_id == file_id)).all()
        return {r.number: StoredPart(r.size, r.etag) for r in rows}

    def reconcile_parts(self, file_id: int, server_parts: dict[int, tuple[int, str]]) -> set[int]:
        """Make the journal's parts those the server holds; returns the part numbers still to send.

        The server is authoritative: a part may have arrived while the client died before
        recording it (the server has it, the journal does not), and the server may have
        discarded a part the client recorded (an expired upload, a store cleaned up). Only
        what the server holds will be assembled on completion, so only that counts as sent.
        """
        with self._store.journal.write() as conn:
            session = conn.execute(select(upload_sessions).where(upload_sessions.c.file_id == file_id)).first()
            if session is None:
                raise ValueError(f"Upload {file_id} has no upload session to reconcile.")
            conn.execute(delete(upload_parts).where(upload_parts.c.file_id == file_id,
                                                    upload_parts.c.number.not_in(list(server_parts))))
            for number, (size, etag) in server_parts.items():
                _put_part(conn, file_id, number, size, etag)
        return set(range(1, session.part_count + 1)) - set(server_parts)

    def finish(self, file_id: int, sha256: str) -> None:
        """The server completed the upload and verified its SHA-256."""
        with self._store.journal.write() as conn:
            _file(conn, file_id)
            _drop_session(conn, file_id)
            _set(conn, file_id, state="done", sha256=sha256, last_error=None)

    def fail(self, file_id: int, error: str, permanent: bool) -> str | None:
        """Count a failed attempt; a permanent one ends the file as failed.

        A transient failure keeps the state and the session so the next attempt resumes.
        A permanent one forgets the parts and returns the upload id, which the caller aborts
        on the server (otherwise its parts would occupy storage there) and then hands to
        forget_orphan(); until then the next reconcile() returns it again.
        """
        with self._store.journal.write() as conn:
            _file(conn, file_id)
            values = {"attempts": upload_files.c.attempts + 1, "last_error": error[:MAX_ERROR]}
            orphaned = None
            if permanent:
                orphaned = _orphan_session(conn, file_id)
                values["state"] = "failed"
            _set(conn, file_id, **values)
        return orphaned

    def cancel(self, file_id: int) -> str | None:
        """Take a file off the queue; returns the upload id to abort on the server, if any.

        The id is returned until forget_orphan() is told the server aborted it.
        """
        with self._store.journal.write() as conn:
            if _file(conn, file_id).state == "done":
                raise ValueError(f"Upload {file_id} is already done; it cannot be cancelled.")
            orphaned = _orphan_session(conn, file_id)
            _set(conn, file_id, state="cancelled")
        return orphaned

    def counts(self, ids: Collection[int] | None = None) -> dict[str, int]:
        """Number of files in each state (every state present, zero if none); of those ids only, if given."""
        found = {state: 0 for state in STATES}
        wanted = sorted(set(ids)) if ids is not None else None
        with self._store.journal.read() as conn:
            # In slices: SQLite limits the parameters of one statement.
            for start in range(0, len(wanted), _IDS_AT_ONCE) if wanted is not None else (0,):
                query = select(upload_files.c.state, func.count()).group_by(upload_files.c.state)
                if wanted is not None:
                    query = query.where(upload_files.c.id.in_(wanted[start:start + _IDS_AT_ONCE]))
                for state, n in conn.execute(query).all():
                    found[state] = found.get(state, 0) + n
        return found

    def _select(self, where) -> list[QueuedFile]:
        with self._store.journal.read() as conn:
            rows = conn.execute(select(upload_files).where(where).order_by(upload_files.c.id)).all()
        return [_row_to_file(r) for r in rows]


def _checked_sku(sku: str, path: Path) -> str:
    sku = (sku or "").strip()
    if not sku:
        raise ValueError(f"Cannot queue {path} for upload: it has no SKU.")
    if len(sku) > MAX_SKU:
        raise ValueError(f"Cannot queue {path} for upload: SKU {sku!r} is longer than {MAX_SKU} characters.")
    return sku


def _already_queued(conn: Connection, path: Path, size: int, mtime_ns: int) -> int | None:
    """The unfinished entry of a path, else its done entry with the same size and mtime."""
    rows = conn.execute(select(upload_files.c.id, upload_files.c.state, upload_files.c.size, upload_files.c.mtime_ns)
                        .where(upload_files.c.path == str(path), upload_files.c.state.in_(ACTIVE + ("done",)))
                        .order_by(upload_files.c.id.desc())).all()
    for row in rows:
        if row.state in ACTIVE or (row.size, row.mtime_ns) == (size, mtime_ns):
            return row.id
    return None


def _row_to_file(row) -> QueuedFile:
    return QueuedFile(row.id, Path(row.path), row.size, row.mtime_ns, row.sku, row.state, row.attempts,
                      row.last_error, row.sha256, row.queued_at)


def _file(conn: Connection, file_id: int) -> QueuedFile:
    row = conn.execute(select(upload_files).where(upload_files.c.id == file_id)).first()
    if row is None:
        raise KeyError(f"No upload {file_id} in the queue.")
    return _row_to_file(row)


def _set(conn: Connection, file_id: int, **values) -> None:
    conn.execute(update(upload_files).where(upload_files.c.id == file_id).values(**values))


def _put_part(conn: Connection, file_id: int, number: int, size: int, etag: str) -> None:
    conn.execute(insert(upload_parts).prefix_with("OR REPLACE")
                 .values(file_id=file_id, number=number, size=size, etag=etag))


def _orphan_session(conn: Connection, file_id: int) -> str | None:
    """Forget a file's parts but keep its upload id until the server has aborted it."""
    conn.execute(delete(upload_parts).where(upload_parts.c.file_id == file_id))
    return conn.execute(select(upload_sessions.c.upload_id).where(upload_sessions.c.file_id == file_id)).scalar()


def _orphans(conn: Connection) -> list[str]:
    return list(conn.execute(select(upload_sessions.c.upload_id)
                             .join(upload_files, upload_files.c.id == upload_sessions.c.file_id)
                             .where(upload_files.c.state.not_in(ACTIVE)).order_by(upload_sessions.c.file_id))
                .scalars())


def _drop_session(conn: Connection, file_id: int) -> list[str]:
    """Forget a file's session and parts; returns its upload id (zero or one) for the server."""
    upload_id = conn.execute(select(upload_sessions.c.upload_id)
                             .where(upload_sessions.c.file_id == file_id)).scalar()
    conn.execute(delete(upload_parts).where(upload_parts.c.file_id == file_id))
    conn.execute(delete(upload_sessions).where(upload_sessions.c.file_id == file_id))
    return [upload_id] if upload_id else []
