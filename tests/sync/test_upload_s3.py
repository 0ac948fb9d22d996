"""The uploader against the reference API on its S3 store, served by `rclone serve s3`."""

import hashlib
import os
from uuid import uuid4

import pytest
from sqlalchemy import select

from order_api.models import Asset
from order_api.server import start_in_thread
from order_api.settings import ServerSettings
from sync.upload.queue import UploadQueue
from sync.upload.transfer import Uploader
from tests.order_api import scenario
from tests.order_api.harness import Harness
from tests.s3server import running_s3_server

PART = 5 * 1024 * 1024  # the S3 minimum for all parts but the last


@pytest.fixture
def s3(tmp_path):
    with running_s3_server(tmp_path / "s3") as server:
        yield server


@pytest.fixture
def server(tmp_path, s3, monkeypatch):
    for name, value in s3.environ().items():
        monkeypatch.setenv(name, value)
    settings = ServerSettings(db_url=f"sqlite:///{tmp_path / 'server.db'}",
                              blob_store=s3.blob_store(f"photos-{uuid4().hex[:12]}"), upload_part_size=PART)
    h = Harness(start_in_thread(settings))
    scenario.build(h.db)
    h.add_user("pia", "photographer", pin="1111")
    yield h
    h.stop()


def test_two_multipart_files_arrive_byte_identical_on_s3(server, s3, open_core, tmp_path):
    core = open_core(server.url)
    core.signin.online(username="pia", pin="1111")
    shots = tmp_path / "shots"
    shots.mkdir()
    photos = []
    for name, size in (("IMG_1.JPG", PART * 2 + 1000), ("IMG_2.JPG", PART + 7)):
        photos.append(shots / name)
        photos[-1].write_bytes(os.urandom(size))
    queue = UploadQueue(core.store)
    queue.add(photos, lambda p: "SKU-1")

    summary = Uploader(queue, core.api, sleep=lambda s: None).run()

    assert {o.state for o in summary.files.values()} == {"done"}, summary.files
    bucket = server.ctx.blobs.bucket
    for photo in photos:
        data = photo.read_bytes()
        with server.db.read() as s:
            asset = s.execute(select(Asset).where(Asset.sha256 == hashlib.sha256(data).hexdigest())).scalar_one()
            key, size = asset.object_key, asset.size
        assert size == len(data)
        assert s3.client().get_object(Bucket=bucket, Key=key)["Body"].read() == data
