"""The S3 blob store: presigned multipart part URLs on any S3-compatible endpoint.

The API talks to the endpoint with botocore (SigV4, path-style addressing, so a bucket
never has to be a DNS name); clients PUT parts straight to the presigned URLs. Content-MD5
is left out of the signature so that a client may send it with any part: S3 (and
`rclone serve s3`) then refuse a damaged part with 400 BadDigest.
"""

import os
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import BinaryIO, Iterable
from urllib.parse import urlsplit

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from order_api.blobstore import BlobStoreError, ObjectMissing, PartTarget, StoredPart, UploadGone, UploadRef

# S3 refuses to complete uploads whose parts, all but the last, are smaller than 5 MiB.
MIN_PART_SIZE = 5 * 1024 * 1024
# SigV4 presigned URLs live at most seven days.
MAX_URL_TTL_S = 7 * 24 * 3600
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class S3BlobStore:
    """Multipart uploads into one bucket of an S3-compatible endpoint."""

    def __init__(self, client, bucket: str) -> None:
        self._client = client
        self.bucket = bucket
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()

    @classmethod
    def from_spec(cls, where: str, part_size: int, environ: Mapping[str, str] = os.environ) -> "S3BlobStore":
        """A store for "http(s)://HOST[:PORT]/BUCKET", credentials from AWS_* variables."""
        url = urlsplit(where)
        bucket = url.path.strip("/")
        if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
            raise ValueError(f"blob store s3:{where}: expected s3:http(s)://HOST[:PORT]/BUCKET")
        if not _BUCKET.match(bucket):
            raise ValueError(f"blob store s3:{where}: {bucket!r} is not a valid bucket name")
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"blob store s3:{where}: upload_part_size must be at least {MIN_PART_SIZE} bytes")
        key_id, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
        if bool(key_id) != bool(secret):
            raise ValueError("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither")
        client = botocore.session.Session().create_client(
            "s3",
            endpoint_url=f"{url.scheme}://{url.netloc}",
            region_name=environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            aws_access_key_id=key_id or None,
            aws_secret_access_key=secret or None,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=60,
                retries={"mode": "standard", "max_attempts": 3},
                # Newer botocore adds CRC checksums by default, which many S3-compatible
                # servers do not understand; MD5/ETag checks are all this store relies on.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        return cls(client, bucket)

    def create_upload(self, upload_id: str, key: str, content_type: str, single: bool = False) -> str:
        self._ensure_bucket()
        if single:
            return ""  # one PUT of the object: nothing to start
        with _s3_call("CreateMultipartUpload"):
            answer = self._client.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type)
        return answer["UploadId"]

    def part_targets(self, ref: UploadRef, numbers: Iterable[int], ttl_s: int) -> list[PartTarget]:
        ttl_s = min(ttl_s, MAX_URL_TTL_S)
        expires_at = datetime.fromtimestamp(int(time.time()) + ttl_s, timezone.utc)
        targets = []
        if ref.single:
            with _s3_call("presign PutObject"):
                # The content type is signed, so the client sends the header given with the URL.
                url = self._client.generate_presigned_url(
                    "put_object", Params={"Bucket": self.bucket, "Key": ref.key, "ContentType": ref.content_type},
                    ExpiresIn=ttl_s, HttpMethod="PUT",
                )
            return [PartTarget(n, url, "PUT", {"Content-Type": ref.content_type}, expires_at) for n in numbers if n == 1]
        with _s3_call("presign UploadPart"):
            for number in numbers:
                url = self._client.generate_presigned_url(
                    "upload_part",
                    Params={"Bucket": self.bucket, "Key": ref.key, "UploadId": ref.store_upload_id,
                            "PartNumber": number},
                    ExpiresIn=ttl_s,
                    HttpMethod="PUT",
                )
                targets.append(PartTarget(number, url, "PUT", {}, expires_at))
        return targets

    def list_parts(self, ref: UploadRef) -> list[StoredPart]:
        if ref.single:
            head = self._head(ref.key)
            return [] if head is None else [StoredPart(1, head[0], head[1])]
        parts: list[StoredPart] = []
        marker: dict[str, int] = {}
        with _s3_call("ListParts"):
            while True:
                page = self._client.list_parts(Bucket=self.bucket, Key=ref.key, UploadId=ref.store_upload_id, **marker)
                parts.extend(StoredPart(p["PartNumber"], p["Size"], p["ETag"].strip('"')) for p in page.get("Parts", ()))
                if not page.get("IsTruncated"):
                    return parts
                marker = {"PartNumberMarker": page["NextPartNumberMarker"]}

    def complete(self, ref: UploadRef, parts: list[StoredPart]) -> str:
        if ref.single:  # the PUT made the object; its ETag is what the store holds
            head = self._head(ref.key)
            if head is None:
                raise BlobStoreError(f"S3 HeadObject {ref.key}: the object is not stored")
            return head[1]
        listing = [{"PartNumber": p.number, "ETag": f'"{p.etag}"'} for p in parts]
        with _s3_call("CompleteMultipartUpload"):
            answer = self._client.complete_multipart_upload(
                Bucket=self.bucket, Key=ref.key, UploadId=ref.store_upload_id, MultipartUpload={"Parts": listing}
            )
        return answer.get("ETag", "").strip('"')

    def abort(self, ref: UploadRef) -> None:
        if ref.single:
            self.delete_object(ref.key)
            return
        try:
            with _s3_call("AbortMultipartUpload"):
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=ref.key, UploadId=ref.store_upload_id)
        except UploadGone:
            pass  # already aborted, or expired by the store: the outcome asked for

    @contextmanager
    def open_object(self, key: str) -> Iterator[BinaryIO]:
        with _s3_call("GetObject"):
            body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                yield body
            finally:
                body.close()

    def _head(self, key: str) -> tuple[int, str] | None:
        """(size, ETag) of a stored object, None when there is none."""
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise BlobStoreError(f"S3 HeadObject failed: {_error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise BlobStoreError(f"S3 HeadObject failed: {exc}") from exc
        return head["ContentLength"], head.get("ETag", "").strip('"')

    def delete_object(self, key: str) -> None:
        with _s3_call("DeleteObject"):
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def _ensure_bucket(self) -> None:
        # Checked on first use rather than at start-up, so the API starts while the store is down.
        with self._bucket_lock:
            if self._bucket_ready:
                return
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                    raise BlobStoreError(f"S3 HeadBucket {self.bucket} failed: {_error_code(exc)}") from exc
                with _s3_call("CreateBucket"):
                    self._client.create_bucket(Bucket=self.bucket)
            except BotoCoreError as exc:
                raise BlobStoreError(f"S3 HeadBucket {self.bucket} failed: {exc}") from exc
            self._bucket_ready = True


@contextmanager
def _s3_call(operation: str) -> Iterator[None]:
    """Turn botocore's errors into BlobStoreError (UploadGone for NoSuchUpload)."""
    try:
        yield
    except ClientError as exc:
        code = _error_code(exc)
        if code == "NoSuchUpload":
            raise UploadGone(f"S3 {operation}: the store no longer knows this upload") from exc
        if code in ("NoSuchKey", "404"):
            raise ObjectMissing(f"S3 {operation}: no such object") from exc
        raise BlobStoreError(f"S3 {operation} failed: {code}") from exc
    except BotoCoreError as exc:
        raise BlobStoreError(f"S3 {operation} failed: {exc}") from exc


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code") or str(exc)
