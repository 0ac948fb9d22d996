"""Devices for supervisors: the list, taking one out of service, and putting its data folder back with a code."""

import secrets
from datetime import timedelta

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from order_api import sessions
from order_api.context import ApiContext, Caller
from order_api.deps import get_ctx, require_roles
from order_api.errors import ApiError
from order_api.models import Device, DeviceUser, User
from order_api.models.base import aware, utcnow
from order_api.schemas import DeviceIdPath, DeviceOut, DeviceSecretOut, RecoverRequest, RecoveryCodeOut
from order_api.security import digests_match, new_token, token_digest

router = APIRouter(prefix="/v1/devices", tags=["devices"])

_supervisors = require_roles("supervisor", "admin")
# No 0/O or 1/I: the code is read off a screen and typed in by hand.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
MAX_RECOVERY_FAILURES = 5
_BAD_CODE = "The recovery code is wrong or expired; ask a supervisor for a new one."


@router.get("", response_model=list[DeviceOut])
def list_devices(caller: Caller = Depends(_supervisors), ctx: ApiContext = Depends(get_ctx)) -> list[DeviceOut]:
    """Every registered device, most recently seen first."""
    with ctx.db.read() as s:
        return _described(s, select(Device).order_by(Device.last_seen.desc(), Device.id))


@router.post("/{device_id}/revoke", response_model=DeviceOut)
def revoke_device(device_id: DeviceIdPath, caller: Caller = Depends(_supervisors),
                  ctx: ApiContext = Depends(get_ctx)) -> DeviceOut:
    """Take a device out of service: its sessions and offline tickets end and it is refused from now on.

    Revoking it again changes nothing. Putting it back takes a recovery code.
    """
    if device_id == caller.device_id:
        raise ApiError(409, "own_device", "You cannot take the device you are using out of service.")
    with ctx.db.write() as s:
        device = _get(s, device_id)
        if device.revoked_at is None:
            device.revoked_at, device.revoked_by = utcnow(), caller.user_id
        sessions.end_sessions(s, "device_revoked", device_id=device.id)
        sessions.revoke_tickets(s, device.id)
        s.flush()
        return _described(s, select(Device).where(Device.id == device.id))[0]


@router.post("/{device_id}/recovery-code", response_model=RecoveryCodeOut)
def recovery_code(device_id: DeviceIdPath, caller: Caller = Depends(_supervisors),
                  ctx: ApiContext = Depends(get_ctx)) -> RecoveryCodeOut:
    """A one-time code that puts the device's data folder back in service (on another machine, or after
    its keyring was lost); it replaces any earlier code and works for revoked devices too."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    with ctx.db.write() as s:
        device = _get(s, device_id)
        device.recovery_hash = token_digest(code)
        device.recovery_expires = utcnow() + timedelta(seconds=ctx.settings.recovery_ttl_s)
        device.recovery_failures = 0
    shown = "-".join(code[i:i + 4] for i in range(0, CODE_LENGTH, 4))
    return RecoveryCodeOut(device_id=device_id, code=shown, expires_in=ctx.settings.recovery_ttl_s)


@router.post("/{device_id}/recover", response_model=DeviceSecretOut)
def recover_device(device_id: DeviceIdPath, body: RecoverRequest, ctx: ApiContext = Depends(get_ctx)) -> DeviceSecretOut:
    """Trade a recovery code for a new device secret (no sign-in needed: the folder has no credential).

    Every session and offline ticket of the device ends, and a revoked device is back in
    service. Its push sequence is kept: the recovered folder continues its queue where it
    stands. Five wrong codes void the code.
    """
    code = "".join(body.code.split()).replace("-", "").upper()
    now = utcnow()
    with ctx.db.write() as s:
        device = s.get(Device, device_id, with_for_update=True)
        usable = (device is not None and device.recovery_hash is not None
                  and device.recovery_failures < MAX_RECOVERY_FAILURES
                  and device.recovery_expires is not None and aware(device.recovery_expires) > now)
        if usable and digests_match(code, device.recovery_hash):
            secret = new_token()
            device.secret_hash = token_digest(secret)
            device.revoked_at = device.revoked_by = None
            device.recovery_hash = device.recovery_expires = None
            device.recovery_failures = 0
            sessions.end_sessions(s, "recovered", device_id=device.id)
            sessions.revoke_tickets(s, device.id)
            return DeviceSecretOut(device_id=device.id, device_secret=secret)
        if usable:
            device.recovery_failures += 1
            if device.recovery_failures >= MAX_RECOVERY_FAILURES:
                device.recovery_hash = device.recovery_expires = None  # void: only a new code helps
    # Raised after the commit, so that the failure stays counted.
    raise ApiError(403, "recovery_invalid", _BAD_CODE)


def _get(s: Session, device_id: str) -> Device:
    device = s.get(Device, device_id, with_for_update=True)
    if device is None:
        raise ApiError(404, "not_found", f"Device {device_id} is not registered.")
    return device


def _described(s: Session, devices) -> list[DeviceOut]:
    """DeviceOut of the devices a query selects, with who revoked each and who signed in on it last."""
    revoker = aliased(User)
    last_user = (select(User.username).join(DeviceUser, DeviceUser.user_id == User.id)
                 .where(DeviceUser.device_id == Device.id)
                 .order_by(DeviceUser.last_sign_in.desc(), DeviceUser.id.desc()).limit(1)
                 .correlate(Device).scalar_subquery())
    query = (devices.outerjoin(revoker, revoker.id == Device.revoked_by)
             .add_columns(revoker.username, last_user.label("last_user")))
    return [
        DeviceOut(id=d.id, name=d.name, app_version=d.app_version, registered_at=aware(d.first_seen),
                  last_seen=aware(d.last_seen), revoked_at=aware(d.revoked_at) if d.revoked_at else None,
                  revoked_by=revoked_by, last_user=user, last_seq=d.last_seq)
        for d, revoked_by, user in s.execute(query).all()
    ]
