"""The real app on a real X server, driven only by X key events: a person types, a barcode gun scans.

Every part runs as its own process, as on a warehouse workstation: Xvfb, the reference order
API (`floorhand-api serve --seed demo`) and `floorhand` on Qt's xcb platform. xdotool types
through the XTEST extension, so each key travels X server -> Qt -> the wedge filter the same way
as the keys of a USB scanner in keyboard mode. The test watches only what a support engineer
could: the app's database files, the server's database and, when something fails, the screen.
"""

import json
import os
import random
import select
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest

from order_api.server import free_port

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = Path(sys.executable).parent  # the console scripts installed next to this interpreter
START_S = 60.0  # seeding the demo and starting Qt take a while on a loaded two-core machine
WAIT_S = 60.0
RESCAN_S = 10.0  # how long a picker waits for a reaction before scanning again
POLL_S = 0.1
# xdotool 3.x lets about half of `type --delay` pass from one key press to the next.
SCANNER_DELAY_MS = 16  # ~8 ms from key to key: a barcode gun sends a key every 5-15 ms
PERSON_DELAY_MS = 400  # ~200 ms from key to key: people type far slower than the 50 ms wedge threshold
PERSON_PAUSE_S = "0.3"  # between two actions (xdotool's own sleep, so the keys' timing is one script)
PICKER, PIN = "anna", "1111"  # the demo seed's picker
FIRST_TOTE = 21  # the demo's picked orders wait to be packed in T-0001..T-0020

# Grabs the whole X screen through Qt's xcb platform: no ImageMagick or xwd needed.
_GRAB_SCREEN = (
    "import sys\n"
    "from PySide6.QtGui import QGuiApplication\n"
    "app = QGuiApplication([])\n"
    "sys.exit(0 if app.primaryScreen().grabWindow(0).save(sys.argv[1]) else 1)\n"
)


def tool(name: str) -> str:
    """A system program the test needs; missing means a broken setup, which must fail, not skip."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: `make test` installs it (Debian packages xvfb and xdotool)")
    return path


def script(name: str) -> str:
    path = SCRIPTS / name
    if not path.exists():
        pytest.fail(f"console script {name} is missing from {SCRIPTS}: run `make venv`")
    return str(path)


def query(path: Path, sql: str, *params: object) -> list[tuple]:
    """Rows from a SQLite file another process writes; none while the file or the table does not exist yet."""
    if not path.exists():
        return []
    try:
        with closing(sqlite3.connect(path, timeout=10)) as conn:
            return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


@dataclass
class Child:
    """A child process whose stdout and stderr go to one file; stop() ends it whatever state it is in."""

    name: str
    proc: subprocess.Popen
    log: Path

    @classmethod
    def start(cls, name: str, args: list[str], log: Path, **popen) -> "Child":
        with open(log, "wb") as out:
            proc = subprocess.Popen(args, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    **popen)
        return cls(name, proc, log)

    def running(self) -> bool:
        return self.proc.poll() is None

    def output(self, chars: int = 8000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} output, last {chars} characters of {self.log} ---\n{text[-chars:]}"

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM, and SIGKILL when that is not enough within grace_s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait(timeout=WAIT_S)


@dataclass
class OrderApi:
    """The reference order API process and its database file."""

    url: str
    db: Path
    child: Child


def _wait_ready(fd: int, child: Child, timeout: float) -> bool:
    """Whether child wrote its display number to the pipe (it is ready) rather than exiting first."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"{child.name} was not ready within {timeout:.0f} s\n{child.output()}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                return False
            data += chunk
    return True


@pytest.fixture
def display(tmp_path):
    """A fresh Xvfb on a random free display number, high enough to miss the usual :0 and :99."""
    for attempt in range(1, 6):
        number = random.randrange(100, 10_000)
        read_end, write_end = os.pipe()
        # -displayfd: Xvfb writes the number to this pipe once it accepts connections.
        xvfb = Child.start("Xvfb", [tool("Xvfb"), f":{number}", "-displayfd", str(write_end), "-screen", "0",
                                    "1280x800x24", "-nolisten", "tcp"], tmp_path / f"xvfb-{attempt}.log",
                           pass_fds=(write_end,))
        os.close(write_end)
        try:
            ready = _wait_ready(read_end, xvfb, START_S)
        finally:
            os.close(read_end)
        if ready:
            break
        xvfb.stop()  # the number was taken: try another
    else:
        pytest.fail(f"Xvfb did not start on any of five display numbers\n{xvfb.output()}")
    try:
        yield f":{number}"
    finally:
        xvfb.stop()


@pytest.fixture
def order_api(tmp_path):
    """`floorhand-api serve --seed demo` on a free loopback port, with its database in tmp_path."""
    folder = tmp_path / "server"
    folder.mkdir()
    port = free_port()
    child = Child.start("floorhand-api", [script("floorhand-api"), "serve", "--seed", "demo",
                                          "--db", f"sqlite:///{folder / 'orders.db'}",
                                          "--blob-store", f"fs:{folder / 'blobs'}", "--port", str(port)],
                        folder / "server.log")
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                with closing(socket.create_connection(("127.0.0.1", port), timeout=1)):
                    break
            except OSError:
                pass
            if not child.running():
                pytest.fail(f"the order API exited with {child.proc.returncode} at start\n{child.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the order API did not listen on port {port} within {START_S:.0f} s\n{child.output()}")
            time.sleep(POLL_S)
        yield OrderApi(f"http://127.0.0.1:{port}", folder / "orders.db", child)
    finally:
        # After the app is gone the server may still sit in a long poll; SIGKILL ends that wait.
        child.stop()


@dataclass
class Floor:
    """The running app seen from outside: X key events in; its database files, the server's and the screen out."""

    display: str
    app: Child
    server: OrderApi
    data_dir: Path
    evidence: Path  # where a failure leaves its screenshot

    # --- input -------------------------------------------------------------------------

    def xdotool(self, *args: str) -> str:
        try:
            done = subprocess.run([tool("xdotool"), *args], env={**os.environ, "DISPLAY": self.display},
                                  capture_output=True, text=True, timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.fail(f"xdotool {' '.join(args)} did not finish within {WAIT_S:.0f} s")
        if done.returncode != 0:
            self.fail(f"xdotool {' '.join(args)} failed with {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def type_as_person(self, text: str) -> None:
        self.xdotool("sleep", PERSON_PAUSE_S, "type", "--delay", str(PERSON_DELAY_MS), text)

    def press_enter(self) -> None:
        self.xdotool("sleep", PERSON_PAUSE_S, "key", "Return")

    def scan(self, code: str) -> None:
        """A barcode gun in keyboard mode: the code at scanner speed, then Enter (its suffix)."""
        self.xdotool("sleep", PERSON_PAUSE_S, "type", "--delay", str(SCANNER_DELAY_MS), code + "\n")

    def scan_until(self, what: str, probe: Callable[[], T], *codes: str) -> T:
        """Scan codes until probe sees their effect; like a picker, scan again when nothing happened.

        A scan can be refused for a moment (the screen still says "Getting a batch…"), and on a
        starved machine even the X server may let more than the wedge's 50 ms pass inside a burst.
        A scan that did take effect is refused when repeated, so repeating never doubles an action.
        """
        def scan_all() -> None:
            print(f"scanning {' '.join(codes)}")  # pytest shows it when the test fails
            for code in codes:
                self.scan(code)

        scan_all()
        return self.wait_for(what, probe, again=scan_all)

    def focus_window(self) -> str:
        """Wait for the app's main window to be mapped and give it the X keyboard focus (there is no window manager)."""
        window = self.wait_for("the Floorhand window on the X display", self._find_window, START_S)
        self.xdotool("windowfocus", "--sync", window)
        return window

    def _find_window(self) -> str | None:
        done = subprocess.run([tool("xdotool"), "search", "--all", "--onlyvisible", "--pid", str(self.app.proc.pid),
                               "--name", "^Floorhand"], env={**os.environ, "DISPLAY": self.display},
                              capture_output=True, text=True, timeout=WAIT_S)
        found = done.stdout.split()
        return found[0] if done.returncode == 0 and found else None

    # --- output ------------------------------------------------------------------------

    def journal(self, sql: str, *params: object) -> list[tuple]:
        return query(self.data_dir / "journal.sqlite3", sql, *params)

    def replica(self, sql: str, *params: object) -> list[tuple]:
        return query(self.data_dir / "replica.sqlite3", sql, *params)

    def outbox(self, name: str, **args: object) -> list[dict]:
        """Arguments of the queued actions called name whose arguments include args, in seq order."""
        rows = self.journal("SELECT args FROM outbox WHERE name = ? ORDER BY seq", name)
        found = [json.loads(a) for (a,) in rows]
        return [a for a in found if all(a.get(k) == v for k, v in args.items())]

    def tasks(self, batch: int) -> list[dict]:
        """The batch's tasks in the replica as the server sent them, a cancelled order's left out."""
        rows = self.replica("SELECT data FROM r_pick_task WHERE batch_id = ?", batch)
        return [t for t in (json.loads(d) for (d,) in rows) if t.get("order_status") != "cancelled"]

    def wait_for(self, what: str, probe: Callable[[], T], timeout: float = WAIT_S,
                 again: Callable[[], None] | None = None) -> T:
        """Poll probe until it returns something truthy; `again` repeats an action every RESCAN_S meanwhile."""
        start = last = time.monotonic()
        while not (found := probe()):
            now = time.monotonic()
            if not self.app.running():
                self.fail(f"floorhand exited with {self.app.proc.returncode} while waiting for {what}")
            if now - start > timeout:
                self.fail(f"no {what} within {timeout:.0f} s")
            if again is not None and now - last > RESCAN_S:
                again()
                last = time.monotonic()
            time.sleep(POLL_S)
        return found

    def fail(self, message: str) -> NoReturn:
        pytest.fail(f"{message}\n{self.screenshot()}\n{self.app.output()}\n{self.server.child.output(3000)}")

    def screenshot(self) -> str:
        path = self.evidence / "screen.png"
        try:
            done = subprocess.run([sys.executable, "-c", _GRAB_SCREEN, str(path)],
                                  env={**os.environ, "DISPLAY": self.display, "QT_QPA_PLATFORM": "xcb"},
                                  capture_output=True, text=True, timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            return "screenshot: the grab did not finish"
        if done.returncode != 0:
            return f"screenshot failed: {done.stderr[-1000:]}"
        return f"screenshot of the X display: {path}"


@pytest.fixture
def floor(tmp_path, display, order_api):
    """`floorhand` on the X display against the order API, with its own data folder and no user config."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORHAND_")}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", XDG_RUNTIME_DIR=str(runtime),
               FLOORHAND_MACHINE_CONFIG=str(tmp_path / "machine.toml"),
               FLOORHAND_USER_CONFIG=str(tmp_path / "user.toml"))
    data_dir = tmp_path / "client"
    app = Child.start("floorhand", [script("floorhand"), "--server", order_api.url, "--data-dir", str(data_dir),
                                    "--set", "keyring=none"], tmp_path / "floorhand.log", env=env)
    try:
        yield Floor(display, app, order_api, data_dir, tmp_path)
    finally:
        app.stop()


def test_a_picker_signs_in_by_keyboard_and_picks_with_a_scanner(floor):
    floor.focus_window()

    # Name and PIN typed by a person. A stray scan while the name field has the focus is
    # refused: its keys must not reach the field, or the sign-in below would be as "annaT-0099".
    floor.type_as_person(PICKER)
    floor.scan("T-0099")
    floor.press_enter()
    floor.type_as_person(PIN)
    floor.press_enter()
    verifier = floor.wait_for(f"online sign-in of {PICKER} (signin_verifiers row in journal.sqlite3)",
                              lambda: floor.journal("SELECT user FROM signin_verifiers WHERE username = ?", PICKER))
    picker_id = json.loads(verifier[0][0])["id"]
    # The first pull starts from the shell's reaction to the sign-in, which also opens Pick.
    floor.wait_for("first pull after the sign-in (the replica's cursors of her scope)",
                   lambda: floor.replica("SELECT name FROM replica_audiences WHERE cursor > 0 AND name = 'floor'"))

    floor.press_enter()  # Enter on the picking start page claims the next batch
    claimed = floor.wait_for(f"batch claimed by {PICKER} in replica.sqlite3", lambda: floor.replica(
        "SELECT id FROM r_pick_batch WHERE status = 'claimed' AND claimed_by = ?", picker_id))
    batch = claimed[0][0]
    tasks = floor.wait_for(f"tasks of batch {batch} in replica.sqlite3", lambda: floor.tasks(batch))

    orders = sorted({t["order_id"] for t in tasks if not t.get("tote")})
    assert orders, f"batch {batch} came with every order in a tote already: {tasks}"
    for n, order in enumerate(orders):
        tote = f"T-{FIRST_TOTE + n:04d}"
        floor.scan_until(f"tote.assign of {tote} to order {order} in the outbox",
                         lambda order=order, tote=tote: floor.outbox("tote.assign", batch=batch, order=order, tote=tote),
                         tote)

    task = min((t for t in floor.tasks(batch) if t["status"] == "open"), key=lambda t: (t["route_key"], t["id"]))
    # The bin label, then the product's EAN-13 as printed on it.
    confirmed = floor.scan_until(f"pick.confirm of task {task['id']} ({task['location_label']}) in the outbox",
                                 lambda: floor.outbox("pick.confirm", task=task["id"]),
                                 task["location_label"], task["gtin"])
    assert confirmed == [{"task": task["id"], "location": task["location_label"], "qty": 1,
                          "barcode": task["gtin"].zfill(14)}]

    floor.wait_for(f"picked_qty of task {task['id']} in the server's database",
                   lambda: query(floor.server.db, "SELECT picked_qty FROM pick_tasks WHERE id = ? AND picked_qty = 1",
                                 task["id"]))
    floor.wait_for("the server's acknowledgement of the pick in the outbox", lambda: floor.journal(
        "SELECT seq FROM outbox WHERE name = 'pick.confirm' AND state IN ('acked', 'done')"))
    assert floor.journal("SELECT name, code, message FROM rejected") == []
    assert floor.outbox("tote.assign", tote="T-0099") == []
