"""The OS keyring: which backend holds refresh tokens, and the only place that touches them.

Refresh tokens live in the OS keyring only, never in the database, the settings or a log
line (ARCHITECTURE.md §6). The backend is chosen explicitly at start instead of through
keyring's entry-point discovery, which finds nothing inside a PyInstaller bundle and could
otherwise settle on a plaintext file backend. Without a usable keyring the client still
works; people then sign in every session, and the reason is there to show them.
"""

import importlib
import logging
import sys
from dataclasses import dataclass, field

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, PasswordDeleteError

log = logging.getLogger(__name__)

SERVICE = "floorhand"
NO_KEYRING = "none"
PROBE_ACCOUNT = "floorhand-doctor-probe"  # read by probe_keyring, never written

# keyrings.alt keeps secrets in files next to the settings; fail and null store nothing;
# chainer tries whatever backends it finds at run time, plaintext ones included.
_REFUSED_MODULES = {
    "keyrings.alt": "it keeps secrets in a plain file",
    "keyring.backends.fail": "it stores nothing",
    "keyring.backends.null": "it stores nothing",
    "keyring.backends.chainer": "it may fall back to a plaintext file backend",
}


@dataclass(frozen=True)
class KeyringChoice:
    """The keyring backend picked at start, or why there is none."""

    backend: KeyringBackend | None
    name: str
    usable: bool
    reason: str | None = None
    # What the backend's OS layer raises besides KeyringError (pywintypes.error, D-Bus errors).
    errors: tuple[type[BaseException], ...] = field(default=(), repr=False)


def choose_keyring(preferred: str | None = None) -> KeyringChoice:
    """The platform keyring, or `preferred` ("module.Class", or "none" to store nothing)."""
    choice = _pick(preferred)
    if choice.usable:
        # Only for code that calls keyring.* directly; TokenVault uses choice.backend itself.
        keyring.set_keyring(choice.backend)
        log.info("refresh tokens are kept in %s", choice.name)
    else:
        log.warning("sign-ins are not kept between sessions: %s", choice.reason)
    return choice


def probe_keyring(preferred: str | None = None) -> KeyringChoice:
    """The backend choose_keyring would pick, tried by reading an entry that never exists; nothing is written.

    For `floorhand doctor`: a backend can look fine and still fail on first use (a locked
    or absent collection, a D-Bus error). Unlike choose_keyring it changes no global state.
    """
    choice = _pick(preferred)
    if not choice.usable:
        return choice
    try:
        choice.backend.get_password(SERVICE, PROBE_ACCOUNT)
    except (KeyringError, OSError, RuntimeError, *choice.errors) as exc:
        return KeyringChoice(None, choice.name, False, f"the keyring {choice.name} cannot be read "
                                                       f"({str(exc) or type(exc).__name__})")
    return choice


def _pick(preferred: str | None) -> KeyringChoice:
    if preferred is not None and preferred.strip().lower() == NO_KEYRING:
        return KeyringChoice(None, NO_KEYRING, False, "keeping sign-ins is switched off in the settings")
    if preferred:
        return _named_backend(preferred.strip())
    return _platform_backend()


def _platform_backend() -> KeyringChoice:
    # Plain imports, one per platform, so PyInstaller's analysis bundles the module.
    if sys.platform == "win32":
        from keyring.backends import Windows

        errors = (Windows.pywintypes.error,) if hasattr(Windows, "pywintypes") else ()
        return _check(Windows.WinVaultKeyring, "the Windows Credential Manager cannot be used", errors)
    if sys.platform == "darwin":
        from keyring.backends import macOS

        return _check(macOS.Keyring, "the macOS Keychain cannot be used")
    if sys.platform.startswith("linux"):
        from keyring.backends import SecretService

        errors: tuple[type[BaseException], ...] = ()
        try:
            from jeepney.wrappers import DBusErrorResponse
            from secretstorage.exceptions import SecretStorageException
        except ImportError:
            pass  # then the backend's priority check below reports SecretStorage missing
        else:
            errors = (SecretStorageException, DBusErrorResponse)
        return _check(SecretService.Keyring,
                      "no Secret Service (GNOME Keyring/KWallet) on the D-Bus session bus", errors)
    return KeyringChoice(None, sys.platform, False, f"no supported keyring on this platform ({sys.platform})")


def _named_backend(path: str) -> KeyringChoice:
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        return KeyringChoice(None, path, False, f"keyring backend {path!r} is not a module.Class path")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        return KeyringChoice(None, path, False, f"keyring backend {path!r} cannot be loaded ({exc})")
    if not (isinstance(cls, type) and issubclass(cls, KeyringBackend)):
        return KeyringChoice(None, path, False, f"{path!r} is not a keyring backend")
    return _check(cls, f"keyring backend {path!r} cannot be used")


def _check(cls: type[KeyringBackend], problem: str,
           errors: tuple[type[BaseException], ...] = ()) -> KeyringChoice:
    name = f"{cls.__module__}.{cls.__qualname__}"
    for module, why in _REFUSED_MODULES.items():
        if cls.__module__ == module or cls.__module__.startswith(module + "."):
            return KeyringChoice(None, name, False, f"keyring backend {name} is refused: {why}")
    try:
        backend = cls()
        # keyring's contract: priority raises RuntimeError when the backend cannot work here.
        priority = backend.priority
    except (RuntimeError, ImportError, OSError, KeyringError, *errors) as exc:
        return KeyringChoice(None, name, False, f"{problem} ({exc})")
    if not priority > 0:
        return KeyringChoice(None, name, False, f"{problem} (it reports itself unsuitable here)")
    return KeyringChoice(backend, name, True, None, errors)


class TokenVault:
    """Refresh tokens in the chosen keyring, one per server and user; never raises for a keyring failure."""

    def __init__(self, choice: KeyringChoice) -> None:
        self._choice = choice
        self._backend = choice.backend if choice.usable else None
        self._errors = (KeyringError, OSError, *choice.errors)
        self.reason: str | None = choice.reason

    @property
    def usable(self) -> bool:
        return self._backend is not None

    def save(self, server_url: str, username: str, refresh_token: str) -> bool:
        """Keep the token for the next session; False (and usable turns False) when the keyring fails."""
        if self._backend is None:
            return False
        try:
            self._backend.set_password(SERVICE, account(server_url, username), refresh_token)
        except self._errors as exc:
            self._failed("keep the sign-in of", username, server_url, exc, refresh_token)
            return False
        return True

    def load(self, server_url: str, username: str) -> str | None:
        """The kept token, or None when there is none or the keyring fails."""
        if self._backend is None:
            return None
        try:
            return self._backend.get_password(SERVICE, account(server_url, username))
        except self._errors as exc:
            self._failed("read the sign-in of", username, server_url, exc)
            return None

    def forget(self, server_url: str, username: str) -> None:
        """Remove the kept token, for sign-out or a token the server refused."""
        # Tried even after an earlier failure: a token left behind after sign-out is worse
        # than a second warning in the log.
        backend = self._backend or (self._choice.backend if self._choice.usable else None)
        if backend is None:
            return
        try:
            backend.delete_password(SERVICE, account(server_url, username))
        except PasswordDeleteError:
            log.debug("no kept sign-in of %s on %s to forget", username, server_url)
        except self._errors as exc:
            self._failed("forget the sign-in of", username, server_url, exc)

    def _failed(self, what: str, username: str, server_url: str, exc: BaseException, secret: str = "") -> None:
        detail = str(exc) or type(exc).__name__
        if secret:
            detail = detail.replace(secret, "***")
        self.reason = f"the keyring {self._choice.name} failed ({detail})"
        self._backend = None  # for the rest of the session: people sign in again instead of seeing errors
        log.warning("cannot %s %s on %s: %s; sign-ins are not kept this session", what, username, server_url,
                    self.reason)

    def __repr__(self) -> str:
        return f"TokenVault({self._choice.name}, usable={self.usable})"


def account(server_url: str, username: str) -> str:
    """The keyring entry name of one user on one server."""
    return f"{username}@{server_url.rstrip('/')}"
