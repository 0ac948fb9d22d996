"""`floorhand upload`: send the photos of files and folders for their SKUs, with live progress.

    floorhand --data-dir D upload PATH... (--sku SKU | --sku-from-filename REGEX)
              [--server URL] [--user NAME] [--parts N] [--files N] [--limit-rate RATE]

A PATH is a photo, or a folder searched through for photos (sync/upload/folders.py says
which files go and which are skipped); what is skipped, and why, is summed up before
anything is sent. Every photo is checked first, as the studio checks a capture: a file whose
structure is not whole (cut short, or not the image its name says: sync/studio/decodable.py)
is held, and so is one that falls short of the style guide (type, embedded sRGB profile,
bit depth: sync/studio/styleguide.py; --no-style-guide sends those anyway). Held files are
listed with the reason and not sent. Run as `floorhand upload`, --server, --data-dir, --ca-bundle and --keyring
default to the workstation's settings (machine config, user config, FLOORHAND_*;
desktop_app/main.py passes them in). Without them --server falls back to
FLOORHAND_SERVER_URL, and --user to FLOORHAND_USER. The upload signs in online as `floorhand
sync` does (the PIN from FLOORHAND_PIN or a prompt); a set already uploaded needs no sign-in.
The queue is durable, so the same command run again after an interruption (Ctrl+C, a
server outage, a lost sign-in, a crash) resumes instead of uploading twice. The run also
finishes files an earlier, interrupted command left in the queue; the progress line and
the summary count the files of this command only. sync/upload/terminal.py draws the line.
"""

import argparse
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sync.api import Offline, ServerBusy
from sync.client import ClientCore
from sync.credentials import NO_KEYRING
from sync.studio.decodable import why_not_decodable
from sync.studio.styleguide import AVAILABLE as STYLE_GUIDE_AVAILABLE
from sync.studio.styleguide import NOT_AVAILABLE_WORDS as STYLE_GUIDE_NOT_AVAILABLE
from sync.studio.styleguide import StyleGuide
from sync.studio.styleguide import check as check_style
from sync.tls import untrusted_certificate
from sync.upload.folders import EMPTY, Skipped, select_photos
from sync.upload.queue import ACTIVE, QueuedFile, UploadQueue
from sync.upload.ratelimit import parse_rate
from sync.upload.terminal import RunLine, ServerWatch, TerminalLog
from sync.upload.transfer import FILES_IN_FLIGHT, PARTS_IN_FLIGHT, Summary, Uploader
from sync.upload.transfer import Progress as UploadProgress

log = logging.getLogger(__name__)

SERVER_ENV, USER_ENV = "FLOORHAND_SERVER_URL", "FLOORHAND_USER"


def add_upload_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `upload` subcommand to the headless command line."""
    run = subparsers.add_parser("upload", help="upload photos (files or folders) for a SKU, resuming an "
                                               "interrupted upload")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                     help="photos, or folders to search through for image and RAW files (hidden, temporary "
                          "and empty files are skipped)")
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
    run.add_argument("--no-style-guide", dest="style_guide", action="store_false",
                     help="send photos that fall short of the style guide (type, sRGB profile, bit depth); "
                          "a file cut short or not an image is held all the same")
    run.add_argument("--ca-bundle", default=None, help="CA bundle for a corporate TLS certificate")
    run.add_argument("--keyring", default=None, help="keyring backend as module.Class, or 'none'")
    return run


def run_upload(args: argparse.Namespace, data_dir) -> int:
    """Queue and send the photos; 0 only if every file of this command is done."""
    console = Console(highlight=False)
    args.server = args.server or os.environ.get(SERVER_ENV)
    args.user = args.user or os.environ.get(USER_ENV)
    for value, flag, env in ((args.server, "--server", SERVER_ENV), (args.user, "--user", USER_ENV)):
        if not value:
            print(f"floorhand: give {flag} or set {env}", file=sys.stderr)
            return 2
    try:
        selection = select_photos(args.paths)
    except ValueError as exc:
        print(f"floorhand: {exc}", file=sys.stderr)
        return 2
    skus, unmatched = _skus_of(selection.files, args.sku, args.sku_from_filename)
    skipped = selection.skipped + [Skipped(path, UNMATCHED) for path in unmatched]
    held = _held(skus, StyleGuide() if getattr(args, "style_guide", True) else None)
    if skus and getattr(args, "style_guide", True) and not STYLE_GUIDE_AVAILABLE:
        print(f"floorhand: note: {STYLE_GUIDE_NOT_AVAILABLE}", file=sys.stderr)
    for h in held:
        del skus[h.path]
    watch = ServerWatch()
    with TerminalLog(watch) as terminal_log:
        core = ClientCore.open(data_dir, args.server, keyring=args.keyring, ca_bundle=args.ca_bundle)
        try:
            queue = UploadQueue(core.store)
            try:
                queued = queue.add(list(skus), skus.__getitem__) if skus else []
            except ValueError as exc:
                print(f"floorhand: {exc}", file=sys.stderr)
                return 2
            if skipped:
                console.print(*_skipped_lines(skipped), sep="\n")
            if held:
                console.print(*_held_lines(held), sep="\n")
            to_send = [f.id for f in queued if f.state != "done"]
            summary = Summary()
            if to_send:
                if len(to_send) < len(queued):
                    console.print(f"Already uploaded: {len(queued) - len(to_send)} of the {_files(len(queued))}; "
                                  f"sending the other {len(to_send)}.")
                summary = _sign_in_and_send(args, core, queue, to_send, console, watch, terminal_log)
                if summary is None:
                    return 2
            elif queued and (earlier := len(queue.pending())):
                console.print(f"{_files(earlier)} of an earlier upload still queued: the next upload that has "
                              "files to send sends them too.")
            files = [queue.get(f.id) for f in queued]
        finally:
            core.close()
    return _report(console, files, skipped + held, summary, watch, sent=bool(to_send))


def _sign_in_and_send(args: argparse.Namespace, core: ClientCore, queue: UploadQueue, to_send: list[int],
                      console: Console, watch: ServerWatch, terminal_log: TerminalLog) -> Summary | None:
    """Sign in online and run the upload; None when the sign-in failed (why is printed).

    A server out of reach at the sign-in ends the run at once, the files queued: an upload
    cannot do anything offline, and the report says so once.
    """
    from sync.cli import sign_in  # imported here: sync.cli imports this module to build its parser

    try:
        if not sign_in(core, args.user, offline=False):
            return None
    except (Offline, ServerBusy) as exc:
        if untrusted_certificate(exc):
            print(f"floorhand: {exc}", file=sys.stderr)
            return None
        log.info("no sign-in, the server is out of reach: %s", exc)
        return Summary()
    watch.answered()
    _tell_keyring(core.signin.keyring_note, args.keyring)
    summary = _send(console, queue, to_send, watch, terminal_log,
                    lambda show: Uploader(queue, core.api, parts_in_flight=args.parts, files_in_flight=args.files,
                                          on_progress=show, rate_limit=args.limit_rate))
    if summary.sign_in_needed:
        core.signin.sign_out()  # the session is dead: the next run asks for the PIN
    return summary


UNMATCHED = "name does not match --sku-from-filename"
_INTERRUPTED = "interrupted (Ctrl+C); run the same command again to resume"
_EXAMPLES = 3  # names shown per reason a file was skipped for
# Files not queued that still get a row in the summary: they look like photos someone meant to send.
_ROW_REASONS = (EMPTY, UNMATCHED)


def _report(console: Console, files: list[QueuedFile], skipped: list[Skipped], summary: Summary,
            watch: ServerWatch, *, sent: bool) -> int:
    """The summary table and the closing lines; returns the exit code."""
    not_queued = [s for s in skipped if s.reason in _ROW_REASONS or isinstance(s, Held)]
    left = [f for f in files if f.state in ACTIVE]
    # The run ended while the server did not answer: said once, in plain words, below the table.
    outage = bool(left) and watch.waiting and not summary.stopped
    if not files and not not_queued:
        console.print("No photos to upload.")
        return 1
    console.print(_summary_table(files, summary, not_queued, outage))
    done = sum(f.state == "done" for f in files)
    if files and done == len(files) and not sent:
        already = "The file was" if len(files) == 1 else f"All {len(files)} files were"
        console.print(f"{already} already uploaded; nothing was sent.")
    else:
        console.print(f"{done} of {_files(len(files) + len(not_queued))} done.")
    if summary.stopped:
        print(f"floorhand: upload stopped: {summary.stopped}", file=sys.stderr)
        return 130 if summary.stopped == _INTERRUPTED else 2
    if outage:
        print(f"floorhand: {watch.trouble}, so {len(left)} of the {_files(len(files))} are not uploaded yet. "
              "Run the same command again to resume.", file=sys.stderr)
    return 0 if done == len(files) and not not_queued else 1


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def _tell_keyring(note: str | None, keyring: str | None) -> None:
    """The keyring notice once, in plain words (the technical reason is in the log).

    Not when the keyring is switched off on purpose (keyring = none): whoever did that knows.
    """
    if note and keyring != NO_KEYRING:
        print(f"floorhand: note: {note}", file=sys.stderr)


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


def _send(console: Console, queue: UploadQueue, ours: list[int], watch: ServerWatch, terminal_log: TerminalLog,
          uploader_for: Callable[[Callable[[UploadProgress], None]], Uploader]) -> Summary:
    """Run the uploader with its progress line (plain lines when stdout is not a terminal).

    The first Ctrl+C lets the parts on the way arrive and stops, leaving the rest resumable;
    a second one interrupts at once.
    """
    line = RunLine(console, queue, ours, watch)
    uploader = uploader_for(line.on_progress)
    with line.shown(uploader.progress, terminal_log), _first_interrupt_stops(uploader):
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


class Held(Skipped):
    """A photo checked and not sent: its structure is not whole, or it falls short of the style guide."""


def _held(skus: dict[Path, str], guide: StyleGuide | None) -> list[Held]:
    """The photos that fail their checks, each with the reason in plain words (no guide: structure only)."""
    held = []
    for path in skus:
        reason = why_not_decodable(path)
        if reason is not None:  # a phrase; said here as a sentence like the style guide's
            reason = f"{reason[0].upper()}{reason[1:]}{'' if reason.endswith('.') else '.'}"
        elif guide is not None:
            reason = " ".join(f.words for f in check_style(path, guide)) or None
        if reason is not None:
            held.append(Held(path, reason))
    return held


def _held_lines(held: list[Held]) -> list[Text]:
    """Every held photo with its reason: each needs putting right by hand, so none is left out."""
    return [Text(f"Held, not uploaded ({_files(len(held))}; put right and run again):"),
            *(Text(f"  {h.path.name}: {h.reason}") for h in held)]


def _skipped_lines(skipped: list[Skipped]) -> list[Text]:
    """What was skipped, per reason: how many, and the first few names."""
    folders = sum(s.folder for s in skipped)
    counted = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in ((len(skipped) - folders, "file"),
                                                                     (folders, "folder")) if n]
    lines = [Text(f"Skipped {' and '.join(counted)}:")]
    by_reason: dict[str, list[Skipped]] = {}
    for s in skipped:
        by_reason.setdefault(s.reason, []).append(s)
    for reason, these in by_reason.items():
        names = [s.path.name + ("/" if s.folder else "") for s in these[:_EXAMPLES]]
        more = ", …" if len(these) > _EXAMPLES else ""
        # Text, not str: rich reads a str as markup, and file names may hold brackets.
        lines.append(Text(f"  {reason}: {len(these)} ({', '.join(names)}{more})"))
    return lines


def _summary_table(files: list[QueuedFile], summary: Summary, not_queued: list[Skipped], outage: bool) -> Table:
    """One row per file of this command.

    After an outage the files left show no error: each would repeat the same network error,
    which the log keeps; the line below the table says it once, in plain words.
    """
    table = Table(title="Upload summary")
    table.add_column("File")
    table.add_column("SKU")
    table.add_column("State")
    table.add_column("Error", overflow="fold")
    for f in files:
        outcome = summary.files.get(f.id)
        error = (outcome.error if outcome else None) or (f.last_error if f.state != "done" else None)
        if outage and f.state in ACTIVE:
            error = None
        # Text, not str: rich reads a str cell as markup, and file names may hold brackets.
        table.add_row(Text(f.path.name), Text(f.sku), f.state, Text(error or ""))
    for s in not_queued:
        table.add_row(Text(s.path.name), "", "held" if isinstance(s, Held) else "not queued", Text(s.reason))
    return table
