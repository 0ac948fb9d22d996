"""The sign-in throttle: guessing a PIN is slow, yet nobody can lock a person out of her own stations.

Attempts count in buckets kept in the database (table signin_throttle), so every server
process shares them:

- the person's bucket, keyed by the resolved account whatever form was typed (username
  or badge): `person:<id>|device:<device>` when the request carries a valid credential of
  a device on which this person has signed in before, `person:<id>|untrusted` otherwise
  (OWASP's "device cookie" idea: guesses from elsewhere never lock the stations she uses);
  `unknown:<name as typed>` for accounts that do not exist;
- for untrusted attempts only, the client address `addr:<ip>`, with a much larger budget
  per time window, so that guessing across many accounts from one place runs dry.

A person's bucket lets `login_attempts` failures through; each further one locks it for
`login_lock_base_s * 2**(failures - login_attempts)` s, at most `login_lock_max_s`. A
success resets it; failures are forgotten after `login_forget_s` without one.

`reserve` runs before the PIN is hashed, in one write transaction that locks the bucket
rows (PostgreSQL: INSERT ... ON CONFLICT DO NOTHING, then SELECT ... FOR UPDATE; SQLite:
the writer's BEGIN IMMEDIATE), and counts the attempt as in flight; `release` ends it and
counts the outcome. So parallel guesses never get more PIN checks than the budget.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from order_api.db import Database
from order_api.errors import ApiError
from order_api.models import SignInThrottle
from order_api.models.base import aware, utcnow
from order_api.settings import ServerSettings

# An attempt still "in flight" after this long belongs to a worker that was killed.
ABANDONED_AFTER = timedelta(seconds=60)
# Refused because other attempts of the bucket are being checked right now: ask again soon.
_BUSY_S = 1


@dataclass(frozen=True)
class Attempt:
    """The buckets one sign-in attempt counts in."""

    person: str
    address: str | None  # None for a trusted source, which the address budget ignores

    @property
    def keys(self) -> list[str]:
        return sorted(k for k in (self.person, self.address) if k)


def attempt_of(user_id: int | None, typed: str, device_id: str, trusted: bool, address: str) -> Attempt:
    """The buckets of an attempt for this account (None: unknown, as typed) from this source."""
    if user_id is None:
        person = f"unknown:{typed.lower()}"
    else:
        person = f"person:{user_id}|" + (f"device:{device_id}" if trusted else "untrusted")
    return Attempt(person=person[:200], address=None if trusted else f"addr:{address}"[:200])


def reserve(db: Database, settings: ServerSettings, attempt: Attempt) -> None:
    """Count the attempt as in flight, or answer 429 when its buckets allow no check now."""
    now = utcnow()
    with db.write() as s:
        rows = _locked(s, db.is_sqlite, attempt.keys, now)
        waits = [_person_wait(rows[attempt.person], settings, now)]
        if attempt.address:
            waits.append(_address_wait(rows[attempt.address], settings, now))
        wait = max(waits)
        if not wait:
            for row in rows.values():
                row.in_flight += 1
                row.in_flight_since = now
    if wait:
        raise ApiError(429, "rate_limited", "Too many failed sign-ins; wait before trying again.",
                       {"retry_after": wait}, headers={"Retry-After": str(wait)})


def release(db: Database, settings: ServerSettings, attempt: Attempt, succeeded: bool | None) -> None:
    """End a reserved attempt: count a failure (False), reset the person's bucket (True), or neither (None)."""
    now = utcnow()
    with db.write() as s:
        rows = _locked(s, db.is_sqlite, attempt.keys, now)
        for row in rows.values():
            row.in_flight = max(0, row.in_flight - 1)
        person = rows[attempt.person]
        if succeeded:
            person.failures, person.locked_until, person.last_failure = 0, None, None
        elif succeeded is False:
            person.failures += 1
            person.last_failure = now
            over = person.failures - settings.login_attempts
            if over >= 0:
                lock = min(settings.login_lock_max_s, settings.login_lock_base_s * 2 ** min(over, 40))
                person.locked_until = now + timedelta(seconds=lock)
            if attempt.address:
                rows[attempt.address].failures += 1
                rows[attempt.address].last_failure = now


def _locked(s: Session, is_sqlite: bool, keys: list[str], now: datetime) -> dict[str, SignInThrottle]:
    """The bucket rows of keys, created when missing, locked until the transaction ends."""
    insert = sqlite.insert if is_sqlite else postgresql.insert
    s.execute(insert(SignInThrottle).values([
        {"key": k, "failures": 0, "in_flight": 0, "window_start": now} for k in keys
    ]).on_conflict_do_nothing(index_elements=["key"]))
    rows = s.execute(
        select(SignInThrottle).where(SignInThrottle.key.in_(keys)).order_by(SignInThrottle.key)
        .with_for_update().execution_options(populate_existing=True)
    ).scalars()
    found = {row.key: row for row in rows}
    for row in found.values():
        if row.in_flight and (row.in_flight_since is None or aware(row.in_flight_since) <= now - ABANDONED_AFTER):
            row.in_flight = 0
    return found


def _person_wait(row: SignInThrottle, settings: ServerSettings, now: datetime) -> int:
    """Seconds until this person's bucket allows a check; 0 when it allows one now."""
    if row.last_failure is not None and aware(row.last_failure) <= now - timedelta(seconds=settings.login_forget_s):
        row.failures, row.locked_until, row.last_failure = 0, None, None
    if row.locked_until is not None and aware(row.locked_until) > now:
        return _seconds(aware(row.locked_until) - now)
    if row.failures < settings.login_attempts:
        # Within the budget: as many checks at once as failures are left, no more.
        return _BUSY_S if row.failures + row.in_flight >= settings.login_attempts else 0
    # Past the budget and unlocked: one check at a time, so each failure locks before the next.
    return _BUSY_S if row.in_flight else 0


def _address_wait(row: SignInThrottle, settings: ServerSettings, now: datetime) -> int:
    """Seconds until untrusted attempts from this address may be checked; 0 now."""
    window = timedelta(seconds=settings.login_address_window_s)
    if aware(row.window_start) <= now - window:
        row.failures, row.window_start = 0, now
    if row.failures + row.in_flight < settings.login_address_attempts:
        return 0
    if row.failures < settings.login_address_attempts:
        return _BUSY_S
    return _seconds(aware(row.window_start) + window - now)


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))
