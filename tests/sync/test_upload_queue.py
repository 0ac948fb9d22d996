"""The upload queue: files queued once, resumed after a restart, parts agreed with the server."""

import os
from datetime import datetime, timezone

import pytest

from sync.store.database import LocalStore
from sync.upload.queue import StoredPart, UploadQueue


def clock() -> datetime:
    return datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    s = LocalStore.open(tmp_path / "data")
    yield s
    s.close()


def photo(tmp_path, name: str, data: bytes = b"\xff\xd8jpeg bytes") -> os.PathLike:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def by_name(path) -> str:
    return "SKU-" + path.stem


def test_added_files_are_pending_in_order(store, tmp_path):
    queue = UploadQueue(store, clock)
    a, b = photo(tmp_path, "a.jpg", b"12345"), photo(tmp_path, "b.jpg")
    added = queue.add([a, b], by_name)
    assert [(f.path, f.sku, f.state, f.size) for f in added] == [
        (a.resolve(), "SKU-a", "queued", 5), (b.resolve(), "SKU-b", "queued", b.stat().st_size)]
    assert added[0].mtime_ns == a.stat().st_mtime_ns
    assert added[0].queued_at == clock().isoformat()
    assert queue.pending() == added
    assert queue.get(added[1].id) == added[1]
    assert queue.counts()["queued"] == 2


def test_adding_the_same_unchanged_file_again_returns_the_existing_entry(store, tmp_path):
    queue = UploadQueue(store, clock)
    a = photo(tmp_path, "a.jpg")
    first = queue.add([a], by_name)[0]
    assert queue.add([a, a], by_name) == [first, first]
    queue.start_session(first.id, "up-1", 5, 1)
    queue.finish(first.id, "ab" * 32)
    again = queue.add([a], by_name)
    assert [(f.id, f.state) for f in again] == [(first.id, "done")]
    assert len(queue.all()) == 1
    # An edited file that was done is a new upload.
    os.utime(a, ns=(a.stat().st_atime_ns, a.stat().st_mtime_ns + 1_000_000_000))
    edited = queue.add([a], by_name)[0]
    assert edited.id != first.id and edited.state == "queued"


def test_a_folder_or_missing_path_is_refused_and_nothing_is_queued(store, tmp_path):
    queue = UploadQueue(store, clock)
    a = photo(tmp_path, "a.jpg")
    with pytest.raises(ValueError, match="not a regular file"):
        queue.add([a, tmp_path], by_name)
    with pytest.raises(ValueError, match="does not exist"):
        queue.add([tmp_path / "gone.jpg"], by_name)
    assert queue.all() == []


def test_an_empty_file_is_refused_and_nothing_is_queued(store, tmp_path):
    queue = UploadQueue(store, clock)
    with pytest.raises(ValueError, match=r"empty \(0 bytes\)"):
        queue.add([photo(tmp_path, "a.jpg"), photo(tmp_path, "empty.jpg", b"")], by_name)
    assert queue.all() == []


def test_counts_of_some_files_leave_the_others_out(store, tmp_path):
    queue = UploadQueue(store, clock)
    a, b, c = queue.add([photo(tmp_path, f"{n}.jpg") for n in "abc"], by_name)
    queue.start_session(a.id, "up-a", 5, 1)
    queue.finish(a.id, "ab" * 32)
    assert queue.counts([a.id, b.id])["done"] == 1 and queue.counts([a.id, b.id])["queued"] == 1
    assert queue.counts([c.id]) == queue.counts([c.id, c.id]) and queue.counts([])["queued"] == 0
    assert queue.counts()["queued"] == 2


@pytest.mark.parametrize("sku, message", [("", "has no SKU"), ("   ", "has no SKU"),
                                          ("X" * 33, "longer than 32 characters")])
def test_a_bad_sku_is_refused(store, tmp_path, sku, message):
    queue = UploadQueue(store, clock)
    with pytest.raises(ValueError, match=message):
        queue.add([photo(tmp_path, "a.jpg")], lambda _: sku)
    assert queue.all() == []


def test_reconcile_after_a_restart_resumes_restarts_and_finds_vanished_files(tmp_path):
    store = LocalStore.open(tmp_path / "data")
    queue = UploadQueue(store, clock)
    same, edited, deleted = (photo(tmp_path, n, b"x" * 10) for n in ("same.jpg", "edited.jpg", "deleted.jpg"))
    f_same, f_edited, f_deleted = queue.add([same, edited, deleted], by_name)
    for f, upload_id in ((f_same, "up-same"), (f_edited, "up-edited"), (f_deleted, "up-deleted")):
        queue.start_session(f.id, upload_id, 4, 3)
        queue.record_part(f.id, 1, 4, f"etag-{f.id}-1")
        queue.record_part(f.id, 2, 4, f"etag-{f.id}-2")
    store.close()

    edited.write_bytes(b"y" * 12)
    deleted.unlink()

    store = LocalStore.open(tmp_path / "data")
    try:
        queue = UploadQueue(store, clock)
        found = queue.reconcile()
        assert found.resumed == [f_same.id]
        assert found.restarted == [f_edited.id]
        assert found.vanished == [f_deleted.id]
        assert sorted(found.orphaned_sessions) == ["up-deleted", "up-edited"]

        assert queue.get(f_same.id).state == "uploading"
        assert queue.session(f_same.id).upload_id == "up-same"
        assert queue.stored_parts(f_same.id) == {1: StoredPart(4, f"etag-{f_same.id}-1"),
                                                  2: StoredPart(4, f"etag-{f_same.id}-2")}

        restarted = queue.get(f_edited.id)
        assert (restarted.state, restarted.size, restarted.mtime_ns) == ("queued", 12, edited.stat().st_mtime_ns)
        assert restarted.last_error == "changed since it was queued; starting over"
        assert queue.session(f_edited.id) is None and queue.stored_parts(f_edited.id) == {}

        vanished = queue.get(f_deleted.id)
        assert (vanished.state, vanished.last_error) == ("missing", f"file vanished: {deleted.resolve()}")
        assert queue.session(f_deleted.id) is None and queue.stored_parts(f_deleted.id) == {}

        assert [f.id for f in queue.pending()] == [f_same.id, f_edited.id]
        again = queue.reconcile()
        assert again.resumed == [f_same.id, f_edited.id]
        assert again.orphaned_sessions == ["up-deleted"]  # until the server has aborted it
        queue.forget_orphan("up-deleted")
        assert queue.reconcile().orphaned_sessions == []
    finally:
        store.close()


def test_the_servers_part_list_wins(store, tmp_path):
    queue = UploadQueue(store, clock)
    f = queue.add([photo(tmp_path, "a.jpg")], by_name)[0]
    queue.start_session(f.id, "up-1", 4, 5)
    queue.record_part(f.id, 1, 4, "e1")
    queue.record_part(f.id, 2, 4, "e2")
    queue.record_part(f.id, 2, 4, "e2")  # recording twice is harmless
    # The server lost part 2 and holds part 3, whose acknowledgement never got recorded.
    remaining = queue.reconcile_parts(f.id, {1: (4, "e1"), 3: (4, "e3")})
    assert remaining == {2, 4, 5}
    assert queue.stored_parts(f.id) == {1: StoredPart(4, "e1"), 3: StoredPart(4, "e3")}


def test_reconciling_parts_needs_a_session(store, tmp_path):
    queue = UploadQueue(store, clock)
    f = queue.add([photo(tmp_path, "a.jpg")], by_name)[0]
    with pytest.raises(ValueError, match="no upload session"):
        queue.reconcile_parts(f.id, {})


def test_finish_fail_and_cancel(store, tmp_path):
    queue = UploadQueue(store, clock)
    done, retried, broken, dropped = queue.add(
        [photo(tmp_path, f"{n}.jpg") for n in ("done", "retried", "broken", "dropped")], by_name)
    for f in (done, retried, broken, dropped):
        queue.start_session(f.id, f"up-{f.id}", 4, 2)
        queue.record_part(f.id, 1, 4, "e1")

    queue.finish(done.id, "cd" * 32)
    assert (queue.get(done.id).state, queue.get(done.id).sha256) == ("done", "cd" * 32)
    assert queue.session(done.id) is None and queue.stored_parts(done.id) == {}

    assert queue.fail(retried.id, "connection reset", permanent=False) is None
    now = queue.get(retried.id)
    assert (now.state, now.attempts, now.last_error) == ("uploading", 1, "connection reset")
    assert queue.session(retried.id).upload_id == f"up-{retried.id}"
    assert queue.stored_parts(retried.id) == {1: StoredPart(4, "e1")}

    assert queue.fail(broken.id, "E" * 2000, permanent=True) == f"up-{broken.id}"
    now = queue.get(broken.id)
    assert (now.state, now.attempts, now.last_error) == ("failed", 1, "E" * 500)
    assert queue.session(broken.id) is None

    assert queue.cancel(dropped.id) == f"up-{dropped.id}"
    assert queue.get(dropped.id).state == "cancelled"
    assert queue.stored_parts(dropped.id) == {} and queue.session(dropped.id) is None
    # Until the server has aborted them, the uploads of files off the queue are remembered.
    assert queue.orphaned_sessions() == [f"up-{broken.id}", f"up-{dropped.id}"]
    assert queue.cancel(dropped.id) == f"up-{dropped.id}"
    queue.forget_orphan(f"up-{dropped.id}")
    queue.forget_orphan(f"up-{retried.id}")  # an upload still in use is never forgotten
    assert queue.cancel(dropped.id) is None
    assert queue.orphaned_sessions() == [f"up-{broken.id}"]
    assert queue.session(retried.id).upload_id == f"up-{retried.id}"

    with pytest.raises(ValueError, match="already done"):
        queue.cancel(done.id)
    with pytest.raises(ValueError, match="only a queued file"):
        queue.start_session(done.id, "up-again", 4, 2)
    assert [f.id for f in queue.pending()] == [retried.id]
    assert queue.counts() == {"queued": 0, "uploading": 1, "done": 1, "failed": 1, "missing": 0, "cancelled": 1}


def test_a_file_whose_server_upload_is_gone_starts_over(store, tmp_path):
    queue = UploadQueue(store, clock)
    f = queue.add([photo(tmp_path, "a.jpg")], by_name)[0]
    queue.start_session(f.id, "up-1", 4, 3)
    queue.record_part(f.id, 1, 4, "e1")

    assert queue.restart(f.id, "the server no longer holds the upload") == "up-1"

    now = queue.get(f.id)
    assert (now.state, now.last_error) == ("queued", "the server no longer holds the upload")
    assert queue.session(f.id) is None and queue.stored_parts(f.id) == {} and queue.orphaned_sessions() == []
    queue.start_session(f.id, "up-2", 4, 3)
    assert queue.session(f.id).upload_id == "up-2"
    queue.cancel(f.id)
    with pytest.raises(ValueError, match="only a file still to upload"):
        queue.restart(f.id, "again")


def test_an_unknown_file_is_a_clear_error(store):
    with pytest.raises(KeyError, match="No upload 42"):
        UploadQueue(store, clock).get(42)
