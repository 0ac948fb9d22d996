"""Users, devices, sign-in sessions, offline tickets and the sign-in throttle."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from order_api.models.base import Base, utcnow

ROLES = ("picker", "packer", "photographer", "supervisor", "admin")


class User(Base):
    """A person who signs in; roles is a space-separated subset of ROLES."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    roles: Mapped[str] = mapped_column(String(128))
    badge: Mapped[str | None] = mapped_column(String(64), unique=True)
    pin_hash: Mapped[str | None] = mapped_column(String(256))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(self.roles.split())


class Device(Base):
    """A registered workstation or handheld (one data folder): its credential, state and push sequence.

    secret_hash is the SHA-256 of the device secret handed out once at registration. NULL
    marks a row from before device credentials: such an id cannot be signed in on or taken
    over, only put back in service with a recovery code.
    """

    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(128))
    app_version: Mapped[str | None] = mapped_column(String(32))
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recovery_hash: Mapped[str | None] = mapped_column(String(64))
    recovery_expires: Mapped[datetime | None]
    recovery_failures: Mapped[int] = mapped_column(default=0)
    last_seq: Mapped[int] = mapped_column(default=0)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceUser(Base):
    """A user who has signed in on a device: the device may push that user's actions."""

    __tablename__ = "device_users"
    __table_args__ = (UniqueConstraint("device_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    last_sign_in: Mapped[datetime] = mapped_column(default=utcnow)


class AuthSession(Base):
    """One sign-in or one renewal of it: hashed access and refresh tokens with their expiry.

    A sign-in and all its refreshes share a `family`, so that a reused refresh token, a
    sign-out or a revoked device ends every session of it at once.
    """

    __tablename__ = "auth_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "pin", "password" or "ticket"
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    access_expires: Mapped[datetime]
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_expires: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(default=False)
    # "rotated", "signed_out", "reuse", "device_revoked" or "recovered"
    revoked_reason: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    device: Mapped[Device] = relationship(lazy="joined", innerjoin=True)


class OfflineTicket(Base):
    """Lets a device that checked a person's PIN offline get that person a session later.

    Issued at an online PIN sign-in; the device keeps it sealed under the PIN. At most one
    live ticket per (user, device): a new one replaces the older ones.
    """

    __tablename__ = "offline_tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    ticket_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(default=False)


class SignInThrottle(Base):
    """Failed and running sign-in attempts of one bucket (a person from one source, or an address).

    Kept in the database so that every server process shares it and a reservation is one
    atomic transaction (order_api/throttle.py).
    """

    __tablename__ = "signin_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    in_flight: Mapped[int] = mapped_column(default=0)
    in_flight_since: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    window_start: Mapped[datetime] = mapped_column(default=utcnow)
    last_failure: Mapped[datetime | None]
