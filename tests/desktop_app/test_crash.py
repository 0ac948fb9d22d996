"""Failures reach a person: uncaught exceptions are logged and told, a segfault leaves crash.log, and an app
that cannot start says why, on stderr and in a message window, instead of dying silently."""

import faulthandler
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from desktop_app.crash import CRASH_LOG, SOMETHING_WENT_WRONG, install, no_display, screen_for_messages
from desktop_app.logs import LOG_FILE
from desktop_app.main import NO_DISPLAY
from desktop_app.version import VERSION
from tests.integration.test_xvfb_scanning import display, tool  # noqa: F401 - display is a fixture (Xvfb)

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 120
DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")

# A process that logs as floorhand does, installs the crash handler, then fails once in a Qt slot
# and once in a worker thread; on_error prints where it ran and quits after the second failure.
_FAIL_IN_A_SLOT_AND_A_THREAD = """
import sys, threading
from pathlib import Path
from PySide6.QtCore import QCoreApplication, QTimer
from desktop_app.crash import install
from desktop_app.logs import start_logging

log_dir = Path(sys.argv[1])
logs = start_logging("info", log_dir)
failures = install(log_dir)
app = QCoreApplication([])
told = []

def tell(sentence):
    told.append(sentence)
    print(f"told on {threading.current_thread().name}: {sentence}", flush=True)
    if len(told) == 2:
        app.quit()

failures.report_to(tell)

def slot():
    raise ValueError("slot failed with Authorization: Bearer abc.DEF123")

def work():
    raise RuntimeError("worker failed after pin=4321")

def start_thread():
    threading.Thread(target=work, name="uploader").start()

QTimer.singleShot(0, slot)
QTimer.singleShot(0, start_thread)
status = app.exec()
failures.stop()
logs.stop()
print(f"still running, exit {status}", flush=True)
"""

# install(), then a real segfault (faulthandler's own test helper dereferences NULL).
_SEGFAULT = """
import faulthandler, sys
from pathlib import Path
from desktop_app.crash import install
from desktop_app.logs import start_logging

log_dir = Path(sys.argv[1])
start_logging("info", log_dir)
install(log_dir)

def deep_in_qt():
    faulthandler._sigsegv()

deep_in_qt()
"""

_CTRL_C = """
import sys
from pathlib import Path
from desktop_app.crash import install
from desktop_app.logs import start_logging

log_dir = Path(sys.argv[1])
start_logging("info", log_dir)
install(log_dir, on_error=lambda sentence: print("told:", sentence, flush=True))
raise KeyboardInterrupt
"""


def python(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=WAIT_S, **kwargs)


def floorhand_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This environment without any Floorhand variable nor display, with config and log in tmp_path."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOORHAND_") and k not in DISPLAY_VARIABLES}
    return {**clean, "FLOORHAND_MACHINE_CONFIG": str(tmp_path / "machine.toml"),
            "FLOORHAND_USER_CONFIG": str(tmp_path / "user.toml"), "FLOORHAND_LOG_DIR": str(tmp_path / "log"), **extra}


# --- uncaught exceptions ----------------------------------------------------------------

def test_an_exception_in_a_qt_slot_and_in_a_thread_is_logged_and_told_on_the_ui_thread(tmp_path):
    run = python("-c", _FAIL_IN_A_SLOT_AND_A_THREAD, str(tmp_path / "log"), env=floorhand_env(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    told = [line for line in run.stdout.splitlines() if line.startswith("told on ")]
    # The worker's failure reached on_error on the main thread, through the queued signal.
    assert told == [f"told on MainThread: {SOMETHING_WENT_WRONG}"] * 2, run.stdout
    assert "still running, exit 0" in run.stdout  # neither failure ended the process

    written = (tmp_path / "log" / LOG_FILE).read_text()
    assert "ERROR desktop_app.crash: unexpected error in the main thread" in written
    assert "ERROR desktop_app.crash: unexpected error in the thread uploader" in written
    assert written.count("Traceback (most recent call last)") == 2
    assert ", in slot\nValueError: slot failed" in written and ", in work\nRuntimeError: worker failed" in written
    # Through the log's handlers, so the secrets in the exceptions are taken out.
    assert "Bearer ***" in written and "pin=***" in written
    assert "abc.DEF123" not in written and "4321" not in written
    assert "abc.DEF123" not in run.stderr and "4321" not in run.stderr


def test_a_segfault_leaves_the_stack_in_crash_log_after_a_header_per_start(tmp_path):
    log_dir = tmp_path / "log"
    before = python("-m", "desktop_app.main", "config", "show", env=floorhand_env(tmp_path))
    assert before.returncode == 0, before.stderr
    crashed = python("-c", _SEGFAULT, str(log_dir), env=floorhand_env(tmp_path))
    assert crashed.returncode == -signal.SIGSEGV, crashed.stderr

    lines = (log_dir / CRASH_LOG).read_text().splitlines()
    headers = [line for line in lines if line.startswith("--- ")]
    assert len(headers) == 2 and all(f"Floorhand {VERSION} started (process " in h for h in headers), lines
    trace = "\n".join(lines[lines.index(headers[1]) + 1:])
    assert "Fatal Python error: Segmentation fault" in trace
    assert "in deep_in_qt" in trace


def test_the_headless_commands_install_it_too(tmp_path):
    run = python("-m", "desktop_app.main", "--data-dir", str(tmp_path / "client"), "status",
                 env=floorhand_env(tmp_path))
    assert run.returncode == 0, run.stderr
    assert f"Floorhand {VERSION} started" in (tmp_path / "log" / CRASH_LOG).read_text()


def test_without_a_writable_log_folder_crash_traces_go_to_stderr_and_the_log_says_so_once(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    unwritable = tmp_path / "a-file" / "log"
    crashed = python("-c", _SEGFAULT, str(unwritable), env=floorhand_env(tmp_path))
    assert crashed.returncode == -signal.SIGSEGV
    assert crashed.stderr.count("crash traces go to stderr: ") == 1, crashed.stderr
    assert f"{unwritable / CRASH_LOG} cannot be written" in crashed.stderr
    assert "Fatal Python error: Segmentation fault" in crashed.stderr


def test_ctrl_c_keeps_pythons_default_behaviour(tmp_path):
    run = python("-c", _CTRL_C, str(tmp_path / "log"), env=floorhand_env(tmp_path))
    assert run.returncode == -signal.SIGINT  # Python ends an uncaught KeyboardInterrupt by SIGINT
    assert run.stderr.rstrip().endswith("KeyboardInterrupt")
    assert "told:" not in run.stdout
    assert "unexpected error" not in (tmp_path / "log" / LOG_FILE).read_text()


def test_stop_puts_back_the_hooks_it_found(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "excepthook", lambda *exc: seen.append(("sys", exc[0])))
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(("thread", args.exc_type)))
    before = (sys.excepthook, threading.excepthook)
    tracing_before = faulthandler.is_enabled()  # pytest's own faulthandler, unless switched off
    told = []
    failures = install(tmp_path / "log", on_error=told.append)
    try:
        assert (sys.excepthook, threading.excepthook) != before
        sys.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)  # passed on to the hook found at install
        assert seen == [("sys", KeyboardInterrupt)] and told == []
        sys.excepthook(OSError, OSError("disk"), None)
        assert told == [SOMETHING_WENT_WRONG] and len(seen) == 1
    finally:
        failures.stop()
    assert (sys.excepthook, threading.excepthook) == before
    # A faulthandler that was on goes back to stderr; one that was off stays on crash.log until the process ends.
    assert faulthandler.is_enabled()
    assert (failures.trace_file is None) is tracing_before


def test_where_there_is_a_display():
    assert no_display({}) is (sys.platform not in ("win32", "darwin"))
    assert not no_display({"DISPLAY": ":0"}) and not no_display({"WAYLAND_DISPLAY": "wayland-0"})
    assert not no_display({"QT_QPA_PLATFORM": "offscreen"})  # a platform chosen on purpose is left to Qt
    assert not screen_for_messages({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"})
    assert screen_for_messages({"DISPLAY": ":0"}) and screen_for_messages({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"})


# --- an app that cannot start -------------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["--demo"], ["--server", "http://127.0.0.1:9"]])
def test_without_a_display_the_window_says_so_instead_of_letting_qt_abort(tmp_path, args):
    run = python("-m", "desktop_app.main", *args, env=floorhand_env(tmp_path))
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == NO_DISPLAY
    assert "could not connect to display" not in run.stderr


def test_an_app_that_cannot_start_says_why_in_a_window_and_qt_talks_only_to_the_log(tmp_path, display):  # noqa: F811
    # No server configured; Qt's platform plugin is asked for its debug chatter, which must reach the log only.
    env = floorhand_env(tmp_path, DISPLAY=display, QT_LOGGING_RULES="qt.qpa.*=true")
    terminal = tmp_path / "terminal.txt"  # a file, not a pipe: a full pipe would stall the app before its window
    with open(terminal, "wb") as out:
        app = subprocess.Popen([sys.executable, "-m", "desktop_app.main", "--log-level", "debug"], cwd=REPO,
                               env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        # --sync waits for the message window of this process to be mapped.
        found = subprocess.run([tool("xdotool"), "search", "--sync", "--onlyvisible", "--pid", str(app.pid),
                                "--name", "^Floorhand$"], env=env, capture_output=True, text=True, timeout=WAIT_S)
        assert found.returncode == 0, found.stderr
        window = found.stdout.split()[0]
        subprocess.run([tool("xdotool"), "windowfocus", "--sync", window, "key", "Return"], env=env, check=True,
                       timeout=WAIT_S)
        app.wait(timeout=WAIT_S)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    stderr = terminal.read_text()
    assert app.returncode == 2, stderr
    assert "floorhand: no server: pass --server URL" in stderr
    assert [line for line in stderr.splitlines() if line.startswith("qt.")] == []  # none of Qt's raw lines
    written = (tmp_path / "log" / LOG_FILE).read_text()
    assert "ERROR desktop_app.app: the app cannot start: no server" in written
    assert " DEBUG qt.qpa." in written  # Qt's messages, through the handler, into the log


def test_the_window_text_of_a_damaged_journal_names_the_folder_not_the_sqlite_error(tmp_path, qtbot, monkeypatch):
    from sync.store.database import JOURNAL_FILE

    from desktop_app import app as app_module

    data = tmp_path / "client"
    data.mkdir()
    (data / JOURNAL_FILE).write_bytes(b"\x00garbage" * 512)
    told = []
    monkeypatch.setattr(app_module, "tell_at_start", told.append)  # the window itself is shown under Xvfb above
    status = app_module.run({"server_url": "http://127.0.0.1:9", "data_dir": str(data)})
    assert status == 3
    assert len(told) == 1
    assert "the local journal on this device is damaged" in told[0]
    assert told[0].rstrip().endswith(str(data))  # the folder to copy for support
    assert "not a database" not in told[0] and "file is" not in told[0]
