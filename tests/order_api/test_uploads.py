"""Image uploads end to end over loopback HTTP, against the fs store and a real S3 server.

The S3 store runs against `rclone serve s3` (tests/s3server.py); each test gets its own
bucket on one server per module, and its own API on a fresh SQLite file.
"""

import hashlib
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import botocore.auth
import pytest
from botocore.exceptions import ClientError
from sqlalchemy import select

from order_api.models import Asset, Change, Product, Upload, UploadPart
from tests.order_api.uploads_api import (  # noqa: F401 - fixtures: pytest finds them by name in this module
    PART, SKU, _data, _error, _flip_last, _md5_b64, _part, _with_query, fs_api, md5s, s3_server, store_api,
)


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

    assert not upload["single"]
    r = store_api.ada.http.post(f"/v1/uploads/{upload['upload_id']}/complete",
                                json={"parts": etags, "sha256": hashlib.sha256(data).hexdigest()})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "complete" and done["parts"] == []
    assert done["asset"]["integrity"] == "unchecked"  # not read back: the scrub does that later
    assert done["asset"]["sha256"] == hashlib.sha256(data).hexdigest() and done["asset"]["size"] == len(data)
    stored = store_api.stored_object(upload["object_key"])
    assert stored is not None and hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()

    with store_api.harness.db.read() as s:
        asset = s.execute(select(Asset).where(Asset.upload_id == upload["upload_id"])).scalar_one()
        assert asset.product_id == s.execute(select(Product.id).where(Product.sku == SKU)).scalar_one()
        assert asset.object_key == upload["object_key"]
        assert (asset.filename, asset.uploaded_by) == ("IMG_0001.JPG", "Ada")
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

    missing = store_api.complete(upload, data)
    assert _error(missing, 409)["code"] == "parts_missing"
    assert missing.json()["error"]["details"] == {"missing": [2]}
    assert store_api.ada.http.get(f"/v1/uploads/{upload['upload_id']}").json()["status"] == "open"

    assert store_api.put(seen["parts"][1], data[PART:]).status_code == 200
    r = store_api.complete(upload, data)
    assert r.status_code == 200 and r.json()["status"] == "complete", r.text


def test_completion_needs_every_part_with_its_md5(store_api):
    data = _data(PART + 1000)
    upload = store_api.started(data)
    store_api.upload_parts(upload, data)
    complete = f"/v1/uploads/{upload['upload_id']}/complete"
    [first, second] = md5s(upload, data)
    for parts in (None, [first], [first, {"number": 2, "etag": "not-an-md5"}]):
        err = _error(store_api.ada.http.post(complete, json={"parts": parts} if parts else {}), 422)
        assert err["code"] == "parts_required"
    assert store_api.ada.http.get(f"/v1/uploads/{upload['upload_id']}").json()["status"] == "open"
    assert store_api.complete(upload, data).status_code == 200


def test_a_part_list_the_store_does_not_hold_is_refused_and_nothing_is_read_back(store_api, monkeypatch):
    data = _data(PART + 1000)
    upload = store_api.started(data)
    store_api.upload_parts(upload, data)
    reads = []
    monkeypatch.setattr(type(store_api.store), "open_object", lambda self, key: reads.append(key))
    other = bytearray(data)
    other[PART + 10] ^= 0xFF  # the client's second part is not what the store holds
    r = store_api.complete(upload, bytes(other))
    assert _error(r, 409)["code"] == "etag_mismatch" and r.json()["error"]["details"] == {"parts": [2]}
    assert store_api.ada.http.get(f"/v1/uploads/{upload['upload_id']}").json()["status"] == "open"
    r = store_api.complete(upload, data)
    assert r.status_code == 200, r.text
    assert reads == []  # completion checked ETags, it never opened the object


def test_an_object_joined_into_other_data_than_the_parts_is_deleted_and_the_upload_failed(fs_api, monkeypatch):
    # A store that joins the right parts wrongly cannot be made to on purpose: its answer is replaced.
    data = _data(PART + 1000)
    upload = fs_api.started(data)
    fs_api.upload_parts(upload, data)
    join = type(fs_api.store).complete
    monkeypatch.setattr(type(fs_api.store), "complete", lambda self, ref, parts: join(self, ref, parts) and "0" * 32)
    r = fs_api.complete(upload, data)
    err = _error(r, 422)
    assert err["code"] == "object_mismatch" and err["details"]["actual_etag"] == "0" * 32
    assert err["details"]["expected_etag"].endswith("-2")
    assert fs_api.stored_object(upload["object_key"]) is None
    assert fs_api.ada.http.get(f"/v1/uploads/{upload['upload_id']}").json()["status"] == "failed"
    with fs_api.harness.db.read() as s:
        assert s.execute(select(Asset)).first() is None


def test_a_small_file_goes_up_in_one_put_and_is_stored_like_a_multipart_one(store_api):
    small, big = _data(PART - 7), _data(PART + 7)
    one = store_api.started(small)
    assert one["single"] and one["part_count"] == 1 and [p["number"] for p in one["parts"]] == [1]
    if store_api.kind == "s3":
        assert "uploadId" not in one["parts"][0]["url"] and one["parts"][0]["headers"] == {"Content-Type": "image/jpeg"}
        with store_api.harness.db.read() as s:
            assert s.get(Upload, one["upload_id"]).store_upload_id == ""
    assert store_api.ada.http.get(f"/v1/uploads/{one['upload_id']}").json()["stored_parts"] == []
    store_api.upload_parts(one, small)
    seen = store_api.ada.http.get(f"/v1/uploads/{one['upload_id']}").json()
    assert seen["stored_parts"] == [{"number": 1, "size": len(small), "etag": hashlib.md5(small).hexdigest()}]
    two = store_api.started(big)
    assert not two["single"] and two["part_count"] == 2
    store_api.upload_parts(two, big)
    for upload, data in ((one, small), (two, big)):
        r = store_api.complete(upload, data)
        assert r.status_code == 200 and r.json()["status"] == "complete", r.text
        assert store_api.stored_object(upload["object_key"]) == data


def test_a_single_put_of_other_bytes_is_refused_at_completion_and_sent_again(store_api):
    data = _data(4096)
    upload = store_api.started(data)
    other = _data(4097)[:4096]
    assert store_api.put(upload["parts"][0], other).status_code == 200  # the store took other bytes whole
    r = store_api.complete(upload, data)
    assert _error(r, 409)["code"] == "etag_mismatch"
    assert store_api.put(upload["parts"][0], data).status_code == 200  # sent again: the right bytes
    assert store_api.complete(upload, data).status_code == 200
    assert store_api.stored_object(upload["object_key"]) == data


def test_a_client_hashing_while_it_uploads_gives_the_sha256_at_completion(store_api):
    data = _data(PART + 1000)
    r = store_api.create(data, sha256=None)
    assert r.status_code == 201, r.text
    upload = r.json()
    assert upload["sha256"] is None
    store_api.upload_parts(upload, data)

    assert _error(store_api.complete(upload, data), 422)["code"] == "sha256_required"
    assert store_api.ada.http.get(f"/v1/uploads/{upload['upload_id']}").json()["status"] == "open"
    r = store_api.complete(upload, data, sha256=hashlib.sha256(data).hexdigest())
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "complete" and r.json()["asset"]["sha256"] == hashlib.sha256(data).hexdigest()
    # A retried completion needs no digest any more: it was kept with the upload.
    assert store_api.ada.http.post(f"/v1/uploads/{upload['upload_id']}/complete", json={}).status_code == 200


def test_a_sha256_at_completion_must_match_the_declared_one(store_api):
    data = _data(4096)
    upload = store_api.started(data)
    store_api.upload_parts(upload, data)
    r = store_api.complete(upload, data, sha256=hashlib.sha256(b"other").hexdigest())
    assert _error(r, 422)["code"] == "sha256_conflict"
    assert store_api.ada.http.get(f"/v1/uploads/{upload['upload_id']}").json()["status"] == "open"


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
