"""The uploader against the reference API on its S3 store, served by `rclone serve s3`."""

import hashlib
import os
import threading
import time
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import select

from order_api.models import Asset, Upload
from order_api.server import start_in_thread
from order_api.settings import ServerSettings
from sync.upload.queue import UploadQueue
from sync.upload.transfer import Uploader
from tests.order_api import scenario
from tests.order_api.harness import Harness
from tests.s3server import StoreProxy, running_s3_server
from tests.sync.conftest import wait_until

PART = 5 * 1024 * 1024  # the S3 minimum for all parts but the last


@pytest.fixture
def s3(tmp_path):
    with running_s3_server(tmp_path / "s3") as server:
        yield server


@pytest.fixture
def api_on(tmp_path, s3, monkeypatch):
    """Factory of reference APIs whose S3 store is reached at an endpoint (the S3 server, or a proxy)."""
    for name, value in s3.environ().items():
        monkeypatch.setenv(name, value)
    started: list[Harness] = []

    def start(endpoint: str, **overrides) -> Harness:
        settings = ServerSettings(db_url=f"sqlite:///{tmp_path / f'server-{len(started)}.db'}",
                                  blob_store=f"s3:{endpoint}/photos-{uuid4().hex[:12]}", upload_part_size=PART,
                                  **overrides)
        h = Harness(start_in_thread(settings))
        started.append(h)
        scenario.build(h.db)
        h.add_user("pia", "photographer", pin="1111")
        return h

    yield start
    for h in started:
        h.stop()


@pytest.fixture
def server(api_on, s3):
    return api_on(s3.endpoint)


def _core(open_core, server):
    core = open_core(server.url)
    core.signin.online(username="pia", pin="1111")
    return core


def _photos(tmp_path, *sizes: int) -> list:
    shots = tmp_path / "shots"
    shots.mkdir(exist_ok=True)
    photos = []
    for i, size in enumerate(sizes):
        photos.append(shots / f"IMG_{i}.JPG")
        photos[-1].write_bytes(os.urandom(size))
    return photos


def _assert_stored(server, s3, photo) -> None:
    """The server registered the file, and the object in the S3 store has exactly its bytes."""
    data = photo.read_bytes()
    with server.db.read() as s:
        asset = s.execute(select(Asset).where(Asset.sha256 == hashlib.sha256(data).hexdigest())).scalar_one()
        key, size = asset.object_key, asset.size
    assert size == len(data)
    assert s3.client().get_object(Bucket=server.ctx.blobs.bucket, Key=key)["Body"].read() == data


def _statuses(server) -> list[str]:
    with server.db.read() as s:
        return sorted(s.execute(select(Upload.status)).scalars().all())


class Watching(httpx.BaseTransport):
    """Loopback transport that records each part PUT's answer and can act before sending one."""

    def __init__(self, before=None) -> None:
        self._inner, self._before = httpx.HTTPTransport(), before
        self.answers: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and self._before is not None:
            self._before(len(self.answers), request)
        response = self._inner.handle_request(request)
        if request.method == "PUT":
            self.answers.append(response.status_code)
        return response

    def close(self) -> None:
        self._inner.close()


def test_two_multipart_files_arrive_byte_identical_on_s3(server, s3, open_core, tmp_path):
    core = _core(open_core, server)
    photos = _photos(tmp_path, PART * 2 + 1000, PART + 7)
    queue = UploadQueue(core.store)
    queue.add(photos, lambda p: "SKU-1")

    summary = Uploader(queue, core.api, sleep=lambda s: None).run()

    assert {o.state for o in summary.files.values()} == {"done"}, summary.files
    for photo in photos:
        _assert_stored(server, s3, photo)


def test_expired_part_urls_are_refused_by_the_store_and_fetched_again(api_on, s3, open_core, tmp_path):
    server = api_on(s3.endpoint, upload_url_ttl_s=1)
    core = _core(open_core, server)
    [photo] = _photos(tmp_path, PART + 11)
    queue = UploadQueue(core.store)
    queue.add([photo], lambda p: "SKU-1")

    def outlive_the_url(index, request):
        if index == 0:
            query = parse_qs(urlsplit(str(request.url)).query)
            signed = time.mktime(time.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")) - time.timezone
            expires = signed + int(query["X-Amz-Expires"][0])
            wait_until(lambda: time.time() > expires + 1, "the part URL to expire")
            # URLs handed out from now on live an hour.
            server.ctx.settings = replace(server.ctx.settings, upload_url_ttl_s=3600)

    watching = Watching(outlive_the_url)
    http = httpx.Client(transport=watching, timeout=60)
    summary = Uploader(queue, core.api, http=http, parts_in_flight=1, sleep=lambda s: None).run()
    http.close()

    assert {o.state for o in summary.files.values()} == {"done"}, summary.files
    assert watching.answers[0] in (400, 403)  # rclone refuses an expired signature
    assert watching.answers[1:] == [200, 200]  # parts 1 and 2 on fresh URLs
    _assert_stored(server, s3, photo)


def test_a_burst_of_503_from_the_store_is_survived_and_an_unknown_sku_fails_alone(api_on, s3, open_core, tmp_path):
    burst = 4
    refused = iter(range(burst))
    proxy = StoreProxy(s3.endpoint, refuse=lambda method, path: (
        (503, "<Error><Code>SlowDown</Code></Error>") if method == "PUT" and "partNumber=" in path
        and next(refused, None) is not None else None))
    try:
        server = api_on(proxy.endpoint)
        core = _core(open_core, server)
        good = _photos(tmp_path, PART + 3, PART * 2 + 5)
        queue = UploadQueue(core.store)
        queue.add(good, lambda p: "SKU-1")
        stray = tmp_path / "shots" / "IMG_X.JPG"
        stray.write_bytes(os.urandom(1000))
        [bad] = queue.add([stray], lambda p: "SKU-NOPE")

        summary = Uploader(queue, core.api, sleep=lambda s: None).run()

        assert len(proxy.refused) == burst
        assert summary.files[bad.id].state == "failed" and "unknown_sku" in summary.files[bad.id].error
        assert queue.counts()["done"] == 2
        for photo in good:
            _assert_stored(server, s3, photo)
    finally:
        proxy.stop()


def test_an_upload_the_store_forgot_starts_over_and_arrives_whole(server, s3, open_core, tmp_path):
    core = _core(open_core, server)
    [photo] = _photos(tmp_path, PART * 2 + 99)
    queue = UploadQueue(core.store)
    [queued] = queue.add([photo], lambda p: "SKU-1")
    forgotten = threading.Event()

    def expire_in_the_store(index, request):
        if index == 1:  # after part 1 arrived, the store drops the multipart upload (as a lifecycle rule does)
            url = urlsplit(str(request.url))
            bucket, key = url.path.lstrip("/").split("/", 1)
            s3.client().abort_multipart_upload(Bucket=bucket, Key=key, UploadId=parse_qs(url.query)["uploadId"][0])
            forgotten.set()

    watching = Watching(expire_in_the_store)
    http = httpx.Client(transport=watching, timeout=60)
    summary = Uploader(queue, core.api, http=http, parts_in_flight=1, sleep=lambda s: None).run()
    http.close()

    assert forgotten.is_set()
    assert summary.files[queued.id].state == "done", summary.files
    assert watching.answers == [200, 404, 200, 200, 200]  # NoSuchUpload, then all three parts anew
    assert _statuses(server) == ["aborted", "complete"]
    _assert_stored(server, s3, photo)


class Damaging(Watching):
    """Watching, and the first PUT's bytes change on the way (one bit), as on a bad link."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and not self.answers:
            body = request.read()
            request = httpx.Request(request.method, request.url, headers=request.headers,
                                    content=bytes([body[0] ^ 0x01]) + body[1:])
        return super().handle_request(request)


def test_a_small_file_goes_in_one_put_and_a_put_damaged_on_the_way_is_refused_and_sent_again(server, s3, open_core,
                                                                                             tmp_path):
    core = _core(open_core, server)
    [photo] = _photos(tmp_path, 3 * 1024 * 1024)  # below the part size: one PUT of the object
    queue = UploadQueue(core.store)
    queue.add([photo], lambda p: "SKU-1")
    damaging = Damaging()
    http = httpx.Client(transport=damaging, timeout=60)
    summary = Uploader(queue, core.api, http=http, parts_in_flight=1, sleep=lambda s: None).run()
    http.close()

    assert {o.state for o in summary.files.values()} == {"done"}, summary.files
    assert damaging.answers == [400, 200]  # BadDigest from the store, then the bytes as they are
    _assert_stored(server, s3, photo)
    with server.db.read() as s:
        [upload] = s.execute(select(Upload)).scalars().all()
        assert upload.single and upload.store_upload_id == "" and upload.status == "complete"
