"""Work assignment: pick batches claimed under a renewable lease."""

from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, Depends
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from order_api.context import ApiContext, Caller
from order_api.deps import get_ctx, require_roles
from order_api.errors import ApiError
from order_api.feed import batch_data, order_data, publish_batch, task_data
from order_api.models import Order, PickBatch, User
from order_api.schemas import ClaimedBatch, ClaimRequest, ClaimResponse, ReassignRequest, RowId

router = APIRouter(prefix="/v1/pick-batches", tags=["picking"])

_pickers = require_roles("picker", "supervisor", "admin")
_supervisors = require_roles("supervisor", "admin")


@router.post("/claim", response_model=ClaimResponse)
def claim(body: ClaimRequest, caller: Caller = Depends(_pickers), ctx: ApiContext = Depends(get_ctx)) -> ClaimResponse:
    """The caller's batch in progress, else the next released one; `ahead` claims more for dead zones.

    Concurrent claimers never get the same batch: PostgreSQL skips rows another claimer
    has locked (FOR UPDATE SKIP LOCKED); SQLite runs the whole claim in one immediate
    (single-writer) transaction.
    """
    now = datetime.now(timezone.utc)
    lease = now + timedelta(seconds=ctx.settings.lease_s)
    with ctx.write() as s:
        mine = s.execute(
            select(PickBatch).where(PickBatch.claimed_by == caller.user_id, PickBatch.status == "claimed")
            .order_by(PickBatch.id).with_for_update()
        ).scalars().all()
        wanted = 1 + body.ahead - len(mine)
        fresh = []
        if wanted > 0:
            fresh = s.execute(
                select(PickBatch)
                .where(or_(PickBatch.status == "released",
                           (PickBatch.status == "claimed") & (PickBatch.lease_expires < now)))
                .order_by(PickBatch.id).limit(wanted).with_for_update(skip_locked=True)
            ).scalars().all()
        for batch in [*mine, *fresh]:
            batch.claimed_by, batch.status, batch.lease_expires = caller.user_id, "claimed", lease
            publish_batch(s, batch)
        return ClaimResponse(batches=[_claimed(s, b) for b in [*mine, *fresh]])


def _claimed(s: Session, batch: PickBatch) -> ClaimedBatch:
    orders = s.execute(select(Order).where(Order.batch_id == batch.id).order_by(Order.id)).scalars()
    return ClaimedBatch(batch=batch_data(batch), tasks=[task_data(t) for t in batch.tasks],
                        orders=[order_data(o) for o in orders])


@router.post("/{batch_id}/renew", response_model=ClaimedBatch)
def renew(batch_id: RowId, caller: Caller = Depends(_pickers), ctx: ApiContext = Depends(get_ctx)) -> ClaimedBatch:
    """Extend the lease of a batch the caller holds."""
    with ctx.write() as s:
        batch = _get(s, batch_id)
        if batch.claimed_by != caller.user_id:
            raise ApiError(409, "lease_lost", f"Batch {batch.code} is not held by you.")
        batch.lease_expires = datetime.now(timezone.utc) + timedelta(seconds=ctx.settings.lease_s)
        publish_batch(s, batch, with_tasks=False)
        return _claimed(s, batch)


@router.post("/{batch_id}/reassign", response_model=ClaimedBatch)
def reassign(batch_id: RowId, body: ReassignRequest, caller: Caller = Depends(_supervisors),
             ctx: ApiContext = Depends(get_ctx)) -> ClaimedBatch:
    """A supervisor hands a batch to another picker; work the first picker does later is rejected."""
    with ctx.write() as s:
        batch = _get(s, batch_id)
        user = s.execute(select(User).where(User.username == body.username)).scalar_one_or_none()
        if user is None or not user.role_set.intersection({"picker", "supervisor"}):
            raise ApiError(422, "unknown_picker", f"{body.username!r} is not a picker.")
        if batch.status == "done":
            raise ApiError(409, "batch_done", f"Batch {batch.code} is already picked.")
        batch.claimed_by, batch.status = user.id, "claimed"
        batch.lease_expires = datetime.now(timezone.utc) + timedelta(seconds=ctx.settings.lease_s)
        publish_batch(s, batch)
        return _claimed(s, batch)


def _get(s: Session, batch_id: int) -> PickBatch:
    batch = s.get(PickBatch, batch_id, with_for_update=True)
    if batch is None:
        raise ApiError(404, "not_found", f"Batch {batch_id} does not exist.")
    return batch
