"""Send the queued image files to the order API's store, part by part, resumably.

Each file is read once, in order, part by part: every part feeds the file's SHA-256, and the
parts the server does not hold yet go to a bounded pool of threads that PUT them straight to
the store (ARCHITECTURE.md §2, last bullet). At most `parts_in_flight` part buffers are alive
at once, so memory stays near part_size × parts_in_flight whatever the file sizes. Every
part that arrives is written to the journal at once, so a killed client resumes where it was.
"""

import base64
import hashlib
import logging
import mimetypes
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from sync.api import ApiError, BadResponse, OrderApi, RequestRefused
from sync.retry import Backoff, RetryPolicy, parse_retry_after
from sync.upload.queue import QueuedFile, UploadQueue

log = logging.getLogger(__name__)

# Camera raw types that the mimetypes table does not know; the server decides what it accepts.
_RAW_TYPES = {".dng": "image/x-adobe-dng", ".cr2": "image/x-canon-cr2", ".cr3": "image/x-canon-cr3",
              ".nef": "image/x-nikon-nef", ".arw": "image/x-sony-arw", ".heic": "image/heic"}
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)
# Refusals of a completion that the next run resolves by reconciling with the server's parts.
_RETRYABLE_CODES = {"parts_missing", "upload_busy", "etag_mismatch"}
_URL_REFRESHES = 2


@dataclass(frozen=True)
class Progress:
    """How far a run is; handed to on_progress, which is called from worker threads."""

    bytes_sent: int
    bytes_total: int
    files_done: int
    files_total: int
    rate: float  # bytes per second sent during this run
    eta_s: float | None


@dataclass(frozen=True)
class FileOutcome:
    """What became of one queued file in a run."""

    state: str
    error: str | None


@dataclass
class Summary:
    """The outcome of a run per queued file id, and the queue's counts per state afterwards."""

    files: dict[int, FileOutcome] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class FileFailed(Exception):
    """One file's upload cannot go on in this run; permanent ones end the file as failed."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def content_type_of(name: str) -> str:
    """The content type declared for a file name; the server refuses the types it does not take."""
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    return _RAW_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class _Targets:
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
            upload = self._api.get_upload(self.upload_id)
            self._by_number = {p["number"]: p for p in upload["parts"]}


class Uploader:
    """Upload every pending file of the queue; one run() is one pass over the queue."""

    def __init__(self, queue: UploadQueue, api: OrderApi, *, parts_in_flight: int = 4, files_in_flight: int = 2,
                 http: httpx.Client | None = None, on_progress: Callable[[Progress], None] | None = None,
                 retry: RetryPolicy = RetryPolicy(attempts=6, backoff=Backoff(0.5, 30.0)),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._queue, self._api = queue, api
        self._parts_in_flight, self._files_in_flight = max(1, parts_in_flight), max(1, files_in_flight)
        self._http, self._on_progress, self._retry, self._sleep = http, on_progress, retry, sleep
        self._lock = threading.Lock()

    def run(self) -> Summary:
        found = self._queue.reconcile()
        for upload_id in found.orphaned_sessions:
            self._abort(upload_id)
        files = self._queue.pending()
        self._bytes_total, self._bytes_done, self._bytes_sent = sum(f.size for f in files), 0, 0
        self._files_total, self._files_done, self._started = len(files), 0, time.monotonic()
        # Part buffers alive at once, across all files: memory ≈ part_size × parts_in_flight.
        self._slots = threading.BoundedSemaphore(self._parts_in_flight)
        http = self._http or httpx.Client(timeout=httpx.Timeout(120.0, connect=10.0))
        summary = Summary()
        try:
            with ThreadPoolExecutor(self._parts_in_flight, thread_name_prefix="upload-part") as parts, \
                    ThreadPoolExecutor(self._files_in_flight, thread_name_prefix="upload-file") as workers:
                outcomes = workers.map(lambda f: self._settle(f, parts, http), files)
                summary.files = dict(zip((f.id for f in files), outcomes))
        finally:
            if self._http is None:
                http.close()
        summary.counts = self._queue.counts()
        return summary

    def _settle(self, queued: QueuedFile, parts: ThreadPoolExecutor, http: httpx.Client) -> FileOutcome:
        """Upload one file and write the outcome to the queue; never raises for the file's failures."""
        try:
            self._upload(queued, parts, http)
        except FileFailed as exc:
            return self._fail(queued, str(exc), exc.permanent)
        except ApiError as exc:
            return self._fail(queued, str(exc), permanent=False)
        except httpx.TransportError as exc:
            return self._fail(queued, f"cannot reach the store: {exc}", permanent=False)
        except OSError as exc:
            return self._fail(queued, f"cannot read {queued.path}: {exc}", permanent=False)
        with self._lock:
            self._files_done += 1
        self._report()
        return FileOutcome("done", None)

    def _fail(self, queued: QueuedFile, error: str, permanent: bool) -> FileOutcome:
        log.warning("Upload of %s (%d) failed%s: %s", queued.path, queued.id, " for good" if permanent else "", error)
        upload_id = self._queue.fail(queued.id, error, permanent)
        if upload_id:
            self._abort(upload_id)
        return FileOutcome(self._queue.get(queued.id).state, error)

    def _upload(self, queued: QueuedFile, parts: ThreadPoolExecutor, http: httpx.Client) -> None:
        self._check_unchanged(queued)
        session = self._queue.session(queued.id)
        if session is None:
            upload = self._refusals(lambda: self._api.create_upload(
                sku=queued.sku, filename=queued.path.name, size=queued.size,
                content_type=content_type_of(queued.path.name)))
            self._queue.start_session(queued.id, upload["upload_id"], upload["part_size"], upload["part_count"])
            to_send = set(range(1, upload["part_count"] + 1))
        else:
            upload = self._refusals(lambda: self._api.get_upload(session.upload_id))
            if upload["status"] == "complete":  # completed before the client could note it
                self._queue.finish(queued.id, upload.get("sha256") or "")
                return
            if upload["status"] != "open":
                raise FileFailed(f"the server's upload is {upload['status']}; queue the file again", permanent=True)
            to_send = self._queue.reconcile_parts(queued.id, {p["number"]: (p["size"], p["etag"])
                                                              for p in upload["stored_parts"]})
        sha256 = self._send_parts(queued, upload, to_send, parts, http)
        self._check_unchanged(queued)  # the hash must be of the file as queued, not one edited meanwhile
        done = self._refusals(lambda: self._api.complete_upload(
            upload["upload_id"], sha256=sha256,
            parts=[{"number": n, "etag": p.etag} for n, p in sorted(self._queue.stored_parts(queued.id).items())]))
        if done["status"] != "complete":
            raise BadResponse(f"complete_upload: the upload is {done['status']}, not complete")
        self._queue.finish(queued.id, sha256)

    def _send_parts(self, queued: QueuedFile, upload: dict, to_send: set[int], parts: ThreadPoolExecutor,
                    http: httpx.Client) -> str:
        """Read the file in order, hash every part, send those in to_send; returns the SHA-256."""
        targets, part_size = _Targets(self._api, upload), upload["part_size"]
        digest, sent, stop = hashlib.sha256(), [], threading.Event()
        with open(queued.path, "rb") as f:
            for number in range(1, upload["part_count"] + 1):
                if stop.is_set():
                    break
                if number in to_send:
                    self._slots.acquire()
                f.seek((number - 1) * part_size)
                data = f.read(part_size)
                digest.update(data)
                if number not in to_send:
                    self._progress(len(data), sent=False)
                    continue
                try:
                    sent.append(parts.submit(self._send_part, queued.id, targets, number, data, http, stop))
                except BaseException:
                    self._slots.release()
                    raise
        errors = [exc for exc in (fut.exception() for fut in sent) if exc is not None]
        if errors:
            raise errors[0]
        return digest.hexdigest()

    def _send_part(self, file_id: int, targets: _Targets, number: int, data: bytes, http: httpx.Client,
                   stop: threading.Event) -> None:
        try:
            self._put(file_id, targets, number, data, http)
        except BaseException:
            stop.set()  # the file's other parts need not be read
            raise
        finally:
            self._slots.release()

    def _put(self, file_id: int, targets: _Targets, number: int, data: bytes, http: httpx.Client) -> None:
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        attempt = refreshes = 0
        resent_for_digest = False
        while True:
            target = targets.get(number)
            headers = dict(target["headers"]) | {targets.integrity_header: md5}
            try:
                response = http.request(target["method"], target["url"], content=data, headers=headers)
            except _TRANSIENT as exc:
                why, retry_after = f"{type(exc).__name__}: {exc}", None
            else:
                status = response.status_code
                if 200 <= status < 300:
                    etag = response.headers.get("ETag", "").strip().strip('"')
                    if not etag:
                        raise FileFailed(f"the store gave no ETag for part {number}", permanent=False)
                    self._queue.record_part(file_id, number, len(data), etag)
                    self._progress(len(data), sent=True)
                    return
                if status == 403 and refreshes < _URL_REFRESHES:  # the signed URL expired
                    refreshes += 1
                    targets.refresh(target)
                    continue
                if status in (400, 409) and not resent_for_digest and _digest_refused(response):
                    resent_for_digest = True  # the bytes were damaged on the way: send them once more
                    continue
                if status < 500 and status != 429:
                    raise FileFailed(f"the store refused part {number} (HTTP {status}): {response.text[:200]}",
                                     permanent=False)
                why, retry_after = f"HTTP {status}", parse_retry_after(response.headers.get("Retry-After"))
            log.warning("Part %d of upload %d failed (attempt %d of %d): %s", number, file_id, attempt + 1,
                        self._retry.attempts, why)
            if attempt + 1 >= self._retry.attempts:
                raise FileFailed(f"part {number} could not be sent ({why}) after {attempt + 1} attempts",
                                 permanent=False)
            self._sleep(self._retry.wait(attempt, retry_after))
            attempt += 1

    def _refusals(self, call: Callable[[], dict]) -> dict:
        """Run an API call; a refusal for good (unknown SKU, unsupported type, SHA-256 mismatch) ends the file."""
        try:
            return call()
        except RequestRefused as exc:
            permanent = exc.code not in _RETRYABLE_CODES
            raise FileFailed(f"{exc.code}: {exc.message}", permanent=permanent) from exc

    def _check_unchanged(self, queued: QueuedFile) -> None:
        st = queued.path.stat()
        if (st.st_size, st.st_mtime_ns) != (queued.size, queued.mtime_ns):
            # reconcile() at the start of the next run restarts it from part 1.
            raise FileFailed("changed since it was queued", permanent=False)

    def _abort(self, upload_id: str) -> None:
        try:
            self._api.abort_upload(upload_id)
        except ApiError as exc:  # the server expires forgotten uploads; log and go on
            log.warning("Could not abort upload %s on the server: %s", upload_id, exc)

    def _progress(self, size: int, *, sent: bool) -> None:
        with self._lock:
            self._bytes_done += size
            if sent:
                self._bytes_sent += size
        self._report()

    def _report(self) -> None:
        if self._on_progress is None:
            return
        with self._lock:
            elapsed = max(time.monotonic() - self._started, 1e-6)
            rate = self._bytes_sent / elapsed
            left = self._bytes_total - self._bytes_done
            progress = Progress(self._bytes_done, self._bytes_total, self._files_done, self._files_total, rate,
                                left / rate if rate > 0 else None)
        self._on_progress(progress)


def _digest_refused(response: httpx.Response) -> bool:
    text = response.text[:2000].lower()
    return "digest" in text or "md5" in text
