"""The batches a picker holds: claimed from the server under a lease, or found on the device when it is out of reach."""

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from desktop_app.i18n import translate
from desktop_app.workflows.picking_screen import Outcome, reject
from desktop_app.workflows.picking_walk import live
from sync.api import AuthRequired, DeviceRefused, Offline, RequestRefused, ServerBusy, SessionChanged
from sync.connectivity import SyncState
from sync.journal_writer import Submission

if TYPE_CHECKING:
    from desktop_app.workflows.picking import PickingCore

log = logging.getLogger(__name__)

# The server cannot be asked now: picking goes on from the device's copy (ARCHITECTURE.md §2).
NOT_NOW = (Offline, ServerBusy, AuthRequired, DeviceRefused, SessionChanged)


class BatchClaims:
    """Claims and renews a picker's batches (network: off the UI thread) and finds the next one with open work."""

    def __init__(self, core: "PickingCore", user_id: int | None = None) -> None:
        self._core = core
        self._user_id = user_id  # narrows the local batches when the replica holds other pickers' too
        self._codes: dict[int, str] = {}  # batch id -> code: a batch's code never changes
        self.offline_reason: str | None = None  # why the last claim could not reach the server (for the log)

    def claim(self, ahead: int) -> list[int] | None:
        """Ids of the batches the server gave this picker, pulled into the view; None when offline."""
        # When the engine already knows the network is down (a dead zone), one short attempt
        # instead of a round of 10 s connect timeouts: the picker goes on with the local batch.
        quick = self._core.engine.connectivity.state is SyncState.OFFLINE
        try:
            batches = self._core.api.claim_batches(ahead, quick=quick)
        except NOT_NOW as exc:
            # Work already on the device can be picked without the server (ARCHITECTURE.md §2).
            log.info("Picking from the local copy: %s", exc)
            self.offline_reason = str(exc)
            return None
        self.offline_reason = None
        self._core.engine.pull_now()
        return [b["batch"]["id"] for b in batches]

    def first_open(self, claimed: list[int] | None, submitted: Sequence[Submission]) -> int | None:
        """The first of the claimed batches (None: those the device holds) with a task still to pick."""
        if claimed is None:
            local = self._core.view.rows("pick_batch", status="claimed")
            claimed = sorted(b["id"] for b in local if self._user_id is None or b["claimed_by"] == self._user_id)
        for batch_id in claimed:
            tasks = self._core.view.rows("pick_task", batch_id=batch_id, submitted=submitted)
            if any(t["status"] == "open" for t in live(tasks)):
                return batch_id
        return None

    def renew(self, batch_id: int) -> Outcome | None:
        """Extend the lease; None when done or the server is out of reach, a reject when the batch went to someone else.

        Out of reach, the lease is renewed once the server is back; work done meanwhile is
        judged by the server (ARCHITECTURE.md §2).
        """
        try:
            self._core.api.renew_batch(batch_id)
        except NOT_NOW as exc:
            log.info("lease of batch %s not renewed now: %s", batch_id, exc)
            return None
        except RequestRefused as exc:
            if exc.code == "lease_lost":
                return reject(translate("Picking", "Batch {batch} was given to someone else: ask a supervisor.")
                              .format(batch=self.code(batch_id)))
            raise
        return None

    def code(self, batch_id: int) -> str:
        """The batch's code as the picker knows it (PB-00001), from the local view."""
        if batch_id not in self._codes:
            row = self._core.view.row("pick_batch", batch_id)
            if row is None:
                return str(batch_id)
            self._codes[batch_id] = row["code"]
        return self._codes[batch_id]
