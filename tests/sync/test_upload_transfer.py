"""The uploader against the real reference API on loopback, with its own file store."""

import hashlib
import os
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from order_api.models import Asset, Upload
from sync.answers import Tokens
from sync.api import Offline
from sync.upload.queue import UploadQueue
from sync.upload.ratelimit import TokenBucket
from sync.upload.transfer import FileOutcome, Progress, Uploader
from tests.sync.conftest import UPLOAD_PART, wait_until

PART = UPLOAD_PART


@pytest.fixture
def server(studio_server):
    return studio_server


@pytest.fixture
def core(server, open_core):
    core = open_core(server.url)
    core.signin.online(username="chloe", pin="1111")
    return core


class PartTransport(httpx.BaseTransport):
    """Loopback transport for part PUTs that counts them and can answer some itself."""

    def __init__(self, answer=None) -> None:
        self._inner = httpx.HTTPTransport()
        self._answer = answer  # (index of the PUT, request) -> a response, or None to send it
        self.puts: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            index = len(self.puts)
            self.puts.append(int(request.url.path.rsplit("/", 1)[1]))
            forged = self._answer(index, request) if self._answer else None
            if forged is not None:
                return forged
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def _photo(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / "shots" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def _uploader(core, transport: PartTransport | None = None, **kwargs) -> tuple[Uploader, httpx.Client]:
    http = httpx.Client(transport=transport or PartTransport(), timeout=30)
    kwargs.setdefault("sleep", lambda s: None)
    return Uploader(UploadQueue(core.store), core.api, http=http, **kwargs), http


def _stored(server, path: Path) -> Asset:
    """The asset registered for a file's bytes, checked against the object the store holds."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with server.db.read() as s:
        asset = s.execute(select(Asset).where(Asset.sha256 == digest)).scalar_one()
        s.expunge(asset)
    assert (Path(server.ctx.blobs.root) / asset.object_key).read_bytes() == path.read_bytes()
    return asset


def test_three_files_arrive_whole_and_byte_identical(server, core, tmp_path):
    photos = [_photo(tmp_path, f"IMG_{i}.JPG", PART * 3 + 1000 * i) for i in range(3)]
    queue = UploadQueue(core.store)
    queue.add(photos, lambda p: "SKU-1")
    seen: list[Progress] = []
    uploader, http = _uploader(core, on_progress=seen.append)

    summary = uploader.run()

    assert {o.state for o in summary.files.values()} == {"done"}
    assert summary.counts["done"] == 3 and queue.counts()["done"] == 3
    for photo in photos:
        asset = _stored(server, photo)
        assert asset.size == photo.stat().st_size
    total = sum(p.stat().st_size for p in photos)
    assert seen[-1].bytes_sent == total == seen[-1].bytes_total and seen[-1].files_done == 3
    http.close()


def test_a_new_run_sends_only_the_parts_the_server_lacks(server, core, tmp_path):
    photo = _photo(tmp_path, "IMG_RAW.CR2", PART * 4 + 10)
    queue = UploadQueue(core.store)
    [queued] = queue.add([photo], lambda p: "SKU-1")
    # The link dies after the first part: every later PUT is refused by the network.
    cut = PartTransport(lambda i, r: httpx.Response(404, text="gone") if i >= 1 else None)
    first, http = _uploader(core, cut, parts_in_flight=1)
    summary = first.run()
    assert summary.files[queued.id].state == "uploading"
    assert set(queue.stored_parts(queued.id)) == {1}
    http.close()

    counting = PartTransport()
    second, http = _uploader(core, counting)
    summary = second.run()

    assert summary.files[queued.id].state == "done"
    assert sorted(counting.puts) == [2, 3, 4, 5]
    _stored(server, photo)
    http.close()


def test_an_unknown_sku_fails_for_good_while_the_others_complete(server, core, tmp_path):
    good = [_photo(tmp_path, f"IMG_{i}.JPG", PART + 5) for i in range(2)]
    stray = _photo(tmp_path, "IMG_X.JPG", PART + 5)
    queue = UploadQueue(core.store)
    queue.add(good, lambda p: "SKU-1")
    [bad] = queue.add([stray], lambda p: "SKU-NOPE")
    uploader, http = _uploader(core)

    summary = uploader.run()

    assert summary.files[bad.id].state == "failed"
    assert "unknown_sku" in summary.files[bad.id].error and "SKU-NOPE" in summary.files[bad.id].error
    assert queue.get(bad.id).state == "failed" and queue.counts()["done"] == 2
    for photo in good:
        _stored(server, photo)
    http.close()


def test_a_burst_of_503_answers_on_parts_is_survived(server, core, tmp_path):
    photo = _photo(tmp_path, "IMG_1.TIF", PART * 2 + 7)
    queue = UploadQueue(core.store)
    [queued] = queue.add([photo], lambda p: "SKU-1")
    busy = PartTransport(lambda i, r: httpx.Response(503, text="slow down") if i < 2 else None)
    uploader, http = _uploader(core, busy)

    summary = uploader.run()

    assert summary.files[queued.id].state == "done"
    assert len(busy.puts) == 3 + 2
    _stored(server, photo)
    with server.db.read() as s:
        assert s.execute(select(Upload.status)).scalars().all() == ["complete"]
    http.close()


def test_a_damaged_part_is_sent_once_more(server, core, tmp_path):
    photo = _photo(tmp_path, "IMG_2.JPG", PART * 2)
    queue = UploadQueue(core.store)
    [queued] = queue.add([photo], lambda p: "SKU-1")

    wire = httpx.HTTPTransport()

    def damage_first(index, request):
        if index == 0:  # the bytes change on the way: the store's MD5 check refuses them
            body = request.read()
            damaged = httpx.Request(request.method, request.url, headers=request.headers,
                                    content=bytes([body[0] ^ 0xFF]) + body[1:])
            return wire.handle_request(damaged)
        return None

    flaky = PartTransport(damage_first)
    uploader, http = _uploader(core, flaky, parts_in_flight=1)

    summary = uploader.run()

    assert summary.files[queued.id].state == "done"
    assert flaky.puts == [1, 1, 2]
    _stored(server, photo)
    http.close()
    wire.close()


# -- pause, resume, cancel, sign-in, bandwidth, uploads gone on the server ---------------------

class FirstPutGate:
    """Holds the first part PUT until released, so a test acts while exactly one part is on the way."""

    def __init__(self) -> None:
        self.arrived, self.release = threading.Event(), threading.Event()
        self.upload_id = ""

    def __call__(self, index, request):
        if index == 0:
            self.upload_id = request.url.path.split("/")[-2]  # /v1/blobs/<upload id>/<part>
            self.arrived.set()
            assert self.release.wait(30), "the test never released the first part"
        return None


def _in_thread(uploader: Uploader) -> tuple[threading.Thread, dict]:
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault("summary", uploader.run()), name="test-upload")
    thread.start()
    return thread, result


def _server_uploads(server) -> dict[str, str]:
    with server.db.read() as s:
        return dict(s.execute(select(Upload.id, Upload.status)).all())


def test_pause_lets_the_part_on_the_way_arrive_and_starts_no_other_until_resumed(server, core, tmp_path):
    photo = _photo(tmp_path, "IMG_P.JPG", PART * 4)
    queue = UploadQueue(core.store)
    [queued] = queue.add([photo], lambda p: "SKU-1")
    gate = FirstPutGate()
    transport = PartTransport(gate)
    uploader, http = _uploader(core, transport, parts_in_flight=1)
    thread, result = _in_thread(uploader)

    assert gate.arrived.wait(30)
    uploader.pause()  # from this thread, while part 1 is on the way
    gate.release.set()
    wait_until(lambda: uploader.progress().bytes_sent == PART, "the part on the way to arrive")
    paused = uploader.progress()
    assert paused.state == "paused" and paused.eta_s is None
    assert transport.puts == [1] and set(queue.stored_parts(queued.id)) == {1}
    assert [f.file_id for f in paused.files] == [queued.id] and paused.files[0].bytes_done == PART

    uploader.resume()
    thread.join(30)

    assert result["summary"].files[queued.id].state == "done"
    assert transport.puts == [1, 2, 3, 4]  # every part once
    assert uploader.progress().state == "finished"
    _stored(server, photo)
    http.close()


def test_cancelling_one_file_aborts_its_server_upload_and_the_others_finish(server, core, tmp_path):
    photos = [_photo(tmp_path, "IMG_C1.JPG", PART * 3), _photo(tmp_path, "IMG_C2.JPG", PART * 2)]
    queue = UploadQueue(core.store)
    files = queue.add(photos, lambda p: "SKU-1")
    gate = FirstPutGate()
    uploader, http = _uploader(core, PartTransport(gate), parts_in_flight=1, files_in_flight=1)
    thread, result = _in_thread(uploader)

    assert gate.arrived.wait(30)
    upload_id = gate.upload_id
    # The file whose part is on the way is cancelled; the other one goes on.
    a, b = sorted(files, key=lambda f: (s := queue.session(f.id)) is None or s.upload_id != upload_id)
    second = photos[files.index(b)]
    uploader.cancel(a.id)
    gate.release.set()
    thread.join(30)

    summary = result["summary"]
    assert summary.files[a.id] == FileOutcome("cancelled", None) and summary.files[b.id].state == "done"
    assert queue.get(a.id).state == "cancelled" and queue.orphaned_sessions() == []
    assert _server_uploads(server)[upload_id] == "aborted"
    assert not (Path(server.ctx.blobs.root) / ".uploads" / upload_id).exists()  # the store dropped its parts
    _stored(server, second)
    progress = uploader.progress()
    assert (progress.files_done, progress.files_cancelled) == (1, 1)
    http.close()


def test_cancelling_the_run_cancels_every_file_left_and_aborts_on_the_server(server, core, tmp_path):
    photos = [_photo(tmp_path, f"IMG_A{i}.JPG", PART * 2) for i in range(3)]
    queue = UploadQueue(core.store)
    queued = queue.add(photos, lambda p: "SKU-1")
    gate = FirstPutGate()
    transport = PartTransport(gate)
    uploader, http = _uploader(core, transport, parts_in_flight=1, files_in_flight=1)
    thread, result = _in_thread(uploader)

    assert gate.arrived.wait(30)
    uploader.cancel()
    gate.release.set()
    thread.join(30)

    assert {o.state for o in result["summary"].files.values()} == {"cancelled"}
    assert queue.counts()["cancelled"] == 3 and queue.orphaned_sessions() == []
    assert set(_server_uploads(server).values()) == {"aborted"}  # the one upload opened
    assert transport.puts == [1]
    assert all(queue.session(f.id) is None for f in queued)
    http.close()


def test_a_lost_sign_in_stops_the_run_and_everything_resumes_after_signing_in(server, core, tmp_path):
    photos = [_photo(tmp_path, f"IMG_S{i}.JPG", PART * 2 + 3) for i in range(3)]
    queue = UploadQueue(core.store)
    first, *others = queue.add(photos, lambda p: "SKU-1")

    def revoke(index, request):
        if index == 0:  # the server stops accepting this session's tokens
            core.api.install("chloe", Tokens("revoked", "revoked", 0))  # and no offline ticket to fall back on
        return None

    transport = PartTransport(revoke)
    uploader, http = _uploader(core, transport, parts_in_flight=1, files_in_flight=1)
    summary = uploader.run()

    assert summary.sign_in_needed and "sign-in needed" in summary.stopped and "resume" in summary.stopped
    assert {o.state for o in summary.files.values()} <= {"queued", "uploading"}
    assert all(queue.get(f.id).attempts == 0 for f in (first, *others))  # not counted as failures
    assert _server_uploads(server) == {} or set(_server_uploads(server).values()) == {"open"}
    already = sum(len(queue.stored_parts(f.id)) for f in (first, *others))
    assert already >= 1
    http.close()

    core.signin.online(username="chloe", pin="1111")
    counting = PartTransport()
    again, http = _uploader(core, counting)
    assert {o.state for o in again.run().files.values()} == {"done"}
    assert len(counting.puts) == 3 * 3 - already  # no part that arrived was sent again
    for photo in photos:
        _stored(server, photo)
    http.close()


def test_a_bandwidth_limit_paces_every_part_through_one_bucket(server, core, tmp_path):
    photos = [_photo(tmp_path, f"IMG_L{i}.JPG", PART * 3 + 100) for i in range(2)]
    queue = UploadQueue(core.store)
    queue.add(photos, lambda p: "SKU-1")
    clock = FakeClock()
    rate = 64 * 1024
    bucket = TokenBucket(rate, burst=PART, clock=clock.now, sleep=clock.sleep)
    uploader, http = _uploader(core, bucket=bucket)

    summary = uploader.run()

    assert {o.state for o in summary.files.values()} == {"done"}
    total = sum(p.stat().st_size for p in photos)
    assert bucket.granted == total == uploader.progress().bytes_sent
    # On the bucket's clock, no more than a burst beyond the rate went out.
    assert clock.now() >= (total - bucket.burst) / rate
    assert bucket.waited_s > 0
    http.close()


def test_an_upload_aborted_on_the_server_starts_over_from_the_first_part(server, core, tmp_path):
    photo = _photo(tmp_path, "IMG_G.JPG", PART * 3 + 1)
    queue = UploadQueue(core.store)
    [queued] = queue.add([photo], lambda p: "SKU-1")
    cut = PartTransport(lambda i, r: _network_down(r) if _number(r) > 1 else None)
    first, http = _uploader(core, cut, parts_in_flight=1)
    assert first.run().files[queued.id].state == "uploading"
    http.close()
    old = queue.session(queued.id).upload_id
    core.api.abort_upload(old)  # e.g. a supervisor, or the server expiring it

    counting = PartTransport()
    second, http = _uploader(core, counting)
    summary = second.run()

    assert summary.files[queued.id].state == "done"
    assert sorted(counting.puts) == [1, 2, 3, 4]  # from scratch
    assert "started over" in (queue.get(queued.id).last_error or "") or queue.get(queued.id).state == "done"
    uploads = _server_uploads(server)
    assert uploads[old] == "aborted" and sorted(uploads.values()) == ["aborted", "complete"]
    _stored(server, photo)
    http.close()


def test_an_upload_gone_at_completion_is_sent_again_in_the_same_run(server, core, tmp_path):
    photo = _photo(tmp_path, "IMG_H.JPG", PART * 2 + 5)
    queue = UploadQueue(core.store)
    [queued] = queue.add([photo], lambda p: "SKU-1")
    wire = httpx.HTTPTransport()
    aborted: list[str] = []

    def abort_after_last_part(index, request):
        if index == 2:  # the file's last part arrives, then the server drops the upload
            response = wire.handle_request(request)
            response.read()
            aborted.append(queue.session(queued.id).upload_id)
            core.api.abort_upload(aborted[0])
            return response
        return None

    transport = PartTransport(abort_after_last_part)
    uploader, http = _uploader(core, transport, parts_in_flight=1)
    summary = uploader.run()

    assert summary.files[queued.id].state == "done"
    assert transport.puts == [1, 2, 3, 1, 2, 3]
    assert _server_uploads(server)[aborted[0]] == "aborted"
    _stored(server, photo)
    http.close()
    wire.close()


def test_orphaned_uploads_of_cancelled_and_vanished_files_are_aborted_on_the_next_run(server, core, tmp_path):
    kept, dropped, vanishing = (_photo(tmp_path, f"IMG_O{i}.JPG", PART * 3) for i in range(3))
    queue = UploadQueue(core.store)
    files = queue.add([kept, dropped, vanishing], lambda p: "SKU-1")
    cut = PartTransport(lambda i, r: _network_down(r) if _number(r) > 1 else None)  # part 1 of each file arrives
    first, http = _uploader(core, cut, parts_in_flight=1, files_in_flight=1)
    first.run()
    http.close()
    ids = {f.id: queue.session(f.id).upload_id for f in files}
    queue.cancel(files[1].id)  # taken off the queue while offline: nobody told the server yet
    vanishing.unlink()

    uploader, http = _uploader(core)
    summary = uploader.run()

    uploads = _server_uploads(server)
    assert uploads[ids[files[1].id]] == "aborted" and uploads[ids[files[2].id]] == "aborted"
    assert uploads[ids[files[0].id]] == "complete" and summary.files[files[0].id].state == "done"
    assert queue.get(files[2].id).state == "missing" and queue.orphaned_sessions() == []
    http.close()


def test_a_file_edited_after_it_was_queued_is_not_completed_and_starts_over(server, core, tmp_path):
    photo = _photo(tmp_path, "IMG_E.JPG", PART * 2 + 9)
    queue = UploadQueue(core.store)
    [queued] = queue.add([photo], lambda p: "SKU-1")

    def edit(index, request):
        if index == 0:  # the photographer re-exports the file while it uploads
            photo.write_bytes(os.urandom(PART * 2 + 20))
        return None

    first, http = _uploader(core, PartTransport(edit), parts_in_flight=1)
    outcome = first.run().files[queued.id]
    http.close()
    assert outcome.state == "uploading" and "changed since it was queued" in outcome.error
    assert _asset_count(server) == 0  # the mixed bytes were never completed

    second, http = _uploader(core)
    assert second.run().files[queued.id].state == "done"
    assert queue.get(queued.id).size == PART * 2 + 20
    _stored(server, photo)
    http.close()


class FakeClock:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self._t, self._lock = 0.0, threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._t += seconds


def _number(request) -> int:
    return int(request.url.path.rsplit("/", 1)[1])


def _network_down(request):
    raise httpx.ConnectError("network is unreachable", request=request)


def _asset_count(server) -> int:
    with server.db.read() as s:
        return len(s.execute(select(Asset.id)).all())


def test_a_server_away_for_a_while_at_completion_costs_the_file_a_wait_not_the_run(server, core, tmp_path):
    # The API client gives up after its own few quick tries; the completion then waits as long as a
    # part would (the uploader's retry policy) instead of failing the file for this run.
    photo = _photo(tmp_path, "IMG_W.JPG", PART + 3)
    queue = UploadQueue(core.store)
    [queued] = queue.add([photo], lambda p: "SKU-1")
    complete, refused = core.api.complete_upload, []

    def away_three_times(*args, **kwargs):
        if len(refused) < 3:
            refused.append(args[0])
            raise Offline("Cannot reach the order API (connection refused) after 3 attempts.")
        return complete(*args, **kwargs)

    core.api.complete_upload = away_three_times
    waits: list[float] = []
    uploader, http = _uploader(core, sleep=waits.append)  # the retry policy's waits, not spent in a test

    summary = uploader.run()

    assert summary.files[queued.id].state == "done"
    assert len(refused) == 3 and len(waits) == 3 and all(w > 0 for w in waits)
    _stored(server, photo)
    http.close()
