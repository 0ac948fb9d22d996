"""`floorhand studio watch FOLDER`: a photographer's capture folder, taken, named and uploaded without the window.

    floorhand studio watch FOLDER (--sku SKU | --sku-from-filename REGEX) [--session-folder DIR]
              [--settle SECONDS] [--poll] [--no-style-guide] [--server URL] [--user NAME]

For a photographer's computer that does not run the window (a Mac tethered to the camera):
each capture that lands in FOLDER is taken once it is complete and whole
(sync/studio/hotfolder.py), checked against the style guide (sync/studio/styleguide.py),
moved crash-safely into the session folder under its SKU's next name
(sync/studio/captures.py) and uploaded in the background (sync/upload). A capture whose name
gives no SKU goes to the session folder's Unassigned tray; one that falls short of the style
guide stays in FOLDER, its reason printed. One line per event, for a terminal or a log.

Ctrl+C (or SIGTERM) stops after the parts on the way. The same command again resumes: a move
a kill interrupted is finished (never a capture lost or twice), captures moved but not yet
queued are queued, and uploads continue without sending stored parts again. When the server
is out of reach captures are still taken and named; their uploads start when it answers.
"""

import argparse
import getpass
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from sync.api import ApiError, Offline, ServerBusy
from sync.client import ClientCore
from sync.signin import DeviceNotUsable, SignInRefused
from sync.studio.captures import CaptureLedger
from sync.studio.hotfolder import Capture, Held, HotFolder
from sync.studio.styleguide import AVAILABLE as STYLE_GUIDE_AVAILABLE
from sync.studio.styleguide import NOT_AVAILABLE_WORDS, StyleGuide
from sync.studio.styleguide import check as check_style
from sync.upload.queue import UploadQueue
from sync.upload.transfer import Uploader

log = logging.getLogger(__name__)

SESSION_FOLDER = "Floorhand session"  # beside FOLDER unless --session-folder says otherwise
_RETRY_S = 30.0  # while the server is out of reach, how often the upload side tries again
_STOPPED = "stopped (Ctrl+C); run the same command again to resume"


def add_studio_parser(subparsers) -> argparse.ArgumentParser:
    """Add `studio watch` to the headless command line."""
    studio = subparsers.add_parser("studio", help="the photo studio without the window: `studio watch FOLDER`")
    actions = studio.add_subparsers(dest="action", required=True, metavar="watch")
    watch = actions.add_parser("watch", help="take each capture of FOLDER once it is complete, name it for its "
                                             "SKU and upload it")
    watch.add_argument("folder", type=Path, metavar="FOLDER", help="the camera software's capture folder")
    sku = watch.add_mutually_exclusive_group(required=True)
    sku.add_argument("--sku", help="the SKU every capture is for")
    sku.add_argument("--sku-from-filename", type=re.compile, metavar="REGEX",
                     help="each capture's SKU from its name: the first group of REGEX, or the whole match; a "
                          "capture whose name does not match goes to the Unassigned tray")
    watch.add_argument("--session-folder", type=Path, default=None,
                       help=f"where taken captures go, named for their SKU (default: '{SESSION_FOLDER}' beside "
                            "FOLDER, on the same disk)")
    watch.add_argument("--settle", type=float, default=1.5, metavar="SECONDS",
                       help="how long a file must stay unchanged before it is taken (default 1.5)")
    watch.add_argument("--poll", action="store_true",
                       help="look at the folder every second instead of waiting for file events (network shares)")
    watch.add_argument("--no-style-guide", dest="style_guide", action="store_false",
                       help="take captures that fall short of the style guide (type, sRGB profile, bit depth)")
    watch.add_argument("--server", default=None, help="base URL of the order API (default: FLOORHAND_SERVER_URL)")
    watch.add_argument("--user", default=None, help="username (default: FLOORHAND_USER); the PIN comes from "
                                                    "FLOORHAND_PIN or a prompt")
    watch.add_argument("--ca-bundle", default=None, help="CA bundle for a corporate TLS certificate")
    watch.add_argument("--keyring", default=None, help="keyring backend as module.Class, or 'none'")
    return watch


def run_studio(args: argparse.Namespace, data_dir) -> int:
    """`floorhand studio watch`: runs until Ctrl+C or SIGTERM; 0 when it stopped cleanly."""
    args.server = args.server or os.environ.get("FLOORHAND_SERVER_URL")
    args.user = args.user or os.environ.get("FLOORHAND_USER")
    for value, flag, env in ((args.server, "--server", "FLOORHAND_SERVER_URL"),
                             (args.user, "--user", "FLOORHAND_USER")):
        if not value:
            print(f"floorhand: give {flag} or set {env}", file=sys.stderr)
            return 2
    folder = args.folder.expanduser()
    if not folder.is_dir():
        print(f"floorhand: {folder} is not a folder", file=sys.stderr)
        return 2
    session = (args.session_folder or folder.parent / SESSION_FOLDER).expanduser()
    session.mkdir(parents=True, exist_ok=True)
    pin = os.environ.get("FLOORHAND_PIN") or getpass.getpass(f"PIN for {args.user}: ")
    core = ClientCore.open(data_dir, args.server, keyring=args.keyring, ca_bundle=args.ca_bundle)
    try:
        watch = StudioWatch(core, folder, session, sku_of(args.sku, args.sku_from_filename),
                            StyleGuide() if args.style_guide else None, say=_say,
                            settle_s=args.settle, use_events=not args.poll)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        if not watch.sign_in(args.user, pin):
            return 2
        watch.start()
        _say(f"Watching {folder}; captures go to {session}. Ctrl+C stops.")
        if args.style_guide and not STYLE_GUIDE_AVAILABLE:
            _say(NOT_AVAILABLE_WORDS)
        while not stop.wait(0.5):
            if watch.stopped_for is not None:
                break
        watch.stop(_STOPPED)
        if watch.stopped_for is not None and watch.stopped_for != _STOPPED:
            print(f"floorhand: {watch.stopped_for}", file=sys.stderr)
            return 2
        return 0
    finally:
        core.close()


def sku_of(sku: str | None, pattern: re.Pattern | None) -> Callable[[str], str | None]:
    """The SKU of a capture by its file name: the one given, or the pattern's first group (None: no SKU)."""
    if sku is not None:
        return lambda _name: sku
    assert pattern is not None

    def from_name(name: str) -> str | None:
        found = pattern.search(name)
        if found is None:
            return None
        return found.group(1) if found.groups() else found.group(0)

    return from_name


class StudioWatch:
    """The capture folder, the ledger of taken captures and the uploader, run together.

    Captures are handed over on the hot folder's thread; uploads run on one thread of their
    own, woken by each capture queued, one Uploader run at a time.
    """

    def __init__(self, core: ClientCore, folder: Path, session: Path, sku_for: Callable[[str], str | None],
                 guide: StyleGuide | None, *, say: Callable[[str], None], settle_s: float = 1.5,
                 use_events: bool = True) -> None:
        self._core, self._sku_for, self._guide, self._say = core, sku_for, guide, say
        self._ledger = CaptureLedger(core.store, session)
        self._queue = UploadQueue(core.store)
        self._hot = HotFolder(folder, self._on_capture, self._on_held, settle_s=settle_s, use_events=use_events)
        self._wake, self._halt = threading.Event(), threading.Event()
        self._uploader = Uploader(self._queue, core.api)  # one for every run: its part buffers are reused
        self._thread: threading.Thread | None = None
        self._user: str | None = None
        self._pin: str | None = None
        self._online = False
        self.stopped_for: str | None = None

    def sign_in(self, user: str, pin: str) -> bool:
        """Sign in online; a server out of reach is not an error (captures are taken, uploads wait)."""
        self._user, self._pin = user, pin
        try:
            self._core.signin.online(username=user, pin=pin)
        except (Offline, ServerBusy) as exc:
            log.info("studio watch starts without the server: %s", exc)
            self._say("The server cannot be reached: captures are taken and named; they upload when it answers.")
            return True
        except DeviceNotUsable as exc:
            print(f"floorhand: {exc} {exc.problem.fix}", file=sys.stderr)
            return False
        except (SignInRefused, ApiError) as exc:
            print(f"floorhand: sign-in failed: {exc}", file=sys.stderr)
            return False
        self._online = True
        return True

    def start(self) -> None:
        for taken in self._ledger.recover():
            log.info("a move interrupted last time was finished: %s", taken.path)
        for taken in self._ledger.placed_not_queued():
            self._queue_for_upload(taken)
        self._thread = threading.Thread(target=self._upload_loop, name="studio-upload", daemon=True)
        self._thread.start()
        self._hot.start()
        self._wake.set()

    def stop(self, reason: str) -> None:
        self._hot.stop()
        self._halt.set()
        self._uploader.stop(reason)
        self._wake.set()
        if self._thread is not None:
            self._thread.join(60)

    # -- the hot folder's side ---------------------------------------------------------

    def _on_capture(self, capture: Capture) -> None:
        name = capture.path.name
        sku = self._sku_for(name)
        if sku is None:
            taken = self._ledger.take(capture, None)
            self._say(f"{name}: no SKU in its name; put in the Unassigned tray ({taken.path.parent})")
            return
        findings = check_style(capture.path, self._guide) if self._guide is not None else []
        if findings:
            self._say(f"{name}: held, not taken: {' '.join(f.words for f in findings)}")
            return
        taken = self._ledger.take(capture, sku)
        self._say(f"{name} → {taken.path.name} ({sku})")
        self._queue_for_upload(taken)

    def _on_held(self, held: Held) -> None:
        reason = held.reason  # a phrase; said as a sentence, like the style guide's
        self._say(f"{held.path.name}: held, not taken: {reason[0].upper()}{reason[1:]}"
                  f"{'' if reason.endswith('.') else '.'}")

    def _queue_for_upload(self, taken) -> None:
        [queued] = self._queue.add([taken.path], lambda _path: taken.sku)
        self._ledger.mark_queued(taken.id, queued.id)
        self._wake.set()

    # -- the upload side ---------------------------------------------------------------

    def _upload_loop(self) -> None:
        while not self._halt.is_set():
            self._wake.wait(_RETRY_S)  # a capture wakes it at once; a run cut short by an outage is retried
            self._wake.clear()
            if self._halt.is_set():
                return
            if not self._online and not self._sign_in_again():
                continue
            try:
                self._upload_pending()
            except Exception:  # noqa: BLE001 - the watch outlives one failed run; the next capture tries again
                log.exception("an upload run of the studio watch failed")

    def _sign_in_again(self) -> bool:
        try:
            self._core.signin.online(username=self._user, pin=self._pin)
        except (Offline, ServerBusy):
            return False
        except (DeviceNotUsable, SignInRefused, ApiError) as exc:
            self.stopped_for = f"sign-in failed: {exc}"
            self._halt.set()
            return False
        self._online = True
        self._say("The server answers again: uploading.")
        return True

    def _upload_pending(self) -> None:
        while self._queue.pending() and not self._halt.is_set():
            summary = self._uploader.run()
            for file_id, outcome in summary.files.items():
                path = self._queue.get(file_id).path
                if outcome.state == "done":
                    self._say(f"{path.name}: uploaded")
                elif outcome.error:
                    self._say(f"{path.name}: not uploaded yet ({outcome.error})")
            if summary.sign_in_needed:
                self._online = False  # the session ended: sign in again, then go on
                return
            if summary.stopped or any(o.state != "done" for o in summary.files.values()):
                return  # what is left goes with the next capture or the next run


def _say(line: str) -> None:
    print(line, flush=True)
