"""`floorhand upload`: queue image files for their SKUs and send them, with live progress.

    floorhand --data-dir D upload PATH... (--sku SKU | --sku-from-filename REGEX)
              [--server URL] [--user NAME] [--parts N] [--files N] [--limit-rate RATE]

Run as `floorhand upload`, --server, --data-dir, --ca-bundle and --keyring default to the
workstation's settings (machine config, user config, FLOORHAND_*; desktop_app/main.py
passes them in). Without them --server falls back to FLOORHAND_SERVER_URL, and --user to
FLOORHAND_USER. The upload signs in as `floorhand sync` does (the PIN from FLOORHAND_PIN or a prompt, online,
or offline on a device that has seen it). The queue is durable, so the same command run again after an interruption
(Ctrl+C, a lost sign-in, a crash) resumes instead of uploading twice. The run also finishes
files an earlier, interrupted command left in the queue; the summary lists the files of
this command only.
"""

import argparse
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.filesize import decimal
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from sync.client import ClientCore
from sync.upload.queue import QueuedFile, UploadQueue
from sync.upload.ratelimit import parse_rate
from sync.upload.transfer import FILES_IN_FLIGHT, PARTS_IN_FLIGHT, Summary, Uploader
from sync.upload.transfer import Progress as UploadProgress

SERVER_ENV, USER_ENV = "FLOORHAND_SERVER_URL", "FLOORHAND_USER"


def add_upload_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `upload` subcommand to the headless command line."""
    run = subparsers.add_parser("upload", help="upload image files for a SKU, resuming an interrupted upload")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files to upload")
    sku = run.add_mutually_exclusive_group(required=True)
    sku.add_argument("--sku", help="the SKU every file is for")
    sku.add_argument("--sku-from-filename", type=_pattern, metavar="REGEX",
                     help="take each file's SKU from its name: the first group of REGEX, or the whole "
                          "match; a file whose name does not match is not uploaded")
    run.add_argument("--server", default=None, help=f"base URL of the order API (default: {SERVER_ENV})")
    run.add_argument("--user", default=None, help=f"username (default: {USER_ENV}); the PIN comes from "
                                                  "FLOORHAND_PIN or a prompt")
    run.add_argument("--parts", type=_count, default=PARTS_IN_FLIGHT, metavar="N",
                     help=f"parts sent at once (default {PARTS_IN_FLIGHT})")
    run.add_argument("--files", type=_count, default=FILES_IN_FLIGHT, metavar="N",
                     help=f"files sent at once (default {FILES_IN_FLIGHT})")
    run.add_argument("--limit-rate", type=_rate, default=None, metavar="RATE",
                     help="at most this many bytes per second for all parts together, e.g. 800K or 5M "
                          "(K, M, G are powers of 1024)")
    run.add_argument("--ca-bundle", default=None, help="CA bundle for a corporate TLS certificate")
    run.add_argument("--keyring", default=None, help="keyring backend as module.Class, or 'none'")
    return run


def run_upload(args: argparse.Namespace, data_dir) -> int:
    """Queue and send the files; 0 only if every file of this command is done."""
    # Imported here: sync.cli imports this module to build its parser.
    from sync.cli import sign_in

    console = Console()
    args.server = args.server or os.environ.get(SERVER_ENV)
    args.user = args.user or os.environ.get(USER_ENV)
    for value, flag, env in ((args.server, "--server", SERVER_ENV), (args.user, "--user", USER_ENV)):
        if not value:
            print(f"floorhand: give {flag} or set {env}", file=sys.stderr)
            return 2
    skus, unmatched = _skus_of(args.paths, args.sku, args.sku_from_filename)
    for path in unmatched:
        print(f"floorhand: {path.name} does not match --sku-from-filename; it is not uploaded", file=sys.stderr)
    core = ClientCore.open(data_dir, args.server, keyring=args.keyring, ca_bundle=args.ca_bundle)
    try:
        queue = UploadQueue(core.store)
        try:
            queued = queue.add(list(skus), skus.__getitem__) if skus else []
        except ValueError as exc:
            print(f"floorhand: {exc}", file=sys.stderr)
            return 2
        if not queued:  # every name failed the pattern: nothing to sign in for
            summary = Summary()
        elif not sign_in(core, args.user):
            return 2
        else:
            summary = _send(console, lambda show: Uploader(queue, core.api, parts_in_flight=args.parts,
                                                           files_in_flight=args.files, on_progress=show,
                                                           rate_limit=args.limit_rate))
            if summary.sign_in_needed:
                core.signin.sign_out()  # the session is dead: the next run asks for the PIN
        files = [queue.get(f.id) for f in queued]
    finally:
        core.close()
    console.print(_summary_table(files, summary, unmatched))
    done = sum(f.state == "done" for f in files)
    console.print(f"{done} of {len(files) + len(unmatched)} files done.")
    if summary.stopped:
        print(f"floorhand: upload stopped: {summary.stopped}", file=sys.stderr)
        return 130 if summary.stopped == _INTERRUPTED else 2
    return 0 if done == len(files) and not unmatched else 1


_INTERRUPTED = "interrupted (Ctrl+C); run the same command again to resume"


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {text!r}")
    return value


def _rate(text: str) -> int:
    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _pattern(text: str) -> re.Pattern:
    try:
        return re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a regular expression: {exc}") from exc


def _skus_of(paths: list[Path], sku: str | None, pattern: re.Pattern | None) -> tuple[dict[Path, str], list[Path]]:
    """Each file's SKU, and the files whose names do not match the pattern."""
    if pattern is None:
        return {path: sku for path in paths}, []
    skus, unmatched = {}, []
    for path in paths:
        match = pattern.search(path.name)
        found = match and (match.group(1) if pattern.groups else match.group(0))
        if found:
            skus[path] = found
        else:
            unmatched.append(path)
    return skus, unmatched


def _send(console: Console, uploader_for: Callable[[Callable[[UploadProgress], None]], Uploader]) -> Summary:
    """Run the uploader with a live progress bar, or plain lines when stdout is not a terminal.

    The first Ctrl+C lets the parts on the way arrive and stops, leaving the rest resumable;
    a second one interrupts at once.
    """
    live = console.is_terminal
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TextColumn("{task.fields[rate]}"), TextColumn("ETA {task.fields[eta]}"))
    files_reported = [0]
    with Progress(*columns, console=console, disable=not live) as bar:
        task = bar.add_task("Uploading", total=None, rate="", eta="-")

        def show(p: UploadProgress) -> None:  # called from the uploader's worker threads
            rate, eta = f"{decimal(int(p.rate))}/s", _eta(p.eta_s)
            verb = {"paused": "Paused", "stopping": "Stopping"}.get(p.state, "Uploading")
            bar.update(task, completed=p.bytes_done, total=p.bytes_total, rate=rate, eta=eta,
                       description=f"{verb} {p.files_done}/{p.files_total} files")
            if not live and p.files_done > files_reported[0]:
                files_reported[0] = p.files_done
                console.print(f"{p.files_done}/{p.files_total} files, {decimal(p.bytes_done)} of "
                              f"{decimal(p.bytes_total)}, {rate}, ETA {eta}", highlight=False)

        uploader = uploader_for(show)
        with _first_interrupt_stops(uploader):
            return uploader.run()


@contextmanager
def _first_interrupt_stops(uploader: Uploader) -> Iterator[None]:
    """While the run lasts, SIGINT asks the uploader to stop; the handler before comes back after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return

    def stop(signum, frame) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl+C interrupts at once
        print("\nfloorhand: stopping after the parts on the way; Ctrl+C again to quit at once", file=sys.stderr)
        uploader.stop(_INTERRUPTED)

    before = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def _eta(seconds: float | None) -> str:
    return "-" if seconds is None else str(timedelta(seconds=round(seconds)))


def _summary_table(files: list[QueuedFile], summary: Summary, unmatched: list[Path]) -> Table:
    table = Table(title="Upload summary")
    table.add_column("File")
    table.add_column("SKU")
    table.add_column("State")
    table.add_column("Error", overflow="fold")
    for f in files:
        outcome = summary.files.get(f.id)
        error = (outcome.error if outcome else None) or (f.last_error if f.state != "done" else None)
        # Text, not str: rich reads a str cell as markup, and file names may hold brackets.
        table.add_row(Text(f.path.name), Text(f.sku), f.state, Text(error or ""))
    for path in unmatched:
        table.add_row(Text(path.name), "", "not queued", "name does not match --sku-from-filename")
    return table
