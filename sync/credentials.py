"""The OS keyring: which backend keeps this device's secrets, and the only place that touches them.

A device holds two secrets (ARCHITECTURE.md §8): the credential the order API issued when
the device registered, and a key made on this machine that keys the PIN verifiers and
seals the offline sign-ins kept in the journal (sync/signin.py). They live in the OS
keyring, never in the journal, the settings or a log line. The backend is chosen
explicitly instead of through keyring's entry-point discovery, which finds nothing inside
a PyInstaller bundle and could otherwise settle on a plaintext file backend.

Without a usable keyring (kiosk accounts, handhelds, a headless service) the device still
works: the secrets then live in a file beside the journal that only this OS account may
read (SECRETS_FILE). What that costs is written in the README's architecture notes: a copy
of the whole data folder carries them, so its PIN verifiers can be guessed at offline.
"""

import base64
import importlib
import json
import logging
import os
import secrets
import sys
import tempfile
from pathlib import Path
from dataclasses import dataclass, field

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError

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
        # Only for code that calls keyring.* directly; SecretStore uses choice.backend itself.
        keyring.set_keyring(choice.backend)
        log.info("device secrets are kept in %s", choice.name)
    else:
        log.warning("no usable keyring, device secrets are kept in a file only this account may read: %s",
                    choice.reason)
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
        return KeyringChoice(None, NO_KEYRING, False, "the keyring is switched off in the settings (keyring = none)")
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


SECRETS_FILE = "device-secrets.json"
KEY_BYTES = 32
PLAIN_NO_KEYRING = "This device has no secure key store, so its sign-in key is kept in a protected file. IT can " \
                   "check this with floorhand doctor."


class DeviceSecrets:
    """The credential the server issued (None before registration) and the local key; repr shows neither."""

    __slots__ = ("key", "credential")

    def __init__(self, key: bytes, credential: str | None) -> None:
        self.key, self.credential = key, credential

    @classmethod
    def new(cls) -> "DeviceSecrets":
        return cls(secrets.token_bytes(KEY_BYTES), None)

    def with_credential(self, credential: str) -> "DeviceSecrets":
        return DeviceSecrets(self.key, credential)

    def encode(self) -> str:
        return json.dumps({"key": base64.b64encode(self.key).decode("ascii"), "credential": self.credential})

    @classmethod
    def decode(cls, text: str) -> "DeviceSecrets":
        """Raises ValueError for anything that is not what encode() wrote."""
        try:
            value = json.loads(text)
            key = base64.b64decode(value["key"], validate=True)
            credential = value.get("credential")
        except (TypeError, KeyError, AttributeError, json.JSONDecodeError, base64.binascii.Error) as exc:
            raise ValueError(f"not device secrets ({type(exc).__name__})") from None
        if len(key) != KEY_BYTES or not (credential is None or isinstance(credential, str)):
            raise ValueError("not device secrets (wrong key length or credential)")
        return cls(key, credential)

    def __repr__(self) -> str:
        return f"DeviceSecrets(registered={self.credential is not None})"


class SecretStore:
    """Where this device's secrets live: the chosen keyring, or else a file only this OS account may read.

    Never raises for a keyring failure: a keyring that fails is given up for the session
    (with the reason logged and kept for `floorhand doctor`) and the file takes over, so a
    device never loses the credential it was just given.
    """

    def __init__(self, choice: KeyringChoice, folder: Path) -> None:
        self._choice = choice
        self._backend = choice.backend if choice.usable else None
        self._errors = (KeyringError, OSError, *choice.errors)
        self._file = Path(folder) / SECRETS_FILE
        self.reason: str | None = choice.reason

    @property
    def in_keyring(self) -> bool:
        """True while the keyring keeps the secrets; False when the file does."""
        return self._backend is not None

    def load(self, device_id: str, take_over: bool = True) -> DeviceSecrets | None:
        """The secrets of device_id, or None when none are kept (a new device, or a folder copied here).

        take_over: secrets found in the file while a keyring works move into the keyring
        (False for `floorhand doctor`, which writes nothing).
        """
        if self._backend is not None:
            try:
                text = self._backend.get_password(SERVICE, account(device_id))
            except self._errors as exc:
                self._failed("read", exc)
            else:
                if text:
                    return self._decoded(text, f"the keyring entry {account(device_id)}")
                moved = self._from_file(device_id)
                if moved is not None and take_over and self.save(device_id, moved) == "keyring":
                    # A keyring that appeared after the file was written takes the secrets over.
                    self._file.unlink(missing_ok=True)
                    log.info("device secrets moved from %s into %s", self._file.name, self._choice.name)
                return moved
        return self._from_file(device_id)

    def save(self, device_id: str, value: DeviceSecrets) -> str:
        """Keep the secrets; returns "keyring" or "file", where they went. Raises OSError when neither works."""
        if self._backend is not None:
            try:
                self._backend.set_password(SERVICE, account(device_id), value.encode())
            except self._errors as exc:
                self._failed("keep", exc)
            else:
                return "keyring"
        self._write_file(device_id, value)
        return "file"

    def _from_file(self, device_id: str) -> DeviceSecrets | None:
        try:
            text = self._file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            stored = json.loads(text)
        except json.JSONDecodeError:
            log.error("%s is damaged and cannot be read; the device needs a recovery code", self._file)
            return None
        if not isinstance(stored, dict) or stored.get("device_id") != device_id:
            log.warning("%s belongs to another device; it is not used", self._file)
            return None
        return self._decoded(json.dumps(stored.get("secrets")), str(self._file))

    def _write_file(self, device_id: str, value: DeviceSecrets) -> None:
        # Written whole and renamed over the old file, readable by this OS account only.
        text = json.dumps({"device_id": device_id, "secrets": json.loads(value.encode())})
        fd, tmp = tempfile.mkstemp(dir=self._file.parent, prefix=".device-secrets-")
        try:
            os.chmod(tmp, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @staticmethod
    def _decoded(text: str, where: str) -> DeviceSecrets | None:
        try:
            return DeviceSecrets.decode(text)
        except ValueError as exc:
            log.error("%s cannot be read (%s); the device needs a recovery code", where, exc)
            return None

    def _failed(self, what: str, exc: BaseException) -> None:
        detail = str(exc) or type(exc).__name__
        self.reason = f"the keyring {self._choice.name} failed ({detail})"
        self._backend = None  # for the rest of the session: the file takes over
        log.warning("cannot %s the device secrets in the keyring: %s; a protected file is used instead",
                    what, self.reason)

    def __repr__(self) -> str:
        return f"SecretStore({self._choice.name}, in_keyring={self.in_keyring})"


def account(device_id: str) -> str:
    """The keyring entry name of one device's secrets."""
    return f"device:{device_id}"
