"""Choosing the keyring backend and keeping refresh tokens in it, and nowhere else."""

import logging
import sys
import types

import keyring.core
import pytest

from sync.api import OrderApi
from sync.credentials import SERVICE, TokenVault, account, choose_keyring
from sync.signin import PinVerifiers, SignIn
from sync.store.database import LocalStore
from tests.sync.memory_keyring import MemoryKeyring

MEMORY = "tests.sync.memory_keyring.MemoryKeyring"
SERVER = "https://orders.example.test"
TOKEN = "refresh-7f3a9c1e-secret"


@pytest.fixture(autouse=True)
def own_keyring_global(monkeypatch):
    """choose_keyring sets keyring's process-wide backend; each test starts and ends without one."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)


def test_a_named_backend_is_chosen_and_made_keyrings_default():
    choice = choose_keyring(MEMORY)
    assert choice.usable and choice.reason is None and choice.name == MEMORY
    assert isinstance(choice.backend, MemoryKeyring) and keyring.get_keyring() is choice.backend


def test_save_load_forget_one_entry_per_server_and_user():
    choice = choose_keyring(MEMORY)
    vault = TokenVault(choice)
    assert vault.save(SERVER, "anna", TOKEN)
    vault.save(SERVER, "ben", "ben-token")
    vault.save("https://other.example.test/", "anna", "other-token")
    assert choice.backend.secrets[(SERVICE, account(SERVER, "anna"))] == TOKEN
    assert SERVICE == "floorhand" and account(SERVER + "/", "anna") == "anna@https://orders.example.test"
    assert (vault.load(SERVER, "anna"), vault.load(SERVER, "ben")) == (TOKEN, "ben-token")
    vault.save(SERVER, "anna", "rotated")
    assert vault.load(SERVER, "anna") == "rotated"
    vault.forget(SERVER, "anna")
    vault.forget(SERVER, "anna")  # nothing left to forget is not an error
    assert vault.load(SERVER, "anna") is None and vault.load(SERVER, "ben") == "ben-token"
    assert vault.usable and vault.reason is None


def test_none_switches_keeping_off_and_leaves_keyring_alone():
    choice = choose_keyring("None")
    vault = TokenVault(choice)
    assert not choice.usable and choice.backend is None and "switched off" in choice.reason
    assert vault.save(SERVER, "anna", TOKEN) is False and vault.load(SERVER, "anna") is None
    vault.forget(SERVER, "anna")
    assert not vault.usable and vault.reason == choice.reason
    assert keyring.core._keyring_backend is None


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


def test_a_keyring_failing_at_run_time_never_reaches_the_caller_and_the_token_stays_out_of_the_log(caplog):
    caplog.set_level(logging.DEBUG)
    choice = choose_keyring("tests.sync.memory_keyring.LockedKeyring")
    assert choice.usable  # it looked fine at start
    vault = TokenVault(choice)
    assert vault.save(SERVER, "anna", TOKEN) is False
    assert not vault.usable and "Failed to unlock" in vault.reason
    assert vault.load(SERVER, "anna") is None
    vault.forget(SERVER, "anna")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all("anna" in r.getMessage() for r in warnings)
    assert TOKEN not in caplog.text


def test_tokens_and_pins_reach_neither_the_local_files_nor_the_log(tmp_path, caplog):
    from order_api.models import User
    from order_api.security import hash_secret
    from order_api.server import start_in_thread
    from order_api.settings import ServerSettings

    pin = "739164"
    caplog.set_level(logging.DEBUG)
    server = start_in_thread(ServerSettings(db_url=f"sqlite:///{tmp_path}/api.db", blob_store=f"fs:{tmp_path}/blobs"))
    store = LocalStore.open(tmp_path / "client")
    try:
        with server.app.state.ctx.db.write() as s:
            s.add(User(username="anna", display_name="Anna", roles="picker", badge="U0001",
                       pin_hash=hash_secret(pin)))
        choice = choose_keyring(MEMORY)
        issued = []

        def on_tokens(tokens):
            issued.append(tokens)
            signin.store_rotated(tokens)

        with OrderApi(server.url, timeout=10.0, on_tokens=on_tokens) as api:
            signin = SignIn(api, TokenVault(choice), PinVerifiers(store.journal), "dock-3", server.url)
            signin.online(badge="U0001", pin=pin)
            api.refresh()
            assert signin.offline(username="anna", pin=pin).username == "anna"
            assert api.me().user["username"] == "anna"
    finally:
        store.close()
        server.stop()
    assert len(issued) == 3  # sign-in, refresh, and the refresh of the session taken up offline
    assert choice.backend.secrets[(SERVICE, account(server.url, "anna"))] == issued[-1].refresh_token
    secrets = [pin] + [t.refresh_token for t in issued] + [t.access_token for t in issued]
    files = [p for p in (tmp_path / "client").rglob("*") if p.is_file()]
    assert any(p.name.startswith("journal") for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{secret[:3]}... found in {path.name}"
    for secret in secrets:
        assert secret not in caplog.text
