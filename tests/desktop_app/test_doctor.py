"""`floorhand doctor` as a real process against the real reference API over loopback, on real files."""

import datetime
import ipaddress
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from desktop_app.doctor import FAIL, PASS, WARN, clock_finding, disk_finding, probe_server
from order_api.app import create_app
from order_api.server import free_port
from order_api.settings import ServerSettings
from sync.answers import Tokens
from sync.api import AuthRequired, Offline, OrderApi
from sync.retry import RetryPolicy
from sync.store.database import JOURNAL_FILE, REPLICA_FILE, LocalStore
from sync.tls import CaBundleUnusable
from tests.integration.test_xvfb_scanning import display  # noqa: F401 - a fixture: Xvfb on a free display

MEMORY_KEYRING = "tests.sync.memory_keyring.MemoryKeyring"


def doctor(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
           unset: tuple[str, ...] = ()) -> tuple[int, dict[str, str], str]:
    """Run `floorhand doctor` without the variables in `unset`; (exit status, {check: its line}, the whole output)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOORHAND_") and k not in unset}
    run = subprocess.run([sys.executable, "-m", "desktop_app.main", "doctor", *args],
                         env={**clean, "FLOORHAND_MACHINE_CONFIG": str(tmp_path / "machine.toml"),
                              "FLOORHAND_USER_CONFIG": str(tmp_path / "user.toml"),
                              "FLOORHAND_LOG_DIR": str(tmp_path / "log"), **(env or {})},
                         capture_output=True, text=True, timeout=180)
    lines = {}
    for line in run.stdout.splitlines()[1:-1]:
        status, _, rest = line.partition("  ")
        lines[rest.split(":", 1)[0]] = line
    return run.returncode, lines, run.stdout + run.stderr


def healthy_args(tmp_path: Path, url: str) -> list[str]:
    return ["--server", url, "--data-dir", str(tmp_path / "client"), "--set", f"keyring={MEMORY_KEYRING}"]


def test_a_healthy_workstation_passes_every_check(server, tmp_path):
    store = LocalStore.open(tmp_path / "client")  # a local database as the app leaves it
    store.close()
    status, lines, output = doctor(tmp_path, *healthy_args(tmp_path, server.url))
    assert status == 0, output
    assert list(lines) == ["config", "server", "clock", "keyring", "data folder", "free disk", "local database",
                           "device", "serial ports", "qt platform", "log file"]
    for check in ("config", "server", "clock", "keyring", "data folder", "local database", "qt platform"):
        assert lines[check].startswith("PASS  "), output
    assert f"{server.url} answers as the order API" in lines["server"]
    assert "offscreen platform plugin loads" in lines["qt platform"]  # QT_QPA_PLATFORM from tests/conftest.py
    assert lines["serial ports"].startswith("INFO  serial ports: ")
    assert lines["log file"] == f"INFO  log file: {tmp_path / 'log' / 'floorhand.log'}"
    assert "FAIL" not in output and output.rstrip().endswith("No check failed.")


def test_a_server_that_is_down_fails_with_a_hint(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    status, lines, output = doctor(tmp_path, *healthy_args(tmp_path, url))
    assert status == 1
    assert lines["server"].startswith(f"FAIL  server: cannot reach {url}")
    assert "Fix: check server_url, that the server is running" in lines["server"]
    assert lines["clock"].startswith("WARN  clock: not compared")
    assert "Some checks FAILED" in output


def test_no_server_configured_fails_with_where_to_set_it(tmp_path):
    status, lines, _ = doctor(tmp_path, "--data-dir", str(tmp_path / "client"))
    assert status == 1
    assert lines["server"].startswith("FAIL  server: no server_url is set")
    assert "SERVER_URL" in lines["server"]


def test_bad_settings_fail_the_config_check(server, tmp_path):
    (tmp_path / "machine.toml").write_text("[scanner]\nmax_gap_ms = 2\nbeep = true\n")
    status, lines, _ = doctor(tmp_path, *healthy_args(tmp_path, server.url))
    assert status == 1
    assert lines["config"].startswith("FAIL  config: 2 problem(s): ")
    assert "scanner.max_gap_ms = 2 is below the minimum of 5" in lines["config"]
    assert "unknown setting 'scanner.beep'" in lines["config"]
    assert "floorhand config show" in lines["config"]


# --- TLS with a company's own CA --------------------------------------------------------

@pytest.fixture
def tls_server(tmp_path):
    """The reference API over HTTPS on loopback with a self-signed certificate; yields (url, its PEM file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Floorhand test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    app = create_app(ServerSettings(db_url=f"sqlite:///{tmp_path}/tls.db", blob_store=f"fs:{tmp_path}/blobs",
                                    public_url=url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           ssl_certfile=str(cert_file), ssl_keyfile=str(key_file)))
    thread = threading.Thread(target=server.run, name="order-api-tls", daemon=True)
    thread.start()
    started = threading.Event()
    while thread.is_alive() and not server.started:
        started.wait(0.02)
    assert server.started, "the HTTPS order API did not start"
    yield url, cert_file
    server.should_exit = True
    thread.join(timeout=15)
    app.state.ctx.db.dispose()


def test_a_self_signed_server_fails_without_the_ca_bundle_and_passes_with_it(tls_server, tmp_path):
    url, ca = tls_server
    status, lines, output = doctor(tmp_path, *healthy_args(tmp_path, url))
    assert status == 1, output
    assert lines["server"].startswith(f"FAIL  server: {url}: the TLS certificate is not trusted")
    assert "set ca_bundle to its PEM file" in lines["server"]

    status, lines, output = doctor(tmp_path, *healthy_args(tmp_path, url), "--set", f"ca_bundle={ca}")
    assert status == 0, output
    assert lines["server"] == f"PASS  server: {url} answers as the order API; TLS certificate trusted (CA bundle {ca})"
    assert lines["clock"].startswith("PASS  clock: within 120 s of the server")


def test_a_missing_ca_bundle_file_fails_with_a_hint(tmp_path):
    status, lines, _ = doctor(tmp_path, *healthy_args(tmp_path, "https://127.0.0.1:9"),
                              env={"FLOORHAND_CA_BUNDLE": str(tmp_path / "no-such.pem")})
    assert status == 1
    assert lines["server"].startswith(f"FAIL  server: the CA bundle {tmp_path / 'no-such.pem'} cannot be used")


# --- the doctor and the sync client judge TLS alike (both connect through sync.tls) ----

def _client(url: str, ca_bundle: str | None) -> OrderApi:
    return OrderApi(url, ca_bundle=ca_bundle, retry=RetryPolicy(attempts=1))


@pytest.mark.parametrize("bundle", ["missing", "not a certificate", "a folder"])
def test_a_ca_bundle_the_client_cannot_use_fails_the_doctor_for_the_same_reason(tmp_path, bundle):
    path = tmp_path / "company-ca.pem"
    if bundle == "not a certificate":
        path.write_text("-----BEGIN NOTHING-----\nnot a certificate\n")
    elif bundle == "a folder":
        path.mkdir()
    with pytest.raises(CaBundleUnusable) as refused:
        _client("https://127.0.0.1:9", str(path))
    reason = str(refused.value.reason)
    assert reason and str(path) in str(refused.value)
    finding, answer = probe_server("https://127.0.0.1:9", str(path))
    assert finding.status == FAIL and answer is None
    assert finding.detail == f"the CA bundle {path} cannot be used ({reason})"


def test_the_client_and_the_doctor_trust_a_self_signed_server_through_the_same_ca_bundle(tls_server):
    import certifi

    url, ca = tls_server
    # No bundle, or the bundle of CAs that did not sign it: neither trusts the server.
    for bundle in (None, certifi.where()):
        with _client(url, bundle) as client, pytest.raises(Offline, match="TLS certificate is not trusted"):
            client.me(Tokens("no-access", "no-refresh", 900))
        finding, _ = probe_server(url, bundle)
        assert finding.status == FAIL and "the TLS certificate is not trusted" in finding.detail, finding
    # The company's CA as the bundle: both get through to the order API itself.
    with _client(url, str(ca)) as client, pytest.raises(AuthRequired):
        client.me(Tokens("no-access", "no-refresh", 900))  # the API's own 401: the TLS handshake was verified
    finding, answer = probe_server(url, str(ca))
    assert finding.status == PASS and answer is not None
    assert finding.detail == f"{url} answers as the order API; TLS certificate trusted (CA bundle {ca})"


# --- local files ------------------------------------------------------------------------

def test_a_corrupted_journal_fails_the_integrity_check(server, tmp_path):
    data = tmp_path / "client"
    store = LocalStore.open(data)
    store.close()
    journal = data / JOURNAL_FILE
    size = journal.stat().st_size
    journal.write_bytes(b"\x00garbage" * (size // 8))
    status, lines, _ = doctor(tmp_path, *healthy_args(tmp_path, server.url))
    assert status == 1
    assert lines["local database"].startswith(f"FAIL  local database: the journal {journal} is damaged")
    assert "do not delete it" in lines["local database"]


def test_a_damaged_cache_is_only_a_warning(server, tmp_path):
    data = tmp_path / "client"
    store = LocalStore.open(data)
    store.close()
    (data / REPLICA_FILE).write_bytes(b"not a database at all" * 100)
    status, lines, _ = doctor(tmp_path, *healthy_args(tmp_path, server.url))
    assert status == 0
    assert lines["local database"].startswith("WARN  local database: the cache")


def test_no_database_yet_is_said_and_none_is_created(server, tmp_path):
    status, lines, _ = doctor(tmp_path, *healthy_args(tmp_path, server.url))
    assert status == 0
    assert lines["local database"] == f"PASS  local database: no local database yet in {tmp_path / 'client'} " \
                                      "(made at the first start)"
    assert not (tmp_path / "client").exists()


def test_a_data_folder_that_cannot_be_made_fails(server, tmp_path):
    # A path under a regular file cannot be a folder even for root, where permissions block nothing.
    (tmp_path / "a-file").write_text("not a folder")
    status, lines, _ = doctor(tmp_path, "--server", server.url, "--data-dir", str(tmp_path / "a-file" / "data"),
                              "--set", f"keyring={MEMORY_KEYRING}")
    assert status == 1
    assert lines["data folder"].startswith(f"FAIL  data folder: {tmp_path / 'a-file' / 'data'} cannot be created: "
                                           f"{tmp_path / 'a-file'} is a file")


# --- keyring and Qt ---------------------------------------------------------------------

def test_a_keyring_that_fails_on_use_is_a_warning(server, tmp_path):
    status, lines, _ = doctor(tmp_path, "--server", server.url, "--data-dir", str(tmp_path / "client"),
                              "--set", "keyring=tests.sync.memory_keyring.LockedKeyring")
    assert status == 0
    assert lines["keyring"].startswith("WARN  keyring: the keyring tests.sync.memory_keyring.LockedKeyring cannot "
                                       "be read")
    assert "kept in device-secrets.json in the data folder instead" in lines["keyring"]


def test_a_qt_platform_that_cannot_load_fails_in_the_child_not_the_doctor(server, tmp_path):
    status, lines, output = doctor(tmp_path, *healthy_args(tmp_path, server.url),
                                   env={"QT_QPA_PLATFORM": "no-such-platform"})
    assert status == 1
    assert lines["qt platform"].startswith("FAIL  qt platform: Qt cannot start on no-such-platform")
    assert "no-such-platform" in lines["qt platform"] and "Fix: on Linux install libxcb-cursor0" in lines["qt platform"]
    assert output.splitlines()[-1].startswith("Some checks FAILED")  # the doctor itself ran to the end


NO_DISPLAY = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def test_over_ssh_without_a_display_the_qt_check_is_skipped_not_failed(server, tmp_path):
    status, lines, output = doctor(tmp_path, *healthy_args(tmp_path, server.url), unset=NO_DISPLAY)
    assert status == 0, output
    assert lines["qt platform"] == ("INFO  qt platform: no display in this session (over SSH?): the window needs the "
                                    "desktop session; the check is skipped")
    assert "libxcb" not in output


def test_with_a_display_the_qt_platform_is_tried(server, tmp_path, display):  # noqa: F811 - the Xvfb fixture
    status, lines, output = doctor(tmp_path, *healthy_args(tmp_path, server.url), env={"DISPLAY": display},
                                   unset=NO_DISPLAY)
    assert status == 0, output
    assert lines["qt platform"] == "PASS  qt platform: the xcb platform plugin loads"


# --- verdicts on numbers that a test machine cannot be made to show ---------------------

def test_clock_skew_over_two_minutes_is_a_warning():
    assert clock_finding(1.0).status == PASS
    assert clock_finding(-119.0).status == PASS
    ahead = clock_finding(300.0)
    assert ahead.status == WARN and "300 s ahead of the server" in ahead.detail and "NTP" in ahead.fix
    assert "behind" in clock_finding(-600.0).detail


def test_little_free_disk_is_a_warning(tmp_path):
    assert disk_finding(5 * 1024**3, tmp_path).status == PASS
    low = disk_finding(300 * 1024**2, tmp_path)
    assert low.status == WARN and "0.3 GiB free" in low.detail
    assert low.status != FAIL


# --- the device ------------------------------------------------------------------------

def _registered_folder(server, tmp_path) -> Path:
    """A data folder whose first online sign-in registered it; no keyring, so the secrets are in its file."""
    from sync.client import ClientCore

    folder = tmp_path / "client"
    core = ClientCore.open(folder, server.url, keyring="none", device_name="PACK-07")
    try:
        core.signin.online(username="anna", pin="1111")
    finally:
        core.close()
    return folder


def _device_line(server, tmp_path) -> tuple[int, str]:
    status, lines, output = doctor(tmp_path, "--server", server.url, "--data-dir", str(tmp_path / "client"),
                                   "--set", "keyring=none", "--set", "device_name=PACK-07")
    return status, lines["device"]


def test_a_registered_device_passes_and_says_where_its_credential_is(server, tmp_path):
    _registered_folder(server, tmp_path)
    status, line = _device_line(server, tmp_path)
    assert line.startswith("PASS  device: fh-") and "(PACK-07) is registered on this machine" in line
    assert "device-secrets.json (no usable keyring)" in line


def test_a_data_folder_from_another_machine_fails_with_how_to_recover_without_losing_the_queue(server, tmp_path):
    import sqlite3

    folder = _registered_folder(server, tmp_path)
    with sqlite3.connect(folder / "journal.sqlite3") as conn:  # as if registered on another machine
        conn.execute("UPDATE sync_state SET value = 'another-machine' WHERE key = 'device_machine'")
    status, line = _device_line(server, tmp_path)
    assert status == 1 and line.startswith("FAIL  device: fh-")
    assert "set up on another machine" in line and "floorhand device recover --code" in line
    assert "queue is kept" in line and "remove this data folder instead" in line


def test_a_device_whose_credential_is_gone_fails_with_the_same_way_back(server, tmp_path):
    folder = _registered_folder(server, tmp_path)
    (folder / "device-secrets.json").unlink()
    status, line = _device_line(server, tmp_path)
    assert status == 1 and "credential is missing" in line and "recovery code" in line
    assert not (folder / "device-secrets.json").exists()  # doctor wrote nothing


def test_a_new_data_folder_is_not_registered_yet(server, tmp_path):
    status, line = _device_line(server, tmp_path)
    assert line.startswith("INFO  device: not registered yet")
