"""The studio's ledger of captures: each taken capture moved into the session folder under its final name.

Every move (take, reassign, undo) follows one protocol, so a kill or power loss at any
point leaves the file under exactly one of its two names (ARCHITECTURE.md §9):

1. a synced journal commit records the intent: the row's `source` is where the file is,
   its `path` the name it goes to (state "intent", or "undoing" for an undo);
2. the file is moved without ever overwriting (sync/studio/moves.py): os.link() to the new name, then unlink of
   the old one. A name that exists already makes link() fail; the next free name is then
   recorded (synced) before it is tried. Where the filesystem has no hard links (FAT,
   exFAT, some shares) a check that the name is free and os.rename() stand in; to another
   filesystem, the file is copied to a hidden temporary name beside the target, synced,
   put in place the same way, and only then is the source unlinked;
3. the folders are synced and a commit records the file in place (state "placed"), or,
   for an undo, deletes the row.

recover(), called once at start before the hot folder is watched, finishes every move a
crash interrupted, always forward (the person chose the SKU when it was taken). A file
counts as "ours" when it has the row's size and SHA-256. First the temporary copies of the
interrupted moves are removed (a copy is complete only once it has its final name), then:

- source and target are one file (same device and inode): the link happened, the unlink
  did not. The source name is unlinked.
- the target holds our bytes: the move happened (a rename, or link and unlink, or a copy to
  another filesystem); a source still holding our bytes is the copy's original and is
  unlinked, anything else at the source is a new file and is left for the hot folder.
- the target is absent or holds someone else's file (a name clash made outside Floorhand)
  and the source holds our bytes: the move is done again, to the next free name if the
  target is taken. Both files are kept.
- our bytes are at neither name: a person deleted the file. The row becomes "missing" and
  nothing is returned for it.

Names never collide: a name is free when it is neither on disk in its folder nor held by a
row of the ledger (a capture placed, or a move in flight), compared without regard to case
(Windows' and macOS' filesystems). One process owns a data folder; a lock orders the moves
of its threads (the hot folder's and the person's). The rename stand-in checks and renames
in two steps: only a program writing into the session folder at that instant could slip a
file in between, and then that file is what a later recover() finds at its name.
"""

import errno
import hashlib
import itertools
import logging
import os
import re
import string
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Row, delete, func, insert, or_, select, update

from sync.outbox import utcnow
from sync.store.database import LocalStore
from sync.store.schema import studio_captures
from sync.studio import moves
from sync.studio.hotfolder import Capture

log = logging.getLogger(__name__)

INTENT, UNDOING, PLACED, QUEUED, MISSING = "intent", "undoing", "placed", "queued", "missing"
IN_FLIGHT = (INTENT, UNDOING)
UNDONE = "undone"  # only in what undo() returns: the capture is back in the capture folder, its row is gone
MAX_FIELD = 32  # studio_captures.sku and .angle are VARCHAR(32)
DEFAULT_PATTERN = "{sku}_{angle}_{n:02}"

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_NEVER_IN_NAMES = '<>:"/\\|?*'  # Windows refuses them all; the slashes would name folders
_ANGLE_FIELD = r"\{angle(?:[!:][^}]*)?\}"
_SEPARATOR = r"[-_. ]"
_HASH_PIECE = 1 << 20
_MAX_CLASHES = 100  # names taken between the look into the folder and the move; more means something else is wrong
# A path that cannot hold a file: absent, a folder, under a file, too long or not a valid name on Windows.
_NOT_THERE = frozenset({errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG, errno.EINVAL})


@dataclass(frozen=True)
class TakenCapture:
    """A capture the ledger holds: where it came from, where it is now, and for which SKU and angle."""

    id: int
    original: Path
    path: Path  # where the file is (the name it goes to while a move is in flight)
    sku: str | None
    angle: str | None
    size: int
    sha256: str
    state: str  # "placed", "queued", "missing"; "intent" or "undoing" only for a move recover() could not finish
    upload_file_id: int | None


class CaptureLedger:
    """Moves captures into one session folder and keeps their names, SKUs and angles in the journal.

    Captures with a SKU are named by `pattern` in the session folder itself, n being the
    first number from 1 whose name is free, followed by the camera file's suffix in lower
    case; the SKU and angle stand in it with every character but A-Z, a-z, 0-9, "_" and "-"
    written as "_". An angle of None leaves the {angle} field out together with one
    separator beside it: the default pattern names "SKU-1_front_01.jpg" and, without an
    angle, "SKU-1_01.jpg". Captures without a SKU keep their camera names in the
    `unassigned` subfolder (the tray), as "DSC_1 (2).JPG" when the name is taken.
    """

    def __init__(self, store: LocalStore, session_folder: Path, pattern: str = DEFAULT_PATTERN,
                 unassigned: str = "Unassigned", clock: Callable[[], datetime] = utcnow) -> None:
        self._journal = store.journal
        self.session_folder = Path(os.path.abspath(session_folder))
        self._pattern, self._pattern_without_angle = _checked_pattern(pattern)
        if not unassigned or Path(unassigned).name != unassigned or unassigned in (".", ".."):
            raise ValueError(f"The tray of unassigned captures is a folder name, not a path: {unassigned!r}")
        self.tray = self.session_folder / unassigned
        self._clock = clock
        self._lock = threading.Lock()

    # --- what the app does ------------------------------------------------------------------

    def recover(self) -> list[TakenCapture]:
        """Finish the moves a crash interrupted (see the module's docstring); returns the captures it placed.

        Call it once at start, before the hot folder is watched. A move that cannot be
        finished now (a folder that cannot be written) is logged and stays in flight, its
        names held, for the next start.
        """
        with self._lock:
            with self._journal.read() as conn:
                rows = conn.execute(select(studio_captures).where(studio_captures.c.state.in_(IN_FLIGHT))
                                    .order_by(studio_captures.c.id)).all()
            placed = []
            for row in rows:
                try:
                    done = self._settle(row)
                except OSError as exc:
                    log.error("The move of capture %d from %s to %s could not be finished (%s); "
                              "it is tried again at the next start", row.id, row.source, row.path, exc)
                    continue
                if done is not None and done.state == PLACED:
                    placed.append(done)
            return placed

    def take(self, capture: Capture, sku: str | None, angle: str | None = None) -> TakenCapture:
        """Move a capture the hot folder handed over into the session folder (the tray when sku is None).

        A blank SKU or angle counts as None. Raises ValueError when the file at the path is no
        longer the capture handed over, and OSError when it could not be moved; the file is
        then where it was and the ledger does not hold it.
        """
        sku, angle = _field(sku, "SKU"), _field(angle, "angle")
        source = Path(os.path.abspath(capture.path))
        st = os.stat(source)
        if (st.st_ino, st.st_size) != (capture.inode, capture.size):
            raise ValueError(f"{source.name} changed after the capture folder handed it over; it was not taken")
        with self._lock:
            target = self._target(sku, angle, source.name)
            with self._journal.write() as conn:
                capture_id = conn.execute(insert(studio_captures).values(
                    original=str(source), path=str(target), source=str(source), sku=sku, angle=angle,
                    size=capture.size, sha256=capture.sha256, inode=_inode(st), state=INTENT,
                    taken_at=self._clock().isoformat())).inserted_primary_key[0]
            taken = self._carry_out(capture_id, previous=None)
        log.info("Took capture %d %s as %s", taken.id, source.name, taken.path)
        return taken

    def next_name(self, sku: str, angle: str | None, suffix: str) -> str:
        """The name the next capture for this SKU and angle gets (suffix as Path.suffix gives it)."""
        checked = _field(sku, "SKU")
        if checked is None:
            raise ValueError("A capture without a SKU keeps its own name in the tray")
        with self._lock:
            return self._numbered(self.session_folder, checked, _field(angle, "angle"), suffix.lower())

    def reassign(self, capture_id: int, sku: str | None, angle: str | None) -> TakenCapture:
        """Rename a placed capture into this session folder for another SKU or angle (sku None: into the tray).

        The same file is renamed: its bytes are not read again and it keeps its id.

        Refused (ValueError) for a capture queued for upload: cancel its upload first.
        """
        sku, angle = _field(sku, "SKU"), _field(angle, "angle")
        with self._lock:
            row = self._movable(capture_id, "reassigned")
            if (row.sku, row.angle) == (sku, angle):
                return _taken(row)
            target = self._target(sku, angle, Path(row.original).name)
            previous = dict(state=PLACED, path=row.path, source=None, sku=row.sku, angle=row.angle)
            with self._journal.write() as conn:
                conn.execute(update(studio_captures).where(studio_captures.c.id == capture_id).values(
                    state=INTENT, source=row.path, path=str(target), sku=sku, angle=angle))
            taken = self._carry_out(capture_id, previous)
        log.info("Reassigned capture %d to %s", capture_id, taken.path)
        return taken

    def undo(self, capture_id: int) -> TakenCapture:
        """Put a placed capture back into the capture folder under its original name (or a free variant of it).

        The ledger forgets it: the returned capture has the state "undone", and its id is never
        used again. The hot folder hands it over again as a new capture under a variant name at
        once; under its original name, unchanged, only after its next start (a running watcher
        never hands the same file over twice). Refused (ValueError) for a capture queued
        for upload: cancel its upload first.
        """
        with self._lock:
            row = self._movable(capture_id, "undone")
            original = Path(row.original)
            target = original.parent / self._free_variant(original.parent, original.name)
            previous = dict(state=PLACED, path=row.path, source=None)
            with self._journal.write() as conn:
                conn.execute(update(studio_captures).where(studio_captures.c.id == capture_id).values(
                    state=UNDOING, source=row.path, path=str(target)))
            taken = self._carry_out(capture_id, previous)
        log.info("Capture %d is back in the capture folder as %s", capture_id, taken.path)
        return taken

    def mark_queued(self, capture_id: int, upload_file_id: int) -> None:
        """The caller queued this placed capture for upload (its upload_files id)."""
        with self._lock, self._journal.write() as conn:  # never while it is being renamed
            row = _row(conn, capture_id)
            if row.state == QUEUED and row.upload_file_id == upload_file_id:
                return
            if row.state != PLACED:
                raise ValueError(f"Capture {capture_id} is {row.state}; only a placed capture is queued for upload")
            conn.execute(update(studio_captures).where(studio_captures.c.id == capture_id).values(
                state=QUEUED, upload_file_id=upload_file_id))

    def placed_not_queued(self) -> list[TakenCapture]:
        """Captures in place for a SKU that the caller has not queued for upload yet, oldest first.

        Those in the tray are not among them: an upload is for a SKU. Reassigned to one, they are.
        """
        c = studio_captures.c
        with self._journal.read() as conn:
            rows = conn.execute(select(studio_captures).where(c.state == PLACED, c.sku.is_not(None))
                                .order_by(c.id)).all()
        return [_taken(row) for row in rows]

    def get(self, capture_id: int) -> TakenCapture:
        """The capture as the ledger holds it; KeyError for an id it does not hold (unknown or undone)."""
        with self._journal.read() as conn:
            return _taken(_row(conn, capture_id))

    # --- the move ---------------------------------------------------------------------------

    def _movable(self, capture_id: int, what: str) -> Row:
        with self._journal.read() as conn:
            row = _row(conn, capture_id)
        if row.state == QUEUED:
            raise ValueError(f"Capture {capture_id} is queued for upload; cancel its upload before it is {what}")
        if row.state != PLACED:
            raise ValueError(f"Capture {capture_id} is {row.state}; only a capture in place can be {what}")
        return row

    def _carry_out(self, capture_id: int, previous: dict | None, roll_back: bool = True) -> TakenCapture:
        """Steps 2 and 3 of a move recorded in flight.

        When the move fails with the file still at its source only, and roll_back is set, the
        row is put back as it was (previous; a take's row, previous None, is deleted). Else
        it stays in flight for recover() (which says so itself when roll_back is not set).
        """
        row = self._in_flight(capture_id)
        for _ in range(_MAX_CLASHES):
            try:
                moves.move(Path(row.source), Path(row.path), capture_id)
            except FileExistsError:
                row = self._retarget(row)
                continue
            except OSError as exc:
                if roll_back and not self._rolled_back(row, previous, exc):
                    log.error("Capture %d could not be moved from %s to %s (%s); recover() finishes it at the "
                              "next start", row.id, row.source, row.path, exc)
                raise
            return self._finish(row)
        raise FileExistsError(errno.EEXIST, f"every name tried for capture {capture_id} was taken meanwhile",
                              str(row.path))

    def _settle(self, row: Row) -> TakenCapture | None:
        """Finish one move found in flight at start, forward (the module's docstring says how)."""
        source, target = Path(row.source), Path(row.path)
        moves.remove_if_there(moves.copy_name(target, row.id))
        if moves.same_file(source, target):
            moves.remove_if_there(source)
            return self._finish(row)
        if _holds(target, row):
            if _holds(source, row):
                moves.remove_if_there(source)  # an interrupted move to another filesystem: the copy is in place
            return self._finish(row)
        if not _holds(source, row):
            log.warning("Capture %d is gone: neither %s nor %s holds it any more", row.id, source, target)
            with self._journal.write() as conn:
                conn.execute(update(studio_captures).where(studio_captures.c.id == row.id).values(state=MISSING))
            return None
        if os.path.lexists(target):
            log.warning("%s was put there outside Floorhand; capture %d gets another name", target, row.id)
            row = self._retarget(row)
        return self._carry_out(row.id, previous=None, roll_back=False)

    def _retarget(self, row: Row) -> Row:
        """The next free name in the same folder, recorded before it is tried (so a crash finds the link)."""
        folder, original = Path(row.path).parent, Path(row.original)
        if row.state == UNDOING or row.sku is None:
            name = self._free_variant(folder, original.name)
        else:
            name = self._numbered(folder, row.sku, row.angle, original.suffix.lower())
        with self._journal.write() as conn:
            conn.execute(update(studio_captures).where(studio_captures.c.id == row.id).values(path=str(folder / name)))
        return self._in_flight(row.id)

    def _finish(self, row: Row) -> TakenCapture:
        target = Path(row.path)
        if row.state == UNDOING:
            with self._journal.write() as conn:
                conn.execute(delete(studio_captures).where(studio_captures.c.id == row.id))
            return TakenCapture(row.id, Path(row.original), target, row.sku, row.angle, row.size, row.sha256,
                                UNDONE, None)
        inode = _inode(os.stat(target))
        with self._journal.write() as conn:
            conn.execute(update(studio_captures).where(studio_captures.c.id == row.id).values(
                state=PLACED, source=None, inode=inode))
            return _taken(_row(conn, row.id))

    def _rolled_back(self, row: Row, previous: dict | None, failure: OSError) -> bool:
        """Put the row back as it was before the move, when the file is at its source only."""
        try:
            if not _holds(Path(row.source), row) or _holds(Path(row.path), row):
                return False
        except OSError as exc:
            log.error("After capture %d could not be moved (%s), where it is cannot be told: %s", row.id, failure, exc)
            return False
        with self._journal.write() as conn:
            where = studio_captures.c.id == row.id
            conn.execute(delete(studio_captures).where(where) if previous is None
                         else update(studio_captures).where(where).values(**previous))
        return True

    def _in_flight(self, capture_id: int) -> Row:
        with self._journal.read() as conn:
            return _row(conn, capture_id)

    # --- names ------------------------------------------------------------------------------

    def _target(self, sku: str | None, angle: str | None, original_name: str) -> Path:
        if sku is None:
            return self.tray / self._free_variant(self.tray, original_name)
        suffix = Path(original_name).suffix.lower()
        return self.session_folder / self._numbered(self.session_folder, sku, angle, suffix)

    def _numbered(self, folder: Path, sku: str, angle: str | None, suffix: str) -> str:
        """The pattern's name with the first n from 1 that is free in folder."""
        pattern = self._pattern if angle is not None else self._pattern_without_angle
        names = (pattern.format(sku=_safe(sku), angle=_safe(angle or ""), n=n) + suffix for n in itertools.count(1))
        return _first_free(names, self._names_in(folder))

    def _free_variant(self, folder: Path, name: str) -> str:
        """name, or the first free of "name (2)", "name (3)" ... in folder."""
        stem, suffix = os.path.splitext(name)
        variants = (f"{stem} ({k}){suffix}" for k in itertools.count(2))
        return _first_free(itertools.chain([name], variants), self._names_in(folder))

    def _names_in(self, folder: Path) -> set[str]:
        """Names not free in folder (case folded): on disk, or held by the ledger (placed, queued or in flight)."""
        try:
            names = {name.casefold() for name in os.listdir(folder)}
        except FileNotFoundError:
            names = set()
        prefix = os.path.join(folder, "")
        c = studio_captures.c
        with self._journal.read() as conn:
            rows = conn.execute(select(c.path, c.source).where(c.state != MISSING, or_(
                func.substr(c.path, 1, len(prefix)) == prefix, func.substr(c.source, 1, len(prefix)) == prefix)))
            for path in itertools.chain.from_iterable(rows):
                if path is not None and os.path.dirname(path) == str(folder):
                    names.add(os.path.basename(path).casefold())
        return names


# --- the ledger's view of a file ---------------------------------------------------------------

def _inode(st: os.stat_result) -> int:
    # For diagnosis only (which file it was is told by its bytes): folded into SQLite's signed 64-bit
    # integers, as Windows gives 128-bit file ids on ReFS.
    return st.st_ino % (1 << 63)


def _holds(path: Path, row: Row) -> bool:
    """Whether path holds the capture's bytes (its size and SHA-256)."""
    try:
        if os.stat(path).st_size != row.size:
            return False
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while piece := f.read(_HASH_PIECE):
                digest.update(piece)
    except OSError as exc:
        if exc.errno in _NOT_THERE:
            return False
        raise  # unreadable (a permission, a failing disk): nothing is decided on it
    return digest.hexdigest() == row.sha256


# --- rows and fields ----------------------------------------------------------------------------

def _row(conn, capture_id: int) -> Row:
    row = conn.execute(select(studio_captures).where(studio_captures.c.id == capture_id)).first()
    if row is None:
        raise KeyError(f"The ledger holds no capture {capture_id}")
    return row


def _taken(row: Row) -> TakenCapture:
    return TakenCapture(row.id, Path(row.original), Path(row.path), row.sku, row.angle, row.size, row.sha256,
                        row.state, row.upload_file_id)


def _field(value: str | None, what: str) -> str | None:
    value = (value or "").strip()
    if len(value) > MAX_FIELD:
        raise ValueError(f"A {what} has at most {MAX_FIELD} characters: {value!r}")
    return value or None


def _first_free(names: Iterable[str], taken: set[str]) -> str:
    return next(name for name in names if name.casefold() not in taken)


def _safe(value: str) -> str:
    """A SKU or angle as it may stand in a file name on every filesystem."""
    return _UNSAFE.sub("_", value)


def _checked_pattern(pattern: str) -> tuple[str, str]:
    """The pattern, and the pattern without its {angle} field and one separator beside it."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
        pattern.format(sku="S", angle="a", n=1)
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"The file name pattern {pattern!r} cannot be used: {exc}") from exc
    if not {"sku", "n"} <= fields or fields - {"sku", "angle", "n"}:
        raise ValueError(f"The file name pattern {pattern!r} must hold {{sku}} and {{n}}, may hold {{angle}}, "
                         "and nothing else in braces")
    if set(pattern.format(sku="S", angle="a", n=1)) & set(_NEVER_IN_NAMES):
        raise ValueError(f"The file name pattern {pattern!r} makes names with characters no file name may hold "
                         f"on every system ({_NEVER_IN_NAMES})")
    without = re.sub(_SEPARATOR + _ANGLE_FIELD, "", pattern)
    return pattern, re.sub(_ANGLE_FIELD + _SEPARATOR + "?", "", without)
