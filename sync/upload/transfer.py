"""Send the queued image files to the order API's store, part by part, resumably.

Each file is read once, in order, part by part: every part feeds the file's SHA-256, and the
parts the server does not hold yet go to a bounded pool of threads that PUT them straight to
the store (ARCHITECTURE.md §2, last bullet). At most `parts_in_flight` part buffers are alive
at once, so memory stays near part_size × parts_in_flight whatever the file sizes. Every
part that arrives is written to the journal at once, so a killed client resumes where it was.

A run can be paused, resumed and cancelled (one file or all) from any thread, its progress
read from any thread, and its bandwidth limited; a sign-in that has run out stops it with
everything left resumable.
"""

import hashlib
import logging
import mimetypes
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import httpx

from sync.api import ApiError, AuthRequired, BadResponse, Offline, OrderApi, RequestRefused, ServerBusy, SessionChanged
from sync.retry import Backoff, RetryPolicy
from sync.upload.control import RunControl
from sync.upload.parts import FileFailed, Halted, PartBuffers, PartSender, Targets, UploadGone, fetch_upload
from sync.upload.progress import FileProgress, Progress, ProgressBook
from sync.upload.queue import QueuedFile, UploadQueue
from sync.upload.ratelimit import TokenBucket

__all__ = ["FileFailed", "FileOutcome", "FileProgress", "Progress", "Summary", "Uploader", "content_type_of",
           "PARTS_IN_FLIGHT", "FILES_IN_FLIGHT"]

log = logging.getLogger(__name__)

# The uploads belong to the person signed in; without their session nothing can go.
_NO_SESSION = (AuthRequired, SessionChanged)

# Chosen with benchmarks/upload.py against `rclone serve s3` (docs/benchmarks.md).
PARTS_IN_FLIGHT = 4
FILES_IN_FLIGHT = 2

# The type declared for each photo type a folder is searched for (sync/upload/folders.py), written
# out rather than asked of the platform's mimetypes table, which differs between machines (a
# .raf is "image/x-fuji-raf" on one, unknown on another); the server decides what it accepts.
PHOTO_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".tif": "image/tiff",
               ".tiff": "image/tiff", ".webp": "image/webp", ".heic": "image/heic", ".heif": "image/heif",
               ".dng": "image/x-adobe-dng", ".cr2": "image/x-canon-cr2", ".cr3": "image/x-canon-cr3",
               ".nef": "image/x-nikon-nef", ".arw": "image/x-sony-arw", ".raf": "image/x-fuji-raf",
               ".orf": "image/x-olympus-orf", ".rw2": "image/x-panasonic-rw2", ".pef": "image/x-pentax-pef",
               ".srw": "image/x-samsung-srw", ".x3f": "image/x-sigma-x3f", ".iiq": "image/x-phaseone-iiq",
               ".3fr": "image/x-hasselblad-3fr"}
# Refusals of a completion that the next run resolves by reconciling with the server's parts.
_RETRYABLE_CODES = {"parts_missing", "upload_busy", "etag_mismatch"}
# Answers meaning the server's upload is gone (aborted, expired, failed by the store).
_GONE_CODES = {"unknown_upload", "upload_failed", "upload_aborted", "object_mismatch"}  # the file starts over


@dataclass(frozen=True)
class FileOutcome:
    """What became of one queued file in a run."""

    state: str
    error: str | None


@dataclass
class Summary:
    """The outcome of a run per queued file id, and the queue's counts per state afterwards.

    stopped says why the run ended early with files left in the queue (a sign-in is needed);
    running the upload again resumes them.
    """

    files: dict[int, FileOutcome] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None
    sign_in_needed: bool = False  # the server refused the session: a person must sign in again


def content_type_of(name: str) -> str:
    """The content type declared for a file name; the server refuses the types it does not take."""
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    return PHOTO_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class Uploader:
    """Upload every pending file of the queue; one run() is one pass over the queue.

    pause(), resume(), cancel(), set_rate_limit() and progress() may be called from any
    thread while run() works on another.
    """

    def __init__(self, queue: UploadQueue, api: OrderApi, *, parts_in_flight: int = PARTS_IN_FLIGHT,
                 files_in_flight: int = FILES_IN_FLIGHT, http: httpx.Client | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 retry: RetryPolicy = RetryPolicy(attempts=6, backoff=Backoff(0.5, 30.0)),
                 sleep: Callable[[float], None] | None = None, rate_limit: float | None = None,
                 bucket: TokenBucket | None = None) -> None:
        self._queue, self._api = queue, api
        self._parts_in_flight, self._files_in_flight = max(1, parts_in_flight), max(1, files_in_flight)
        self._http, self._on_progress, self._retry, self._sleep = http, on_progress, retry, sleep
        self._control = RunControl()
        self._bucket = bucket or (TokenBucket(rate_limit) if rate_limit else None)
        self._book = ProgressBook([])
        # Part buffers alive at once, across all files: memory ≈ part_size × parts_in_flight. Kept
        # from run to run (the studio runs one per capture): fresh 16 MB buffers for every run
        # would grow the allocator's arenas by that much each time.
        self._buffers = PartBuffers(self._parts_in_flight)

    # -- control, from any thread ---------------------------------------------------------

    def pause(self) -> None:
        """Start no new part until resume(); parts already on the way finish and are kept."""
        self._control.pause()
        self._report()

    def resume(self) -> None:
        self._control.resume()
        self._report()

    def cancel(self, file_id: int | None = None) -> None:
        """Cancel one file of the run, or with None the whole run: their server uploads are aborted.

        Parts on the way finish first; a file already completing is let finish.
        """
        self._control.cancel(file_id)
        self._report()

    def stop(self, reason: str) -> None:
        """End the run early, leaving every unfinished file queued and resumable (e.g. Ctrl+C)."""
        self._control.stop(reason)
        self._report()

    def set_rate_limit(self, bytes_per_s: float | None) -> None:
        """Limit the bytes per second of all parts together; None lifts the limit."""
        if bytes_per_s is None:
            self._bucket = None
        elif self._bucket is None:
            self._bucket = TokenBucket(bytes_per_s)
        else:
            self._bucket.set_rate(bytes_per_s)

    def progress(self) -> Progress:
        """The run's progress now: bytes, files, rate, ETA, and the files in flight."""
        return self._book.snapshot(self._control.paused,
                                   self._control.stop_reason is not None or self._control.cancelling_all)

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> Summary:
        self._control.new_run()
        self._sign_in_needed = False
        summary = Summary()
        for upload_id in self._queue.reconcile().orphaned_sessions:
            self._abort(upload_id)
        if self._control.stop_reason is not None:  # a sign-in is needed before anything can go
            summary.counts, summary.stopped = self._queue.counts(), self._control.stop_reason
            summary.sign_in_needed = self._sign_in_needed
            return summary
        files = self._queue.pending()
        self._book = ProgressBook(files)
        # files_in_flight files read and send at once; as many again may wait for the server
        # to join and verify theirs (the completion reads the whole object back), so the
        # store never idles while a completion runs.
        self._sending = threading.Semaphore(self._files_in_flight)
        http = self._http or httpx.Client(timeout=httpx.Timeout(120.0, connect=10.0),
                                          limits=httpx.Limits(max_connections=self._parts_in_flight + 2))
        sleep = self._control.sleep if self._sleep is None else (lambda s, _file_id: self._sleep(s))
        self._wait = sleep
        self._sender = PartSender(http, self._retry, sleep, self._control.halted, lambda: self._bucket)
        try:
            with ThreadPoolExecutor(self._parts_in_flight, thread_name_prefix="upload-part") as parts, \
                    ThreadPoolExecutor(2 * self._files_in_flight, thread_name_prefix="upload-file") as workers:
                outcomes = workers.map(lambda f: self._settle(f, parts), files)
                summary.files = dict(zip((f.id for f in files), outcomes))
        finally:
            if self._http is None:
                http.close()
        self._book.finish()
        self._report()
        summary.counts = self._queue.counts()
        summary.stopped, summary.sign_in_needed = self._control.stop_reason, self._sign_in_needed
        return summary

    def _settle(self, queued: QueuedFile, parts: ThreadPoolExecutor) -> FileOutcome:
        """Upload one file and write the outcome to the queue; never raises for the file's failures."""
        outcome = self._outcome(queued, parts)
        self._book.ended(queued.id, outcome.state)
        self._report()
        return outcome

    def _outcome(self, queued: QueuedFile, parts: ThreadPoolExecutor) -> FileOutcome:
        try:
            if not self._control.wait_to_go(queued.id):
                raise Halted()
            self._book.started(queued.id)
            self._upload(queued, parts)
        except Halted:
            return self._halted(queued)
        except _NO_SESSION as exc:
            # Nobody can send anything until a person signs in (or the person signed in changed
            # on this device): stop every file, count no attempt.
            self._lost_sign_in(exc)
            return self._halted(queued)
        except FileFailed as exc:
            return self._fail(queued, str(exc), exc.permanent)
        except UploadGone as exc:
            return self._fail(queued, f"{exc}; it was started over once already in this run", permanent=False)
        except ApiError as exc:
            return self._fail(queued, str(exc), permanent=False)
        except httpx.TransportError as exc:
            return self._fail(queued, f"cannot reach the store: {exc}", permanent=False)
        except OSError as exc:
            return self._fail(queued, f"cannot read {queued.path}: {exc}", permanent=False)
        except Exception as exc:  # a bug must cost one file this run, not the files of the others
            log.exception("Upload of %s (%d) failed unexpectedly", queued.path, queued.id)
            return self._fail(queued, f"unexpected error: {type(exc).__name__}: {exc}", permanent=False)
        return FileOutcome("done", None)

    def _halted(self, queued: QueuedFile) -> FileOutcome:
        if self._control.cancelled(queued.id):
            upload_id = self._queue.cancel(queued.id)
            if upload_id:
                self._abort(upload_id)
            return FileOutcome("cancelled", None)
        # The run stops (sign-in needed): the file stays queued or uploading, resumable.
        return FileOutcome(self._queue.get(queued.id).state, self._control.stop_reason)

    def _fail(self, queued: QueuedFile, error: str, permanent: bool) -> FileOutcome:
        log.warning("Upload of %s (%d) failed%s: %s", queued.path, queued.id, " for good" if permanent else "", error)
        upload_id = self._queue.fail(queued.id, error, permanent)
        if upload_id:
            self._abort(upload_id)
        return FileOutcome(self._queue.get(queued.id).state, error)

    def _upload(self, queued: QueuedFile, parts: ThreadPoolExecutor) -> None:
        try:
            self._upload_once(queued, parts)
        except UploadGone as exc:
            # Aborted or expired on the server: the parts there are lost, so start from part 1.
            # Only once per run, so a server that keeps dropping uploads cannot loop forever.
            log.warning("Upload of %s (%d) starts over: %s", queued.path, queued.id, exc)
            old = self._queue.restart(queued.id, f"started over: {exc}")
            if old:
                self._abort(old)
            self._book.restarted(queued.id)
            self._upload_once(self._queue.get(queued.id), parts)

    def _upload_once(self, queued: QueuedFile, parts: ThreadPoolExecutor) -> None:
        self._check_unchanged(queued)
        session = self._queue.session(queued.id)
        if session is None:
            upload = self._patiently(queued.id, lambda: self._api.create_upload(
                sku=queued.sku, filename=queued.path.name, size=queued.size,
                content_type=content_type_of(queued.path.name)))
            self._queue.start_session(queued.id, upload["upload_id"], upload["part_size"], upload["part_count"])
            to_send = set(range(1, upload["part_count"] + 1))
        else:
            upload = self._patiently(queued.id, lambda: fetch_upload(self._api, session.upload_id))
            if upload["status"] == "complete":  # completed before the client could note it
                self._queue.finish(queued.id, upload.get("sha256") or "")
                self._book.add(queued.id, queued.size, sent=False)
                return
            if upload["status"] == "open":
                to_send = self._queue.reconcile_parts(queued.id, {p["number"]: (p["size"], p["etag"])
                                                                  for p in upload["stored_parts"]})
            else:  # "stored" or "completing": joined on the server, only the completion is left
                to_send = set()
        with self._sending:
            sha256 = self._send_parts(queued, upload, to_send, parts)
        self._check_unchanged(queued)  # the hash must be of the file as queued, not one edited meanwhile
        done = self._patiently(queued.id, lambda: self._api.complete_upload(
            upload["upload_id"], sha256=sha256,
            parts=[{"number": n, "etag": p.etag} for n, p in sorted(self._queue.stored_parts(queued.id).items())]))
        if done["status"] != "complete":
            raise BadResponse(f"complete_upload: the upload is {done['status']}, not complete")
        self._queue.finish(queued.id, sha256)

    def _send_parts(self, queued: QueuedFile, upload: dict, to_send: set[int], parts: ThreadPoolExecutor) -> str:
        """Read the file in order, hash every part, send those in to_send; returns the SHA-256."""
        targets, part_size = Targets(self._api, upload), upload["part_size"]
        digest, sent, failed = hashlib.sha256(), [], threading.Event()
        still_open = upload["status"] == "open"  # joined already: the parts are only hashed
        try:
            with open(queued.path, "rb", buffering=0) as f:
                for number in range(1, upload["part_count"] + 1):
                    sending = number in to_send
                    # A part the server already holds is only hashed, in a buffer of the same pool.
                    buf = self._take_buffer(queued.id, part_size) if sending else self._buffers.take(part_size)
                    if failed.is_set():  # a part failed while this one waited for its buffer
                        self._buffers.give(buf)
                        break
                    try:
                        data = self._read_part(f, buf, queued, number, part_size)
                        digest.update(data)  # hashlib lets go of the GIL for buffers this size
                        if not sending and still_open and not self._still_held(queued.id, number, data):
                            sending = True  # the server's copy is not these bytes: this part goes again
                        if sending:
                            sent.append(parts.submit(self._send_part, queued.id, targets, number, data, buf, failed))
                            continue
                        self._book.add(queued.id, len(data), sent=False)
                        data.release()
                        self._buffers.give(buf)
                    except BaseException:
                        self._buffers.give(buf)
                        raise
        finally:
            wait(sent)  # parts on the way finish (and are recorded) whatever stops this file
        errors = [exc for exc in (fut.exception() for fut in sent) if exc is not None]
        if errors:
            # A stop or cancel is what ended the file, whatever the other parts ran into meanwhile.
            raise next((e for e in errors if isinstance(e, (Halted, *_NO_SESSION))), errors[0])
        return digest.hexdigest()

    def _still_held(self, file_id: int, number: int, data: memoryview) -> bool:
        """Whether the part the server already holds is these bytes (its ETag is their MD5)."""
        held = self._queue.stored_parts(file_id).get(number)
        if held is not None and held.etag.strip('"').lower() == hashlib.md5(data).hexdigest():
            return True
        log.warning("Part %d of upload %d is not what the server holds: it is sent again", number, file_id)
        return False

    @staticmethod
    def _read_part(f, buf: bytearray, queued: QueuedFile, number: int, part_size: int) -> memoryview:
        """Exactly the bytes part `number` holds in the file as queued, read into buf.

        A file that grew or shrank since it was queued must not send a part of the wrong size.
        """
        offset = (number - 1) * part_size
        expected = min(part_size, queued.size - offset)
        f.seek(offset)
        data = memoryview(buf)[:_read_into(f, buf, expected)]
        if len(data) != expected:
            data.release()
            raise FileFailed("changed since it was queued (it is shorter now)", permanent=False)
        return data

    def _take_buffer(self, file_id: int, size: int) -> bytearray:
        """Wait for a free part buffer; a pause holds the file here, a cancel or stop ends it."""
        while True:
            if not self._control.wait_to_go(file_id):
                raise Halted()
            buf = self._buffers.take(size)
            if not self._control.paused and not self._control.halted(file_id):
                return buf
            self._buffers.give(buf)  # paused or halted while waiting for the buffer

    def _send_part(self, file_id: int, targets: Targets, number: int, data: memoryview, buf: bytearray,
                   failed: threading.Event) -> None:
        size, released = len(data), False
        try:
            etag = self._sender.put(file_id, targets, number, data)
            # The buffer's next part may be read while this one's durable journal write runs.
            data.release()
            self._buffers.give(buf)
            released = True
            self._queue.record_part(file_id, number, size, etag)
            self._book.add(file_id, size, sent=True)
            self._report()
        except BaseException:
            failed.set()  # the file's other parts need not be read
            raise
        finally:
            if not released:
                data.release()
                self._buffers.give(buf)

    def _patiently(self, file_id: int, call: Callable[[], dict]) -> dict:
        """A call of the file's own way (create, look up, complete) with the patience of its parts.

        The API client gives up on an unreachable or failing server after a few quick tries; a
        server away for a few seconds while a file completes must not cost that file the run.
        A cancel or stop ends the wait at once.
        """
        attempt = 0
        while True:
            try:
                return self._refusals(call)
            except (Offline, ServerBusy) as exc:
                if attempt + 1 >= self._retry.attempts:
                    raise
                log.warning("Upload %d waits for the server (attempt %d of %d): %s", file_id, attempt + 1,
                            self._retry.attempts, exc)
                self._wait(self._retry.wait(attempt, getattr(exc, "retry_after", None)), file_id)
                if self._control.halted(file_id):
                    raise Halted() from exc
                attempt += 1

    def _refusals(self, call: Callable[[], dict]) -> dict:
        """Run an API call; a refusal for good (unknown SKU, unsupported type, SHA-256 mismatch) ends the file."""
        try:
            return call()
        except RequestRefused as exc:
            if exc.code in _GONE_CODES or exc.status == 410:
                raise UploadGone(f"the server's upload is gone ({exc.code})") from exc
            permanent = exc.code not in _RETRYABLE_CODES
            raise FileFailed(f"{exc.code}: {exc.message}", permanent=permanent) from exc

    def _check_unchanged(self, queued: QueuedFile) -> None:
        st = queued.path.stat()
        if (st.st_size, st.st_mtime_ns) != (queued.size, queued.mtime_ns):
            # reconcile() at the start of the next run restarts it from part 1.
            raise FileFailed("changed since it was queued", permanent=False)

    def _abort(self, upload_id: str) -> None:
        """Abort a server upload nobody needs any more; remembered for the next run if the server is away."""
        try:
            self._api.abort_upload(upload_id)
        except RequestRefused as exc:  # unknown, or already complete: nothing left to abort
            log.info("Upload %s needs no abort on the server: %s", upload_id, exc)
        except _NO_SESSION as exc:
            self._lost_sign_in(exc)
            return
        except ApiError as exc:
            log.warning("Could not abort upload %s on the server; the next run tries again: %s", upload_id, exc)
            return
        self._queue.forget_orphan(upload_id)

    def _lost_sign_in(self, exc: ApiError) -> None:
        self._sign_in_needed = True
        self._control.stop(f"sign-in needed: {exc} Sign in again and run the upload again to resume.")

    def _report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.progress())


def _read_into(f, buf: bytearray, size: int) -> int:
    """Fill buf with up to size bytes from f's position; fewer only at the end of the file."""
    view, got = memoryview(buf), 0
    try:
        while got < size:
            n = f.readinto(view[got:size])
            if not n:
                break
            got += n
    finally:
        view.release()
    return got

