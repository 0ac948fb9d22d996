"""`floorhand --version` and `floorhand --self-test` as real processes, as CI runs them from the bundle."""

import os
import re
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt

from desktop_app.selftest import scanner_keys
from desktop_app.version import VERSION

STEPS = ["start the demo order API", "build the app", "show the main window", "sign in", "claim a pick batch",
         "assign totes", "pick one task by scans", "push the picks", "check the server"]


def floorhand(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """`floorhand ARGS` with config files and the log folder of its own; the rest of the environment as is."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOORHAND_")}
    env = {**clean, "FLOORHAND_MACHINE_CONFIG": str(tmp_path / "machine.toml"),
           "FLOORHAND_USER_CONFIG": str(tmp_path / "user.toml"), "FLOORHAND_LOG_DIR": str(tmp_path / "log")}
    return subprocess.run([sys.executable, "-m", "desktop_app.main", *args], env=env, capture_output=True, text=True,
                          timeout=180)


def test_version_prints_the_one_version_number(tmp_path):
    run = floorhand(tmp_path, "--version")
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"floorhand {VERSION}\n"


def test_the_self_test_signs_in_picks_by_scans_and_finds_the_pick_on_the_server(tmp_path):
    run = floorhand(tmp_path, "--self-test")
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert [line.split(":", 1)[0] for line in lines[:-1]] == [f"[ ok ] {step}" for step in STEPS]
    assert lines[-1] == "self-test passed"
    by_step = dict(zip(STEPS, lines, strict=False))
    assert "Anna Berg (picker) by badge U0001, online=True" in by_step["sign in"]
    assert "offscreen platform" in by_step["show the main window"]
    scanned = int(re.search(r": (\d+) x ", by_step["pick one task by scans"]).group(1))
    picked, before = map(int, re.search(r"picked (\d+) \(was (\d+)\)", by_step["check the server"]).groups())
    assert scanned >= 1 and picked == before + scanned
    log = (tmp_path / "log" / "floorhand.log").read_text()
    assert "demo order API at http://127.0.0.1:" in log  # the run went to the log file too


def test_a_step_that_cannot_work_fails_the_run_with_the_step_and_the_reason(tmp_path):
    # Scans shorter than 64 keys count as typing: the badge scan cannot sign anyone in.
    (tmp_path / "user.toml").write_text("[scanner]\nmin_length = 64\n")
    run = floorhand(tmp_path, "--self-test")
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[-2].startswith("[FAIL] sign in: the badge scan U0001 reached the screen as typing, not as a scan")
    assert lines[-1].startswith("self-test FAILED at step 'sign in': ")
    assert not any(line.startswith("[ ok ] claim a pick batch") for line in lines)


def test_scans_are_typed_with_the_sites_prefix_and_suffix():
    assert scanner_keys("T-01", "", "enter") == [(Qt.Key.Key_T, "T"), (Qt.Key.Key_Minus, "-"), (Qt.Key.Key_0, "0"),
                                                 (Qt.Key.Key_1, "1"), (Qt.Key.Key_Return, "\r")]
    assert scanner_keys("a", "]", "tab") == [(Qt.Key.Key_BracketRight, "]"), (Qt.Key.Key_A, "a"),
                                             (Qt.Key.Key_Tab, "\t")]
    assert scanner_keys("ab", "", "none") == [(Qt.Key.Key_A, "a"), (Qt.Key.Key_B, "b")]
