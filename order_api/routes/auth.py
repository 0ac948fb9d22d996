"""Sign-in: tokens for a user on a device, refresh, and who am I."""

from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from order_api.changes import audiences_for
from order_api.context import ApiContext, Caller
from order_api.deps import aware, get_caller, get_ctx
from order_api.errors import ApiError
from order_api.models import AuthSession, Device, DeviceUser, User
from order_api.schemas import Me, RefreshRequest, TokenRequest, TokenResponse
from order_api.security import new_token, token_digest, verify_secret

router = APIRouter(prefix="/v1", tags=["auth"])

_BAD_LOGIN = "Unknown user or wrong PIN/password."


@router.post("/auth/token", response_model=TokenResponse)
def issue_token(body: TokenRequest, request: Request, ctx: ApiContext = Depends(get_ctx)) -> TokenResponse:
    """Sign in with username or badge plus PIN or password, for one device."""
    account_key = f"user:{body.username or ''}|badge:{body.badge or ''}"
    client_key = f"ip:{request.client.host if request.client else '?'}"
    wait = ctx.throttle.retry_after(account_key, client_key)
    if wait:
        raise ApiError(429, "rate_limited", "Too many failed sign-ins; wait before trying again.",
                       {"retry_after": wait}, headers={"Retry-After": str(wait)})
    with ctx.db.write() as s:
        q = select(User).where(User.username == body.username) if body.username else select(User).where(User.badge == body.badge)
        user = s.execute(q).scalar_one_or_none()
        stored = None if user is None else (user.pin_hash if body.pin is not None else user.password_hash)
        if user is None or not user.active or not verify_secret(body.pin or body.password or "", stored):
            ctx.throttle.failed(account_key, client_key)
            raise ApiError(401, "invalid_credentials", _BAD_LOGIN)
        ctx.throttle.succeeded(account_key)
        return _start_session(s, ctx, user, body.device_id)


def _start_session(s, ctx: ApiContext, user: User, device_id: str) -> TokenResponse:
    now = datetime.now(timezone.utc)
    device = s.get(Device, device_id)
    if device is None:
        device = Device(id=device_id, first_seen=now)
        s.add(device)
    device.last_seen = now
    link = s.execute(select(DeviceUser).where(DeviceUser.device_id == device_id, DeviceUser.user_id == user.id)).scalar_one_or_none()
    if link is None:
        s.add(DeviceUser(device_id=device_id, user_id=user.id, last_sign_in=now))
    else:
        link.last_sign_in = now
    access, refresh = new_token(), new_token()
    s.add(AuthSession(
        user_id=user.id, device_id=device_id, access_hash=token_digest(access),
        access_expires=now + timedelta(seconds=ctx.settings.access_ttl_s),
        refresh_hash=token_digest(refresh), refresh_expires=now + timedelta(seconds=ctx.settings.refresh_ttl_s),
    ))
    s.flush()
    return TokenResponse(access_token=access, refresh_token=refresh, expires_in=ctx.settings.access_ttl_s)


@router.post("/auth/refresh", response_model=TokenResponse)
def refresh_token(body: RefreshRequest, ctx: ApiContext = Depends(get_ctx)) -> TokenResponse:
    """Trade a refresh token for a new pair; the old refresh token stops working."""
    now = datetime.now(timezone.utc)
    with ctx.db.write() as s:
        row = s.execute(select(AuthSession).where(AuthSession.refresh_hash == token_digest(body.refresh_token))).scalar_one_or_none()
        if row is None or row.revoked or aware(row.refresh_expires) <= now or not row.user.active:
            raise ApiError(401, "invalid_refresh_token", "The refresh token is not valid; sign in again.")
        row.revoked = True
        return _start_session(s, ctx, row.user, row.device_id)


@router.get("/me", response_model=Me)
def me(caller: Caller = Depends(get_caller), ctx: ApiContext = Depends(get_ctx)) -> Me:
    """The signed-in user, their roles and the pull-feed scope they receive."""
    with ctx.db.read() as s:
        user = s.get(User, caller.user_id)
        return Me(
            user={"id": user.id, "username": user.username, "display_name": user.display_name, "badge": user.badge},
            roles=sorted(caller.roles), scope=audiences_for(caller.roles, caller.user_id), device_id=caller.device_id,
        )
