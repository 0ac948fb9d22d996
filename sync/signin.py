"""Signing people in on a shared workstation: online through the order API, offline with a keyed PIN verifier."""

import base64
import hashlib
import hmac
import logging
import math
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.dialects.sqlite import insert

from sync.answers import Me, Tokens
from sync.api import ApiError, OrderApi, PersonSession
from sync.credentials import PLAIN_NO_KEYRING
from sync.device import Device, DeviceProblem
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
    note: str | None = None  # what the person should know, e.g. that work waits for an online sign-in
    scope: list[str] = field(default_factory=list)  # the audiences of the pull feed this person reads


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class PinVerifiers:
    """Keyed verifiers of PINs from online sign-ins, so the same people can sign in offline for a while.

    A verifier is scrypt of the PIN, then HMAC'd with this device's local key (sync/device.py,
    kept in the OS keyring): a copy of the journal alone is not enough to try PINs against it,
    since each guess needs the key. The offline ticket of the same sign-in (the order API's
    promise to give this person a session on this device later) is kept sealed under the same
    two secrets, so only the person's PIN on this device opens it.
    """

    def __init__(self, journal: SqliteFile, local_key: Callable[[], bytes], *, valid_days: float = DEFAULT_VALID_DAYS,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._journal, self._local_key, self._clock = journal, local_key, clock
        self.valid_for = timedelta(days=valid_days)

    def remember(self, me: Me, pin: str, ticket: str | None = None, ticket_expires_in: int | None = None) -> None:
        """After an online sign-in with a PIN: keep a verifier (and the sealed ticket), replacing this user's older one."""
        username, badge = me.user["username"], me.user.get("badge")
        if self.valid_for <= timedelta(0):
            self.forget(username)  # offline sign-in is switched off: keep nothing that could be guessed at
            return
        now = self._clock()
        verifier, sealed = _seal(self._local_key(), pin, ticket)
        expires = (now + timedelta(seconds=ticket_expires_in)).isoformat() if ticket and ticket_expires_in else None
        row = {"username": username, "badge": badge, "verifier": verifier,
               "user": {"id": me.user.get("id"), "display_name": me.user.get("display_name") or username,
                        "roles": list(me.roles), "scope": list(me.scope)},
               "signed_in_online_at": now.isoformat(), "failures": 0, "locked_until": None,
               "ticket": sealed, "ticket_expires": expires}
        with self._journal.write() as conn:
            _note_clock(conn, now)
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

    def verify(self, pin: str, *, username: str | None = None, badge: str | None = None) -> "Unlocked":
        """The user whose kept PIN this is, with their offline ticket; SignInRefused when unknown, expired,
        paused or wrong."""
        if (username is None) == (badge is None):
            raise ValueError("give exactly one of username and badge")
        if self.valid_for <= timedelta(0):
            raise SignInRefused("offline sign-in is switched off on this workstation; connect to sign in")
        key = signin_verifiers.c.username == username if username is not None else signin_verifiers.c.badge == badge
        with self._journal.read() as conn:
            row = conn.execute(select(signin_verifiers).where(key)).mappings().first()
            latest = _clock_high_water(conn)
        local_key = self._local_key()
        if row is None or not _made_with(row["verifier"], local_key):
            # A verifier made with another key (a journal copied here, a keyring reset) cannot be checked.
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
        ticket = _open(local_key, row["verifier"], pin, row["ticket"])
        right = ticket is not _WRONG
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
        if ticket is not None and row["ticket_expires"] and datetime.fromisoformat(row["ticket_expires"]) <= now:
            ticket = None  # the server would refuse it; work then goes out after an online sign-in
        user = row["user"]
        person = SignedIn(row["username"], user.get("display_name") or row["username"], list(user.get("roles", [])),
                          user.get("id"), online=False, scope=list(user.get("scope", [])))
        return Unlocked(person, ticket)

    def profile(self, username: str) -> SignedIn | None:
        """Who the user was at their last online sign-in here (not a proof of identity), or None."""
        with self._journal.read() as conn:
            row = conn.execute(select(signin_verifiers.c.user)
                               .where(signin_verifiers.c.username == username)).first()
        if row is None:
            return None
        return SignedIn(username, row.user.get("display_name") or username, list(row.user.get("roles", [])),
                        row.user.get("id"), online=False, scope=list(row.user.get("scope", [])))

    def _refuse_while_paused(self, locked_until: str | None, now: datetime) -> None:
        if locked_until is None:
            return
        wait = datetime.fromisoformat(locked_until) - now
        if wait > timedelta(0):
            raise SignInRefused(f"too many wrong PINs; try again in {_seconds(wait)} s",
                                retry_after=wait.total_seconds())


@dataclass(frozen=True)
class Unlocked:
    """An offline sign-in that went through: who, and the ticket it opened (None when there is none or it expired)."""

    person: "SignedIn"
    ticket: str | None = field(repr=False)


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


_SCHEME = "hs1"  # scrypt of the PIN, HMAC-SHA256 with the device's local key
_WRONG = object()


def _stretch(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)


def _key_id(local_key: bytes) -> str:
    # Names the key a verifier was made with (8 bytes of its hash), so a verifier made on
    # another machine reads as unknown here rather than as a wrong PIN.
    return hashlib.sha256(b"floorhand verifier key\0" + local_key).hexdigest()[:16]


def _keystream(local_key: bytes, stretched: bytes, length: int) -> bytes:
    # HKDF-Expand (RFC 5869) with SHA-256: a pad as long as the ticket, unique to this
    # verifier's salt, so the XOR below hides the ticket like a one-time pad.
    out, block, counter = b"", b"", 1
    prk = hmac.new(local_key, stretched, hashlib.sha256).digest()
    while len(out) < length:
        block = hmac.new(prk, block + b"floorhand offline ticket" + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _seal(local_key: bytes, pin: str, ticket: str | None) -> tuple[str, str | None]:
    """(verifier, sealed ticket or None); the parameters travel with the verifier so they can be raised later."""
    if not pin:
        raise ValueError("an empty PIN cannot be kept for offline sign-in")
    salt = secrets.token_bytes(16)
    stretched = _stretch(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    mac = hmac.new(local_key, b"verify" + stretched, hashlib.sha256).digest()
    verifier = f"{_SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_key_id(local_key)}${_b64(mac)}"
    sealed = None
    if ticket:
        raw = ticket.encode("utf-8")
        sealed = _b64(bytes(a ^ b for a, b in zip(raw, _keystream(local_key, stretched, len(raw)))))
    return verifier, sealed


def _made_with(verifier: str, local_key: bytes) -> bool:
    parts = verifier.split("$")
    return len(parts) == 7 and parts[0] == _SCHEME and parts[5] == _key_id(local_key)


def _open(local_key: bytes, verifier: str, pin: str, sealed: str | None):
    """The ticket (or None when none was kept) if the PIN is right; _WRONG otherwise."""
    _scheme, n, r, p, salt, _key, mac = verifier.split("$")
    stretched = _stretch(pin, base64.b64decode(salt), int(n), int(r), int(p))
    expected = hmac.new(local_key, b"verify" + stretched, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, base64.b64decode(mac)):
        return _WRONG
    if not sealed:
        return None
    raw = base64.b64decode(sealed)
    return bytes(a ^ b for a, b in zip(raw, _keystream(local_key, stretched, len(raw)))).decode("utf-8")


class DeviceNotUsable(Exception):
    """This data folder cannot speak for its device here (copied, moved, credential lost); str() says what to do."""

    def __init__(self, problem: DeviceProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class SignIn:
    """Online and offline sign-ins of one shared workstation, and who owns the session with the order API.

    The API client's session changes hands only when a sign-in has fully succeeded: a
    colleague's wrong PIN during a switch leaves the current person's session as it was.
    Sessions that end (a switch, a sign-out) are revoked on the server by end_sessions(),
    which the caller runs in the background.
    """

    def __init__(self, api: OrderApi, device: Device, verifiers: PinVerifiers, *, device_name: str | None = None,
                 app_version: str | None = None) -> None:
        self._api, self._device, self._verifiers = api, device, verifiers
        self._device_name, self._app_version = device_name or None, app_version
        self._ended: list[Tokens] = []
        self._ended_lock = threading.Lock()
        # The sync engine's set_scope: the replica shows exactly the new person's data before the
        # session changes hands (ClientCore wires it; without it the replica is not touched).
        self.scope_hook: Callable[[list[str]], object] | None = None

    def prepare(self) -> None:
        """Read the device's secrets (the OS keyring: call it off the UI thread) and arm the API client."""
        self._api.device = self._device.credential()

    def online(self, *, username: str | None = None, badge: str | None = None, pin: str | None = None,
               password: str | None = None) -> SignedIn:
        """Sign in through the order API; registers the device on its first sign-in; keeps an offline verifier
        and ticket with a PIN.

        Raises the order API client's errors (AuthRequired for a wrong PIN, Offline, DeviceRefused, ...)
        and DeviceNotUsable.
        """
        self._usable()
        self.prepare()
        answer = self._api.request_tokens(device_id=self._device.device_id, username=username, badge=badge, pin=pin,
                                          password=password, device_name=self._device_name,
                                          app_version=self._app_version)
        if answer.device_secret:
            self._device.registered(answer.device_secret)
            self.prepare()
        try:
            me = self._api.me(answer.tokens)
        except ApiError:
            self._end_quietly(answer.tokens)  # a half sign-in leaves no live session behind
            raise
        name = me.user["username"]
        try:
            if pin:
                self._verifiers.remember(me, pin, answer.offline_ticket, answer.ticket_expires_in)
            self._hand_over(name, answer.tokens, answer.offline_ticket, list(me.scope))
        except BaseException:
            self._end_quietly(answer.tokens)  # nothing changed hands: the new session must not stay live
            raise
        return SignedIn(name, me.user.get("display_name") or name, list(me.roles), me.user.get("id"), online=True,
                        scope=list(me.scope))

    def offline(self, *, username: str | None = None, badge: str | None = None, pin: str) -> SignedIn:
        """Sign in without the network against the verifier of an earlier online sign-in on this device.

        The ticket it opens gets the person a session as soon as the server answers, so their
        queued work goes out without another sign-in.
        """
        self._usable()
        unlocked = self._verifiers.verify(pin, username=username, badge=badge)
        self.prepare()
        person = unlocked.person
        self._hand_over(person.username, None, unlocked.ticket, person.scope)
        if unlocked.ticket is None:
            return SignedIn(person.username, person.display_name, person.roles, person.user_id, online=False,
                            note="your work is sent after your next online sign-in", scope=person.scope)
        return person

    def sign_out(self) -> None:
        """End the session here at once; end_sessions() then ends it on the server."""
        ended = self._api.clear()
        self._remember_ended(ended)

    def end_sessions(self) -> int:
        """Revoke on the server the sessions that ended here (network: off the UI thread); returns how many went."""
        with self._ended_lock:
            ended, self._ended = self._ended, []
        done = 0
        for tokens in ended:
            done += self._end_quietly(tokens)
        return done

    @property
    def keyring_note(self) -> str | None:
        """One plain sentence for people when the device's secrets are not in a secure store; None when they are."""
        return None if self._device.secrets_in_keyring else PLAIN_NO_KEYRING

    def _usable(self) -> None:
        problem = self._device.problem()
        if problem is not None:
            raise DeviceNotUsable(problem)

    def _hand_over(self, owner: str, tokens: Tokens | None, ticket: str | None, scope: list[str]) -> None:
        if self.scope_hook is not None and scope:
            self.scope_hook(scope)  # raises (a full disk) before anything changed hands
        previous = self._api.person
        self._api.install(owner, tokens, ticket)
        self._remember_ended(previous)

    def _remember_ended(self, person: PersonSession | None) -> None:
        if person is not None and person.tokens is not None:
            with self._ended_lock:
                self._ended.append(person.tokens)

    def _end_quietly(self, tokens: Tokens) -> bool:
        try:
            self._api.sign_out_remote(tokens)
        except ApiError as exc:
            # Not worth a person's attention: the session expires on its own (15 min access, and
            # the refresh token is never used again by this device).
            log.info("an ended session could not be revoked on the server: %s", exc)
            return False
        return True
