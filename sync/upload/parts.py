"""Sending one part to the store: presigned URLs, Content-MD5, retries, expired URLs and damaged bytes."""

import base64
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator

import httpx

from sync.api import OrderApi, RequestRefused
from sync.retry import RetryPolicy, parse_retry_after
from sync.upload.ratelimit import SLICE, TokenBucket

log = logging.getLogger(__name__)

_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)
_URL_REFRESHES = 2
# Answers of a part PUT that may mean the server's upload is gone (S3 NoSuchUpload is 404,
# the fs store's closed upload 409); the API is asked before the file starts over.
_MAYBE_GONE = (404, 409, 410)


class FileFailed(Exception):
    """One file's upload cannot go on in this run; permanent ones end the file as failed."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class UploadGone(Exception):
    """The server's upload of a file was aborted or expired: the file starts over from part 1."""


class Halted(Exception):
    """The file was cancelled or the run stops; the part was not sent."""


class Targets:
    """The part URLs of one upload; refreshed from the server when one has expired."""

    def __init__(self, api: OrderApi, upload: dict) -> None:
        self._api, self._lock = api, threading.Lock()
        self.upload_id, self.integrity_header = upload["upload_id"], upload["integrity_header"]
        self._by_number = {p["number"]: p for p in upload["parts"]}

    def get(self, number: int) -> dict:
        with self._lock:
            if number not in self._by_number:
                raise FileFailed(f"the server gave no URL for part {number}", permanent=False)
            return self._by_number[number]

    def refresh(self, seen: dict) -> None:
        """Fetch fresh URLs unless another thread already did since `seen` was handed out."""
        with self._lock:
            if self._by_number.get(seen["number"]) is not seen:
                return
            upload = self.fetch()
            self._by_number = {p["number"]: p for p in upload["parts"]}

    def fetch(self) -> dict:
        return fetch_upload(self._api, self.upload_id)


def fetch_upload(api: OrderApi, upload_id: str) -> dict:
    """The upload as the server has it now; UploadGone when it was aborted, expired or failed there."""
    try:
        upload = api.get_upload(upload_id)
    except RequestRefused as exc:
        if exc.status in (404, 410):
            raise UploadGone(f"the server no longer knows upload {upload_id} ({exc.code})") from exc
        raise
    if upload["status"] in ("failed", "aborted"):
        raise UploadGone(f"the server's upload {upload_id} is {upload['status']}")
    return upload


class PartSender:
    """PUTs parts with retries; one instance serves every part of a run."""

    def __init__(self, http: httpx.Client, retry: RetryPolicy, sleep: Callable[[float, int], None],
                 halted: Callable[[int], bool], bucket: Callable[[], TokenBucket | None]) -> None:
        self._http, self._retry, self._sleep, self._halted, self._bucket = http, retry, sleep, halted, bucket

    def put(self, file_id: int, targets: Targets, number: int, data: memoryview) -> str:
        """Send one part; returns the hex MD5 of its bytes, which the store answered as its ETag.

        Completion gives these MD5s to the server, which checks the store's part list against
        them: a store whose ETag is not the part's MD5 cannot vouch for the bytes it holds.
        """
        digest = hashlib.md5(data).digest()
        md5, md5_hex = base64.b64encode(digest).decode(), digest.hex()
        attempt = refreshes = 0
        resent_for_digest = False
        while True:
            if self._halted(file_id):
                raise Halted()
            target = targets.get(number)
            headers = dict(target["headers"]) | {targets.integrity_header: md5}
            try:
                response = self._send(target, headers, data)
            except _TRANSIENT as exc:
                why, retry_after = f"{type(exc).__name__}: {exc}", None
            else:
                status = response.status_code
                if 200 <= status < 300:
                    etag = response.headers.get("ETag", "").strip().strip('"').lower()
                    if not etag:
                        raise FileFailed(f"the store gave no ETag for part {number}", permanent=False)
                    if etag != md5_hex:
                        raise FileFailed(f"the store answered ETag {etag[:40]} for part {number}, not the MD5 of "
                                         "its bytes: it cannot vouch for what it holds", permanent=False)
                    return md5_hex
                if _url_expired(response) and refreshes < _URL_REFRESHES:
                    refreshes += 1
                    targets.refresh(target)
                    continue
                if status in (400, 409) and not resent_for_digest and _digest_refused(response):
                    resent_for_digest = True  # the bytes were damaged on the way: send them once more
                    continue
                if status in _MAYBE_GONE:
                    targets.fetch()  # raises UploadGone when the server agrees the upload is gone
                if status < 500 and status != 429:
                    raise FileFailed(f"the store refused part {number} (HTTP {status}): {response.text[:200]}",
                                     permanent=False)
                why, retry_after = f"HTTP {status}", parse_retry_after(response.headers.get("Retry-After"))
            log.warning("Part %d of upload %d failed (attempt %d of %d): %s", number, file_id, attempt + 1,
                        self._retry.attempts, why)
            if attempt + 1 >= self._retry.attempts:
                raise FileFailed(f"part {number} could not be sent ({why}) after {attempt + 1} attempts",
                                 permanent=False)
            self._sleep(self._retry.wait(attempt, retry_after), file_id)
            attempt += 1

    def _send(self, target: dict, headers: dict, data: memoryview) -> httpx.Response:
        # The body goes in slices of the part buffer, never as one more copy of the part; with
        # Content-Length given, httpx sends no chunked encoding (presigned S3 URLs refuse it).
        bucket = self._bucket()
        body = _slices(data) if bucket is None else bucket.paced(data)
        headers = headers | {"Content-Length": str(len(data))}
        return self._http.request(target["method"], target["url"], content=body, headers=headers)


class PartBuffers:
    """At most `count` part buffers, reused from part to part: memory stays count × part size.

    Reusing them keeps the allocator from growing its arenas with every freed 16 MB part.
    """

    def __init__(self, count: int) -> None:
        self._free: list[bytearray] = []
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(count)

    def take(self, size: int) -> bytearray:
        """A buffer of at least size bytes; blocks while all are in use."""
        self._slots.acquire()
        with self._lock:
            while self._free:
                buf = self._free.pop()
                if len(buf) >= size:
                    return buf
        return bytearray(size)

    def give(self, buf: bytearray) -> None:
        with self._lock:
            self._free.append(buf)
        self._slots.release()


def _slices(data: memoryview, size: int = SLICE) -> Iterator[memoryview]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def _url_expired(response: httpx.Response) -> bool:
    """A refused signature: S3 answers 403 AccessDenied, `rclone serve s3` 400 AccessDenied."""
    if response.status_code == 403:
        return True
    return response.status_code == 400 and "<code>accessdenied</code>" in response.text[:2000].lower()


def _digest_refused(response: httpx.Response) -> bool:
    text = response.text[:2000].lower()
    return "digest" in text or "md5" in text
