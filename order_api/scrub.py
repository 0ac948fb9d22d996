"""The scrub: registered objects read back in the background, each asset marked verified or corrupt.

Completion never reads an object back (routes/uploads.py checks the way in); this job does,
later and slowly: unchecked assets first (oldest first), then verified ones again once their
last check is older than `recheck_s`, each object streamed from the store at a bounded rate
and hashed, then marked `verified` (size and SHA-256 as the client gave them) or `corrupt`
(anything else, the object gone included). A corrupt asset stays corrupt until replaced. The mark is published to the
feed, so a corrupt image reaches a supervisor's Exceptions screen with its file name, SKU
and photographer. An object the store cannot be asked about now (it is down) stays
unchecked and is tried again after a pause.

Several server processes may each run a scrub: two reading the same asset reach the same
mark, so no lock is taken.
"""

import hashlib
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, or_, select

from order_api.blobstore import BlobStoreError, ObjectMissing
from order_api.context import ApiContext
from order_api.feed import publish_asset
from order_api.models import Asset
from order_api.models.base import utcnow

log = logging.getLogger(__name__)

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Checked:
    """What the scrub found for one asset."""

    asset_id: int
    integrity: str  # verified or corrupt
    why: str  # for the log: what differed


class Scrub:
    """Checks unchecked assets one at a time, at most rate_bytes_s bytes read a second."""

    def __init__(self, ctx: ApiContext, rate_bytes_s: float, recheck_s: float = 30 * 24 * 3600,
                 idle_s: float = 60.0) -> None:
        if rate_bytes_s <= 0:
            raise ValueError("the scrub's rate must be positive (turn it off by not starting it)")
        self._ctx, self._rate, self._recheck_s, self._idle_s = ctx, rate_bytes_s, recheck_s, idle_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bytes_read = 0

    def check_next(self) -> Checked | None:
        """Check the next asset due; None when none is. Raises BlobStoreError when the store is away."""
        due = or_(Asset.integrity == "unchecked",
                  and_(Asset.integrity == "verified", Asset.checked_at <= utcnow() - timedelta(seconds=self._recheck_s)))
        with self._ctx.db.read() as s:
            asset = s.execute(select(Asset).where(due).order_by(Asset.checked_at.asc().nulls_first(), Asset.id)
                              .limit(1)).scalar_one_or_none()
            if asset is None:
                return None
            asset_id, key, sha256, size = asset.id, asset.object_key, asset.sha256, asset.size
        found = self._read(key)
        if found is None:
            checked = Checked(asset_id, "corrupt", "the store no longer holds the object")
        elif found != (sha256, size):
            checked = Checked(asset_id, "corrupt", f"read back {found[1]} bytes with SHA-256 {found[0]}, "
                                                   f"expected {size} bytes with {sha256}")
        else:
            checked = Checked(asset_id, "verified", "")
        self._mark(checked)
        return checked

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scrub", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    # -- inside ------------------------------------------------------------------------

    def _run(self) -> None:
        _lower_priority()
        while not self._stop.is_set():
            try:
                checked = self.check_next()
            except BlobStoreError as exc:
                log.warning("scrub: the store cannot be read now (%s); trying again in %d s", exc, self._idle_s)
                checked = None
            except Exception:  # noqa: BLE001 - the job must outlive one bad row or a database hiccup
                log.exception("scrub: checking an asset failed; trying again in %d s", self._idle_s)
                checked = None
            if checked is None:
                self._stop.wait(self._idle_s)

    def _read(self, key: str) -> tuple[str, int] | None:
        """SHA-256 and size of the stored object, read at the scrub's rate; None when it is not stored."""
        digest, size = hashlib.sha256(), 0
        started = time.monotonic()
        try:
            with self._ctx.blobs.open_object(key) as stream:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    self.bytes_read += len(chunk)
                    ahead = size / self._rate - (time.monotonic() - started)
                    if ahead > 0 and self._stop.wait(ahead):
                        raise BlobStoreError("the scrub was stopped")
        except ObjectMissing:
            return None
        return digest.hexdigest(), size

    def _mark(self, checked: Checked) -> None:
        with self._ctx.write() as s:
            asset = s.get(Asset, checked.asset_id, with_for_update=True)
            if asset is None:
                return
            changed = asset.integrity != checked.integrity
            asset.integrity, asset.checked_at = checked.integrity, utcnow()
            if changed:
                publish_asset(s, asset)
        if checked.integrity == "corrupt":
            log.error("scrub: asset %d (%s) is corrupt in the store: %s", checked.asset_id, asset.object_key,
                      checked.why)


def _lower_priority() -> None:
    """The scrub's thread yields the CPU to requests (Linux: a thread has its own nice value)."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except OSError:
            pass
