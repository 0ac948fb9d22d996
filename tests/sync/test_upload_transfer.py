"""The uploader against the real reference API on loopback, with its own file store."""

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from order_api.models import Asset, Upload
from sync.upload.queue import UploadQueue
from sync.upload.transfer import Progress, Uploader
from tests.sync.conftest import UPLOAD_PART

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
    return Uploader(UploadQueue(core.store), core.api, http=http, sleep=lambda s: None, **kwargs), http


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
