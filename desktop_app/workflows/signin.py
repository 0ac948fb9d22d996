"""Signing a person in at the workstation: online when the order API answers, else with the kept PIN verifier.

Both paths hash a PIN (scrypt), the online one talks to the network and the first sign-in
reads the device's secrets from the OS keyring: run sign_in() off the UI thread. What a
person reads is plain words; the technical detail goes to the log.
"""

import logging
import math

from desktop_app.i18n import translate
from sync.api import ApiError, AuthRequired, DeviceRefused, Offline, RequestRefused, ServerBusy
from sync.signin import DeviceNotUsable, SignedIn, SignIn, SignInRefused
from desktop_app.workflows.saving import write_problem
from sync.store.database import WriteFailed

log = logging.getLogger(__name__)


class SignInFailed(Exception):
    """A sign-in that did not go through; str() is what the person reads."""


def sign_in(signin: SignIn, *, pin: str, username: str | None = None, badge: str | None = None) -> SignedIn:
    """Who is now signed in; SignInFailed with a message for people otherwise.

    A failure changes nothing: whoever was signed in before still is.
    """
    if not pin:
        raise SignInFailed(translate("SignIn", "Enter your PIN."))
    if not username and not badge:
        raise SignInFailed(translate("SignIn", "Type your name or scan your badge."))
    who = {"badge": badge} if badge else {"username": username.strip().lower()}
    try:
        return _sign_in(signin, pin, who)
    except WriteFailed as exc:  # the PIN verifier or the throttle count could not be kept
        raise SignInFailed(translate("SignIn", "Cannot sign in: {problem}.").format(problem=write_problem(exc))) from exc
    except DeviceNotUsable as exc:
        log.error("sign-in refused on this device: %s %s", exc, exc.problem.fix)
        raise SignInFailed(translate("SignIn", "{problem} Call IT: they need a recovery code from a supervisor.")
                           .format(problem=exc)) from exc


def _sign_in(signin: SignIn, pin: str, who: dict) -> SignedIn:
    try:
        return signin.online(pin=pin, **who)
    except (Offline, ServerBusy) as exc:
        # The server is out of reach: people who signed in here before can keep working
        # (ARCHITECTURE.md §6); their work is sent as soon as the server answers again.
        log.info("signing in offline: %s", exc)
        try:
            return signin.offline(pin=pin, **who)
        except SignInRefused as refused:
            raise SignInFailed(translate("SignIn", "The server is out of reach, and {reason}.")
                               .format(reason=refused.reason)) from refused
    except AuthRequired as exc:
        raise SignInFailed(translate("SignIn", "Wrong PIN, or this name or badge is not known.")) from exc
    except DeviceRefused as exc:
        log.error("the order API refuses this device at sign-in (%s): %s", exc.code, exc)
        if exc.code == "device_revoked":
            raise SignInFailed(translate("SignIn", "This device was taken out of service by a supervisor. Give it "
                                               "to IT.")) from exc
        raise SignInFailed(translate("SignIn", "The server does not know this device. Call IT: they need a recovery "
                                               "code from a supervisor.")) from exc
    except RequestRefused as exc:
        if exc.code == "rate_limited":
            wait = (exc.details or {}).get("retry_after")
            if isinstance(wait, (int, float)) and wait > 0:
                raise SignInFailed(translate("SignIn", "Too many wrong PINs for this person. Try again in %n s.",
                                             None, math.ceil(wait))) from exc
            raise SignInFailed(translate("SignIn", "Too many wrong PINs for this person. Try again later.")) from exc
        log.error("sign-in refused by the server: %s (%s)", exc, exc.code)
        refused = translate("SignIn", "The server refused the sign-in: {reason}").format(reason=exc.message)
        raise SignInFailed(refused) from exc
    except ApiError as exc:
        log.error("sign-in failed: %s", exc)
        raise SignInFailed(translate("SignIn", "The server gave an answer this app cannot read. Try again; if it "
                                               "happens again, call IT.")) from exc
