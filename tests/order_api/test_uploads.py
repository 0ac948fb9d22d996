"""Image uploads end to end over loopback HTTP, against the fs store and a real S3 server.

The S3 store runs against `rclone serve s3` (tests/s3server.py); each test gets its own
bucket on one server per module, and its own API on a fresh SQLite file.
"""

import base64
import hashlib
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import uuid4

import botocore.auth
import httpx
import pytest
from botocore.exceptions import ClientError
from sqlalchemy import select

from order_api.blobstore import UploadRef
from order_api.models import Asset, Change, Product, Upload, UploadPart
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

    def ref(self, upload_id: str) -> UploadRef:
        with self.harness.db.read() as s:
            row = s.get(Upload, upload_id)
            return UploadRef(row.id, row.object_key, row.store_upload_id)

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


def test_multipart_upload_stores_the_identical_object(store_api):
    data = _data(2 * PART + 12_345)
    upload = store_api.started(data)
    assert (upload["status"], upload["part_size"], upload["part_count"]) == ("open", PART, 3)
    assert [p["number"] for p in upload["parts"]] == [1, 2, 3]
    assert all(p["method"] == "PUT" for p in upload["parts"])
    assert upload["integrity_header"] == "Content-MD5" and upload["stored_parts"] == []

    etags = []
    for target in upload["parts"]:
        chunk = _part(data, target["number"], PART)
        r = store_api.put(target, chunk)
        assert r.status_code == 200, r.text
        assert r.headers["ETag"].strip('"') == hashlib.md5(chunk).hexdigest()
        etags.append({"number": target["number"], "etag": r.headers["ETag"]})

    r = store_api.ada.http.post(f"/v1/uploads/{upload['upload_id']}/complete", json={"parts": etags})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "complete" and done["parts"] == []
    assert done["asset"]["sha256"] == hashlib.sha256(data).hexdigest() and done["asset"]["size"] == len(data)
    stored = store_api.stored_object(upload["object_key"])
    assert stored is not None and hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()

    with store_api.harness.db.read() as s:
        asset = s.execute(select(Asset).where(Asset.upload_id == upload["upload_id"])).scalar_one()
        assert asset.product_id == s.execute(select(Product.id).where(Product.sku == SKU)).scalar_one()
        assert asset.object_key == upload["object_key"]
        feed = s.execute(select(Change).where(Change.entity == "asset", Change.entity_id == str(asset.id))).scalars()
        assert [c.audience for c in feed] == ["studio"]

    # A completion retried after a lost answer gets the same asset, not a second one.
    again = store_api.ada.http.post(f"/v1/uploads/{upload['upload_id']}/complete", json={})
    assert again.status_code == 200 and again.json()["asset"]["id"] == done["asset"]["id"]


def test_object_key_is_made_by_the_server(store_api):
    upload = store_api.started(b"x" * 100, filename="../../etc/passwd.exe", content_type="image/png")
    assert re.fullmatch(rf"assets/{SKU}/[0-9a-f]{{32}}\.png", upload["object_key"])


def test_get_lists_stored_parts_with_fresh_urls(store_api):
    data = _data(PART + 1000)
    upload = store_api.started(data)
    store_api.upload_parts(upload, data, numbers={1})

    r = store_api.ada.http.get(f"/v1/uploads/{upload['upload_id']}")
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["stored_parts"] == [{"number": 1, "size": PART, "etag": hashlib.md5(data[:PART]).hexdigest()}]
    assert [p["number"] for p in seen["parts"]] == [1, 2]

    missing = store_api.ada.http.post(f"/v1/uploads/{upload['upload_id']}/complete")
    assert _error(missing, 409)["code"] == "parts_missing"
    assert missing.json()["error"]["details"] == {"missing": [2]}

    # Content-MD5 is optional: this part goes without it, on a URL from the refreshed list.
    assert store_api.put(seen["parts"][1], data[PART:], with_md5=False).status_code == 200
    r = store_api.ada.http.post(f"/v1/uploads/{upload['upload_id']}/complete")
    assert r.status_code == 200 and r.json()["status"] == "complete", r.text


def test_wrong_sha256_is_refused_at_completion(store_api):
    data = _data(4096)
    upload = store_api.started(data, sha256=hashlib.sha256(b"another file").hexdigest())
    store_api.upload_parts(upload, data)

    r = store_api.ada.http.post(f"/v1/uploads/{upload['upload_id']}/complete", json={})
    err = _error(r, 422)
    assert err["code"] == "sha256_mismatch" and err["details"]["actual_sha256"] == hashlib.sha256(data).hexdigest()
    assert store_api.stored_object(upload["object_key"]) is None
    assert store_api.ada.http.get(f"/v1/uploads/{upload['upload_id']}").json()["status"] == "failed"
    with store_api.harness.db.read() as s:
        assert s.execute(select(Asset)).first() is None
    assert _error(store_api.ada.http.post(f"/v1/uploads/{upload['upload_id']}/complete"), 409)["code"] == "upload_failed"


def test_a_client_hashing_while_it_uploads_gives_the_sha256_at_completion(store_api):
    data = _data(PART + 1000)
    r = store_api.create(data, sha256=None)
    assert r.status_code == 201, r.text
    upload = r.json()
    assert upload["sha256"] is None
    store_api.upload_parts(upload, data)
    complete = f"/v1/uploads/{upload['upload_id']}/complete"

    assert _error(store_api.ada.http.post(complete, json={}), 422)["code"] == "sha256_required"
    assert store_api.ada.http.get(f"/v1/uploads/{upload['upload_id']}").json()["status"] == "open"
    r = store_api.ada.http.post(complete, json={"sha256": hashlib.sha256(data).hexdigest()})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "complete" and r.json()["asset"]["sha256"] == hashlib.sha256(data).hexdigest()
    # A retried completion needs no digest any more: it was kept with the upload.
    assert store_api.ada.http.post(complete, json={}).status_code == 200


def test_a_sha256_at_completion_must_match_the_declared_one(store_api):
    data = _data(4096)
    upload = store_api.started(data)
    store_api.upload_parts(upload, data)
    r = store_api.ada.http.post(f"/v1/uploads/{upload['upload_id']}/complete",
                                json={"sha256": hashlib.sha256(b"other").hexdigest()})
    assert _error(r, 422)["code"] == "sha256_conflict"
    assert store_api.ada.http.get(f"/v1/uploads/{upload['upload_id']}").json()["status"] == "open"


def test_a_wrong_sha256_given_at_completion_fails_the_upload(store_api):
    data = _data(4096)
    upload = store_api.create(data, sha256=None).json()
    store_api.upload_parts(upload, data)
    r = store_api.ada.http.post(f"/v1/uploads/{upload['upload_id']}/complete",
                                json={"sha256": hashlib.sha256(b"other").hexdigest()})
    assert _error(r, 422)["code"] == "sha256_mismatch"
    assert store_api.stored_object(upload["object_key"]) is None


def test_tampered_part_url_is_refused(store_api):
    data = _data(1000)
    target = store_api.started(data)["parts"][0]
    signature = "sig" if store_api.kind == "fs" else "X-Amz-Signature"
    query = dict(parse_qsl(urlsplit(target["url"]).query))
    tampered = dict(target, url=_with_query(target["url"], **{signature: _flip_last(query[signature])}))

    r = store_api.put(tampered, data)
    assert r.status_code == 403, r.text
    if store_api.kind == "fs":
        assert _error(r, 403)["code"] == "bad_signature"
    else:
        assert "SignatureDoesNotMatch" in r.text


def test_fs_part_url_is_bound_to_its_upload_and_part(fs_api):
    data = _data(PART + 10)
    upload = fs_api.started(data)
    other = fs_api.started(data)
    first = upload["parts"][0]
    moved = dict(first, url=first["url"].replace("/1?", "/2?"))
    assert _error(fs_api.put(moved, data[PART:]), 403)["code"] == "bad_signature"
    stolen = dict(first, url=first["url"].replace(upload["upload_id"], other["upload_id"]))
    assert _error(fs_api.put(stolen, data[:PART]), 403)["code"] == "bad_signature"
    unsigned = dict(first, url=first["url"].split("?")[0])
    assert _error(fs_api.put(unsigned, data[:PART]), 401)["code"] == "signature_required"


def test_expired_part_url_is_refused(store_api, monkeypatch):
    data = _data(1000)
    upload = store_api.started(data)
    if store_api.kind == "fs":
        [expired] = store_api.store.part_targets(store_api.ref(upload["upload_id"]), [1], ttl_s=-60)
    else:
        # A SigV4 URL signed two hours ago for ten minutes: the signer's clock is set back.
        signed_at = datetime.now(timezone.utc) - timedelta(hours=2)
        with monkeypatch.context() as m:
            m.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)
            [expired] = store_api.store.part_targets(store_api.ref(upload["upload_id"]), [1], ttl_s=600)
    r = store_api.put({"method": expired.method, "url": expired.url, "headers": expired.headers}, data)
    if store_api.kind == "fs":
        assert _error(r, 403)["code"] == "url_expired"
    else:
        # AWS answers 403 "Request has expired"; rclone serve s3 answers 400 AccessDenied.
        assert r.status_code in (400, 403) and "<Code>AccessDenied</Code>" in r.text, r.text
    assert store_api.ada.http.get(f"/v1/uploads/{upload['upload_id']}").json()["stored_parts"] == []


def test_content_md5_mismatch_is_refused(store_api):
    data = _data(1000)
    upload = store_api.started(data)
    target = upload["parts"][0]
    r = store_api.put(target, data, content_md5=_md5_b64(b"something else"))
    assert r.status_code == 400, r.text
    if store_api.kind == "fs":
        assert _error(r, 400)["code"] == "bad_digest"
    else:
        assert "BadDigest" in r.text
    # rclone fails the whole multipart upload after a bad part (AWS keeps it open); either
    # way the store holds no part, and the API never counts the damaged one.
    seen = store_api.ada.http.get(f"/v1/uploads/{upload['upload_id']}").json()
    assert seen["stored_parts"] == [] and seen["status"] in ("open", "failed")


def test_fs_part_resent_after_a_bad_digest_is_accepted(fs_api):
    data = _data(1000)
    upload = fs_api.started(data)
    target = upload["parts"][0]
    assert fs_api.put(target, data, content_md5=_md5_b64(b"x")).status_code == 400
    assert _error(fs_api.put(target, data, content_md5="not base64!"), 400)["code"] == "invalid_digest"
    assert fs_api.put(target, data).status_code == 200
    with fs_api.harness.db.read() as s:
        [part] = s.execute(select(UploadPart).where(UploadPart.upload_id == upload["upload_id"])).scalars()
        assert (part.number, part.size, part.etag) == (1, 1000, hashlib.md5(data).hexdigest())


def test_fs_part_of_the_wrong_size_is_refused(fs_api):
    data = _data(PART + 10)
    target = fs_api.started(data)["parts"][0]
    assert _error(fs_api.put(target, data[:PART - 1]), 400)["code"] == "part_size_mismatch"
    assert _error(fs_api.put(target, data[:PART] + b"!"), 400)["code"] == "part_size_mismatch"


def test_abort(store_api):
    data = _data(PART + 10)
    upload = store_api.started(data)
    store_api.upload_parts(upload, data, numbers={1})
    uid = upload["upload_id"]

    assert store_api.ada.http.delete(f"/v1/uploads/{uid}").status_code == 204
    seen = store_api.ada.http.get(f"/v1/uploads/{uid}").json()
    assert seen["status"] == "aborted" and seen["parts"] == []
    late = store_api.put(upload["parts"][1], data[PART:])
    assert late.status_code in (404, 409), late.text  # fs: upload_aborted; S3: NoSuchUpload
    assert _error(store_api.ada.http.post(f"/v1/uploads/{uid}/complete"), 409)["code"] == "upload_aborted"
    assert store_api.ada.http.delete(f"/v1/uploads/{uid}").status_code == 204
    if store_api.kind == "fs":
        assert not (Path(store_api.store.root) / ".uploads" / uid).exists()
    else:
        with pytest.raises(ClientError, match="NoSuchUpload"):
            store_api.s3.client().list_parts(Bucket=store_api.store.bucket, Key=upload["object_key"],
                                       UploadId=store_api.ref(uid).store_upload_id)


def test_unknown_sku(store_api):
    assert _error(store_api.create(b"x" * 10, sku="NOPE-1"), 404)["code"] == "unknown_sku"


def test_every_upload_route_needs_a_token(store_api):
    upload = store_api.started(b"x" * 10)
    anonymous = store_api.harness.client()
    calls = [("POST", "/v1/uploads"), ("GET", f"/v1/uploads/{upload['upload_id']}"),
             ("POST", f"/v1/uploads/{upload['upload_id']}/complete"), ("DELETE", f"/v1/uploads/{upload['upload_id']}")]
    for method, path in calls:
        assert _error(anonymous.request(method, path, json={}), 401)["code"] == "unauthorized"
    picker = store_api.harness.sign_in("pat")
    assert _error(store_api.create(b"x" * 10, who=picker), 403)["code"] == "forbidden"


def test_uploads_belong_to_their_photographer(store_api):
    uid = store_api.started(b"x" * 10)["upload_id"]
    bo = store_api.harness.sign_in("bo")
    for r in (bo.http.get(f"/v1/uploads/{uid}"), bo.http.post(f"/v1/uploads/{uid}/complete"),
              bo.http.delete(f"/v1/uploads/{uid}")):
        assert _error(r, 404)["code"] == "unknown_upload"
    assert store_api.harness.sign_in("sue").http.get(f"/v1/uploads/{uid}").status_code == 200


@pytest.mark.parametrize("body, status", [
    ({"size": "10"}, 422),
    ({"size": True}, 422),
    ({"size": 0}, 422),
    ({"size": 5 * 1024**3 + 1}, 422),
    ({"sha256": "abc"}, 422),
    ({"sku": 7}, 422),
    ({"colour": "red"}, 422),
    ({"content_type": "text/html"}, 415),
])
def test_bad_create_requests_get_4xx(fs_api, body, status):
    _error(fs_api.create(b"x" * 10, **body), status)


def test_malformed_and_oversized_bodies_get_4xx(fs_api):
    http = fs_api.ada.http
    json_type = {"content-type": "application/json"}
    assert _error(http.post("/v1/uploads", content=b"{not json", headers=json_type), 422)["code"] == "invalid_request"
    big = b'{"sku": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    assert _error(http.post("/v1/uploads", content=big, headers=json_type), 413)["code"] == "payload_too_large"
    uid = fs_api.started(b"x" * 10)["upload_id"]
    _error(http.post(f"/v1/uploads/{uid}/complete", json={"parts": "all"}), 422)
    _error(http.post(f"/v1/uploads/{uid}/complete", json={"parts": [{"number": 1, "etag": "a", "size": 1}]}), 422)
    _error(http.post(f"/v1/uploads/{uid}/complete", content=b"[", headers=json_type), 422)
    assert _error(http.get(f"/v1/uploads/{'x' * 40}"), 422)["code"] == "invalid_request"
