"""`floorhand`: the desktop app, its self-test and IT's commands; `sync`, `status`, `upload`, `studio` run headless."""

import argparse
import sys

from desktop_app.version import VERSION

HEADLESS_COMMANDS = ("sync", "status", "upload", "studio")
# Over SSH on Linux Qt would abort the window with "could not connect to display" (exit 134).
NO_DISPLAY = ("floorhand: there is no display here (started over SSH?). Start Floorhand from the desktop, "
              "or use `floorhand doctor` / `floorhand --self-test`, which need none.")
# `floorhand doctor` re-runs this executable with this flag to see whether Qt's platform
# plugin loads: a plugin that fails aborts the process, so it is tried in a child. In a
# PyInstaller bundle sys.executable is floorhand itself, so the flag is handled first thing.
QT_PROBE_FLAG = "--qt-platform-probe"


def _settings_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # On a subcommand the defaults are suppressed, so an option given before the command is kept.
    default = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument("--server", help="base URL of the order API (setting server_url)", **default)
    parser.add_argument("--data-dir", help="local data folder (setting data_dir)", **default)
    parser.add_argument("--log-level", help="debug, info, warning or error (setting log_level)", **default)
    # --set after the command goes to a list of its own: argparse would replace the earlier list otherwise.
    parser.add_argument("--set", action="append", metavar="NAME=VALUE", dest="set" if top else "set_after_command",
                        **({"default": []} if top else default),
                        help="override any setting for this run, e.g. --set scanner.max_gap_ms=30")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="floorhand", description="Floorhand: picking, packing and studio work that keeps going offline.",
        epilog="Headless commands: floorhand sync --server URL --user NAME [--once]; floorhand status; "
               "floorhand upload; floorhand studio watch FOLDER. "
               "For IT: floorhand doctor; floorhand config show; floorhand --self-test.")
    parser.add_argument("--version", action="version", version=f"floorhand {VERSION}")
    parser.add_argument("--demo", action="store_true",
                        help="start a demo warehouse in this process and connect to it (nothing else needed)")
    parser.add_argument("--self-test", action="store_true",
                        help="run the app offscreen on the demo warehouse, sign in, pick one task by simulated "
                             "scans and check the server got it; exit 0 when all of it works")
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument("--handheld", action="store_true", help="portrait one-column layout for handhelds")
    layout.add_argument("--desktop", action="store_true", help="workstation layout even on a small screen")
    _settings_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="{doctor,config}")
    doctor = commands.add_parser("doctor", help="check this workstation: one line per check, non-zero exit on failure")
    _settings_options(doctor, top=False)
    config = commands.add_parser("config", help="the settings: `floorhand config show`")
    actions = config.add_subparsers(dest="action", required=True, metavar="show")
    show = actions.add_parser("show", help="every setting's effective value and where it came from")
    _settings_options(show, top=False)
    return parser.parse_args(argv)


def overrides_of(args: argparse.Namespace) -> dict[str, object]:
    """The command line's settings: the highest layer of the precedence (ARCHITECTURE.md §6)."""
    given: dict[str, object] = {}
    for item in [*args.set, *getattr(args, "set_after_command", [])]:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"floorhand: --set needs NAME=VALUE, not {item!r}")
        given[name.strip()] = value
    for name, value in (("server_url", args.server), ("data_dir", args.data_dir), ("log_level", args.log_level)):
        if value is not None:
            given[name] = value
    if args.handheld or args.desktop:
        given["ui.layout"] = "handheld" if args.handheld else "desktop"
    return given


def command_of(argv: list[str]) -> str | None:
    """The first word of the command line that is neither an option nor an option's value."""
    words = iter(argv)
    for word in words:
        if word in _OPTIONS_WITH_VALUES:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


_OPTIONS_WITH_VALUES = ("--server", "--data-dir", "--log-level", "--set")


def given_log_level(argv: list[str]) -> str | None:
    """The --log-level of a headless command line, which sync.cli parses itself."""
    for i, arg in enumerate(argv):
        if arg == "--log-level" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--log-level="):
            return arg.partition("=")[2]
    return None


def _quiet_settings(overrides: dict[str, object]):
    """The settings, read without logging their problems: the log is not set up yet, and the
    command reads (and reports) them itself where it cares."""
    from desktop_app.settings import Settings

    return Settings.load(overrides=overrides, log_problems=False)


def _headless_defaults(settings) -> dict[str, str]:
    """The settings a headless command uses where its flags are silent (machine config, user config, FLOORHAND_*)."""
    return {"server": settings["server_url"], "data_dir": settings["data_dir"], "ca_bundle": settings["ca_bundle"],
            "keyring": settings["keyring"]}


def _start_logging(settings, *, quiet_console: bool):
    """The log file and stderr for this run, from the settings' log_level and log_dir.

    quiet_console keeps the terminal at warnings whatever the file gets: commands print
    their own results there.
    """
    from desktop_app.logs import log_dir_of, start_logging

    return start_logging(str(settings["log_level"]), log_dir_of(settings["log_dir"]),
                         console_level="warning" if quiet_console else None)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [QT_PROBE_FLAG]:
        from desktop_app.doctor import probe_qt_platform

        return probe_qt_platform()
    headless = command_of(argv) in HEADLESS_COMMANDS
    if headless:
        level = given_log_level(argv)
        settings = _quiet_settings({"log_level": level} if level else {})
        # The terminal keeps the headless commands' quiet default; the file gets the settings' level.
        quiet_console = level is None
    else:
        args = parse_args(argv)
        overrides = overrides_of(args)
        command = "self-test" if args.self_test else args.command
        settings = _quiet_settings(overrides)
        # The app logs to the terminal as much as to the file; the commands print their own results.
        quiet_console = command is not None and args.log_level is None
    logs = _start_logging(settings, quiet_console=quiet_console)
    failures = _catch_failures(settings)
    try:
        if headless:
            from sync.cli import main as run_headless

            return run_headless(argv, defaults=_headless_defaults(settings))
        return _run(command, args, overrides, logs.path, failures)
    except Exception:  # the last stop: logged with its traceback, as floorhandw.exe has no console to print it on
        failures.failed("the main thread", sys.exc_info())  # type: ignore[arg-type]
        return 1
    finally:
        failures.stop()
        logs.stop()


def _catch_failures(settings):
    """Right after the log starts: uncaught exceptions to the log, crash traces to crash.log beside it."""
    from desktop_app.crash import install
    from desktop_app.logs import log_dir_of

    return install(log_dir_of(settings["log_dir"]))


def _run(command: str | None, args: argparse.Namespace, overrides: dict[str, object], log_path, failures) -> int:
    shown_log = str(log_path) if log_path else "none: the log folder cannot be written (see the warning above)"
    if command == "self-test":
        from desktop_app.selftest import run_self_test

        return run_self_test(overrides, out=lambda line: print(line, flush=True))
    if command == "doctor":
        from desktop_app.doctor import run_doctor

        return run_doctor(overrides, shown_log)
    if command == "config":
        from desktop_app.config_show import show_config
        from desktop_app.settings import Settings

        return show_config(Settings.load(overrides=overrides, log_problems=False), shown_log)
    from desktop_app.crash import no_display

    if no_display():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    from desktop_app.app import run

    return run(overrides, demo=args.demo, failures=failures)


if __name__ == "__main__":
    sys.exit(main())
