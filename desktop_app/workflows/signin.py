"""Signing a person in at the workstation: online when the order API answers, else with the kept PIN verifier.

Both paths hash a PIN (scrypt) and the online one talks to the network: run sign_in() off
the UI thread.
"""

import logging

from sync.api import ApiError, AuthRequired, BadResponse, Offline, RequestRefused, ServerBusy
from sync.signin import SignedIn, SignIn, SignInRefused
from sync.store.database import WriteFailed

log = logging.getLogger(__name__)


class SignInFailed(Exception):
    """A sign-in that did not go through; str() is what the person reads."""


def sign_in(signin: SignIn, *, pin: str, username: str | None = None, badge: str | None = None) -> SignedIn:
    """Who is now signed in; SignInFailed with a message for people otherwise."""
    if not pin:
        raise SignInFailed("Enter your PIN.")
    if not username and not badge:
        raise SignInFailed("Type your name or scan your badge.")
    who = {"badge": badge} if badge else {"username": username.strip().lower()}
    try:
        return _sign_in(signin, pin, who)
    except WriteFailed as exc:  # the PIN verifier or the throttle count could not be kept
        raise SignInFailed(f"Cannot sign in: {exc}. Call IT.") from exc


def _sign_in(signin: SignIn, pin: str, who: dict) -> SignedIn:
    try:
        return signin.online(pin=pin, **who)
    except (Offline, ServerBusy) as exc:
        # The server is out of reach: people who signed in here before can keep working
        # (ARCHITECTURE.md §6); their work is queued and sent after the next online sign-in.
        log.info("signing in offline: %s", exc)
        try:
            return signin.offline(pin=pin, **who)
        except SignInRefused as refused:
            raise SignInFailed(f"The server is out of reach, and {refused.reason}.") from refused
    except AuthRequired as exc:
        raise SignInFailed("Wrong PIN, or this name or badge is not known.") from exc
    except RequestRefused as exc:
        raise SignInFailed(exc.message) from exc
    except BadResponse as exc:
        raise SignInFailed(f"The server gave an answer this app cannot read: {exc}") from exc
    except ApiError as exc:
        raise SignInFailed(str(exc)) from exc
