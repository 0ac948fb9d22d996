"""`floorhand config show`: every declared setting with its effective value and where that value came from.

Generated from the settings table (desktop_app/settings.py), so a new setting shows up here
without anyone touching this file. The output is TOML with the sources as comments: IT can
paste a line into a config file as it is.
"""

import json
from collections.abc import Callable

from desktop_app.settings import Settings
from desktop_app.version import VERSION


def toml_value(value: object) -> str:
    """`value` written as in a TOML file: true/false, numbers, double-quoted strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's string escapes are TOML's basic-string escapes
    return repr(value)


def config_lines(settings: Settings, log_file: str) -> list[str]:
    """The lines of `floorhand config show` for these settings."""
    machine = settings.machine_path
    user = settings.user_path
    lines = [
        f"# Floorhand {VERSION}: effective settings, lowest precedence first: default < machine config < "
        "user config < environment < command line",
        f"# machine config: {machine}{'' if machine.exists() else ' (not present)'}",
        f"# user config:    {user}{'' if user.exists() else ' (not present)'}",
        f"# log file:       {log_file}",
    ]
    assignments = [f"{value.setting.name} = {toml_value(value.value)}" for value in settings.values()]
    width = max(len(text) for text in assignments)
    for text, value in zip(assignments, settings.values(), strict=True):
        lines.append(f"{text:<{width}}  # {settings.origin(value.setting.name)}")
    if settings.problems:
        lines.append(f"# {len(settings.problems)} problem{'s' if len(settings.problems) != 1 else ''}: "
                     "these values were not used")
        lines.extend(f"# problem: {problem}" for problem in settings.problems)
    else:
        lines.append("# no problems")
    return lines


def show_config(settings: Settings, log_file: str, out: Callable[[str], None] = print) -> int:
    """Print the settings; exit status 0 (problems are shown, `floorhand doctor` is the check that fails)."""
    for line in config_lines(settings, log_file):
        out(line)
    return 0
