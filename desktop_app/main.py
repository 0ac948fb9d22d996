"""`floorhand`: the desktop app; `floorhand sync` and `floorhand status` run the client core without a window."""

import argparse
import sys

HEADLESS_COMMANDS = ("sync", "status", "upload")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="floorhand", description="Floorhand: picking, packing and studio work that keeps going offline.",
        epilog="Headless commands: floorhand sync --server URL --user NAME [--once]; floorhand status.")
    parser.add_argument("--demo", action="store_true",
                        help="start a demo warehouse in this process and connect to it (nothing else needed)")
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument("--handheld", action="store_true", help="portrait one-column layout for handhelds")
    layout.add_argument("--desktop", action="store_true", help="workstation layout even on a small screen")
    parser.add_argument("--server", help="base URL of the order API (setting server_url)")
    parser.add_argument("--data-dir", help="local data folder (setting data_dir)")
    parser.add_argument("--log-level", help="debug, info, warning or error (setting log_level)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override any setting for this run, e.g. --set scanner.max_gap_ms=30")
    return parser.parse_args(argv)


def overrides_of(args: argparse.Namespace) -> dict[str, object]:
    """The command line's settings: the highest layer of the precedence (ARCHITECTURE.md §6)."""
    given: dict[str, object] = {}
    for item in args.set:
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in HEADLESS_COMMANDS or any(a in HEADLESS_COMMANDS for a in argv[:3]):
        from sync.cli import main as headless

        return headless(argv)
    args = parse_args(argv)
    from desktop_app.app import run

    return run(overrides_of(args), demo=args.demo)


if __name__ == "__main__":
    sys.exit(main())
