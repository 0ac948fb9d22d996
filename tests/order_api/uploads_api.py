"""Image uploads over loopback HTTP, against the fs store and a real S3 server: the API, its fixtures and helpers.

The S3 store runs against `rclone serve s3` (tests/s3server.py); each test gets its own
bucket on one server per test module, and its own API on a fresh SQLite file. A test module
imports the fixtures it uses (store_api, fs_api, s3_server) so that pytest finds them.
"""

import base64
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import uuid4

import httpx
import pytest
from botocore.exceptions import ClientError

from order_api.blobstore import UploadRef
from order_api.models import Product, Upload
from order_api.server import start_in_thread
from order_api.settings import ServerSettings
from tests.order_api.harness import Harness, Session
from tests.s3server import S3Server, running_s3_server

PART = 5 * 1024 * 1024  # the S3 minimum for all parts but the last
SKU = "SKU-7"


@dataclass
class UploadsApi:
    """A running API with one product, three users, and a way to read what its store holds."""

    kind: str
    harness: Harness
    ada: Session  # photographer
    s3: S3Server | None = None

    @property
    def store(self):
        return self.harness.ctx.blobs

    def create(self, data: bytes, who: Session | None = None, **fields) -> httpx.Response:
        body = {"sku": SKU, "filename": "IMG_0001.JPG", "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(), "content_type": "image/jpeg", **fields}
        body = {k: v for k, v in body.items() if v is not None}  # sha256=None: declared at completion
        return (who or self.ada).http.post("/v1/uploads", json=body)

    def started(self, data: bytes, **fields) -> dict:
        r = self.create(data, **fields)
        assert r.status_code == 201, r.text
        return r.json()

    def put(self, target: dict, chunk: bytes, content_md5: str | None = None, with_md5: bool = True) -> httpx.Response:
        headers = dict(target["headers"])
        if with_md5:
            headers["Content-MD5"] = content_md5 or _md5_b64(chunk)
        return httpx.request(target["method"], target["url"], content=chunk, headers=headers, timeout=30)

    def upload_parts(self, upload: dict, data: bytes, numbers=None) -> None:
        for target in upload["parts"]:
            if numbers is None or target["number"] in numbers:
                r = self.put(target, _part(data, target["number"], upload["part_size"]))
                assert r.status_code == 200, r.text

    def complete(self, upload: dict, data: bytes | None, **extra) -> httpx.Response:
        """Complete with every part's MD5 computed from data (as a client does in its read pass)."""
        body = dict(extra)
        if data is not None:
            body["parts"] = md5s(upload, data)
        return self.ada.http.post(f"/v1/uploads/{upload['upload_id']}/complete", json=body)

    def ref(self, upload_id: str) -> UploadRef:
        with self.harness.db.read() as s:
            row = s.get(Upload, upload_id)
            return UploadRef(row.id, row.object_key, row.store_upload_id, row.single, row.content_type)

    def stored_object(self, key: str) -> bytes | None:
        """The object as the store holds it, read past the API; None when there is none."""
        if self.kind == "fs":
            path = Path(self.store.root) / key
            return path.read_bytes() if path.exists() else None
        try:
            return self.s3.client().get_object(Bucket=self.store.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            assert exc.response["Error"]["Code"] in ("NoSuchKey", "404")
            return None


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    with running_s3_server(tmp_path_factory.mktemp("s3") / "data") as server:
        yield server


def _start(kind: str, tmp_path: Path, request, monkeypatch):
    s3 = None
    if kind == "fs":
        blob_store = f"fs:{tmp_path / 'blobs'}"
    else:
        s3 = request.getfixturevalue("s3_server")
        for name, value in s3.environ().items():
            monkeypatch.setenv(name, value)
        blob_store = s3.blob_store(f"photos-{uuid4().hex[:12]}")
    settings = ServerSettings(db_url=f"sqlite:///{tmp_path / 'store_api.db'}", blob_store=blob_store,
                              upload_part_size=PART, upload_url_ttl_s=600)
    harness = Harness(start_in_thread(settings))
    with harness.db.write() as s:
        s.add(Product(sku=SKU, gtin="4006381333948", name="Linen Shirt, White, M", length_mm=300, width_mm=250,
                      height_mm=30, weight_g=220, shot_angles="front back detail", min_width_px=2000,
                      min_height_px=2000))
    for name, roles in (("ada", "photographer"), ("bo", "photographer"), ("sue", "supervisor"), ("pat", "picker")):
        harness.add_user(name, roles)
    return UploadsApi(kind, harness, harness.sign_in("ada"), s3)


@pytest.fixture(params=["fs", "s3"])
def store_api(request, tmp_path, monkeypatch):
    """The API on each blob store in turn."""
    uploads_api = _start(request.param, tmp_path, request, monkeypatch)
    yield uploads_api
    uploads_api.harness.stop()


@pytest.fixture
def fs_api(request, tmp_path, monkeypatch):
    uploads_api = _start("fs", tmp_path, request, monkeypatch)
    yield uploads_api
    uploads_api.harness.stop()


def _data(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def _part(data: bytes, number: int, part_size: int) -> bytes:
    return data[(number - 1) * part_size: number * part_size]


def md5s(upload: dict, data: bytes) -> list[dict]:
    """Every part of upload with the hex MD5 of its bytes in data: what completion asks for."""
    return [{"number": n, "etag": hashlib.md5(_part(data, n, upload["part_size"])).hexdigest()}
            for n in range(1, upload["part_count"] + 1)]


def _md5_b64(chunk: bytes) -> str:
    return base64.b64encode(hashlib.md5(chunk).digest()).decode()


def _error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _flip_last(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")
