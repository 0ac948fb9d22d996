"""The capture ledger: captures moved into the session folder under names that never collide, crash-safely.

Real files in tmp_path and a real journal. A filesystem without hard links, and one move
to another filesystem, are stood in for by an os.link that fails the way such filesystems
make it fail; the crash points are built by hand (a row in flight, the files as a kill
would leave them), and a last test kills a real worker process with SIGKILL.
"""

import errno
import hashlib
import os
import queue
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from sync.store.database import LocalStore
from sync.store.schema import studio_captures
from sync.studio.captures import MISSING, PLACED, QUEUED, UNDONE, CaptureLedger
from sync.studio.hotfolder import Capture

REPO = Path(__file__).resolve().parents[3]
WAIT_S = 30.0


def clock() -> datetime:
    return datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path):
    opened = LocalStore.open(tmp_path / "data")
    yield opened
    opened.close()


@pytest.fixture
def camera(tmp_path) -> Path:
    folder = tmp_path / "captures"
    folder.mkdir()
    return folder


@pytest.fixture
def session(tmp_path) -> Path:
    return tmp_path / "session"


@pytest.fixture(params=["hard links", "no hard links"])
def links(request, monkeypatch) -> str:
    """Each test using it runs on this filesystem, and once more as on FAT/exFAT, where link() says EPERM."""
    if request.param == "no hard links":
        def no_link(src, dst, *args, **kwargs):
            raise OSError(errno.EPERM, "Operation not permitted", str(src))
        monkeypatch.setattr(os, "link", no_link)
    return request.param


@pytest.fixture
def ledger(store, session) -> CaptureLedger:
    return CaptureLedger(store, session, clock=clock)


def shoot(folder: Path, name: str, data: bytes | None = None) -> Capture:
    """A capture as the hot folder hands it over."""
    path = folder / name
    path.write_bytes(data if data is not None else f"pixels of {name}".encode())
    st = path.stat()
    return Capture(path, st.st_size, st.st_mtime_ns, st.st_ino, sha256(path.read_bytes()))


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def in_flight(store, source: Path, target: Path, data: bytes, state: str = "intent", sku: str | None = "SKU-1",
              angle: str | None = "front", inode: int = 0) -> int:
    """A move journaled as a kill would leave it: the row says it is under way; the files are set by the test."""
    with store.journal.write() as conn:
        return conn.execute(insert(studio_captures).values(
            original=str(source), path=str(target), source=str(source), sku=sku, angle=angle, size=len(data),
            sha256=sha256(data), inode=inode, state=state, taken_at=clock().isoformat())).inserted_primary_key[0]


def ledger_ids(store) -> list[int]:
    with store.journal.read() as conn:
        return list(conn.execute(select(studio_captures.c.id).order_by(studio_captures.c.id)).scalars())


# --- names -----------------------------------------------------------------------------------

def test_captures_for_one_sku_are_numbered_and_leave_the_capture_folder(ledger, camera, session, links):
    taken = [ledger.take(shoot(camera, f"DSC_{n}.JPG"), "SKU-1", "front") for n in range(3)]
    assert [t.path for t in taken] == [session / f"SKU-1_front_0{n}.jpg" for n in (1, 2, 3)]
    assert names(camera) == []
    assert [t.path.read_bytes() for t in taken] == [f"pixels of DSC_{n}.JPG".encode() for n in range(3)]
    first = taken[0]
    assert (first.original, first.sku, first.angle, first.state) == (camera / "DSC_0.JPG", "SKU-1", "front", PLACED)
    assert ledger.get(first.id) == first
    assert ledger.next_name("SKU-1", "front", ".JPG") == "SKU-1_front_04.jpg"
    assert ledger.next_name("SKU-1", "back", ".jpg") == "SKU-1_back_01.jpg"


def test_a_name_on_disk_is_skipped_and_never_overwritten(ledger, camera, session, links):
    session.mkdir()
    (session / "SKU-1_front_01.jpg").write_bytes(b"an earlier session's photo")
    (session / "sku-1_FRONT_02.jpg").write_bytes(b"the same name to Windows and macOS")
    taken = ledger.take(shoot(camera, "DSC_1.JPG"), "SKU-1", "front")
    assert taken.path.name == "SKU-1_front_03.jpg"
    assert (session / "SKU-1_front_01.jpg").read_bytes() == b"an earlier session's photo"
    assert (session / "sku-1_FRONT_02.jpg").read_bytes() == b"the same name to Windows and macOS"


def test_a_name_taken_between_the_look_and_the_move_is_stepped_past(ledger, camera, session, links, monkeypatch):
    chosen, intruded = CaptureLedger._numbered, []

    def and_another_program_writes_there(self, folder, sku, angle, suffix):
        name = chosen(self, folder, sku, angle, suffix)
        if not intruded:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(b"theirs")
            intruded.append(name)
        return name

    monkeypatch.setattr(CaptureLedger, "_numbered", and_another_program_writes_there)
    taken = ledger.take(shoot(camera, "DSC_1.JPG"), "SKU-1", "front")
    assert intruded == ["SKU-1_front_01.jpg"] and taken.path.name == "SKU-1_front_02.jpg"
    assert (session / "SKU-1_front_01.jpg").read_bytes() == b"theirs"
    assert taken.path.read_bytes() == b"pixels of DSC_1.JPG" and names(camera) == []


def test_a_name_held_by_a_move_in_flight_is_not_given_again(store, ledger, camera, session):
    data = b"a capture on its way"
    (camera / "DSC_9.JPG").write_bytes(data)
    in_flight(store, camera / "DSC_9.JPG", session / "SKU-1_front_01.jpg", data)
    assert ledger.next_name("SKU-1", "front", ".jpg") == "SKU-1_front_02.jpg"


def test_without_an_angle_the_field_and_one_separator_beside_it_are_left_out(store, camera, session):
    ledger = CaptureLedger(store, session)
    assert ledger.take(shoot(camera, "a.JPG"), "SKU-1").path.name == "SKU-1_01.jpg"
    assert ledger.take(shoot(camera, "b.CR3"), "SKU-1", "").path.name == "SKU-1_01.cr3"
    assert ledger.next_name("SKU-1", None, ".jpg") == "SKU-1_02.jpg"
    angle_first = CaptureLedger(store, session / "other", pattern="{angle}-{sku}-{n}")
    assert angle_first.next_name("SKU-1", "top", ".png") == "top-SKU-1-1.png"
    assert angle_first.next_name("SKU-1", None, ".png") == "SKU-1-1.png"
    no_angle = CaptureLedger(store, session / "flat", pattern="{sku}_{n:03}")
    assert no_angle.next_name("SKU-1", "front", ".jpg") == "SKU-1_001.jpg"


def test_a_sku_with_characters_unsafe_in_file_names_is_written_with_underscores(ledger, camera, session):
    taken = ledger.take(shoot(camera, "a.jpg"), "AB/12 x:1", "3/4 view")
    assert taken.path == session / "AB_12_x_1_3_4_view_01.jpg"
    assert (taken.sku, taken.angle) == ("AB/12 x:1", "3/4 view")


def test_patterns_and_fields_that_cannot_name_files_are_refused(store, ledger, session):
    for pattern in ("{sku}_{angle}", "{sku}_{n}_{colour}", "{sku}/{n}", "{sku}_{n:02", "{}_{n}"):
        with pytest.raises(ValueError):
            CaptureLedger(store, session, pattern=pattern)
    with pytest.raises(ValueError):
        CaptureLedger(store, session, unassigned="../elsewhere")
    with pytest.raises(ValueError, match="at most 32"):
        ledger.next_name("S" * 33, None, ".jpg")


def test_unassigned_captures_keep_their_names_in_the_tray(ledger, camera, session, links):
    first = ledger.take(shoot(camera, "DSC_1.JPG", b"one"), None)
    assert first.path == session / "Unassigned" / "DSC_1.JPG" and first.sku is None
    second = ledger.take(shoot(camera, "DSC_1.JPG", b"two"), None)  # the camera's counter started again
    third = ledger.take(shoot(camera, "dsc_1.jpg", b"three"), "  ")
    assert [second.path.name, third.path.name] == ["DSC_1 (2).JPG", "dsc_1 (3).jpg"]
    assert [(session / "Unassigned" / n).read_bytes() for n in ("DSC_1.JPG", "DSC_1 (2).JPG", "dsc_1 (3).jpg")] == [
        b"one", b"two", b"three"]


# --- reassign, undo, upload -------------------------------------------------------------------

def test_reassign_renames_the_same_file_for_another_sku_or_angle(ledger, camera, session, links):
    first = ledger.take(shoot(camera, "DSC_1.JPG"), "SKU-1", "front")
    second = ledger.take(shoot(camera, "DSC_2.JPG"), "SKU-1", "front")
    inode = second.path.stat().st_ino
    moved = ledger.reassign(second.id, "SKU-2", "back")
    assert moved.path == session / "SKU-2_back_01.jpg" and (moved.sku, moved.angle) == ("SKU-2", "back")
    assert (moved.id, moved.sha256, moved.state) == (second.id, second.sha256, PLACED)
    assert moved.path.stat().st_ino == inode  # the file renamed, not a copy: nothing was read again
    assert not second.path.exists() and ledger.get(second.id) == moved
    assert ledger.next_name("SKU-1", "front", ".jpg") == "SKU-1_front_02.jpg"  # the freed name is given again
    to_tray = ledger.reassign(first.id, None, None)
    assert to_tray.path == session / "Unassigned" / "DSC_1.JPG"
    back = ledger.reassign(first.id, "SKU-1", None)
    assert back.path == session / "SKU-1_01.jpg" and names(session / "Unassigned") == []
    assert ledger.reassign(first.id, "SKU-1", None) == back  # nothing to do


def test_undo_puts_a_capture_back_under_its_original_name_and_forgets_it(ledger, camera, session, links):
    taken = ledger.take(shoot(camera, "DSC_1.JPG", b"first"), "SKU-1", "front")
    undone = ledger.undo(taken.id)
    assert (undone.path, undone.state) == (camera / "DSC_1.JPG", UNDONE)
    assert (camera / "DSC_1.JPG").read_bytes() == b"first" and names(session) == []
    with pytest.raises(KeyError):
        ledger.get(taken.id)
    # A new capture under that name arrived meanwhile: the undone one comes back under a free variant.
    again = ledger.take(shoot(camera, "DSC_1.JPG", b"first"), "SKU-1", "front")
    assert again.id != taken.id  # ids are never used twice
    shoot(camera, "DSC_1.JPG", b"a new capture")
    assert ledger.undo(again.id).path == camera / "DSC_1 (2).JPG"
    assert (camera / "DSC_1.JPG").read_bytes() == b"a new capture"
    assert (camera / "DSC_1 (2).JPG").read_bytes() == b"first"
    from_the_tray = ledger.take(shoot(camera, "DSC_2.JPG"), None)
    assert ledger.undo(from_the_tray.id).path == camera / "DSC_2.JPG" and names(session / "Unassigned") == []


def test_queued_captures_are_not_handed_out_again_and_refuse_renames(ledger, camera):
    a = ledger.take(shoot(camera, "a.jpg"), "SKU-1", "front")
    in_the_tray = ledger.take(shoot(camera, "t.jpg"), None)
    b = ledger.take(shoot(camera, "b.jpg"), "SKU-1", "front")
    assert [c.id for c in ledger.placed_not_queued()] == [a.id, b.id]  # an upload is for a SKU
    ledger.reassign(in_the_tray.id, "SKU-2", None)
    assert [c.id for c in ledger.placed_not_queued()] == [a.id, in_the_tray.id, b.id]
    ledger.undo(in_the_tray.id)
    ledger.mark_queued(a.id, upload_file_id=71)
    ledger.mark_queued(a.id, upload_file_id=71)  # told twice: the same
    assert (ledger.get(a.id).state, ledger.get(a.id).upload_file_id) == (QUEUED, 71)
    assert ledger.placed_not_queued() == [ledger.get(b.id)]
    with pytest.raises(ValueError, match="cancel its upload"):
        ledger.reassign(a.id, "SKU-2", "front")
    with pytest.raises(ValueError, match="cancel its upload"):
        ledger.undo(a.id)
    with pytest.raises(ValueError):
        ledger.mark_queued(a.id, upload_file_id=72)
    assert ledger.get(a.id).path.exists()


def test_a_capture_changed_after_it_was_handed_over_is_not_taken(ledger, camera, session):
    capture = shoot(camera, "a.jpg")
    capture.path.write_bytes(b"rewritten by the camera software, longer than before")
    with pytest.raises(ValueError, match="changed"):
        ledger.take(capture, "SKU-1")
    assert names(camera) == ["a.jpg"] and ledger.placed_not_queued() == []


def test_a_move_that_fails_leaves_the_file_and_the_ledger_as_they_were(store, ledger, camera, session, links):
    long_name = "L" * 249 + ".JPG"  # 253 bytes; its variant "... (2).JPG" is longer than a file name may be
    first = ledger.take(shoot(camera, long_name, b"first"), None)
    assert first.path == session / "Unassigned" / long_name
    with pytest.raises(OSError) as failed:
        ledger.take(shoot(camera, long_name, b"second"), None)
    assert failed.value.errno == errno.ENAMETOOLONG
    assert names(camera) == [long_name] and ledger_ids(store) == [first.id]

    placed = ledger.take(shoot(camera, long_name, b"second"), "SKU-1", "front")
    with pytest.raises(OSError):
        ledger.reassign(placed.id, None, None)
    assert ledger.get(placed.id) == placed and placed.path.read_bytes() == b"second"
    assert ledger_ids(store) == [first.id, placed.id]
    assert names(session / "Unassigned") == [long_name]


# --- other filesystems --------------------------------------------------------------------------

def test_to_another_filesystem_the_capture_is_copied_synced_and_then_removed(store, ledger, camera, session,
                                                                             monkeypatch):
    real_link = os.link

    def link_within_a_folder(src, dst, *args, **kwargs):  # as between two filesystems, one per folder
        if Path(src).parent != Path(dst).parent:
            raise OSError(errno.EXDEV, "Invalid cross-device link", str(src))
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "link", link_within_a_folder)
    capture = shoot(camera, "DSC_1.JPG", os.urandom(3_000_000))
    taken = ledger.take(capture, "SKU-1", "front")
    assert taken.path == session / "SKU-1_front_01.jpg" and names(camera) == []
    assert names(session) == ["SKU-1_front_01.jpg"]  # no temporary copy left
    st = taken.path.stat()
    assert (sha256(taken.path.read_bytes()), st.st_mtime_ns) == (capture.sha256, capture.mtime_ns)
    with store.journal.read() as conn:
        row = conn.execute(select(studio_captures)).one()
    assert (row.inode, row.taken_at) == (st.st_ino, clock().isoformat())
    undone = ledger.undo(taken.id)
    assert sha256(undone.path.read_bytes()) == capture.sha256 and names(session) == []


# --- recover() after a crash at each point -------------------------------------------------------

def test_recover_moves_a_capture_journaled_but_not_moved_yet(store, ledger, camera, session):
    data = b"shot before the crash"
    (camera / "DSC_1.JPG").write_bytes(data)
    capture_id = in_flight(store, camera / "DSC_1.JPG", session / "SKU-1_front_01.jpg", data)
    (recovered,) = ledger.recover()
    assert (recovered.id, recovered.path, recovered.state) == (capture_id, session / "SKU-1_front_01.jpg", PLACED)
    assert recovered.path.read_bytes() == data and names(camera) == []
    assert ledger.recover() == []


def test_recover_unlinks_the_old_name_of_a_capture_linked_before_the_crash(store, ledger, camera, session):
    data = b"linked, not unlinked"
    source, target = camera / "DSC_1.JPG", session / "SKU-1_front_01.jpg"
    source.write_bytes(data)
    session.mkdir()
    os.link(source, target)
    capture_id = in_flight(store, source, target, data, inode=source.stat().st_ino)
    assert [c.id for c in ledger.recover()] == [capture_id]
    assert not source.exists() and target.read_bytes() == data and target.stat().st_nlink == 1


def test_recover_records_a_capture_moved_before_the_crash(store, ledger, camera, session):
    data = b"moved, not recorded"
    session.mkdir()
    (session / "SKU-1_front_01.jpg").write_bytes(data)
    capture_id = in_flight(store, camera / "DSC_1.JPG", session / "SKU-1_front_01.jpg", data)
    assert [(c.id, c.state) for c in ledger.recover()] == [(capture_id, PLACED)]
    assert ledger.get(capture_id).path.read_bytes() == data


def test_recover_marks_a_capture_deleted_meanwhile_missing(store, ledger, camera, session):
    capture_id = in_flight(store, camera / "DSC_1.JPG", session / "SKU-1_front_01.jpg", b"deleted by a person")
    assert ledger.recover() == []
    assert ledger.get(capture_id).state == MISSING and ledger.placed_not_queued() == []
    assert ledger.next_name("SKU-1", "front", ".jpg") == "SKU-1_front_01.jpg"  # a missing capture holds no name


def test_recover_leaves_a_new_file_under_the_old_name_alone(store, ledger, camera, session):
    capture_id = in_flight(store, camera / "DSC_1.JPG", session / "SKU-1_front_01.jpg", b"ours, deleted")
    (camera / "DSC_1.JPG").write_bytes(b"the camera's next capture, same name")
    assert ledger.recover() == [] and ledger.get(capture_id).state == MISSING
    assert (camera / "DSC_1.JPG").read_bytes() == b"the camera's next capture, same name"


def test_recover_gives_a_capture_another_name_when_a_foreign_file_took_its_target(store, ledger, camera, session):
    data = b"ours"
    (camera / "DSC_1.JPG").write_bytes(data)
    session.mkdir()
    (session / "SKU-1_front_01.jpg").write_bytes(b"copied there by a person")
    capture_id = in_flight(store, camera / "DSC_1.JPG", session / "SKU-1_front_01.jpg", data)
    (recovered,) = ledger.recover()
    assert (recovered.id, recovered.path) == (capture_id, session / "SKU-1_front_02.jpg")
    assert recovered.path.read_bytes() == data and names(camera) == []
    assert (session / "SKU-1_front_01.jpg").read_bytes() == b"copied there by a person"


def test_recover_throws_away_a_copy_to_another_filesystem_cut_short(store, ledger, camera, session):
    data = os.urandom(200_000)
    (camera / "DSC_1.JPG").write_bytes(data)
    capture_id = in_flight(store, camera / "DSC_1.JPG", session / "SKU-1_front_01.jpg", data)
    session.mkdir()
    (session / f".capture-{capture_id}.copying").write_bytes(data[:70_000])
    (recovered,) = ledger.recover()
    assert recovered.path.read_bytes() == data
    assert names(session) == ["SKU-1_front_01.jpg"] and names(camera) == []


def test_recover_unlinks_the_original_of_a_copy_to_another_filesystem_in_place(store, ledger, camera, session):
    data = b"copied, original not unlinked yet"
    (camera / "DSC_1.JPG").write_bytes(data)
    session.mkdir()
    (session / "SKU-1_front_01.jpg").write_bytes(data)
    capture_id = in_flight(store, camera / "DSC_1.JPG", session / "SKU-1_front_01.jpg", data)
    assert [c.id for c in ledger.recover()] == [capture_id]
    assert names(camera) == [] and names(session) == ["SKU-1_front_01.jpg"]


def test_recover_finishes_an_undo_and_a_reassign(store, ledger, camera, session):
    session.mkdir()
    undo_data, reassign_data = b"being undone", b"being reassigned"
    (session / "SKU-1_front_01.jpg").write_bytes(undo_data)
    undoing = in_flight(store, session / "SKU-1_front_01.jpg", camera / "DSC_1.JPG", undo_data, state="undoing")
    (session / "SKU-1_front_02.jpg").write_bytes(reassign_data)
    reassigning = in_flight(store, session / "SKU-1_front_02.jpg", session / "SKU-2_back_01.jpg", reassign_data,
                            sku="SKU-2", angle="back")
    assert [c.id for c in ledger.recover()] == [reassigning]
    assert (camera / "DSC_1.JPG").read_bytes() == undo_data
    with pytest.raises(KeyError):
        ledger.get(undoing)
    assert ledger.get(reassigning).path == session / "SKU-2_back_01.jpg"
    assert names(session) == ["SKU-2_back_01.jpg"]


def test_a_move_recover_cannot_finish_stays_in_flight_for_the_next_start(store, ledger, camera, session):
    data = b"waiting for its folder"
    (camera / "DSC_1.JPG").write_bytes(data)
    capture_id = in_flight(store, camera / "DSC_1.JPG", session / "Unassigned" / "DSC_1.JPG", data, sku=None)
    session.mkdir()
    (session / "Unassigned").write_bytes(b"a file where the tray folder should be")
    assert ledger.recover() == []
    assert ledger.get(capture_id).state == "intent" and names(camera) == ["DSC_1.JPG"]
    (session / "Unassigned").unlink()
    assert [c.path for c in ledger.recover()] == [session / "Unassigned" / "DSC_1.JPG"]


# --- kill -9 -----------------------------------------------------------------------------------

class Worker:
    """A tests.sync.studio.capture_worker process; its stdout arrives line by line through a queue."""

    def __init__(self, args: list, stderr: Path) -> None:
        with open(stderr, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.sync.studio.capture_worker", *map(str, args)],
                                         cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True)
        self.stderr = stderr
        self.lines: list[str] = []
        self.take_times: list[float] = []  # how long each take() of this run lasted
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        taking_since = None
        for line in self.proc.stdout:
            if line.endswith("\n"):  # a line cut off by SIGKILL announced nothing
                now = time.monotonic()
                if line.startswith("TAKING"):
                    taking_since = now
                elif line.startswith("TOOK") and taking_since is not None:
                    self.take_times.append(now - taking_since)
                self.lines.append(line.rstrip("\n"))
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, prefix: str, count: int = 1) -> bool:
        """True once count lines starting with prefix came; False when the worker ended first (all taken)."""
        seen, deadline = 0, time.monotonic() + WAIT_S
        while seen < count:
            line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                assert self.proc.wait(WAIT_S) == 0, f"the worker failed: {self.stderr.read_text()[-2000:]}"
                return False
            seen += line.startswith(prefix)
        return True

    def kill_within_a_take(self, rng: random.Random) -> None:
        """SIGKILL at a random moment of about the next take (measured on this run, so on any machine).

        Without this the kill lands a fraction of a millisecond after the line the test read,
        always at the same step; spread over a take it lands in every step of the move.
        """
        take_s = sorted(self.take_times)[len(self.take_times) // 2] if self.take_times else 0.005
        threading.Event().wait(rng.uniform(0, 1.5 * take_s))
        self.kill()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(WAIT_S)
        while self._queue.get(timeout=WAIT_S) is not None:
            pass


@pytest.mark.parametrize("links", ["hard links", "no hard links"])
def test_kill_9_at_any_moment_neither_loses_nor_duplicates_a_capture(tmp_path, camera, session, links):
    rng = random.Random("capture-ledger")
    data_dir = tmp_path / "data"
    args = [data_dir, camera, session, *(["--no-hard-links"] if links == "no hard links" else [])]
    shot = {}
    for n in range(1, 31):
        data = rng.randbytes(rng.randint(20_000, 400_000))
        (camera / f"IMG_{n:04}.JPG").write_bytes(data)
        shot[sha256(data)] = f"IMG_{n:04}.JPG"
    assert len(shot) == 30
    kills = 0
    for run in range(4):
        worker = Worker(args, tmp_path / f"worker-{run}.err")
        if worker.wait_for("TOOK", rng.randint(1, 3)):
            worker.kill_within_a_take(rng)
            kills += 1
    last = Worker(args, tmp_path / "worker-last.err")
    assert last.wait_for("DONE") and last.proc.wait(WAIT_S) == 0
    assert kills == 4

    everywhere = Counter(sha256(p.read_bytes()) for folder in (camera, session) for p in folder.rglob("*")
                         if p.is_file())
    assert everywhere == Counter(shot.keys()), "every capture exactly once, nothing else"
    store = LocalStore.open(data_dir)
    try:
        with store.journal.read() as conn:
            rows = conn.execute(select(studio_captures)).all()
    finally:
        store.close()
    assert sorted(row.state for row in rows) == [PLACED] * 30
    assert {sha256(Path(row.path).read_bytes()): row.sha256 for row in rows} == {h: h for h in shot}
    assert sorted(Path(row.original).name for row in rows) == sorted(shot.values())
