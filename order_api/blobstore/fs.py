"""The file blob store: parts reach this API on HMAC-signed URLs and are kept as files.

Layout under the root folder:

    <key>                              a finished object, e.g. assets/SKU-1/3f2a….jpg
    .uploads/<upload id>/<nnnnn>.<md5> a stored part, named by number and ETag
    .uploads/<upload id>/.<nnnnn>-…    a part still arriving (temporary)

A part URL is /v1/blobs/<upload id>/<part number>?expires=<unix s>&sig=<hex>, where sig is
an HMAC-SHA256 over method, upload id, part number and expiry with a key derived from the
server's signing key: changing any of them, or using the URL after expiry, is refused.
"""

import hashlib
import hmac
import os
import re
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterable
from urllib.parse import urlencode

from order_api.blobstore import BlobStoreError, ObjectMissing, PartTarget, StoredPart, UploadGone, UploadRef, expected_etag

PART_ROUTE = "/v1/blobs"
_PART_NAME = re.compile(r"^(\d{5})\.([0-9a-f]{32})$")
_UPLOAD_ID = re.compile(r"^[0-9a-f-]{36}$")
_COPY_CHUNK = 1024 * 1024


class PartUrlRefused(Exception):
    """A part URL that is missing its signature, was tampered with or has expired."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class BadDigest(Exception):
    """The part's MD5 differs from the Content-MD5 the client declared."""


class PartSizeMismatch(Exception):
    """The part is not the size its number calls for."""


class FileBlobStore:
    """Objects and multipart uploads as files under one folder; part URLs point at this API."""

    def __init__(self, root: Path, public_url: str | None, signing_key: bytes) -> None:
        self.root = root.expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._uploads = self.root / ".uploads"
        self.public_url = public_url.rstrip("/") if public_url else None
        # A key of its own, so a part-URL signature can never stand in for another signature.
        self._url_key = hmac.new(signing_key, b"floorhand/blob-part-url/v1", hashlib.sha256).digest()

    # -- the BlobStore contract ---------------------------------------------------------

    def create_upload(self, upload_id: str, key: str, content_type: str, single: bool = False) -> str:
        self._upload_dir(upload_id).mkdir(parents=True, exist_ok=True)
        return upload_id

    def part_targets(self, ref: UploadRef, numbers: Iterable[int], ttl_s: int) -> list[PartTarget]:
        expires = int(time.time()) + ttl_s
        expires_at = datetime.fromtimestamp(expires, timezone.utc)
        return [PartTarget(n, self.part_url(ref.upload_id, n, expires), "PUT", {}, expires_at) for n in numbers]

    def list_parts(self, ref: UploadRef) -> list[StoredPart]:
        folder = self._existing_upload_dir(ref.upload_id)
        newest: dict[int, tuple[int, StoredPart]] = {}
        for entry in os.scandir(folder):
            match = _PART_NAME.match(entry.name)
            if not match:
                continue
            stat = entry.stat()
            number = int(match.group(1))
            # Two files for one number only exist for an instant while a re-upload replaces it.
            if number not in newest or stat.st_mtime_ns > newest[number][0]:
                newest[number] = (stat.st_mtime_ns, StoredPart(number, stat.st_size, match.group(2)))
        return [part for _, part in sorted(newest.values(), key=lambda item: item[1].number)]

    def complete(self, ref: UploadRef, parts: list[StoredPart]) -> str:
        folder = self._existing_upload_dir(ref.upload_id)
        target = self._object_path(ref.key)
        target.parent.mkdir(parents=True, exist_ok=True)
        etag = expected_etag([p.etag for p in parts], ref.single)  # each part's name is its MD5, checked as it came
        if len(parts) == 1:  # written and synced as it arrived: moved into place, not copied
            try:
                os.replace(folder / _part_name(parts[0].number, parts[0].etag), target)
            except FileNotFoundError as exc:
                raise BlobStoreError(f"fs complete: the part of upload {ref.upload_id} is no longer stored") from exc
            shutil.rmtree(folder, ignore_errors=True)
            return etag
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".joining-")
        try:
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with open(folder / _part_name(part.number, part.etag), "rb") as source:
                        shutil.copyfileobj(source, out, _COPY_CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, target)
        except FileNotFoundError as exc:
            raise BlobStoreError(f"fs complete: a part of upload {ref.upload_id} is no longer stored") from exc
        finally:
            Path(tmp_name).unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        return etag

    def abort(self, ref: UploadRef) -> None:
        try:
            shutil.rmtree(self._upload_dir(ref.upload_id))
        except FileNotFoundError:
            pass

    def open_object(self, key: str) -> BinaryIO:
        try:
            return open(self._object_path(key), "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(f"fs: object {key} is not stored") from exc

    def delete_object(self, key: str) -> None:
        self._object_path(key).unlink(missing_ok=True)

    # -- signed part URLs ---------------------------------------------------------------

    def part_url(self, upload_id: str, number: int, expires: int) -> str:
        """The signed URL of one part, valid until the unix time expires."""
        if self.public_url is None:
            raise BlobStoreError("the fs blob store needs settings.public_url to hand out part URLs")
        query = urlencode({"expires": expires, "sig": self._signature(upload_id, number, expires)})
        return f"{self.public_url}{PART_ROUTE}/{upload_id}/{number}?{query}"

    def check_part_url(self, upload_id: str, number: int, expires: str | None, sig: str | None, now: float) -> None:
        """Raise PartUrlRefused unless the URL was signed by this server and is still valid."""
        if not expires or not sig:
            raise PartUrlRefused(401, "signature_required", "Part URLs must carry expires and sig.")
        try:
            expires_at = int(expires)
        except ValueError:
            raise PartUrlRefused(403, "bad_signature", "The part URL signature is not valid.") from None
        if not hmac.compare_digest(self._signature(upload_id, number, expires_at), sig):
            raise PartUrlRefused(403, "bad_signature", "The part URL signature is not valid.")
        if expires_at <= now:
            raise PartUrlRefused(403, "url_expired", "The part URL has expired; fetch fresh URLs.")

    def _signature(self, upload_id: str, number: int, expires: int) -> str:
        message = f"PUT\n{upload_id}\n{number}\n{expires}".encode()
        return hmac.new(self._url_key, message, hashlib.sha256).hexdigest()

    # -- receiving parts ----------------------------------------------------------------

    def part_writer(self, upload_id: str, number: int, expected_size: int) -> "PartWriter":
        """A writer for one part of an upload this store holds."""
        return PartWriter(self._existing_upload_dir(upload_id), number, expected_size)

    # -- paths --------------------------------------------------------------------------

    def _upload_dir(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.match(upload_id):
            raise UploadGone(f"fs: {upload_id!r} is not an upload id")
        return self._uploads / upload_id

    def _existing_upload_dir(self, upload_id: str) -> Path:
        folder = self._upload_dir(upload_id)
        if not folder.is_dir():
            raise UploadGone(f"fs: upload {upload_id} is not open in the store")
        return folder

    def _object_path(self, key: str) -> Path:
        # Keys are made by the server; refusing anything that leaves the root is a second fence.
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or key.startswith(".") or "/." in key:
            raise ValueError(f"fs: object key {key!r} is not a plain relative path")
        return path


class PartWriter:
    """Streams one part to a temporary file, then puts it in place under its MD5."""

    def __init__(self, folder: Path, number: int, expected_size: int) -> None:
        self.folder, self.number, self.expected_size = folder, number, expected_size
        self.size = 0
        self._md5 = hashlib.md5()
        try:
            fd, self._tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{number:05d}-")
        except FileNotFoundError as exc:
            raise UploadGone(f"fs: upload folder {folder.name} was removed") from exc
        self._file = os.fdopen(fd, "wb")
        self._done = False

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.expected_size:
            raise PartSizeMismatch(f"part {self.number} must be {self.expected_size} bytes; more arrived")
        self._md5.update(chunk)
        self._file.write(chunk)

    def commit(self, content_md5: bytes | None) -> StoredPart:
        """Check size and digest, then make the part visible; replaces an earlier copy."""
        if self.size != self.expected_size:
            raise PartSizeMismatch(f"part {self.number} must be {self.expected_size} bytes; {self.size} arrived")
        digest = self._md5.digest()
        if content_md5 is not None and not hmac.compare_digest(digest, content_md5):
            raise BadDigest(f"part {self.number} does not match its Content-MD5")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        etag = digest.hex()
        final = self.folder / _part_name(self.number, etag)
        try:
            os.replace(self._tmp_name, final)
        except FileNotFoundError as exc:
            raise UploadGone(f"fs: upload folder {self.folder.name} was removed") from exc
        self._done = True
        for other in self.folder.glob(f"{self.number:05d}.*"):
            if other != final:
                other.unlink(missing_ok=True)
        return StoredPart(self.number, self.size, etag)

    def discard(self) -> None:
        """Drop the temporary file unless the part was committed."""
        if not self._done:
            self._file.close()
            Path(self._tmp_name).unlink(missing_ok=True)
            self._done = True


def _part_name(number: int, etag: str) -> str:
    return f"{number:05d}.{etag}"
