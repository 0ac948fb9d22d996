"""`floorhand config show` as a real process on real config files: every setting, its value and where it came from."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.config_show import toml_value
from desktop_app.settings import SETTINGS


def _show(tmp_path: Path, *args: str, machine: str = "", user: str = "", env: dict[str, str] | None = None,
          command: tuple[str, ...] = ("config", "show")) -> tuple[int, dict[str, str], list[str]]:
    """Run `floorhand config show`; (exit status, {setting: its line}, the other lines)."""
    machine_path, user_path = tmp_path / "machine.toml", tmp_path / "user.toml"
    if machine:
        machine_path.write_text(machine)
    if user:
        user_path.write_text(user)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOORHAND_")}
    run = subprocess.run([sys.executable, "-m", "desktop_app.main", *command, *args],
                         env={**clean, "FLOORHAND_MACHINE_CONFIG": str(machine_path),
                              "FLOORHAND_USER_CONFIG": str(user_path), "FLOORHAND_LOG_DIR": str(tmp_path / "log"),
                              **(env or {})},
                         capture_output=True, text=True, timeout=120)
    assert run.stderr == "", run.stderr
    by_name, other = {}, []
    for line in run.stdout.splitlines():
        name = line.split(" = ", 1)[0]
        if not line.startswith("#") and " = " in line:
            by_name[name] = line
        else:
            other.append(line)
    return run.returncode, by_name, other


def test_every_declared_setting_is_shown_with_its_default(tmp_path):
    status, lines, other = _show(tmp_path)
    assert status == 0
    assert list(lines) == [s.name for s in SETTINGS]
    for setting in SETTINGS:
        if setting.name == "log_dir":
            continue  # set by FLOORHAND_LOG_DIR for the test
        assert lines[setting.name].startswith(f"{setting.name} = {toml_value(setting.default)} ")
        assert lines[setting.name].endswith("# default")
    assert f"# machine config: {tmp_path / 'machine.toml'} (not present)" in other
    assert f"# log file:       {tmp_path / 'log' / 'floorhand.log'}" in other
    assert "# no problems" in other


LEVELS = ["machine", "user", "environment", "command line"]


@pytest.mark.parametrize("top", LEVELS[1:])
def test_each_level_wins_over_the_ones_below(tmp_path, top):
    wanted = LEVELS[:LEVELS.index(top) + 1]
    machine = "[scanner]\nmax_gap_ms = 30\n" if "machine" in wanted else ""
    user = "[scanner]\nmax_gap_ms = 40\n" if "user" in wanted else ""
    env = {"FLOORHAND_SCANNER_MAX_GAP_MS": "45"} if "environment" in wanted else {}
    args = ["--set", "scanner.max_gap_ms=55"] if "command line" in wanted else []
    status, lines, _ = _show(tmp_path, *args, machine=machine, user=user, env=env)
    expected = {"user": f"= 40  # user config ({tmp_path / 'user.toml'})",
                "environment": "= 45  # environment (FLOORHAND_SCANNER_MAX_GAP_MS)",
                "command line": "= 55  # command line"}[top]
    assert status == 0
    assert " ".join(lines["scanner.max_gap_ms"].split()) == "scanner.max_gap_ms " + " ".join(expected.split())


def test_the_machine_config_wins_over_the_default(tmp_path):
    _, lines, _ = _show(tmp_path, machine="[scanner]\nmax_gap_ms = 30\n")
    assert " ".join(lines["scanner.max_gap_ms"].split()) == \
        f"scanner.max_gap_ms = 30 # machine config ({tmp_path / 'machine.toml'})"


def test_a_locked_key_ignores_the_user_the_environment_and_the_command_line(tmp_path):
    status, lines, _ = _show(
        tmp_path, "--server", "https://cli.example", "--set", "sounds.enabled=true",
        machine='locked = ["server_url", "sounds.enabled"]\nserver_url = "https://orders.example"\n',
        user='server_url = "https://mine.example"\n[sounds]\nenabled = false\n',
        env={"FLOORHAND_SERVER_URL": "https://env.example"})
    assert status == 0
    machine, user = tmp_path / "machine.toml", tmp_path / "user.toml"
    server = lines["server_url"]
    assert server.startswith('server_url = "https://orders.example" ')
    assert server.endswith(f"# machine config ({machine}), locked; ignored: user config ({user}), "
                           "environment (FLOORHAND_SERVER_URL), command line")
    # Locked without a value in the machine config: the default stays, whatever the others say.
    sounds = lines["sounds.enabled"]
    assert sounds.startswith("sounds.enabled = true ")
    assert sounds.endswith(f"# default, locked by the machine config; ignored: user config ({user}), command line")


def test_bad_values_and_unknown_keys_are_shown_as_problems(tmp_path):
    status, lines, other = _show(tmp_path, "--set", "sounds.volume=loud",
                                 user="[scanner]\nmax_gap_ms = 2\nmax_gpa_ms = 30\n")
    assert status == 0
    assert lines["scanner.max_gap_ms"].endswith("# default")
    problems = [line for line in other if line.startswith("# problem: ")]
    assert len(problems) == 3, other
    text = "\n".join(problems)
    assert "scanner.max_gap_ms = 2 is below the minimum of 5; using 50 from defaults" in text
    assert "unknown setting 'scanner.max_gpa_ms' (did you mean 'scanner.max_gap_ms'?)" in text
    assert "command line: sounds.volume = 'loud' is not a number; using 0.8 from defaults" in text
    assert "# 3 problems: these values were not used" in other


def test_an_unreadable_config_file_is_a_problem_not_a_crash(tmp_path):
    status, lines, other = _show(tmp_path, machine="server_url = \n")
    assert status == 0
    assert lines["server_url"].endswith("# default")
    assert any(line.startswith(f"# problem: {tmp_path / 'machine.toml'}: cannot be read") for line in other)


def test_values_are_written_as_toml():
    assert [toml_value(v) for v in (True, False, 7, 0.8, "a \"quoted\" path\\")] == \
        ["true", "false", "7", "0.8", '"a \\"quoted\\" path\\\\"']



def test_options_before_and_after_the_command_both_count(tmp_path):
    status, lines, _ = _show(tmp_path, "--set", "sounds.volume=0.5", "--server", "http://x", "config", "show",
                             "--set", "feedback.flash_ms=400", "--data-dir", "/srv/floorhand", command=())
    assert status == 0
    for name, value in (("sounds.volume", "0.5"), ("server_url", '"http://x"'), ("feedback.flash_ms", "400"),
                        ("data_dir", '"/srv/floorhand"')):
        assert " ".join(lines[name].split()) == f"{name} = {value} # command line"
