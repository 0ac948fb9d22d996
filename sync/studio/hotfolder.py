"""The studio's capture ("hot") folder: each complete, decodable capture handed over exactly once.

Camera software writes each capture into one folder, often slowly (a 25 MB RAW over a
second or more), sometimes under a temporary name renamed into place when complete, and
sometimes on a network share whose file events never arrive. So the truth is always a scan
of the folder; file events (watchdog) only wake the scan early, and a missed or doubled
event neither loses nor doubles a capture. A file is taken when

- its size, modification time and inode were the same at two looks at least settle_s apart;
- it is not empty, it opens, and its format's structure is whole (sync.studio.decodable);
- it is still the same file, unchanged, once its SHA-256 has been read (asked of the open
  handle and of the path): a file rewritten meanwhile is not taken and settles anew.

A file that settles but is not whole is reported as held, once for as long as it stays the
same: a copy that stalls for longer than settle_s is held, and taken once it is complete.
Temporary names (`.tmp`, `~`...), hidden and system files and suffixes that are not photos
are never looked at, as in `floorhand upload`; a temporary name renamed into place is a new
name, taken under that name. Only the folder's own files count: captures land flat.

Exactly once holds for the life of a HotFolder: a file handed over (path, inode, size,
modification time) is never handed over again, even when on_capture raised. Across restarts
it is the caller's part: it moves each capture out of the folder (a rename into the session
folder) and a journal records it, so what is in the folder after a restart is what was not
taken yet.
"""

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from sync.studio.decodable import EMPTY, UNOPENABLE, why_not_decodable
# The names `floorhand upload` never takes are the names a capture folder never takes.
from sync.upload.folders import PHOTO_SUFFIXES, is_hidden, never_a_photo

log = logging.getLogger(__name__)

HASH_PIECE = 1 << 20
_GATHER_S = 0.05  # after an event, a moment for the rest of its burst: one write is many events
_SHORTEST_WAIT_S = 0.01
_OWN_READS = frozenset({"opened", "closed_no_write"})  # events of reading a file, ours included: no change

_Identity = tuple[int, int, int]  # size, mtime_ns, inode: a file unchanged keeps all three


@dataclass(frozen=True)
class Capture:
    """A complete, decodable capture handed over: where it is, which file it was, and its SHA-256 (hex)."""

    path: Path
    size: int
    mtime_ns: int
    inode: int
    sha256: str


@dataclass(frozen=True)
class Held:
    """A file in the capture folder that is not taken while it stays as it is, and why, in plain words."""

    path: Path
    reason: str


@dataclass(frozen=True)
class _Look:
    """A file as first seen with its present identity, and when."""

    identity: _Identity
    since: float


class HotFolder:
    """Watches one capture folder from a background thread; on_capture and on_held are called from that thread.

    The callbacks run while the folder is being looked at: they must not call scan_once.
    stop() waits for a callback under way to return.
    """

    def __init__(self, folder: Path, on_capture: Callable[[Capture], None], on_held: Callable[[Held], None], *,
                 settle_s: float = 1.5, poll_s: float = 1.0, use_events: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.folder = Path(folder)
        self._on_capture, self._on_held = on_capture, on_held
        self._settle_s, self._poll_s, self._use_events, self._clock = settle_s, poll_s, use_events, clock
        self._looks: dict[Path, _Look] = {}
        self._held: dict[Path, _Identity] = {}
        self._taken: set[tuple[Path, _Identity]] = set()
        self._scanning = threading.Lock()
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: BaseObserver | None = None
        self._unreadable = False

    def start(self) -> None:
        """Begin watching: file events if asked for and available, else a look every poll_s."""
        if self._thread is not None:
            raise RuntimeError(f"the capture folder {self.folder} is watched already")
        self._stopping.clear()
        self._observer = self._start_observer() if self._use_events else None
        self._thread = threading.Thread(target=self._run, name=f"capture folder {self.folder.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; returns once the background thread has ended (a file being hashed is left for later)."""
        self._stopping.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2.0)
            self._observer = None
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None

    def scan_once(self) -> None:
        """One look at the folder: note what changed, take what has settled, hold what is not whole."""
        self._scan()

    def _start_observer(self) -> BaseObserver | None:
        """A watchdog observer of the folder that wakes the scan, or None (and polling) when it cannot start."""
        try:
            observer = Observer()
            observer.schedule(_Waker(self._wake), str(self.folder), recursive=False)
            observer.start()
        except OSError as exc:  # too many inotify watches, a share without change notices, a folder not there
            log.warning("No file events from the capture folder %s (%s); looking at it every %.1f s",
                        self.folder, exc, self._poll_s)
            return None
        return observer

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                due = self._scan()
            except Exception:  # noqa: BLE001 - the watcher outlives one bad look; the next one tries again
                log.exception("Looking at the capture folder %s failed; trying again in %.1f s",
                              self.folder, self._poll_s)
                due = None
            wait = self._poll_s if due is None else min(self._poll_s, max(due - self._clock(), _SHORTEST_WAIT_S))
            if self._wake.wait(wait):
                self._stopping.wait(_GATHER_S)

    def _scan(self) -> float | None:
        """One look; when (on the clock) a file seen but not yet settled could be taken, None when none waits."""
        with self._scanning:
            now = self._clock()
            files = self._photo_files()
            if files is None:
                return None
            for gone in self._looks.keys() - files.keys():
                del self._looks[gone]
            for gone in self._held.keys() - files.keys():
                del self._held[gone]
            due = None
            by_time_written = sorted(files.items(), key=lambda item: (item[1][1], item[0].name))
            for path, identity in by_time_written:  # a session's captures handed over in the order they were shot
                if self._stopping.is_set():
                    return None
                if (path, identity) in self._taken or self._held.get(path) == identity:
                    continue
                look = self._looks.get(path)
                if look is None or look.identity != identity:
                    self._looks[path] = look = _Look(identity, now)
                elif now - look.since >= self._settle_s:
                    del self._looks[path]
                    changed = self._consider(path, identity)
                    if changed is None:
                        continue
                    self._looks[path] = look = _Look(changed, self._clock())
                settled_at = look.since + self._settle_s
                due = settled_at if due is None else min(due, settled_at)
            return due

    def _photo_files(self) -> dict[Path, _Identity] | None:
        """The folder's own photo files by their identity; None when the folder cannot be read."""
        try:
            with os.scandir(self.folder) as it:
                entries = list(it)
        except OSError as exc:
            if not self._unreadable:
                log.warning("Cannot look in the capture folder %s: %s", self.folder, exc)
            self._unreadable = True
            return None
        self._unreadable = False
        files = {}
        for entry in entries:
            if never_a_photo(entry.name) or os.path.splitext(entry.name)[1].lower() not in PHOTO_SUFFIXES:
                continue
            try:
                if not entry.is_file():
                    continue
                st = os.stat(entry.path)  # not entry.stat(): on Windows its inode is always 0
            except OSError:  # gone or locked since the folder was listed: the next look tells
                continue
            if not is_hidden(entry.name, st):
                files[Path(entry.path)] = (st.st_size, st.st_mtime_ns, st.st_ino)
        return files

    def _consider(self, path: Path, identity: _Identity) -> _Identity | None:
        """Take or hold a settled file; the identity it has now when it changed meanwhile, to settle anew."""
        if identity[0] == 0:
            self._hold(path, identity, EMPTY)
            return None
        try:
            f = open(path, "rb", buffering=0)
        except FileNotFoundError:
            return None
        except OSError:
            self._hold(path, identity, UNOPENABLE)
            return None
        with f:
            reason = why_not_decodable(path)
            digest = None if reason else self._sha256(f)
            now = self._identity_after_reading(f, path)
        if now != identity:
            return now
        if reason:
            self._hold(path, identity, reason)
        elif digest is not None:  # None: stopping, the file is left for the next start
            self._hand_over(Capture(path, *identity, sha256=digest))
        return None

    def _sha256(self, f: BinaryIO) -> str | None:
        """The file's SHA-256 read from the open handle; None when stop() was called meanwhile."""
        digest = hashlib.sha256()
        while piece := f.read(HASH_PIECE):
            if self._stopping.is_set():
                return None
            digest.update(piece)
        return digest.hexdigest()

    def _identity_after_reading(self, f: BinaryIO, path: Path) -> _Identity | None:
        """The file's identity by its open handle, when the path still names that same file; else None.

        Both are asked: a rewrite in place shows on the handle, a new file renamed over the
        old name only on the path.
        """
        try:
            by_handle, by_path = os.fstat(f.fileno()), os.stat(path)
        except OSError:
            return None
        identity = (by_handle.st_size, by_handle.st_mtime_ns, by_handle.st_ino)
        return identity if identity == (by_path.st_size, by_path.st_mtime_ns, by_path.st_ino) else None

    def _hand_over(self, capture: Capture) -> None:
        self._taken.add((capture.path, (capture.size, capture.mtime_ns, capture.inode)))
        log.info("Took the capture %s (%d bytes)", capture.path, capture.size)
        try:
            self._on_capture(capture)
        except Exception:  # the capture counts as handed over: a retry could hand it over twice
            log.exception("Handing over the capture %s failed; it is not handed over again", capture.path)

    def _hold(self, path: Path, identity: _Identity, reason: str) -> None:
        self._held[path] = identity
        log.info("Holding %s: %s", path, reason)
        try:
            self._on_held(Held(path, reason))
        except Exception:
            log.exception("Reporting the held file %s failed", path)


class _Waker(FileSystemEventHandler):
    """Wakes the scan on any change in the folder; which file changed is the scan's to find out."""

    def __init__(self, wake: threading.Event) -> None:
        self._wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _OWN_READS:
            self._wake.set()
