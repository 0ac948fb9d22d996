"""Blob stores: where the parts of an image upload land and where finished objects live.

Two stores keep one contract, so the upload routes never ask which one is behind them:

- `fs:DIR` (`FileBlobStore`): the API itself receives each part on an HMAC-signed,
  expiring URL under /v1/blobs/ and keeps parts and objects as files under DIR.
- `s3:http(s)://HOST[:PORT]/BUCKET` (`S3BlobStore`): the client sends parts straight to
  any S3-compatible endpoint on presigned multipart URLs (SigV4, path-style); the API only
  creates, lists, completes and aborts the multipart upload. Credentials come from
  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the region from AWS_DEFAULT_REGION.

Either way a part's ETag is the hex MD5 of its bytes, and a client sends Content-MD5 with
each part so that the store refuses a part damaged on the way. A file of one part goes up
in one PUT of the whole object (`UploadRef.single`), without a multipart upload.

Nothing is read back on the request path: completion checks the store's ETags against the
MD5s the client computed while it read the file, and the ETag of the joined object against
the one those MD5s call for (`expected_etag`). Reading objects back is the scrub's job
(order_api/scrub.py), in the background.
"""

import hashlib
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterable, Protocol
from uuid import uuid4

from order_api.settings import ServerSettings

# The extension of a stored object comes only from its declared content type, never
# from the client's file name: a name is display text, not a path.
CONTENT_TYPES: dict[str, str] = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/heif": ".heif",
    "image/x-adobe-dng": ".dng",
    "image/x-canon-cr2": ".cr2",
    "image/x-canon-cr3": ".cr3",
    "image/x-nikon-nef": ".nef",
    "image/x-sony-arw": ".arw",
    "image/x-fuji-raf": ".raf",
    "image/x-olympus-orf": ".orf",
    "image/x-panasonic-rw2": ".rw2",
    "image/x-pentax-pef": ".pef",
    "image/x-samsung-srw": ".srw",
    "image/x-sigma-x3f": ".x3f",
    "image/x-phaseone-iiq": ".iiq",
    "image/x-hasselblad-3fr": ".3fr",
    "application/octet-stream": ".raw",  # camera RAW formats without a registered type
}

INTEGRITY_HEADER = "Content-MD5"
_READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class UploadRef:
    """What a store needs to find one upload: our id, the object key, its own id, and its kind.

    single: the file is one part, sent as one PUT of the object (no multipart upload; the
    store's id is empty); content_type is then what that PUT must carry.
    """

    upload_id: str
    key: str
    store_upload_id: str
    single: bool = False
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class PartTarget:
    """Where and how a client sends one part."""

    number: int
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class StoredPart:
    """A part the store holds: its number, size in bytes and ETag (hex MD5, no quotes)."""

    number: int
    size: int
    etag: str


class BlobStoreError(Exception):
    """The store failed or could not be reached; the message says which operation."""


class ObjectMissing(BlobStoreError):
    """The store holds no object under this key."""


class UploadGone(BlobStoreError):
    """The store no longer knows this multipart upload (aborted, expired or failed)."""


class BlobStore(Protocol):
    """The contract both stores keep; every method may raise BlobStoreError."""

    def create_upload(self, upload_id: str, key: str, content_type: str, single: bool = False) -> str:
        """Start an upload of key; returns the store's own id for it ("" where it keeps none)."""

    def part_targets(self, ref: UploadRef, numbers: Iterable[int], ttl_s: int) -> list[PartTarget]:
        """Fresh URLs for these part numbers, valid for ttl_s seconds."""

    def list_parts(self, ref: UploadRef) -> list[StoredPart]:
        """The parts the store holds, by number; raises UploadGone for an unknown upload."""

    def complete(self, ref: UploadRef, parts: list[StoredPart]) -> str:
        """Join these parts, in order, into the object at ref.key; returns the object's ETag."""

    def abort(self, ref: UploadRef) -> None:
        """Drop the upload and its parts; aborting twice is not an error."""

    def open_object(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A binary stream of a stored object."""

    def delete_object(self, key: str) -> None:
        """Remove an object; a missing object is not an error."""


def new_object_key(sku: str, content_type: str) -> str:
    """A fresh key for an asset of sku; raises KeyError for a content type not accepted."""
    ext = CONTENT_TYPES[content_type]
    # SKUs are written by people; keep only characters that are safe in a path and a URL.
    folder = re.sub(r"[^A-Za-z0-9_-]", "_", sku) or "_"
    return f"assets/{folder}/{uuid4().hex}{ext}"


def expected_etag(md5s: list[str], single: bool) -> str:
    """The ETag an object joined from parts with these MD5s (hex) must have, as S3 defines it.

    One PUT: the object's MD5. Multipart: the MD5 of the parts' MD5s (as bytes, in order),
    a dash and the number of parts.
    """
    if single:
        return md5s[0]
    joined = hashlib.md5(b"".join(bytes.fromhex(m) for m in md5s))
    return f"{joined.hexdigest()}-{len(md5s)}"


def object_digest(store: BlobStore, key: str) -> tuple[str, int]:
    """SHA-256 (hex) and size of a stored object, read as a stream."""
    digest, size = hashlib.sha256(), 0
    with store.open_object(key) as stream:
        while chunk := stream.read(_READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def open_blob_store(settings: ServerSettings) -> BlobStore:
    """The store named by settings.blob_store: "fs:DIR" or "s3:http(s)://HOST[:PORT]/BUCKET"."""
    kind, sep, where = settings.blob_store.partition(":")
    if not sep or not where:
        raise ValueError(f"blob store {settings.blob_store!r}: expected fs:DIR or s3:http(s)://HOST:PORT/BUCKET")
    if kind == "fs":
        from order_api.blobstore.fs import FileBlobStore

        return FileBlobStore(Path(where), settings.public_url, settings.signing_key)
    if kind == "s3":
        from order_api.blobstore.s3 import S3BlobStore

        return S3BlobStore.from_spec(where, settings.upload_part_size)
    raise ValueError(f"blob store {settings.blob_store!r}: unknown kind {kind!r}; use fs: or s3:")
