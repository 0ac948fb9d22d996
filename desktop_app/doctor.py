"""`floorhand doctor`: what is wrong with this workstation, one line per check, with how to fix it.

For IT staff installing Floorhand through Intune, SCCM, Jamf or a script: each check prints
PASS, WARN (works, but worth a look), FAIL (with a fix) or INFO, and the exit status is 1
when any check failed. Nothing here writes to the data folder beyond a temporary file, nor
creates a database, nor stores a secret.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from desktop_app.settings import Settings
from desktop_app.version import VERSION
from sync.client import default_data_dir
from sync.credentials import NO_KEYRING, SECRETS_FILE, SecretStore, probe_keyring
from sync.device import Device, read_machine_id
from sync.tls import CaBundleUnusable, http_client, untrusted_certificate
from sync.answers import http_date
from sync.store.database import JOURNAL_FILE, REPLICA_FILE, integrity_problem

PASS, WARN, FAIL, INFO = "PASS", "WARN", "FAIL", "INFO"
# Offline sign-in trusts the device clock for how long a PIN stays valid (setting offline_days).
MAX_SKEW_S = 120
LOW_DISK_BYTES = 1024**3
SERVER_TIMEOUT_S = 10.0
QT_PROBE_TIMEOUT_S = 60.0
# The Debian packages Qt's xcb platform plugin needs beyond a desktop's usual libraries (Makefile).
QT_XCB_PACKAGES = "libxcb-cursor0 libxkbcommon-x11-0 libegl1 libxcb-icccm4 libxcb-keysyms1"


@dataclass(frozen=True)
class Finding:
    """The result of one check: PASS, WARN, FAIL or INFO, what was found, and how to fix a failure."""

    status: str
    check: str
    detail: str
    fix: str | None = None

    def line(self) -> str:
        fix = f" Fix: {self.fix}" if self.fix and self.status in (FAIL, WARN) else ""
        return f"{self.status}  {self.check}: {self.detail}{fix}"


@dataclass(frozen=True)
class ServerAnswer:
    """What the server check learnt that the clock check needs: the server's Date, and when it was read."""

    date: datetime | None
    local: datetime


def run_doctor(overrides: dict[str, object], log_file: str, out: Callable[[str], None] = print) -> int:
    """Run every check, print one line each; 1 when any failed, else 0."""
    settings = Settings.load(overrides=overrides, log_problems=False)
    out(f"Floorhand {VERSION} doctor")
    failed = False
    for finding in checks(settings):
        out(finding.line())
        failed = failed or finding.status == FAIL
    out(f"INFO  log file: {log_file}")
    out("Some checks FAILED: fix them and run `floorhand doctor` again." if failed else "No check failed.")
    return 1 if failed else 0


def checks(settings: Settings) -> Iterator[Finding]:
    """The findings in the order they print; the clock check reuses the server check's answer."""
    yield check_config(settings)
    server, answer = check_server(settings)
    yield server
    yield check_clock(answer)
    yield check_keyring(settings)
    data_dir = Path(str(settings["data_dir"])).expanduser() if settings["data_dir"] else default_data_dir()
    yield from check_data_folder(data_dir)
    yield check_database(data_dir)
    yield check_device(settings, data_dir)
    yield check_serial_ports()
    yield check_qt_platform()


# --- configuration ---------------------------------------------------------------------

def check_config(settings: Settings) -> Finding:
    read = [f"{kind} {path}" + ("" if path.exists() else " (not present)")
            for kind, path in (("machine config", settings.machine_path), ("user config", settings.user_path))]
    if settings.problems:
        return Finding(FAIL, "config", f"{len(settings.problems)} problem(s): " + " | ".join(settings.problems),
                       "correct or remove the values named; `floorhand config show` shows every effective value "
                       "and where it came from")
    return Finding(PASS, "config", "; ".join(read) + "; every value is valid")


# --- the server ------------------------------------------------------------------------

def check_server(settings: Settings) -> tuple[Finding, ServerAnswer | None]:
    url = str(settings["server_url"]).rstrip("/")
    if not url:
        return Finding(FAIL, "server", "no server_url is set",
                       "set server_url in the machine config (the installer's SERVER_URL) or pass --server URL"), None
    # An empty setting means no bundle, as for the app (desktop_app.app).
    return probe_server(url, str(settings["ca_bundle"]) or None)


def probe_server(url: str, ca_bundle: str | None) -> tuple[Finding, ServerAnswer | None]:
    """Ask the order API at url who we are, over a connection set up as the sync client sets up its own (sync.tls)."""
    try:
        http = http_client(url, ca_bundle=ca_bundle, timeout=httpx.Timeout(SERVER_TIMEOUT_S),
                           user_agent=f"floorhand/{VERSION} doctor")
    except CaBundleUnusable as exc:
        return Finding(FAIL, "server", f"the CA bundle {exc.path} cannot be used ({exc.reason})",
                       "point ca_bundle at a readable PEM file holding the company's CA certificate"), None
    try:
        with http:
            response = http.get("/v1/me")  # who-am-I without a token: the order API answers 401 with its error body
    except httpx.ConnectError as exc:
        if untrusted_certificate(exc):
            return Finding(FAIL, "server", f"{url}: the TLS certificate is not trusted ({_reason(exc)})",
                           (f"the CA bundle {ca_bundle} does not vouch for this server; use the bundle of the CA "
                            "that signed its certificate" if ca_bundle else
                            "if the company uses its own CA (TLS inspection), set ca_bundle to its PEM file")), None
        return Finding(FAIL, "server", f"cannot reach {url} ({_reason(exc)})",
                       "check server_url, that the server is running, and the network, proxy and firewall "
                       "between this machine and it"), None
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        return Finding(FAIL, "server", f"{url} did not answer in time or broke the connection ({_reason(exc)})",
                       "check the network, proxy and firewall, and that server_url is the order API"), None
    except httpx.HTTPError as exc:  # an unsupported scheme or a malformed URL
        return Finding(FAIL, "server", f"server_url {url!r} cannot be used ({_reason(exc)})",
                       "set server_url to the API's base URL, e.g. https://orders.example.com"), None
    answer = ServerAnswer(http_date(response.headers.get("Date")), datetime.now(timezone.utc))
    if not _order_api_error(response):
        return Finding(FAIL, "server", f"{url} answered HTTP {response.status_code}, not like the order API",
                       "set server_url to the order API's base URL (without /v1)"), answer
    scheme = urlsplit(url).scheme
    if scheme == "https":
        trusted = f"TLS certificate trusted ({'CA bundle ' + ca_bundle if ca_bundle else 'system CAs'})"
        return Finding(PASS, "server", f"{url} answers as the order API; {trusted}"), answer
    if _loopback(url):
        return Finding(PASS, "server", f"{url} answers as the order API (plain HTTP on this machine)"), answer
    return Finding(WARN, "server", f"{url} answers as the order API over plain HTTP: PINs and tokens cross the "
                                   "network unencrypted", "use the https:// address of the order API"), answer


def _order_api_error(response: httpx.Response) -> bool:
    """Whether the answer to an unsigned request is the order API's 401 with its {"error": {...}} body."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return False
    return response.status_code == 401 and isinstance(error, dict) and "code" in error


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def check_clock(answer: ServerAnswer | None) -> Finding:
    if answer is None:
        return Finding(WARN, "clock", "not compared: the server did not answer", "fix the server check first")
    if answer.date is None:
        return Finding(WARN, "clock", "not compared: the server's answer has no Date header",
                       "make sure the proxy in front of the order API passes the Date header")
    return clock_finding((answer.local - answer.date).total_seconds())


def clock_finding(skew_s: float) -> Finding:
    """The verdict on a clock `skew_s` seconds ahead of the server (negative: behind)."""
    # The Date header has whole seconds: up to a second of difference is only rounding.
    where = f"{abs(skew_s):.0f} s {'ahead of' if skew_s > 0 else 'behind'} the server"
    if abs(skew_s) <= MAX_SKEW_S:
        return Finding(PASS, "clock", f"within {MAX_SKEW_S} s of the server ({where})")
    return Finding(WARN, "clock", f"this machine's clock is {where}; offline sign-in validity is counted on it",
                   "turn on time synchronisation (NTP / Windows Time / timesyncd) on this machine")


# --- keyring ---------------------------------------------------------------------------

def check_keyring(settings: Settings) -> Finding:
    preferred = str(settings["keyring"]) or None
    choice = probe_keyring(preferred)
    if choice.usable:
        return Finding(PASS, "keyring", f"{choice.name} can be read; the device's secrets are kept there")
    in_file = f"the device's secrets are kept in {SECRETS_FILE} in the data folder instead, readable by this OS " \
              "account only; a copy of the whole data folder carries them"
    if choice.name == NO_KEYRING:
        return Finding(WARN, "keyring", f"switched off (keyring = \"none\"): {in_file}",
                       "remove the keyring setting to use the platform keyring")
    # Not a failure: the app works without a keyring (ARCHITECTURE.md §6); the file costs protection.
    return Finding(WARN, "keyring", f"{choice.reason}; {in_file}",
                   "on Linux run a Secret Service (GNOME Keyring or KWallet) in the desktop session and unlock "
                   "it; or set keyring = \"none\" to silence this")


# --- data folder and local database --------------------------------------------------

def check_data_folder(data_dir: Path) -> Iterator[Finding]:
    existing = _existing_ancestor(data_dir)
    if not existing.is_dir():
        yield Finding(FAIL, "data folder", f"{data_dir} cannot be created: {existing} is a file, not a folder",
                      "set data_dir to a folder this user may write, or move that file away")
        return
    where = data_dir if existing == data_dir else existing
    try:
        with tempfile.TemporaryFile(dir=where, prefix=".floorhand-doctor-"):
            pass
    except OSError as exc:
        yield Finding(FAIL, "data folder", f"{where} is not writable ({exc.strerror or exc})",
                      f"give this user write access to {where}, or set data_dir to a folder it may write")
        return
    state = "writable" if existing == data_dir else f"not created yet; {existing} is writable"
    yield Finding(PASS, "data folder", f"{data_dir} {state}")
    yield disk_finding(shutil.disk_usage(existing).free, existing)


def disk_finding(free: int, where: Path) -> Finding:
    """The verdict on `free` bytes left on the disk of the data folder."""
    shown = f"{free / 1024**3:.1f} GiB free on the disk of {where}"
    if free < LOW_DISK_BYTES:
        return Finding(WARN, "free disk", f"only {shown}; queued work and photos need room",
                       "free some disk space or move data_dir to a larger disk")
    return Finding(PASS, "free disk", shown)


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def check_database(data_dir: Path) -> Finding:
    journal, replica = data_dir / JOURNAL_FILE, data_dir / REPLICA_FILE
    if not journal.exists() and not replica.exists():
        return Finding(PASS, "local database", f"no local database yet in {data_dir} (made at the first start)")
    journal_problem = integrity_problem(journal)
    if journal_problem:
        # The journal holds queued actions that exist nowhere else (ARCHITECTURE.md §3).
        return Finding(FAIL, "local database", f"the journal {journal} is damaged ({journal_problem})",
                       f"do not delete it: it holds work not yet sent. Copy the folder {data_dir} for support; "
                       "the app will not start on it")
    replica_problem = integrity_problem(replica)
    if replica_problem:
        return Finding(WARN, "local database", f"the cache {replica} is damaged ({replica_problem})",
                       "nothing to do: the app sets it aside and downloads it again at the next start")
    present = [path.name for path in (journal, replica) if path.exists()]
    return Finding(PASS, "local database", f"{' and '.join(present)} in {data_dir} pass SQLite's quick_check")


def check_device(settings: Settings, data_dir: Path) -> Finding:
    """Is this data folder registered, and can it still speak for its device on this machine? Writes nothing."""
    journal = data_dir / JOURNAL_FILE
    if not journal.exists() or integrity_problem(journal):
        return Finding(INFO, "device", "not registered yet: the first online sign-in registers this data folder")
    try:
        with sqlite3.connect(f"{journal.absolute().as_uri()}?mode=ro", uri=True, timeout=30) as conn:
            state = dict(conn.execute("SELECT key, value FROM sync_state WHERE key IN "
                                      "('device_id', 'device_registered_at', 'device_machine')").fetchall())
    except sqlite3.DatabaseError as exc:
        return Finding(WARN, "device", f"the journal cannot be read now ({exc})", "run `floorhand doctor` again")
    device_id = state.get("device_id")
    if device_id is None or "device_registered_at" not in state:
        return Finding(INFO, "device", "not registered yet: the first online sign-in registers this data folder")
    store = SecretStore(probe_keyring(str(settings["keyring"]) or None), data_dir)
    secrets = store.load(device_id, take_over=False)
    device = Device(None, device_id, lambda: store, machine_id=read_machine_id)
    problem = device.diagnose(state.get("device_machine"), secrets)
    name = settings["device_name"]
    if problem is not None:
        return Finding(FAIL, "device", f"{device_id} ({name}): {problem.message}", problem.fix)
    where = "the OS keyring" if store.in_keyring else f"{SECRETS_FILE} (no usable keyring)"
    return Finding(PASS, "device", f"{device_id} ({name}) is registered on this machine; its credential is kept in "
                                   f"{where}")


# --- scanners and Qt -------------------------------------------------------------------

def check_serial_ports() -> Finding:
    try:
        from PySide6.QtSerialPort import QSerialPortInfo
    except ImportError as exc:  # a bundle built without the module
        return Finding(FAIL, "serial ports", f"Qt's serial port module is missing ({exc})", "reinstall Floorhand")
    ports = [f"{port.portName()} ({port.description() or 'no description'})"
             for port in QSerialPortInfo.availablePorts()]
    # Scanners are keyboard wedges today; serial ports are listed for when a serial scanner is set up.
    found = ", ".join(ports) if ports else "none"
    return Finding(INFO, "serial ports", f"{found}; keyboard-wedge scanners need none")


def check_qt_platform() -> Finding:
    from desktop_app.crash import no_display

    if no_display():
        # Over SSH the probe could only fail, and blame the xcb packages, which are not what is missing.
        return Finding(INFO, "qt platform", "no display in this session (over SSH?): the window needs the desktop "
                                            "session; the check is skipped")
    platform = os.environ.get("QT_QPA_PLATFORM") or "the default platform"
    try:
        child = subprocess.run(qt_probe_command(), capture_output=True, text=True, timeout=QT_PROBE_TIMEOUT_S,
                               stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Finding(FAIL, "qt platform", f"starting Qt on {platform} did not finish in {QT_PROBE_TIMEOUT_S:.0f} s",
                       "check the display server and the graphics drivers")
    except OSError as exc:
        return Finding(FAIL, "qt platform", f"cannot start {sys.executable} to try Qt ({exc})",
                       "reinstall Floorhand")
    if child.returncode == 0:
        # A windowed bundle may have no stdout to print the name on; the exit status is the verdict.
        loaded = child.stdout.strip() or os.environ.get("QT_QPA_PLATFORM") or "default"
        return Finding(PASS, "qt platform", f"the {loaded} platform plugin loads")
    lines = [line.strip() for line in child.stderr.splitlines() if line.strip()]
    # Qt's own reasons ("could not connect to display", a missing library) come before its generic farewell.
    reasons = [line for line in lines if line.startswith("qt.qpa")] or lines[-3:]
    said = " ".join(reasons[:3]) or "no message"
    hint = (f"on Linux install {QT_XCB_PACKAGES} and run inside a desktop session (DISPLAY or WAYLAND_DISPLAY "
            "set); on Windows and macOS reinstall Floorhand")
    return Finding(FAIL, "qt platform", f"Qt cannot start on {platform} (exit {child.returncode}): {said}", hint)


def qt_probe_command() -> list[str]:
    """This program again with the hidden probe flag: the bundle's own binary, or python -m desktop_app.main."""
    from desktop_app.main import QT_PROBE_FLAG

    if getattr(sys, "frozen", False):
        return [sys.executable, QT_PROBE_FLAG]
    return [sys.executable, "-m", "desktop_app.main", QT_PROBE_FLAG]


def probe_qt_platform() -> int:
    """In the child: start a QGuiApplication (a broken platform plugin aborts here) and print the platform's name."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication(sys.argv[:1])
    if sys.stdout is not None:
        print(app.platformName(), flush=True)
    return 0

