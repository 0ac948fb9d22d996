"""Sign-in of a person on a registered device: tokens, renewal, offline tickets, sign-out, and who am I."""

import logging

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from order_api import sessions, throttle
from order_api.changes import audiences_for
from order_api.context import ApiContext, Caller
from order_api.deps import PresentedDevice, check_device, device_unknown, get_caller, get_ctx, presented_device
from order_api.errors import ApiError
from order_api.models import AuthSession, Device, DeviceUser, OfflineTicket, User
from order_api.models.base import aware, utcnow
from order_api.schemas import Me, RefreshRequest, TicketRequest, TokenRequest, TokenResponse
from order_api.security import new_token, token_digest, verify_sign_in

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["auth"])

_BAD_LOGIN = "Unknown user or wrong PIN/password."
_BAD_REFRESH = "The refresh token is not valid; sign in again."
_REUSED = "This sign-in was already renewed; every session of it is ended. Sign in again."
_BAD_TICKET = "The offline sign-in of this device is no longer valid; sign in online."
# A refresh token whose session ended this way comes back only if someone kept a copy.
_REUSE_REASONS = ("rotated", "signed_out")


@router.post("/auth/token", response_model=TokenResponse)
def issue_token(body: TokenRequest, request: Request, presented: PresentedDevice | None = Depends(presented_device),
                ctx: ApiContext = Depends(get_ctx)) -> TokenResponse:
    """Sign in with username or badge plus PIN or password, on a device.

    A device id the server does not know registers with this sign-in: the answer then
    carries its `device_secret`, once. A known device must send the Floorhand-Device header.
    """
    if presented is not None and presented.device_id != body.device_id:
        raise device_unknown()
    with ctx.db.read() as s:
        # The device is checked first: a wrong device credential is no guess at a PIN.
        device = _device_for_sign_in(s, body.device_id, presented)
        user = _person(s, body)
        user_id = user.id if user is not None else None
        trusted = device is not None and user is not None and _linked(s, device.id, user.id) is not None
        stored = None
        if user is not None and user.active:
            stored = user.pin_hash if body.pin is not None else user.password_hash
    address = request.client.host if request.client else "unknown"
    attempt = throttle.attempt_of(user_id, body.username or body.badge or "", body.device_id, trusted, address)
    throttle.reserve(ctx.db, ctx.settings, attempt)
    verified = None
    try:
        verified = verify_sign_in(body.pin or body.password or "", stored)
    finally:
        throttle.release(ctx.db, ctx.settings, attempt, verified)
    if not verified:
        raise ApiError(401, "invalid_credentials", _BAD_LOGIN)
    with ctx.db.write() as s:
        return _signed_in(s, ctx, body, user_id, presented)


def _device_for_sign_in(s: Session, device_id: str, presented: PresentedDevice | None,
                        lock: bool = False) -> Device | None:
    """The known device, checked against the presented credential; None when the id is new (registration)."""
    device = s.get(Device, device_id, with_for_update=lock)
    if device is None:
        return None
    return check_device(s, device, presented)


def _person(s: Session, body: TokenRequest) -> User | None:
    by = User.username == body.username if body.username is not None else User.badge == body.badge
    return s.execute(select(User).where(by)).scalar_one_or_none()


def _linked(s: Session, device_id: str, user_id: int) -> DeviceUser | None:
    """The person's link to the device: she has signed in on it before."""
    return s.execute(
        select(DeviceUser).where(DeviceUser.device_id == device_id, DeviceUser.user_id == user_id)
    ).scalar_one_or_none()


def _signed_in(s: Session, ctx: ApiContext, body: TokenRequest, user_id: int,
               presented: PresentedDevice | None) -> TokenResponse:
    """Register the device if new, link the person to it, start a session and, for a PIN, an offline ticket."""
    now = utcnow()
    # Checked again under the write lock: the device may have been registered or revoked meanwhile.
    device = _device_for_sign_in(s, body.device_id, presented, lock=True)
    secret = None
    if device is None:
        secret = new_token()
        device = Device(id=body.device_id, secret_hash=token_digest(secret), registered_by=user_id,
                        first_seen=now, last_seen=now)
        s.add(device)
        try:
            s.flush()
        except IntegrityError:  # registered by a parallel sign-in a moment ago
            raise device_unknown() from None
    device.last_seen = now
    device.name = body.device_name or device.name
    device.app_version = body.app_version or device.app_version
    link = _linked(s, device.id, user_id)
    if link is None:
        s.add(DeviceUser(device_id=device.id, user_id=user_id, last_sign_in=now))
    else:
        link.last_sign_in = now
    kind = "pin" if body.pin is not None else "password"
    answer = sessions.start_session(s, ctx.settings, user_id, device.id, kind)
    answer.device_secret = secret
    if kind == "pin":
        answer.offline_ticket = sessions.issue_ticket(s, ctx.settings, user_id, device.id)
        answer.offline_ticket_expires_in = ctx.settings.offline_ticket_ttl_s
    return answer


@router.post("/auth/refresh", response_model=TokenResponse)
def refresh_token(body: RefreshRequest, presented: PresentedDevice | None = Depends(presented_device),
                  ctx: ApiContext = Depends(get_ctx)) -> TokenResponse:
    """Trade a refresh token for a new pair; the old one stops working.

    Presenting a refresh token that was already traded (or signed out) means a copy of it
    exists: every session of that sign-in ends (OAuth 2.0 Security BCP, refresh token rotation).
    """
    now = utcnow()
    with ctx.db.write() as s:
        row = s.execute(
            select(AuthSession).where(AuthSession.refresh_hash == token_digest(body.refresh_token))
            .with_for_update(of=AuthSession)
        ).scalar_one_or_none()
        if row is None:
            raise ApiError(401, "invalid_refresh_token", _BAD_REFRESH)
        check_device(s, row.device, presented)
        reused = row.revoked and row.revoked_reason in _REUSE_REASONS
        if reused:
            sessions.end_sessions(s, "reuse", family=row.family)
            log.warning("a renewed refresh token came back: every session of user %s on device %s is ended",
                        row.user.username, row.device_id)
        elif row.revoked or aware(row.refresh_expires) <= now or not row.user.active:
            raise ApiError(401, "invalid_refresh_token", _BAD_REFRESH)
        else:
            row.revoked, row.revoked_reason = True, "rotated"
            row.device.last_seen = now
            return sessions.start_session(s, ctx.settings, row.user_id, row.device_id, row.kind, family=row.family)
    # Raised after the commit: the family stays ended.
    raise ApiError(401, "invalid_refresh_token", _REUSED)


@router.post("/auth/ticket", response_model=TokenResponse)
def redeem_ticket(body: TicketRequest, presented: PresentedDevice | None = Depends(presented_device),
                  ctx: ApiContext = Depends(get_ctx)) -> TokenResponse:
    """A session for the person whose PIN this device checked offline, from the ticket of her last online sign-in."""
    now = utcnow()
    with ctx.db.write() as s:
        device = check_device(s, s.get(Device, presented.device_id) if presented else None, presented)
        ticket = s.execute(select(OfflineTicket).where(
            OfflineTicket.ticket_hash == token_digest(body.ticket), OfflineTicket.device_id == device.id,
        )).scalar_one_or_none()
        if ticket is None or ticket.revoked or aware(ticket.expires_at) <= now:
            raise ApiError(401, "invalid_ticket", _BAD_TICKET)
        user = s.get(User, ticket.user_id)
        link = _linked(s, device.id, user.id)
        if not user.active or link is None:
            raise ApiError(401, "invalid_ticket", _BAD_TICKET)
        link.last_sign_in = device.last_seen = now
        return sessions.start_session(s, ctx.settings, user.id, device.id, "ticket")


@router.post("/auth/sign-out", status_code=204)
def sign_out(caller: Caller = Depends(get_caller), ctx: ApiContext = Depends(get_ctx)) -> Response:
    """End the caller's sign-in: this session and every one renewed from the same sign-in.

    The device's offline ticket stays, so the person can still sign in offline later.
    """
    with ctx.db.write() as s:
        family = s.get(AuthSession, caller.session_id).family
        sessions.end_sessions(s, "signed_out", family=family)
    return Response(status_code=204)


@router.get("/me", response_model=Me)
def me(caller: Caller = Depends(get_caller), ctx: ApiContext = Depends(get_ctx)) -> Me:
    """The signed-in user, their roles, the pull-feed scope they receive and the device they call from."""
    with ctx.db.read() as s:
        user = s.get(User, caller.user_id)
        return Me(
            user={"id": user.id, "username": user.username, "display_name": user.display_name, "badge": user.badge},
            roles=sorted(caller.roles), scope=audiences_for(caller.roles, caller.user_id), device_id=caller.device_id,
            device={"id": caller.device_id, "name": caller.device_name},
        )
