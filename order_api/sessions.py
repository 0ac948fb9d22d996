"""Sign-in sessions and offline tickets: starting, renewing and ending them (only digests are stored)."""

import secrets
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from order_api.models import AuthSession, OfflineTicket
from order_api.models.base import utcnow
from order_api.schemas import TokenResponse
from order_api.settings import ServerSettings
from order_api.security import new_token, token_digest


def new_family() -> str:
    """The id a sign-in and all its refreshes share."""
    return secrets.token_hex(16)


def start_session(s: Session, settings: ServerSettings, user_id: int, device_id: str, kind: str,
                  family: str | None = None) -> TokenResponse:
    """A new access and refresh token pair of user on device; a new family unless renewing one."""
    now = utcnow()
    access, refresh = new_token(), new_token()
    s.add(AuthSession(
        user_id=user_id, device_id=device_id, family=family or new_family(), kind=kind,
        access_hash=token_digest(access), access_expires=now + timedelta(seconds=settings.access_ttl_s),
        refresh_hash=token_digest(refresh), refresh_expires=now + timedelta(seconds=settings.refresh_ttl_s),
    ))
    s.flush()
    return TokenResponse(access_token=access, refresh_token=refresh, expires_in=settings.access_ttl_s)


def end_sessions(s: Session, reason: str, *, family: str | None = None, device_id: str | None = None) -> int:
    """Revoke the live sessions of a family or of a device, noting why; returns how many."""
    where = AuthSession.family == family if family is not None else AuthSession.device_id == device_id
    return s.execute(
        update(AuthSession).where(where, AuthSession.revoked.is_(False))
        .values(revoked=True, revoked_reason=reason).execution_options(synchronize_session=False)
    ).rowcount


def issue_ticket(s: Session, settings: ServerSettings, user_id: int, device_id: str) -> str:
    """A new offline ticket of user on device, replacing the pair's older ones."""
    now = utcnow()
    s.execute(delete(OfflineTicket).where(OfflineTicket.user_id == user_id, OfflineTicket.device_id == device_id))
    ticket = new_token()
    s.add(OfflineTicket(user_id=user_id, device_id=device_id, ticket_hash=token_digest(ticket), issued_at=now,
                        expires_at=now + timedelta(seconds=settings.offline_ticket_ttl_s)))
    return ticket


def revoke_tickets(s: Session, device_id: str) -> None:
    """Every offline ticket of the device stops working."""
    s.execute(update(OfflineTicket).where(OfflineTicket.device_id == device_id).values(revoked=True)
              .execution_options(synchronize_session=False))
