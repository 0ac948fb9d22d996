"""Signing people in on a shared workstation: online through the order API, offline with a PIN verifier."""

import base64
import hashlib
import hmac
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.dialects.sqlite import insert

from sync.api import Me, OrderApi, Tokens
from sync.credentials import TokenVault
from sync.store.database import SqliteFile
from sync.store.schema import signin_verifiers, sync_state

log = logging.getLogger(__name__)

# scrypt cost as OWASP's password storage cheat sheet gives for interactive logins; a PIN has
# few possible values, so the cost and the throttle below are what slow down guessing.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
FREE_TRIES = 3
FIRST_PAUSE = timedelta(seconds=30)
LONGEST_PAUSE = timedelta(minutes=15)
DEFAULT_VALID_DAYS = 7
# How far the clock may step back (NTP corrections, a time zone set wrong and fixed) before
# offline sign-in stops trusting it: the offline period is counted on this clock, so setting
# it back would otherwise stretch the period for ever.
CLOCK_SLACK = timedelta(minutes=10)
_CLOCK_KEY = "clock_high_water"


class SignInRefused(Exception):
    """An offline sign-in that cannot go ahead; str() is the reason to show."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


@dataclass(frozen=True)
class SignedIn:
    """Who is working at the workstation now, and whether the order API confirmed it this session."""

    username: str
    display_name: str
    roles: list[str]
    user_id: int | None
    online: bool
    note: str | None = None  # what the person should know, e.g. why the sign-in is not kept


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class PinVerifiers:
    """Scrypt verifiers of PINs from online sign-ins, so the same people can sign in offline for a while."""

    def __init__(self, journal: SqliteFile, *, valid_days: float = DEFAULT_VALID_DAYS,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._journal, self._clock = journal, clock
        self.valid_for = timedelta(days=valid_days)

    def remember(self, me: Me, pin: str) -> None:
        """After an online sign-in with a PIN: keep a verifier, replacing this user's older one."""
        username, badge = me.user["username"], me.user.get("badge")
        if self.valid_for <= timedelta(0):
            self.forget(username)  # offline sign-in is switched off: keep nothing that could be guessed at
            return
        row = {"username": username, "badge": badge, "verifier": _verifier(pin),
               "user": {"id": me.user.get("id"), "display_name": me.user.get("display_name") or username,
                        "roles": list(me.roles)},
               "signed_in_online_at": self._clock().isoformat(), "failures": 0, "locked_until": None}
        with self._journal.write() as conn:
            _note_clock(conn, self._clock())
            if badge:
                # A badge handed on to someone else must find only its new holder.
                conn.execute(update(signin_verifiers)
                             .where(signin_verifiers.c.badge == badge, signin_verifiers.c.username != username)
                             .values(badge=None))
            stmt = insert(signin_verifiers).values(row)
            conn.execute(stmt.on_conflict_do_update(index_elements=["username"],
                                                    set_={k: stmt.excluded[k] for k in row if k != "username"}))

    def forget(self, username: str) -> None:
        """Drop a user's verifier, e.g. when an administrator removes them from the workstation."""
        with self._journal.write() as conn:
            conn.execute(signin_verifiers.delete().where(signin_verifiers.c.username == username))

    def verify(self, pin: str, *, username: str | None = None, badge: str | None = None) -> SignedIn:
        """The user whose kept PIN this is; SignInRefused when unknown, expired, paused or wrong."""
        if (username is None) == (badge is None):
            raise ValueError("give exactly one of username and badge")
        if self.valid_for <= timedelta(0):
            raise SignInRefused("offline sign-in is switched off on this workstation; connect to sign in")
        key = signin_verifiers.c.username == username if username is not None else signin_verifiers.c.badge == badge
        with self._journal.read() as conn:
            row = conn.execute(select(signin_verifiers).where(key)).mappings().first()
            latest = _clock_high_water(conn)
        if row is None:
            raise SignInRefused("not known on this workstation: sign in online once on this workstation first")
        now = self._clock()
        if latest is not None and now < latest - CLOCK_SLACK:
            log.warning("offline sign-in refused: the clock reads %s, but this workstation already saw %s",
                        now.isoformat(), latest.isoformat())
            raise SignInRefused("this workstation's clock is behind the time it was last used; connect to sign "
                                "in, or have the clock set right")
        # Counted from the latest time seen, so a clock set back a little does not add days either.
        age = max(now, latest or now) - datetime.fromisoformat(row["signed_in_online_at"])
        if age > self.valid_for:
            raise SignInRefused(f"last online sign-in was {age.days} days ago; connect to sign in")
        self._refuse_while_paused(row["locked_until"], now)
        # Checked outside the write transaction: scrypt takes tens of milliseconds and the
        # journal's one writer should not wait on it.
        right = _matches(row["verifier"], pin)
        with self._journal.write() as conn:
            current = conn.execute(select(signin_verifiers.c.failures, signin_verifiers.c.locked_until)
                                   .where(signin_verifiers.c.username == row["username"])).first()
            if current is None:
                raise SignInRefused("not known on this workstation: sign in online once on this workstation first")
            self._refuse_while_paused(current.locked_until, now)
            _note_clock(conn, now)
            failures = 0 if right else current.failures + 1
            pause = _pause_after(failures)
            conn.execute(update(signin_verifiers).where(signin_verifiers.c.username == row["username"])
                         .values(failures=failures, locked_until=(now + pause).isoformat() if pause else None))
        if not right:
            log.info("wrong PIN for offline sign-in of %s (%d in a row)", row["username"], failures)
            if pause:
                raise SignInRefused(f"wrong PIN; too many wrong PINs, try again in {_seconds(pause)} s",
                                    retry_after=pause.total_seconds())
            left = FREE_TRIES - failures
            raise SignInRefused(f"wrong PIN ({left} attempt{'s' if left != 1 else ''} left before a pause)")
        user = row["user"]
        return SignedIn(row["username"], user.get("display_name") or row["username"], list(user.get("roles", [])),
                        user.get("id"), online=False)

    def profile(self, username: str) -> SignedIn | None:
        """Who the user was at their last online sign-in here (not a proof of identity), or None."""
        with self._journal.read() as conn:
            row = conn.execute(select(signin_verifiers.c.user)
                               .where(signin_verifiers.c.username == username)).first()
        if row is None:
            return None
        return SignedIn(username, row.user.get("display_name") or username, list(row.user.get("roles", [])),
                        row.user.get("id"), online=False)

    def _refuse_while_paused(self, locked_until: str | None, now: datetime) -> None:
        if locked_until is None:
            return
        wait = datetime.fromisoformat(locked_until) - now
        if wait > timedelta(0):
            raise SignInRefused(f"too many wrong PINs; try again in {_seconds(wait)} s",
                                retry_after=wait.total_seconds())


def _clock_high_water(conn) -> datetime | None:
    """The latest time this workstation's clock has shown at a sign-in."""
    value = conn.execute(select(sync_state.c.value).where(sync_state.c.key == _CLOCK_KEY)).scalar()
    return datetime.fromisoformat(value) if value else None


def _note_clock(conn, now: datetime) -> None:
    latest = _clock_high_water(conn)
    if latest is None or now > latest:
        stmt = insert(sync_state).values(key=_CLOCK_KEY, value=now.isoformat())
        conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value}))


def _pause_after(failures: int) -> timedelta | None:
    """30 s after the third wrong PIN in a row, doubling with each further one, at most 15 min."""
    if failures < FREE_TRIES:
        return None
    doublings = min(failures - FREE_TRIES, 16)  # 30 s * 2**16 is far past the cap already
    return min(FIRST_PAUSE * 2**doublings, LONGEST_PAUSE)


def _seconds(span: timedelta) -> int:
    return max(1, math.ceil(span.total_seconds()))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _verifier(pin: str) -> str:
    """"scrypt$n$r$p$salt$hash"; the parameters travel with it so they can be raised later."""
    if not pin:
        raise ValueError("an empty PIN cannot be kept for offline sign-in")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _matches(verifier: str, pin: str) -> bool:
    scheme, n, r, p, salt, digest = verifier.split("$")
    if scheme != "scrypt":
        raise ValueError(f"unknown PIN verifier scheme {scheme!r}")
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(pin.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                            dklen=len(expected))
    return hmac.compare_digest(actual, expected)


class SignIn:
    """Online, offline and resumed sign-ins of one workstation, keeping the refresh token of whoever is signed in."""

    def __init__(self, api: OrderApi, vault: TokenVault, verifiers: PinVerifiers, device_id: str,
                 server_url: str) -> None:
        self._api, self._vault, self._verifiers = api, vault, verifiers
        self._device_id, self._server_url = device_id, server_url
        self._current: str | None = None  # whose refresh token store_rotated keeps

    def online(self, *, username: str | None = None, badge: str | None = None, pin: str | None = None,
               password: str | None = None) -> SignedIn:
        """Sign in through the order API; keeps the session and, with a PIN, an offline verifier.

        Raises the order API client's errors (AuthRequired for a wrong PIN, Offline, ...).
        """
        # A sign-in switches the workstation to a new person: the previous tokens must not send
        # their work, and tokens arriving now belong to nobody yet (a badge names the user
        # only once /v1/me answers).
        self._api.tokens = None
        self._current = None
        self._api.sign_in(device_id=self._device_id, username=username, badge=badge, pin=pin, password=password)
        me = self._api.me()
        name = me.user["username"]
        self._current = name
        tokens = self._api.tokens
        if tokens is not None:
            self._vault.save(self._server_url, name, tokens.refresh_token)
        if pin:
            self._verifiers.remember(me, pin)
        note = None if self._vault.usable else f"this sign-in is not kept for the next session: {self._vault.reason}"
        return SignedIn(name, me.user.get("display_name") or name, list(me.roles), me.user.get("id"), online=True,
                        note=note)

    def offline(self, *, username: str | None = None, badge: str | None = None, pin: str) -> SignedIn:
        """Sign in without the network against the PIN verifier of an earlier online sign-in."""
        person = self._verifiers.verify(pin, username=username, badge=badge)
        # The previous person's tokens must never send this person's work.
        self._api.tokens = None
        self._current = None
        if self._take_kept_session(person.username):
            return person
        why = self._vault.reason if not self._vault.usable else "no kept session for this user"
        return SignedIn(person.username, person.display_name, person.roles, person.user_id, online=False,
                        note=f"queued work is sent after the next online sign-in ({why})")

    def resume(self, username: str) -> SignedIn | None:
        """Take up the kept session of `username` without a network call; None when none is kept.

        The first call to the order API refreshes the tokens; an AuthRequired there means the
        server no longer accepts the kept session, and the person signs in again.
        """
        if not self._take_kept_session(username):
            return None
        known = self._verifiers.profile(username)
        if known is None:
            return SignedIn(username, username, [], None, online=True)
        return SignedIn(known.username, known.display_name, known.roles, known.user_id, online=True)

    def sign_out(self) -> None:
        """End the session on this workstation and forget its kept refresh token."""
        if self._current is not None:
            self._vault.forget(self._server_url, self._current)
        self._current = None
        self._api.tokens = None

    def store_rotated(self, tokens: Tokens) -> None:
        """OrderApi's on_tokens hook: keep a refreshed (rotated) refresh token for the next session."""
        current = self._current
        if current is not None and self._vault.usable:
            self._vault.save(self._server_url, current, tokens.refresh_token)

    @property
    def reason_not_kept(self) -> str | None:
        """Why sign-ins are not kept between sessions, or None when they are."""
        return None if self._vault.usable else self._vault.reason

    def _take_kept_session(self, username: str) -> bool:
        refresh = self._vault.load(self._server_url, username)
        if not refresh:
            return False
        # No access token: the first call gets a 401 and the client refreshes.
        self._api.tokens = Tokens("", refresh, 0)
        self._current = username
        return True
