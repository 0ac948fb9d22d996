"""Image uploads: create, refresh, complete and abort; plus the fs store's signed part route.

A client creates an upload for a SKU with the file's size, PUTs the parts to the URLs it
is given (straight to S3, or to /v1/blobs/ on this API for the fs store) with each part's
Content-MD5, and completes it with every part's MD5 and the file's SHA-256, all computed in
its one read of the file. A file of one part is one PUT of the whole object.

Integrity is checked on the way in, never by reading the object back on the request path:
the store refuses a part whose bytes do not match its Content-MD5; completion refuses
unless the store's part list (sizes and ETags) is what the client's MD5s call for and the
joined object's ETag is the one they define (blobstore.expected_etag). The SHA-256 is
recorded as the client gave it; the scrub (order_api/scrub.py) reads objects back later
and marks each asset verified or corrupt.

Upload status: open -> completing -> stored -> complete, or failed / aborted.
"completing" is held while the store joins the parts; "stored" means joined and checked
but not yet registered, so a completion retried after a lost answer resumes there.
"""

import base64
import binascii
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import delete, select, update
from starlette.requests import ClientDisconnect

from order_api.blobstore import (
    CONTENT_TYPES, INTEGRITY_HEADER, BlobStoreError, StoredPart, UploadGone, UploadRef, expected_etag,
    new_object_key,
)
from order_api.blobstore.fs import BadDigest, FileBlobStore, PartSizeMismatch, PartUrlRefused
from order_api.context import ApiContext, Caller
from order_api.deps import get_ctx, require_roles
from order_api.errors import ApiError
from order_api.feed import asset_data, publish_asset
from order_api.models import Asset, Product, Upload, UploadPart, User
from order_api.schemas import Strict

router = APIRouter(tags=["uploads"])

MAX_UPLOAD_BYTES = 5 * 1024**3
MAX_PARTS = 10_000  # S3's limit of parts per multipart upload
_uploader = require_roles("photographer", "supervisor", "admin")
_SEE_ALL = frozenset({"supervisor", "admin"})
_WRITE_BATCH = 1024 * 1024
_MD5_HEX = re.compile(r"[0-9a-f]{32}")
UploadIdPath = Annotated[str, Path(min_length=1, max_length=36)]


class UploadCreate(Strict):
    """One image file a client is about to upload for a SKU."""

    sku: str = Field(min_length=1, max_length=32)
    filename: str = Field(min_length=1, max_length=255, description="shown to people only; never used as a path")
    size: int = Field(strict=True, gt=0, le=MAX_UPLOAD_BYTES)
    sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$",
                               description="optional here: a client hashing while it uploads gives it at completion")
    content_type: str = Field(min_length=1, max_length=100)


class CompletedPart(Strict):
    """A part number and the MD5 (hex) the client computed of its bytes: the ETag the store must hold."""

    number: int = Field(strict=True, ge=1, le=MAX_PARTS)
    etag: str = Field(min_length=1, max_length=66, description="hex MD5 of the part's bytes (quotes allowed)")


class UploadComplete(Strict):
    """Completion request: every part's MD5 and the file's SHA-256, from the client's read of the file."""

    parts: list[CompletedPart] | None = Field(None, max_length=MAX_PARTS,
                                              description="every part, each with the hex MD5 of its bytes; "
                                                          "required to complete an open upload")
    sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$",
                               description="the file's SHA-256; required when it was not given at creation")


class PartTargetOut(BaseModel):
    """Where to send one part: method, URL, headers to send as given, expiry."""

    number: int
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


class StoredPartOut(BaseModel):
    """A part the store holds: number, size in bytes, ETag (hex MD5)."""

    number: int
    size: int
    etag: str


class UploadOut(BaseModel):
    """An upload: what was declared, its status, part URLs while open, stored parts, asset."""

    upload_id: str
    sku: str
    filename: str
    content_type: str
    size: int
    sha256: str | None
    object_key: str
    status: str
    part_size: int
    part_count: int
    single: bool = Field(description="one PUT of the whole file (part 1 is the object), no multipart upload")
    integrity_header: str = Field(description="header a client sends with each part: base64 MD5 of the part")
    parts: list[PartTargetOut]
    stored_parts: list[StoredPartOut]
    asset: dict | None = None


@router.post("/v1/uploads", response_model=UploadOut, status_code=201)
def create_upload(body: UploadCreate, caller: Caller = Depends(_uploader), ctx: ApiContext = Depends(get_ctx)) -> UploadOut:
    """Start an upload of one image for a SKU; answers with the URLs of all its parts."""
    content_type = body.content_type.strip().lower()
    if content_type not in CONTENT_TYPES:
        raise ApiError(415, "unsupported_content_type", f"Content type {body.content_type!r} is not accepted.",
                       {"accepted": sorted(CONTENT_TYPES)})
    part_size = ctx.settings.upload_part_size
    if -(-body.size // part_size) > MAX_PARTS:
        raise ApiError(422, "too_many_parts", f"At {part_size} bytes a part this file needs more than {MAX_PARTS} parts.")
    with ctx.db.read() as s:
        product = s.execute(select(Product).where(Product.sku == body.sku)).scalar_one_or_none()
        if product is None:
            raise ApiError(404, "unknown_sku", f"No product has SKU {body.sku!r}.")
        product_id, sku = product.id, product.sku
    upload = Upload(
        id=str(uuid4()), product_id=product_id, user_id=caller.user_id, filename=body.filename,
        content_type=content_type, size=body.size, sha256=body.sha256.lower() if body.sha256 else None, part_size=part_size,
        object_key=new_object_key(sku, content_type), status="open", single=body.size <= part_size,
    )
    with _store_failures():
        upload.store_upload_id = ctx.blobs.create_upload(upload.id, upload.object_key, content_type, upload.single)
    with ctx.db.write() as s:
        s.add(upload)
    with _store_failures():
        return _describe(ctx, upload, sku, stored=[])


@router.get("/v1/uploads/{upload_id}", response_model=UploadOut)
def get_upload(upload_id: UploadIdPath, caller: Caller = Depends(_uploader),
               ctx: ApiContext = Depends(get_ctx)) -> UploadOut:
    """The upload with fresh part URLs and the parts the store already holds."""
    upload, sku, asset = _load(ctx, upload_id, caller)
    stored: list[StoredPart] = []
    with _store_failures():
        if upload.status == "open":
            try:
                stored = ctx.blobs.list_parts(_ref(upload))
            except UploadGone:
                # The store dropped it (expired, or failed by a bad part): the client must start again.
                _move(ctx, upload, "open", "failed")
        return _describe(ctx, upload, sku, stored, asset)


@router.post("/v1/uploads/{upload_id}/complete", response_model=UploadOut)
def complete_upload(upload_id: UploadIdPath, body: UploadComplete | None = Body(None),
                    caller: Caller = Depends(_uploader), ctx: ApiContext = Depends(get_ctx)) -> UploadOut:
    """Check the parts against the client's MD5s, join them, check the object's ETag, register the asset."""
    upload, sku, asset = _load(ctx, upload_id, caller)
    body = body or UploadComplete()
    if upload.status in ("open", "stored"):
        _settle_sha256(ctx, upload, body.sha256)
    with _store_failures():
        if upload.status == "open":
            _join_parts(ctx, upload, _claimed_md5s(upload, body))
        if upload.status == "stored":
            asset = _register(ctx, upload)
        if upload.status != "complete":
            raise _not_open(upload)
        return _describe(ctx, upload, sku, [], asset)


@router.delete("/v1/uploads/{upload_id}", status_code=204)
def abort_upload(upload_id: UploadIdPath, caller: Caller = Depends(_uploader),
                 ctx: ApiContext = Depends(get_ctx)) -> Response:
    """Abort the upload: the store drops its parts; aborting twice is not an error."""
    upload, _sku, _asset = _load(ctx, upload_id, caller)
    if upload.status in ("open", "failed"):
        with _store_failures():
            ctx.blobs.abort(_ref(upload))
        with ctx.db.write() as s:
            s.execute(delete(UploadPart).where(UploadPart.upload_id == upload.id))
            s.execute(update(Upload).where(Upload.id == upload.id, Upload.status.in_(("open", "failed")))
                      .values(status="aborted"))
    elif upload.status != "aborted":
        raise _not_open(upload)
    return Response(status_code=204)


@router.put("/v1/blobs/{upload_id}/{part_number}", response_model=StoredPartOut,
            responses={401: {"description": "signature missing"}, 403: {"description": "signature invalid or expired"}})
async def receive_part(
    request: Request,
    upload_id: UploadIdPath,
    part_number: int = Path(ge=1, le=MAX_PARTS),
    expires: str | None = Query(None, max_length=20),
    sig: str | None = Query(None, max_length=128),
    content_md5: str | None = Header(None, alias=INTEGRITY_HEADER),
    ctx: ApiContext = Depends(get_ctx),
) -> Response:
    """Store one part of an fs-store upload; authorised by the URL's signature, not a token."""
    store = ctx.blobs
    if not isinstance(store, FileBlobStore):
        raise ApiError(404, "not_found", "This server's parts go straight to its S3 store, not to the API.")
    try:
        store.check_part_url(upload_id, part_number, expires, sig, time.time())
    except PartUrlRefused as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None
    expected_md5 = _decode_content_md5(content_md5)
    upload = await run_in_threadpool(_open_upload, ctx, upload_id)
    expected_size = _part_size(upload, part_number)
    part = await _stream_part(store, request, upload_id, part_number, expected_size, expected_md5)
    await run_in_threadpool(_record_part, ctx, upload_id, part)
    out = StoredPartOut(number=part.number, size=part.size, etag=part.etag)
    return Response(out.model_dump_json(), media_type="application/json", headers={"ETag": f'"{part.etag}"'})


# -- completion ---------------------------------------------------------------------------

def _settle_sha256(ctx: ApiContext, upload: Upload, given: str | None) -> None:
    """The SHA-256 the stored file must have: declared at creation, or given now (and kept).

    A client that hashes while it uploads knows the digest only at the end, so it may give it
    here; it is written down before the parts are joined so a retried completion has it too.
    """
    given = given.lower() if given else None
    if upload.sha256 is not None:
        if given is not None and given != upload.sha256:
            raise ApiError(422, "sha256_conflict", "The SHA-256 given now differs from the one declared at creation.",
                           {"declared": upload.sha256, "given": given})
        return
    if given is None:
        raise ApiError(422, "sha256_required", "Give the file's SHA-256: it was not declared when the upload began.")
    with ctx.db.write() as s:
        s.execute(update(Upload).where(Upload.id == upload.id).values(sha256=given))
    upload.sha256 = given


def _claimed_md5s(upload: Upload, body: UploadComplete) -> list[str]:
    """The MD5 of every part, in order, as the client computed it; refused unless complete and well formed."""
    claimed = {p.number: p.etag.strip('"').lower() for p in body.parts or ()}
    numbers = range(1, _part_count(upload) + 1)
    missing = [n for n in numbers if n not in claimed]
    malformed = sorted(n for n, md5 in claimed.items() if not _MD5_HEX.fullmatch(md5))
    if missing or malformed or len(claimed) != len(numbers):
        raise ApiError(422, "parts_required", "Give every part with the hex MD5 of its bytes: the store is checked "
                                              "against them instead of reading the file back.",
                       {"missing": missing[:100], "malformed": malformed[:100], "part_count": len(numbers)})
    return [claimed[n] for n in numbers]


def _join_parts(ctx: ApiContext, upload: Upload, md5s: list[str]) -> None:
    """open -> stored: the store's parts must be the client's, and the joined object what they call for."""
    _move(ctx, upload, "open", "completing")
    outcome = "open"  # a refusal or a store failure before the join leaves it open for a retry
    try:
        ref = _ref(upload)
        stored = _parts_to_join(upload, ctx.blobs.list_parts(ref), md5s)
        etag = ctx.blobs.complete(ref, stored)
        wanted = expected_etag(md5s, ref.single)
        if etag.strip('"').lower() != wanted:
            # Joined into something the parts do not define: never registered, and not kept.
            outcome = "failed"
            ctx.blobs.delete_object(upload.object_key)
            raise ApiError(422, "object_mismatch", "The store joined the parts into other data than the client "
                                                   "sent; it was deleted. Upload the file again.",
                           {"expected_etag": wanted, "actual_etag": etag})
        outcome = "stored"
    except UploadGone as exc:
        outcome = "failed"
        raise ApiError(409, "upload_failed", "The store no longer holds this upload; start a new one.") from exc
    finally:
        _move(ctx, upload, "completing", outcome)


def _parts_to_join(upload: Upload, stored: list[StoredPart], md5s: list[str]) -> list[StoredPart]:
    by_number = {p.number: p for p in stored}
    numbers = range(1, _part_count(upload) + 1)
    missing = [n for n in numbers if n not in by_number]
    if missing:
        raise ApiError(409, "parts_missing", f"{len(missing)} part(s) have not been stored yet.",
                       {"missing": missing[:100]})
    wrong = [{"number": n, "size": by_number[n].size, "expected": _part_size(upload, n)}
             for n in numbers if by_number[n].size != _part_size(upload, n)]
    if wrong:
        raise ApiError(409, "part_size_mismatch", "Some parts are not the size their number calls for.",
                       {"parts": wrong[:100]})
    differing = [n for n, md5 in zip(numbers, md5s) if by_number[n].etag.lower() != md5]
    if differing:
        raise ApiError(409, "etag_mismatch", "The store holds other data for some parts than the client sent.",
                       {"parts": differing[:100]})
    return [by_number[n] for n in numbers]


def _register(ctx: ApiContext, upload: Upload) -> dict:
    """stored -> complete: the asset registered to the SKU with the client's SHA-256, not yet read back."""
    with ctx.write() as s:
        row = s.get(Upload, upload.id, with_for_update=True)
        if row.status == "complete":  # a concurrent completion got here first
            upload.status = "complete"
            return asset_data(s.execute(select(Asset).where(Asset.upload_id == upload.id)).scalar_one())
        if row.status != "stored":
            raise _not_open(row)
        asset = Asset(product_id=row.product_id, upload_id=row.id, object_key=row.object_key, sha256=row.sha256,
                      size=row.size, content_type=row.content_type, status="uploaded", integrity="unchecked",
                      filename=row.filename, uploaded_by=s.get(User, row.user_id).display_name)
        s.add(asset)
        s.flush()
        publish_asset(s, asset)
        row.status = upload.status = "complete"
        return asset_data(asset)


# -- receiving fs parts -------------------------------------------------------------------

def _decode_content_md5(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 16:
        raise ApiError(400, "invalid_digest", "Content-MD5 must be the base64 of a 16-byte MD5 digest.")
    return digest


def _open_upload(ctx: ApiContext, upload_id: str) -> Upload:
    with ctx.db.read() as s:
        upload = s.get(Upload, upload_id)
        if upload is None:
            raise ApiError(404, "unknown_upload", "No such upload.")
        s.expunge(upload)
    if upload.status != "open":
        raise _not_open(upload)
    return upload


async def _stream_part(store: FileBlobStore, request: Request, upload_id: str, number: int,
                       expected_size: int, expected_md5: bytes | None) -> StoredPart:
    # Chunks go to disk in batches of about 1 MiB, on worker threads so the event loop never
    # waits on the disk; a part is never held in memory whole.
    try:
        writer = await run_in_threadpool(store.part_writer, upload_id, number, expected_size)
    except UploadGone as exc:
        raise ApiError(409, "upload_closed", "The upload is no longer open.") from exc
    pending = bytearray()
    try:
        async for chunk in request.stream():
            pending += chunk
            if len(pending) >= _WRITE_BATCH:
                await run_in_threadpool(writer.write, bytes(pending))
                pending.clear()
        await run_in_threadpool(writer.write, bytes(pending))
        return await run_in_threadpool(writer.commit, expected_md5)
    except PartSizeMismatch as exc:
        raise ApiError(400, "part_size_mismatch", str(exc), {"expected": expected_size}) from None
    except BadDigest as exc:
        raise ApiError(400, "bad_digest", str(exc)) from None
    except UploadGone as exc:
        raise ApiError(409, "upload_closed", "The upload was closed while the part arrived.") from exc
    except ClientDisconnect:
        raise ApiError(400, "incomplete_body", "The client went away before the part arrived whole.") from None
    finally:
        await run_in_threadpool(writer.discard)


def _record_part(ctx: ApiContext, upload_id: str, part: StoredPart) -> None:
    with ctx.db.write() as s:
        row = s.execute(
            select(UploadPart).where(UploadPart.upload_id == upload_id, UploadPart.number == part.number)
        ).scalar_one_or_none()
        if row is None:
            s.add(UploadPart(upload_id=upload_id, number=part.number, size=part.size, etag=part.etag))
        else:
            row.size, row.etag = part.size, part.etag


# -- shared -------------------------------------------------------------------------------

def _load(ctx: ApiContext, upload_id: str, caller: Caller) -> tuple[Upload, str, dict | None]:
    """The upload (detached), its SKU and its asset; 404 unless the caller may see it."""
    with ctx.db.read() as s:
        upload = s.get(Upload, upload_id)
        if upload is None or (upload.user_id != caller.user_id and not caller.roles & _SEE_ALL):
            raise ApiError(404, "unknown_upload", "No such upload.")
        sku = s.get(Product, upload.product_id).sku
        asset = s.execute(select(Asset).where(Asset.upload_id == upload.id)).scalar_one_or_none()
        s.expunge(upload)
        return upload, sku, asset_data(asset) if asset else None


def _move(ctx: ApiContext, upload: Upload, from_status: str, to_status: str) -> None:
    """Change the status only if it still is from_status: concurrent requests cannot both win."""
    with ctx.db.write() as s:
        moved = s.execute(
            update(Upload).where(Upload.id == upload.id, Upload.status == from_status).values(status=to_status)
        ).rowcount
    if not moved:
        raise ApiError(409, "upload_busy", "Another request changed this upload; fetch it again.")
    upload.status = to_status


def _describe(ctx: ApiContext, upload: Upload, sku: str, stored: list[StoredPart], asset: dict | None = None) -> UploadOut:
    count = _part_count(upload)
    targets = ctx.blobs.part_targets(_ref(upload), range(1, count + 1), ctx.settings.upload_url_ttl_s) \
        if upload.status == "open" else []
    return UploadOut(
        upload_id=upload.id, sku=sku, filename=upload.filename, content_type=upload.content_type,
        size=upload.size, sha256=upload.sha256, object_key=upload.object_key, status=upload.status,
        part_size=upload.part_size, part_count=count, single=upload.single, integrity_header=INTEGRITY_HEADER,
        parts=[PartTargetOut(number=t.number, url=t.url, method=t.method, headers=t.headers, expires_at=t.expires_at)
               for t in targets],
        stored_parts=[StoredPartOut(number=p.number, size=p.size, etag=p.etag) for p in stored],
        asset=asset,
    )


def _not_open(upload: Upload) -> ApiError:
    if upload.status in ("completing", "stored"):
        return ApiError(409, "upload_busy", "The upload is being completed.")
    return ApiError(409, f"upload_{upload.status}", f"The upload is {upload.status}.")


def _ref(upload: Upload) -> UploadRef:
    return UploadRef(upload.id, upload.object_key, upload.store_upload_id or upload.id, bool(upload.single),
                     upload.content_type)


def _part_count(upload: Upload) -> int:
    return -(-upload.size // upload.part_size)


def _part_size(upload: Upload, number: int) -> int:
    """Bytes part number must hold: a full part, or what is left for the last one."""
    count = _part_count(upload)
    if number > count:
        raise ApiError(404, "unknown_part", f"This upload has {count} part(s).")
    return upload.part_size if number < count else upload.size - upload.part_size * (count - 1)


@contextmanager
def _store_failures() -> Iterator[None]:
    """Answer 502 with the store's message when the blob store fails, not a bare 500."""
    try:
        yield
    except BlobStoreError as exc:
        raise ApiError(502, "blob_store_error", "The blob store failed; try again.", str(exc)) from exc
