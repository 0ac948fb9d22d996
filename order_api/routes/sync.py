"""The sync protocol: the pull feed from the change log and the push of mutations."""

import json
import time
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Text, cast, func, insert, select

from order_api.changes import audiences_for, write_pending_changes
from order_api.context import ApiContext, Caller
from order_api.deps import get_caller, get_ctx
from order_api.errors import ApiError
from order_api.models import Change, Device, MutationResult, SyncMeta
from order_api.mutations.push import PushRun
from order_api.schemas import MutationOutcome, PullResponse, PushRequest, PushResponse

router = APIRouter(prefix="/v1/sync", tags=["sync"])

SCHEMA_VERSION = 1


@router.get("/pull", response_model=PullResponse)
async def pull(
    cursor: int = Query(0, ge=0, le=2**62, description="the cursor of the last stored page; 0 to start"),
    limit: int = Query(500, ge=1, le=5000),
    wait: float = Query(0, ge=0, le=30, description="seconds to hold the request open when nothing changed"),
    audiences: str | None = Query(
        None, max_length=2000, description="comma-separated audiences to read (e.g. catalog,floor,user:17); "
        "default all of the caller's. Audiences the caller may not read are left out"),
    caller: Caller = Depends(get_caller),
    ctx: ApiContext = Depends(get_ctx),
) -> Response:
    """Changes after cursor visible to the caller's role, oldest first, from one snapshot.

    With `audiences`, only those (a shared device keeps a cursor per audience and pulls an
    audience it never held from 0 while the others continue).
    """
    read = _audiences_to_read(caller, audiences)
    deadline = time.monotonic() + wait
    async with ctx.notifier.subscribe() as changed:
        while True:
            page = await run_in_threadpool(_read_page, ctx, read, cursor, limit)
            remaining = deadline - time.monotonic()
            # Nothing can ever arrive for no audience at all: no point holding the request.
            if page.count or page.reset or remaining <= 0 or ctx.notifier.closed or not read:
                return Response(page.body, media_type="application/json")
            await changed.wait_for(remaining)


def _audiences_to_read(caller: Caller, requested: str | None) -> list[str]:
    """The caller's audiences, or those of them that were asked for, sorted."""
    own = audiences_for(caller.roles, caller.user_id)
    if requested is None:
        return own
    asked = {name.strip() for name in requested.split(",")}
    return [a for a in own if a in asked]


@dataclass
class _Page:
    count: int
    reset: bool
    body: bytes


def _read_page(ctx: ApiContext, audiences: list[str], cursor: int, limit: int) -> _Page:
    names = json.dumps(audiences, separators=(",", ":"))
    with ctx.db.read() as s:
        meta = dict(s.execute(select(SyncMeta.key, SyncMeta.value)).all())
        if (0 < cursor <= meta["purged_seq"]) or cursor > meta["last_seq"]:
            # The client may have missed a purged tombstone, or it holds a cursor of
            # another database: it must wipe its replica and start again from 0.
            return _Page(0, True, f'{{"changes":[],"cursor":0,"has_more":true,"reset":true,"audiences":{names}}}'
                         .encode())
        rows = s.execute(
            select(Change.seq, _row_json(ctx.db.is_sqlite).label("row"))
            .where(Change.seq > cursor, Change.audience.in_(audiences))
            .order_by(Change.seq).limit(limit + 1)
        ).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    end = rows[-1].seq if rows else cursor
    if not has_more:
        # Every seq up to last_seq had committed when it was read (seqs are handed out in
        # commit order), and none of those after `end` is visible to this caller: the
        # caller is caught up to last_seq, which lets a client tell that a push's effects
        # (PushResponse.cursor) have arrived.
        end = max(end, meta["last_seq"])
    changes = ",".join(r.row for r in rows)
    body = (f'{{"changes":[{changes}],"cursor":{end},"has_more":{"true" if has_more else "false"},"reset":false,'
            f'"audiences":{names}}}')
    return _Page(len(rows), False, body.encode())


def _row_json(sqlite: bool):
    """One feed entry as JSON text, built by the database.

    The stored data is spliced in as it is: decoding and re-encoding every row in Python
    would cost more than the query (the feed is the hot path of an initial sync).
    """
    fields = ("entity", Change.entity, "id", Change.entity_id, "op", Change.op, "version", Change.seq,
              "audience", Change.audience)
    if sqlite:
        return func.json_object(*fields, "data", func.json(Change.data), type_=Text)
    return cast(func.json_build_object(*fields, "data", Change.data), Text)


@router.post("/push", response_model=PushResponse)
def push(body: PushRequest, caller: Caller = Depends(get_caller), ctx: ApiContext = Depends(get_ctx)) -> PushResponse:
    """Apply mutations in seq order, each exactly once; a replay gets the stored result."""
    if body.device_id != caller.device_id:
        raise ApiError(403, "device_mismatch", "The access token was issued to another device.")
    if body.schema_version != SCHEMA_VERSION:
        raise ApiError(409, "unsupported_schema", f"This server speaks schema_version {SCHEMA_VERSION}.")
    with ctx.write() as s:
        device = s.get(Device, body.device_id, with_for_update=True)
        ids = [m.id for m in body.mutations]
        # Results are stored per device: an id another device used is no replay here.
        known = {r.id: r for r in s.execute(select(MutationResult).where(
            MutationResult.device_id == caller.device_id, MutationResult.id.in_(ids))).scalars()}
        _check_order(body, known, device.last_seq)
        results: list[MutationOutcome] = []
        fresh: dict[str, MutationOutcome] = {}
        run = PushRun(s, ctx, caller, body.mutations)
        for m in body.mutations:
            if m.id in known:
                stored = known[m.id]
                results.append(MutationOutcome(id=m.id, status="duplicate", code=stored.code, message=stored.message,
                                               original_status=stored.status))
            elif m.id in fresh:
                first = fresh[m.id]
                results.append(MutationOutcome(id=m.id, status="duplicate", code=first.code, message=first.message,
                                               original_status=first.status))
            else:
                outcome = run.apply(m)
                fresh[m.id] = outcome
                results.append(outcome)
        run.finish()
        if fresh:
            applied = {m.id: m for m in body.mutations if m.id in fresh}
            s.execute(insert(MutationResult), [
                {"id": m.id, "device_id": body.device_id, "seq": m.seq, "name": m.name, "username": m.user,
                 "status": fresh[m.id].status, "code": fresh[m.id].code, "message": fresh[m.id].message,
                 "client_at": m.at}
                for m in applied.values()
            ])
            device.last_seq = max(m.seq for m in applied.values())
        write_pending_changes(s)
        cursor = s.execute(select(SyncMeta.value).where(SyncMeta.key == "last_seq")).scalar_one()
        return PushResponse(results=results, last_seq=device.last_seq, cursor=cursor)


def _check_order(body: PushRequest, known: dict, last_seq: int) -> None:
    """New mutations must continue the device's sequence exactly: no gap, no reuse."""
    expected = last_seq + 1
    seen: set[str] = set()
    for m in body.mutations:
        if m.id in known or m.id in seen:
            continue
        seen.add(m.id)
        if m.seq < expected:
            raise ApiError(409, "seq_conflict", f"seq {m.seq} was already used by another mutation of this device.",
                           {"expected_seq": expected, "last_seq": last_seq, "id": m.id})
        if m.seq > expected:
            raise ApiError(409, "seq_gap", f"seq {m.seq} leaves a gap; the next seq of this device is {expected}.",
                           {"expected_seq": expected, "last_seq": last_seq, "id": m.id})
        expected += 1
