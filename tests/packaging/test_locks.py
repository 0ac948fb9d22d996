"""The Windows and macOS lock files pin what requirements.lock pins (packaging/lock-platforms.sh)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)", re.MULTILINE)
# Only the Linux keyring backend needs SecretStorage, and through it cryptography.
LINUX_ONLY = {"secretstorage", "jeepney", "cryptography", "cffi", "pycparser"}


def pins(path: Path) -> dict[str, str]:
    return {name.lower(): version for name, version in PIN.findall(path.read_text())}


@pytest.mark.parametrize("platform_lock, only_there", [
    ("packaging/windows/requirements.lock", {"pywin32-ctypes", "pefile"}),
    ("packaging/macos/requirements.lock", {"macholib"}),
])
def test_platform_lock_pins_the_same_versions_as_requirements_lock(platform_lock, only_there):
    linux, other = pins(ROOT / "requirements.lock"), pins(ROOT / platform_lock)
    hint = "run packaging/lock-platforms.sh after make lock"
    assert only_there <= other.keys()
    assert linux.keys() - LINUX_ONLY - other.keys() == set(), f"{platform_lock} lacks packages: {hint}"
    differ = {name: (linux[name], other[name]) for name in linux.keys() & other.keys() if linux[name] != other[name]}
    assert not differ, f"{platform_lock} pins other versions: {hint}"
    assert (ROOT / platform_lock).read_text().count("--hash=sha256:") >= len(other)
