"""Choosing the keyring backend and keeping the device's secrets in it (or a private file), and nowhere else."""

import logging
import sys
import types

import keyring.core
import pytest

from sync.credentials import SECRETS_FILE, SERVICE, DeviceSecrets, SecretStore, account, choose_keyring
from sync.store.database import LocalStore
from tests.sync.memory_keyring import MemoryKeyring

MEMORY = "tests.sync.memory_keyring.MemoryKeyring"
DEVICE = "fh-1234"
CREDENTIAL = "device-credential-7f3a9c1e-secret"


@pytest.fixture(autouse=True)
def own_keyring_global(monkeypatch):
    """choose_keyring sets keyring's process-wide backend; each test starts and ends without one."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)


def test_a_named_backend_is_chosen_and_made_keyrings_default():
    choice = choose_keyring(MEMORY)
    assert choice.usable and choice.reason is None and choice.name == MEMORY
    assert isinstance(choice.backend, MemoryKeyring) and keyring.get_keyring() is choice.backend


def test_the_secrets_live_in_one_keyring_entry_per_device_and_nowhere_else(tmp_path):
    choice = choose_keyring(MEMORY)
    store = SecretStore(choice, tmp_path)
    assert store.load(DEVICE) is None
    secrets = DeviceSecrets.new().with_credential(CREDENTIAL)
    assert store.save(DEVICE, secrets) == "keyring" and store.in_keyring
    assert SERVICE == "floorhand" and account(DEVICE) == f"device:{DEVICE}"
    assert CREDENTIAL in choice.backend.secrets[(SERVICE, account(DEVICE))]
    loaded = store.load(DEVICE)
    assert (loaded.key, loaded.credential) == (secrets.key, CREDENTIAL)
    assert not (tmp_path / SECRETS_FILE).exists()
    assert CREDENTIAL not in repr(loaded) and CREDENTIAL not in repr(store)


def test_none_keeps_the_secrets_in_a_file_only_this_account_may_read(tmp_path):
    choice = choose_keyring("None")
    store = SecretStore(choice, tmp_path)
    assert not choice.usable and choice.backend is None and "switched off" in choice.reason
    assert store.save(DEVICE, DeviceSecrets.new().with_credential(CREDENTIAL)) == "file"
    assert (tmp_path / SECRETS_FILE).stat().st_mode & 0o777 == 0o600
    assert store.load(DEVICE).credential == CREDENTIAL
    assert store.load("fh-other") is None  # a file of another device is not used
    assert keyring.core._keyring_backend is None


def test_a_keyring_that_appears_later_takes_the_secrets_over_from_the_file(tmp_path):
    SecretStore(choose_keyring("none"), tmp_path).save(DEVICE, DeviceSecrets.new().with_credential(CREDENTIAL))
    choice = choose_keyring(MEMORY)
    assert SecretStore(choice, tmp_path).load(DEVICE).credential == CREDENTIAL
    assert not (tmp_path / SECRETS_FILE).exists()
    assert CREDENTIAL in choice.backend.secrets[(SERVICE, account(DEVICE))]


def test_a_damaged_secrets_file_reads_as_no_secrets_with_the_reason_logged(tmp_path, caplog):
    (tmp_path / SECRETS_FILE).write_text("{not json")
    assert SecretStore(choose_keyring("none"), tmp_path).load(DEVICE) is None
    assert "damaged" in caplog.text


def test_a_keyring_service_that_is_not_running_is_unusable_with_its_reason():
    choice = choose_keyring("tests.sync.memory_keyring.AbsentKeyring")
    assert not choice.usable and "no Secret Service on the D-Bus session bus" in choice.reason
    assert keyring.core._keyring_backend is None


def test_a_backend_reporting_itself_unsuitable_is_unusable(monkeypatch):
    monkeypatch.setattr(MemoryKeyring, "priority", 0)
    choice = choose_keyring(MEMORY)
    assert not choice.usable and "unsuitable" in choice.reason


@pytest.mark.parametrize("path", ["nowhere.Keyring", "tests.sync.memory_keyring.Missing", "NoDots",
                                  "tests.sync.memory_keyring.KeyringLocked"])
def test_a_backend_that_cannot_be_loaded_is_unusable(path):
    choice = choose_keyring(path)
    assert not choice.usable and path in choice.reason


def test_plaintext_and_empty_backends_are_refused(monkeypatch):
    plaintext = types.ModuleType("keyrings.alt.file")

    class PlaintextKeyring(MemoryKeyring):
        """Stands in for keyrings.alt's file backend, which keeps secrets in a plain file."""

    PlaintextKeyring.__module__ = "keyrings.alt.file"
    plaintext.PlaintextKeyring = PlaintextKeyring
    monkeypatch.setitem(sys.modules, "keyrings.alt.file", plaintext)
    for path, why in [("keyrings.alt.file.PlaintextKeyring", "plain file"),
                      ("keyring.backends.fail.Keyring", "stores nothing"),
                      ("keyring.backends.null.Keyring", "stores nothing"),
                      ("keyring.backends.chainer.ChainerBackend", "plaintext")]:
        choice = choose_keyring(path)
        assert not choice.usable and choice.backend is None and "refused" in choice.reason and why in choice.reason
    assert keyring.core._keyring_backend is None


def test_linux_without_a_session_bus_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/nonexistent-floorhand-test")
    choice = choose_keyring()
    assert not choice.usable and choice.name == "keyring.backends.SecretService.Keyring"
    assert choice.reason.startswith("no Secret Service (GNOME Keyring/KWallet) on the D-Bus session bus")


def test_an_unknown_platform_has_no_keyring(monkeypatch):
    monkeypatch.setattr(sys, "platform", "plan9")
    choice = choose_keyring()
    assert not choice.usable and "plan9" in choice.reason


def test_a_keyring_failing_at_run_time_hands_over_to_the_file_and_the_secret_stays_out_of_the_log(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    choice = choose_keyring("tests.sync.memory_keyring.LockedKeyring")
    assert choice.usable  # it looked fine at start
    store = SecretStore(choice, tmp_path)
    assert store.save(DEVICE, DeviceSecrets.new().with_credential(CREDENTIAL)) == "file"
    assert not store.in_keyring and "Failed to unlock" in store.reason
    assert store.load(DEVICE).credential == CREDENTIAL
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and CREDENTIAL not in caplog.text


def test_tokens_pins_and_device_secrets_reach_neither_the_local_files_nor_the_log(tmp_path, caplog):
    from order_api.models import User
    from order_api.security import hash_secret
    from order_api.server import start_in_thread
    from order_api.settings import ServerSettings
    from sync.client import ClientCore

    pin = "739164"
    caplog.set_level(logging.DEBUG)
    server = start_in_thread(ServerSettings(db_url=f"sqlite:///{tmp_path}/api.db", blob_store=f"fs:{tmp_path}/blobs"))
    try:
        with server.app.state.ctx.db.write() as s:
            s.add(User(username="anna", display_name="Anna", roles="picker", badge="U0001",
                       pin_hash=hash_secret(pin)))
        core = ClientCore.open(tmp_path / "client", server.url, keyring=MEMORY)
        issued = []
        try:
            core.api.on_session(lambda person: person and person.tokens and issued.append(person.tokens))
            core.signin.online(badge="U0001", pin=pin)
            ticket = core.api.person.ticket
            core.api.refresh()
            assert core.signin.offline(username="anna", pin=pin).username == "anna"
            assert core.api.me().user["username"] == "anna"  # the ticket, redeemed
            core.engine.sync_once()
            credential = core.device.credential().secret
            core.signin.sign_out()
            core.signin.end_sessions()
        finally:
            core.close()
    finally:
        server.stop()
    assert len({t.refresh_token for t in issued}) == 3  # sign-in, refresh, and the session of the ticket
    secrets = ([pin, credential, ticket] + [t.refresh_token for t in issued] + [t.access_token for t in issued])
    files = [p for p in (tmp_path / "client").rglob("*") if p.is_file()]
    assert any(p.name.startswith("journal") for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{secret[:3]}... found in {path.name}"
    for secret in secrets:
        assert secret not in caplog.text
