"""Keyring backends for tests: one that keeps secrets in memory, and ones that fail the way OS keyrings do."""

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, NoKeyringError, PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """An OS keyring stand-in that keeps secrets in a dict; set `priority` on the class to test the checks.

    Like the keyring of one OS account, every instance in the process sees the same entries
    (a restarted app finds its device's secrets again); tests/conftest.py empties it for
    each test. OtherMachineKeyring stands for the keyring of another machine.
    """

    priority = 1
    shared: dict[tuple[str, str], str] = {}

    def __init__(self) -> None:
        super().__init__()
        self.secrets = type(self).shared

    @classmethod
    def wipe(cls) -> None:
        cls.shared.clear()

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.secrets.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


class LockedKeyring(MemoryKeyring):
    """A keyring that is there at start but refuses every operation, like a Secret Service left locked."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


class AbsentKeyring(MemoryKeyring):
    """A keyring whose service is not running: its priority check raises, as keyring's contract says."""

    @property
    def priority(self) -> float:
        raise NoKeyringError("no Secret Service on the D-Bus session bus")


class OtherMachineKeyring(MemoryKeyring):
    """The keyring of another machine: it has none of this machine's entries."""

    shared: dict[tuple[str, str], str] = {}
