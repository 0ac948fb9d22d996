"""Keyring backends for tests: one that keeps secrets in memory, and ones that fail the way OS keyrings do."""

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, NoKeyringError, PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """An OS keyring stand-in that keeps secrets in a dict; set `priority` on the class to test the checks."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

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
