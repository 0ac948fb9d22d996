"""This device: its id, the credential the order API issued it, its local key, and whether the data folder still belongs here.

A data folder registers once, at its first online sign-in, and from then on every call to
the order API carries the credential it got (ARCHITECTURE.md §8). The credential and the
local key live in the OS keyring (sync/credentials.py); the journal only notes that the
folder was registered and on which machine. A folder that was copied or moved to another
machine, or whose keyring was reset, no longer has a usable credential: it says so and
waits for a supervisor's recovery code, so two machines never push one device's queue.

Reading the keyring may block on the OS (D-Bus, an unlock prompt): nothing here touches it
before the first call that needs it, which runs on a worker thread, never the UI thread.
"""

import hashlib
import logging
import platform
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select

from sync.credentials import DeviceSecrets, KeyringChoice, SecretStore, choose_keyring
from sync.store.database import SqliteFile
from sync.store.schema import sync_state

log = logging.getLogger(__name__)

_REGISTERED = "device_registered_at"
_MACHINE = "device_machine"


@dataclass(frozen=True)
class DeviceCredential:
    """What every call to the order API carries to say which device it comes from; repr hides the secret."""

    device_id: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class DeviceProblem:
    """Why this data folder cannot speak for its device here, and what to do (for people and for doctor)."""

    code: str  # "moved" (another machine's folder) or "lost" (the credential is gone)
    message: str
    fix: str


def read_machine_id() -> str:
    """Something stable that tells this machine from another (the OS installation's id where there is one)."""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(path, encoding="ascii") as f:
                value = f.read().strip()
        except OSError:
            continue
        if value:
            return value
    if sys.platform == "win32":
        try:
            import winreg

            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography") as key:
                return str(winreg.QueryValueEx(key, "MachineGuid")[0])
        except OSError:
            pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["ioreg", "-rd1", "-c", "IOPlatformExpertDevice"], capture_output=True, text=True,
                                 timeout=5).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for line in out.splitlines():
            if "IOPlatformUUID" in line:
                return line.rsplit("=", 1)[-1].strip().strip('"')
    return f"{platform.node()}/{uuid.getnode():012x}"


class Device:
    """The identity of one data folder towards the order API."""

    def __init__(self, journal: SqliteFile, device_id: str, store: Callable[[], SecretStore], *,
                 machine_id: Callable[[], str] = read_machine_id) -> None:
        self._journal, self.device_id = journal, device_id
        self._make_store, self._machine_id = store, machine_id
        self._lock = threading.Lock()
        self._store: SecretStore | None = None
        self._secrets: DeviceSecrets | None = None

    @classmethod
    def of(cls, journal: SqliteFile, device_id: str, folder, keyring: str | None,
           machine_id: Callable[[], str] = read_machine_id) -> "Device":
        """The device of a data folder, with the keyring chosen on first use (`keyring` as in choose_keyring)."""
        def store() -> SecretStore:
            choice: KeyringChoice = choose_keyring(keyring)
            return SecretStore(choice, folder)

        return cls(journal, device_id, store, machine_id=machine_id)

    # --- secrets (first call reads the keyring: worker threads only) ---------------------------

    def _loaded(self) -> DeviceSecrets:
        with self._lock:
            if self._secrets is None:
                if self._store is None:
                    self._store = self._make_store()
                found = self._store.load(self.device_id)
                if found is None:
                    found = DeviceSecrets.new()
                    self._store.save(self.device_id, found)
                    log.info("new local key for device %s", self.device_id)
                self._secrets = found
            return self._secrets

    def local_key(self) -> bytes:
        """The key made on this machine that keys PIN verifiers and seals offline sign-ins."""
        return self._loaded().key

    def credential(self) -> DeviceCredential | None:
        """What calls to the order API carry; None before registration or while there is a problem()."""
        secrets = self._loaded()
        if secrets.credential is None or self.problem() is not None:
            return None
        return DeviceCredential(self.device_id, secrets.credential)

    def registered(self, credential: str) -> None:
        """The order API registered this device (or a recovery code gave it a new credential): keep it."""
        secrets = self._loaded().with_credential(credential)
        with self._lock:
            where = self._store.save(self.device_id, secrets)
            self._secrets = secrets
        with self._journal.write() as conn:
            _set(conn, _REGISTERED, datetime.now(timezone.utc).isoformat())
            _set(conn, _MACHINE, self._machine_hash())
        log.info("device %s registered; its credential is kept in the %s", self.device_id, where)

    @property
    def secrets_in_keyring(self) -> bool:
        """False when the secrets live in the protected file (no usable keyring)."""
        self._loaded()
        return self._store.in_keyring

    @property
    def keyring_reason(self) -> str | None:
        """The technical reason there is no usable keyring (for the log and doctor), or None."""
        self._loaded()
        return None if self._store.in_keyring else self._store.reason

    # --- is this folder still this device? ---------------------------------------------------

    def problem(self) -> DeviceProblem | None:
        """Why this folder cannot speak for its device on this machine; None when it can (or never registered)."""
        with self._journal.read() as conn:
            registered = _get(conn, _REGISTERED)
            machine = _get(conn, _MACHINE)
        if registered is None:
            return None
        return self.diagnose(machine, self._loaded())

    def diagnose(self, machine: str | None, secrets: DeviceSecrets | None) -> DeviceProblem | None:
        """The problem of a registered folder whose journal names `machine` and whose secrets are these (or none).

        Reads nothing itself, so `floorhand doctor` asks the same question without writing anything.
        """
        fix = ("A supervisor makes a recovery code for this device (Devices, or the server's devices API); then run "
               f"`floorhand device recover --code CODE` here. The {self.device_id} queue is kept. If the original "
               "machine still works, this is a copy: remove this data folder instead.")
        if machine is not None and machine != self._machine_hash():
            return DeviceProblem("moved", "This data folder was set up on another machine (it was copied or moved "
                                          "here), so it cannot send work as that device.", fix)
        if secrets is None or secrets.credential is None:
            return DeviceProblem("lost", "This device's credential is missing (its key store was reset or "
                                         "replaced), so it cannot send work.", fix)
        return None

    def _machine_hash(self) -> str:
        # Salted with the device id: the journal never holds the machine's id itself.
        return hashlib.sha256(f"{self.device_id}\0{self._machine_id()}".encode()).hexdigest()[:32]


def _get(conn, key: str) -> str | None:
    return conn.execute(select(sync_state.c.value).where(sync_state.c.key == key)).scalar()


def _set(conn, key: str, value: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value))
