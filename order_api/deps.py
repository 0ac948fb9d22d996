"""FastAPI dependencies: the app context, the authenticated caller and device, role and scope checks."""

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from order_api.context import ApiContext, Caller
from order_api.errors import ApiError
from order_api.models import AuthSession, Device, User
from order_api.models.base import aware, utcnow
from order_api.security import digests_match, token_digest

log = logging.getLogger(__name__)

# The device credential every authenticated call carries: "<device_id> <secret>". The
# client library sends it under this name; it is part of the contract, never renamed.
DEVICE_HEADER = "Floorhand-Device"
DEVICE_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
_DEVICE_VALUE = re.compile(r"([A-Za-z0-9._:-]{1,64}) ([!-~]{1,256})")

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /v1/auth/token")
_device = APIKeyHeader(name=DEVICE_HEADER, auto_error=False, scheme_name="FloorhandDevice",
                       description="'<device_id> <secret>': the device credential issued at its first sign-in")

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
_SEEN_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class PresentedDevice:
    """A device credential as a request presents it; repr hides the secret."""

    device_id: str
    secret: str

    def __repr__(self) -> str:
        return f"PresentedDevice({self.device_id!r}, ***)"


def get_ctx(request: Request) -> ApiContext:
    return request.app.state.ctx


def device_unknown() -> ApiError:
    """The one answer for every wrong device credential, so that it tells nothing about which part was wrong."""
    return ApiError(403, "device_unknown",
                    "This device is not registered with the server, or its credential is wrong.")


def presented_device(value: str | None = Depends(_device)) -> PresentedDevice | None:
    """The Floorhand-Device header as a credential; None when absent, 403 device_unknown when malformed."""
    if value is None:
        return None
    match = _DEVICE_VALUE.fullmatch(value.strip())
    if match is None:
        raise device_unknown()
    return PresentedDevice(match.group(1), match.group(2))


def check_device(s: Session, device: Device | None, presented: PresentedDevice | None) -> Device:
    """The device, when the presented credential is its own and it is in service; else 403.

    A device without a secret_hash (a row from before device credentials) matches nothing.
    """
    if (device is None or presented is None or presented.device_id != device.id
            or not digests_match(presented.secret, device.secret_hash)):
        raise device_unknown()
    if device.revoked_at is not None:
        raise device_revoked(s, device)
    return device


def device_revoked(s: Session, device: Device) -> ApiError:
    """The answer to a device a supervisor took out of service: who did it and when."""
    revoker = s.get(User, device.revoked_by) if device.revoked_by is not None else None
    revoked_at = aware(device.revoked_at)
    who = revoker.display_name if revoker is not None else "an administrator"
    return ApiError(403, "device_revoked",
                    f"This device was taken out of service by {who} on {revoked_at:%Y-%m-%d}; ask a supervisor.",
                    {"revoked_at": revoked_at.isoformat()})


def get_caller(
    request: Request,
    creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
    header: str | None = Depends(_device),
) -> Caller:
    """Resolve the bearer token and the device credential to a caller: 401 for the token, 403 for the device."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "A bearer access token is required.", headers=_UNAUTHORIZED)
    ctx: ApiContext = request.app.state.ctx
    now = utcnow()
    with ctx.db.read() as s:
        row = s.execute(
            select(AuthSession).where(AuthSession.access_hash == token_digest(creds.credentials))
        ).scalar_one_or_none()
        # A session ended by revoking its device still says so below (device_revoked).
        ended = row is not None and row.revoked and row.revoked_reason != "device_revoked"
        if row is None or ended or not row.user.active:
            raise ApiError(401, "invalid_token", "The access token is not valid.", headers=_UNAUTHORIZED)
        if aware(row.access_expires) <= now:
            raise ApiError(401, "token_expired", "The access token has expired; refresh it.", headers=_UNAUTHORIZED)
        device = check_device(s, row.device, presented_device(header))
        if row.revoked:
            raise ApiError(401, "invalid_token", "The access token is not valid.", headers=_UNAUTHORIZED)
        caller = Caller.of(row.user, device, row.id)
        stale = aware(device.last_seen) <= now - _SEEN_EVERY
    if stale:
        _note_seen(ctx, caller.device_id, now)
    return caller


def _note_seen(ctx: ApiContext, device_id: str, now: datetime) -> None:
    # Supervisors see when a device last called; once a minute is precise enough, and a
    # separate short write keeps every other request free of writes.
    with ctx.db.write() as s:
        s.execute(update(Device).where(Device.id == device_id, Device.last_seen <= now - _SEEN_EVERY)
                  .values(last_seen=now))


def require_roles(*roles: str):
    """Dependency factory: the caller must hold one of these roles."""

    def check(caller: Caller = Depends(get_caller)) -> Caller:
        if not caller.roles.intersection(roles):
            raise ApiError(403, "forbidden", f"This needs one of the roles: {', '.join(roles)}.")
        return caller

    return check


def require_in_scope(caller: Caller, audiences: Iterable[str], not_found: str) -> None:
    """404 unless the row is in one of the caller's feed audiences.

    A direct route shows and changes only what the caller's pull feed holds; a row outside
    it answers as if it did not exist, exactly like an unknown id.
    """
    if not caller.audiences.intersection(audiences):
        raise ApiError(404, "not_found", not_found)
