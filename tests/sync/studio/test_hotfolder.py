"""The capture folder: real files written the way camera software writes them, taken exactly once when whole.

Tests that need "not taken yet" drive scan_once with a clock they move by hand; the others
run the watcher's own thread on real time and wait for what it reports.
"""

import hashlib
import io
import logging
import os
import random
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from sync.studio.decodable import EMPTY, JPEG_CUT
from sync.studio.hotfolder import Capture, Held, HotFolder
from tests.sync.conftest import wait_until


def jpeg(seed: int, size=(64, 48)) -> bytes:
    """A JPEG of random pixels; different seeds give different bytes and different lengths."""
    pixels = random.Random(seed).randbytes(size[0] * size[1] * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(out, "JPEG", quality=95)
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Studio:
    """What the capture folder hands over and holds, from the watcher's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.captures: list[Capture] = []
        self.held: list[Held] = []

    def on_capture(self, capture: Capture) -> None:
        with self._lock:
            self.captures.append(capture)

    def on_held(self, held: Held) -> None:
        with self._lock:
            self.held.append(held)

    def taken(self) -> list[str]:
        with self._lock:
            return [c.path.name for c in self.captures]


class HandClock:
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class LookClock:
    """The real monotonic clock, remembering when the watcher last read it: when it last looked at the folder."""

    def __init__(self) -> None:
        self.last = 0.0

    def __call__(self) -> float:
        self.last = time.monotonic()
        return self.last

    def looked_after(self, moment: float) -> bool:
        return self.last > moment


@pytest.fixture
def folder(tmp_path) -> Path:
    path = tmp_path / "captures"
    path.mkdir()
    return path


@pytest.fixture
def studio() -> Studio:
    return Studio()


@pytest.fixture
def watch(studio):
    """Start a HotFolder on the studio's callbacks; every one started is stopped at the end."""
    started: list[HotFolder] = []

    def start(folder: Path, **options) -> HotFolder:
        hot = HotFolder(folder, studio.on_capture, studio.on_held, **options)
        hot.start()
        started.append(hot)
        return hot

    yield start
    for hot in started:
        hot.stop()


def by_hand(folder: Path, studio: Studio, clock: HandClock, cls=HotFolder) -> HotFolder:
    """A HotFolder never started: the test looks with scan_once on its own clock."""
    return cls(folder, studio.on_capture, studio.on_held, settle_s=1.5, clock=clock)


def settled_scan(hot: HotFolder, clock: HandClock) -> None:
    """A first look, then a look once settle time has passed."""
    hot.scan_once()
    clock.advance(2.0)
    hot.scan_once()


def test_a_jpeg_written_in_chunks_over_two_seconds_is_taken_once_after_its_last_chunk(folder, studio, watch):
    data = jpeg(1, size=(1400, 1400))
    assert len(data) > 30 * 64 * 1024  # written over about two seconds
    written = threading.Event()
    taken_when_written: list[bool] = []

    def write_slowly() -> None:
        with open(folder / "DSC_0001.jpg", "wb") as f:
            for at in range(0, len(data), 64 * 1024):
                f.write(data[at:at + 64 * 1024])
                f.flush()
                written.wait(0.05)  # the camera software's pace, not a wait for the watcher
        written.set()

    def on_capture(capture: Capture) -> None:
        taken_when_written.append(written.is_set())
        studio.on_capture(capture)

    clock = LookClock()
    hot = HotFolder(folder, on_capture, studio.on_held, settle_s=0.5, poll_s=0.2, clock=clock)
    hot.start()
    try:
        writer = threading.Thread(target=write_slowly)
        writer.start()
        wait_until(lambda: studio.captures, "the capture", timeout=10)
        writer.join()
        taken_at = time.monotonic()
        # a look, then another a settle time later: what a second hand-over would need
        wait_until(lambda: clock.looked_after(taken_at + 2 * 0.5 + 0.2), "more looks at the folder", timeout=5)
    finally:
        hot.stop()

    (capture,) = studio.captures
    assert taken_when_written == [True]
    assert capture.path == folder / "DSC_0001.jpg"
    assert (capture.size, capture.sha256) == (len(data), sha256(data))
    st = os.stat(capture.path)
    assert (capture.mtime_ns, capture.inode) == (st.st_mtime_ns, st.st_ino)
    assert studio.held == []


def test_a_file_is_taken_only_when_unchanged_at_two_looks_settle_time_apart(folder, studio):
    clock = HandClock()
    hot = by_hand(folder, studio, clock)
    path = folder / "IMG_0015.jpg"
    path.write_bytes(jpeg(15))

    hot.scan_once()
    clock.advance(1.0)
    hot.scan_once()
    assert studio.captures == []  # the same at two looks, but only 1.0 s of the 1.5 apart

    with open(path, "ab") as f:
        f.write(b"more data from the camera")  # changed: the settle time starts again
    clock.advance(1.0)
    hot.scan_once()
    clock.advance(1.0)
    hot.scan_once()
    assert studio.captures == []

    clock.advance(0.5)
    hot.scan_once()
    assert [c.size for c in studio.captures] == [path.stat().st_size]


@pytest.mark.parametrize("temporary", ["DSC_0002.jpg.tmp", "~DSC_0002.jpg", "DSC_0002.jpg.part"])
def test_a_capture_written_under_a_temporary_name_is_taken_once_under_its_final_name(folder, studio, temporary):
    clock = HandClock()
    hot = by_hand(folder, studio, clock)
    data = jpeg(2)
    (folder / temporary).write_bytes(data)

    settled_scan(hot, clock)
    assert studio.captures == [] and studio.held == []

    os.rename(folder / temporary, folder / "DSC_0002.jpg")
    settled_scan(hot, clock)
    clock.advance(2.0)
    hot.scan_once()

    assert studio.taken() == ["DSC_0002.jpg"]
    assert studio.captures[0].sha256 == sha256(data)
    assert studio.held == []


def test_a_cut_short_jpeg_is_held_and_taken_once_it_is_rewritten_whole(folder, studio, watch):
    data = jpeg(3)
    path = folder / "IMG_0003.jpg"
    path.write_bytes(data[:-100])
    watch(folder, settle_s=0.3, poll_s=0.1)

    wait_until(lambda: studio.held, "the cut-short file held", timeout=5)
    assert studio.held == [Held(path, JPEG_CUT)]
    assert studio.captures == []

    path.write_bytes(data)
    wait_until(lambda: studio.captures, "the whole file taken", timeout=5)

    assert [(c.path, c.size, c.sha256) for c in studio.captures] == [(path, len(data), sha256(data))]
    assert len(studio.held) == 1


def test_a_file_is_held_once_for_as_long_as_it_stays_the_same(folder, studio):
    clock = HandClock()
    hot = by_hand(folder, studio, clock)
    (folder / "IMG_0004.jpg").write_bytes(b"")
    (folder / "IMG_0005.cr2").write_bytes(b"not a TIFF at all")

    settled_scan(hot, clock)
    for _ in range(3):
        clock.advance(2.0)
        hot.scan_once()

    assert sorted(studio.held, key=lambda h: h.path.name) == [
        Held(folder / "IMG_0004.jpg", EMPTY),
        Held(folder / "IMG_0005.cr2", "it is not a TIFF-based file (it does not start like one)")]
    assert studio.captures == []


class RewrittenWhileHashed(HotFolder):
    """A capture folder in which the camera software writes the file again just as its hash has been read."""

    def __init__(self, *args, rewrite, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rewrites = [rewrite]

    def _identity_after_reading(self, f, path):
        if self.rewrites:
            self.rewrites.pop()(path)
        return super()._identity_after_reading(f, path)


def in_place(data: bytes):
    def rewrite(path: Path) -> None:
        path.write_bytes(data)
    return rewrite


def renamed_over(data: bytes):
    def rewrite(path: Path) -> None:
        fresh = path.with_name(path.name + ".tmp")
        fresh.write_bytes(data)
        os.replace(fresh, path)
    return rewrite


@pytest.mark.parametrize("how", [in_place, renamed_over])
def test_a_file_rewritten_while_it_is_hashed_is_taken_later_with_its_final_bytes(folder, studio, how):
    first, final = jpeg(6), jpeg(7, size=(80, 60))
    assert len(first) != len(final)  # a rewrite within one tick of the file system's clock still shows
    (folder / "IMG_0006.jpg").write_bytes(first)
    clock = HandClock()
    hot = RewrittenWhileHashed(folder, studio.on_capture, studio.on_held, settle_s=1.5, clock=clock,
                               rewrite=how(final))

    settled_scan(hot, clock)
    assert studio.captures == [] and studio.held == []

    hot.scan_once()
    clock.advance(2.0)
    hot.scan_once()

    assert [(c.size, c.sha256) for c in studio.captures] == [(len(final), sha256(final))]
    assert studio.held == []


def test_a_capture_whose_handing_over_fails_is_logged_and_not_handed_over_again(folder, caplog):
    attempts: list[Capture] = []

    def on_capture(capture: Capture) -> None:
        attempts.append(capture)
        raise RuntimeError("the session folder is full")

    clock = HandClock()
    hot = HotFolder(folder, on_capture, lambda held: None, settle_s=1.5, clock=clock)
    (folder / "IMG_0008.jpg").write_bytes(jpeg(8))

    with caplog.at_level(logging.ERROR, logger="sync.studio.hotfolder"):
        settled_scan(hot, clock)
        for _ in range(3):
            clock.advance(2.0)
            hot.scan_once()

    assert len(attempts) == 1
    assert "not handed over again" in caplog.text and "the session folder is full" in caplog.text


def test_only_the_folders_own_photo_files_are_looked_at(folder, studio):
    for name in (".hidden.jpg", "._IMG_0009.jpg", "Thumbs.db", "notes.txt", "IMG_0009.jpg.crdownload",
                 "sub/IMG_0010.jpg"):
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_bytes(jpeg(9))
    (folder / "IMG_0011.NEF").write_bytes(b"")
    clock = HandClock()

    settled_scan(by_hand(folder, studio, clock), clock)

    assert studio.captures == []
    assert studio.held == [Held(folder / "IMG_0011.NEF", EMPTY)]


def test_file_events_wake_the_watcher_before_its_next_poll(folder, studio, watch):
    (folder / "IMG_0016.jpg").write_bytes(jpeg(16))
    watch(folder, settle_s=0.2, poll_s=30)
    wait_until(lambda: studio.captures, "the file there at the start", timeout=5)  # the folder was listed

    (folder / "IMG_0017.jpg").write_bytes(jpeg(17))
    wait_until(lambda: len(studio.captures) == 2, "the capture", timeout=5)  # long before the next poll, 30 s on

    assert studio.taken() == ["IMG_0016.jpg", "IMG_0017.jpg"]


def test_without_file_events_the_folder_is_polled(folder, studio, watch):
    data = jpeg(12)
    watch(folder, settle_s=0.2, poll_s=0.1, use_events=False)

    (folder / "IMG_0012.jpg").write_bytes(data)
    wait_until(lambda: studio.captures, "the capture", timeout=5)

    assert [(c.path.name, c.sha256) for c in studio.captures] == [("IMG_0012.jpg", sha256(data))]


def test_a_folder_that_cannot_be_watched_at_the_start_is_polled_once_it_is_there(tmp_path, studio, watch):
    folder = tmp_path / "share"
    watch(folder, settle_s=0.2, poll_s=0.1)  # the observer cannot start on a folder not there: polling

    folder.mkdir()
    (folder / "IMG_0013.jpg").write_bytes(jpeg(13))
    wait_until(lambda: studio.captures, "the capture", timeout=5)

    assert studio.taken() == ["IMG_0013.jpg"]


def test_twenty_files_dropped_at_once_are_each_taken_exactly_once(folder, studio):
    shots = {f"IMG_{n:04d}.jpg": jpeg(100 + n) for n in range(20)}
    clock = LookClock()
    hot = HotFolder(folder, studio.on_capture, studio.on_held, settle_s=0.3, poll_s=0.1, clock=clock)
    hot.start()
    try:
        for name, data in shots.items():
            (folder / name).write_bytes(data)
        wait_until(lambda: len(studio.captures) >= 20, "twenty captures", timeout=10)
        taken_at = time.monotonic()
        wait_until(lambda: clock.looked_after(taken_at + 2 * 0.3 + 0.1), "more looks at the folder", timeout=5)
    finally:
        hot.stop()

    assert sorted(studio.taken()) == sorted(shots)
    assert {c.path.name: c.sha256 for c in studio.captures} == {name: sha256(d) for name, d in shots.items()}
    assert studio.held == []


@pytest.mark.parametrize("use_events", [True, False])
def test_stop_returns_within_a_second(folder, studio, use_events):
    (folder / "IMG_0014.jpg").write_bytes(jpeg(14))
    clock = LookClock()
    hot = HotFolder(folder, studio.on_capture, studio.on_held, settle_s=30, poll_s=30, use_events=use_events,
                    clock=clock)
    hot.start()
    wait_until(lambda: clock.last, "the first look", timeout=5)

    started = time.monotonic()
    hot.stop()

    assert time.monotonic() - started < 1.0
    assert not [t for t in threading.enumerate() if t.name == f"capture folder {folder.name}"]
    assert studio.captures == []
