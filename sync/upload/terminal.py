"""What `floorhand upload` shows while it sends: one progress line that says when it waits for the server.

Three things a photographer saw go wrong during a server outage shape this module: log
lines written straight to stderr landed in the middle of the live progress line; the
retries behind them said nothing on the line itself, whose speed and ETA froze; and every
retry repeated the same raw `[Errno 111] Connection refused`. So, while the command runs:

- ServerWatch learns from the retries the API client and the part sender log whether the
  server answers, and the line says "Waiting for the server (retrying)" while it does not;
- TerminalLog keeps the records the command says in its own words (retries, per-file
  failures the summary table lists, the keyring notice) off the terminal unless the
  person asked for detail with --log-level info or debug; the log file keeps all of them;
- during the live line, log lines that do reach the terminal go through rich's handler on
  the line's own console, which prints them above the line instead of through it;
- RunLine refreshes the line a few times a second from Uploader.progress(), so speed and
  ETA move even when no part arrives, and counts this command's files only (the queue
  may also hold files an earlier, interrupted command left, which this run finishes too).
"""

import logging
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import timedelta

from rich.console import Console
from rich.filesize import decimal
from rich.logging import RichHandler
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from sync.upload.progress import Progress as UploadProgress
from sync.upload.queue import UploadQueue

WAITING = "Waiting for the server (retrying)"
REFRESH_S = 0.25
_VERBS = {"paused": "Paused", "stopping": "Stopping", "finished": "Uploaded"}
# Loggers whose records below ERROR the upload command tells in its own words.
TOLD_IN_PLAIN_WORDS = ("sync.api", "sync.upload", "sync.credentials")
# Loggers that log a warning for every failed attempt of a call or a part.
RETRYING = ("sync.api", "sync.upload.parts")


class ServerWatch:
    """Whether the server answers: it does not from a retry until the next sign of progress."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock, self._lock = clock, threading.Lock()
        self._retried_at: float | None = None
        self._answered_at: float | None = None
        self._busy = False

    def retried(self, busy: bool) -> None:
        """A call or a part failed and is tried again; busy: the server answered with an error (5xx, 429)."""
        with self._lock:
            self._retried_at, self._busy = self._clock(), busy

    def answered(self) -> None:
        with self._lock:
            self._answered_at = self._clock()

    @property
    def waiting(self) -> bool:
        with self._lock:
            return self._retried_at is not None and (self._answered_at is None or self._retried_at > self._answered_at)

    @property
    def trouble(self) -> str:
        """What is wrong with the server, in plain words, while waiting."""
        with self._lock:
            return "the server is busy or failing" if self._busy else "the server could not be reached"


class _Retries(logging.Handler):
    """Tells the watch of each retry the API client and the part sender log."""

    def __init__(self, watch: ServerWatch) -> None:
        super().__init__(logging.WARNING)
        self._watch = watch

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.WARNING:
            # sync/api.py: "... answered HTTP 503 (attempt ...)"; sync/upload/parts.py ends with "HTTP 503".
            self._watch.retried(busy="HTTP " in record.getMessage())


class _ToldInPlainWords(logging.Filter):
    """Keeps the records the command tells itself off a terminal handler, unless it shows info or more."""

    def __init__(self, detail: bool) -> None:
        super().__init__()
        self._detail = detail

    def filter(self, record: logging.LogRecord) -> bool:
        if self._detail or record.levelno >= logging.ERROR:
            return True
        return not any(record.name == name or record.name.startswith(name + ".") for name in TOLD_IN_PLAIN_WORDS)


class TerminalLog:
    """The log's terminal handlers for the length of one `floorhand upload`; the log file is left as it is."""

    def __init__(self, watch: ServerWatch) -> None:
        self._retries = _Retries(watch)
        self._filters: list[tuple[logging.Handler, logging.Filter]] = []
        self._levels: list[tuple[logging.Logger, int]] = []

    def __enter__(self) -> "TerminalLog":
        for handler in _terminal_handlers():
            told = _ToldInPlainWords(detail=_shown_level(handler) <= logging.INFO)
            handler.addFilter(told)
            self._filters.append((handler, told))
        for name in RETRYING:
            logger = logging.getLogger(name)
            logger.addHandler(self._retries)
            if logger.getEffectiveLevel() > logging.WARNING:  # the watch needs the retries, whatever is shown
                self._levels.append((logger, logger.level))
                logger.setLevel(logging.WARNING)
        return self

    def __exit__(self, *exc) -> None:
        for handler, told in self._filters:
            handler.removeFilter(told)
        for name in RETRYING:
            logging.getLogger(name).removeHandler(self._retries)
        for logger, level in self._levels:
            logger.setLevel(level)
        self._filters, self._levels = [], []

    @contextmanager
    def above(self, console: Console) -> Iterator[None]:
        """While a live line is on console: log lines meant for that terminal are printed above the line."""
        root = logging.getLogger()
        swapped = []
        for handler in _terminal_handlers():
            if not (console.is_terminal and _is_tty(handler.stream)):
                continue  # no live line, or the log goes to a file or a pipe: nothing there to tear
            rich = RichHandler(console=console, level=handler.level, show_time=False, show_path=False,
                               markup=False, rich_tracebacks=False)
            rich.setFormatter(logging.Formatter("%(name)s: %(message)s"))
            for f in handler.filters:  # the secrets filter, the chatter filter and ours
                rich.addFilter(f)
            root.removeHandler(handler)
            root.addHandler(rich)
            swapped.append((handler, rich))
        try:
            yield
        finally:
            for handler, rich in swapped:
                root.removeHandler(rich)
                root.addHandler(handler)


class RunLine:
    """The progress line of one run, of this command's files: live on a terminal, plain lines elsewhere."""

    def __init__(self, console: Console, queue: UploadQueue, ours: Collection[int], watch: ServerWatch) -> None:
        self._console, self._queue, self._watch = console, queue, watch
        self._ours = frozenset(ours)
        self._live = console.is_terminal
        self._lock = threading.Lock()
        self._seen = (0, 0)  # bytes_done, files_done of the last report: more means the server answered
        self._counted_at = -1  # the run's files_done when this command's done files were last counted
        self._done = 0
        self._told = (0, False)  # what the plain lines said last: files done, waiting
        self._earlier_told = False

    def on_progress(self, p: UploadProgress) -> None:
        """The uploader's callback, on its worker threads: a part or a file that arrived is an answer."""
        with self._lock:
            seen, self._seen = self._seen, (p.bytes_done, p.files_done)
        if p.bytes_done > seen[0] or p.files_done > seen[1]:
            self._watch.answered()

    @contextmanager
    def shown(self, progress: Callable[[], UploadProgress], log: TerminalLog) -> Iterator[None]:
        """Show the line, refreshed from progress(), while the block runs; log lines go above it."""
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                   TextColumn("{task.fields[rate]}"), TextColumn("ETA {task.fields[eta]}"))
        stop = threading.Event()
        # Log lines go through the line's console before it shows and until it has drawn its last.
        with log.above(self._console), Progress(*columns, console=self._console, disable=not self._live) as bar:
            task = bar.add_task(self._description("Uploading", 0), total=None, rate="", eta="-")

            def refresh() -> None:
                while not stop.wait(REFRESH_S):
                    self._show(bar, task, progress())

            ticker = threading.Thread(target=refresh, name="upload-line", daemon=True)
            ticker.start()
            try:
                yield
            finally:
                stop.set()
                ticker.join()
                self._show(bar, task, progress())

    def _show(self, bar: Progress, task, p: UploadProgress) -> None:
        waiting = self._watch.waiting and p.state == "running" and p.files_total > 0
        done = self._ours_done(p)
        rate = f"{decimal(int(p.rate))}/s"
        if p.state == "finished":  # the files not done wait for the next run, not for more time
            eta = _eta(0) if done == len(self._ours) else "-"
        else:
            eta = "-" if waiting else _eta(p.eta_s)
        verb = WAITING if waiting else _VERBS.get(p.state, "Uploading")
        earlier = max(p.files_total - len(self._ours), 0)
        bar.update(task, completed=p.bytes_done, total=p.bytes_total or None, rate=rate, eta=eta,
                   description=self._description(verb, done, earlier))
        if earlier and not self._earlier_told:
            self._earlier_told = True
            self._console.print(f"Also finishing {earlier} file{'' if earlier == 1 else 's'} an earlier, interrupted "
                                "upload left in the queue.", highlight=False)
        if self._live:
            return
        told_done, told_waiting = self._told
        self._told = (done, waiting)
        if waiting and not told_waiting:
            self._console.print(f"{WAITING}…", highlight=False)
        elif told_waiting and not self._watch.waiting and p.state == "running":
            self._console.print("The server answers again; uploading.", highlight=False)
        if done > told_done:
            self._console.print(f"{done}/{len(self._ours)} files, {decimal(p.bytes_done)} of {decimal(p.bytes_total)}, "
                                f"{rate}, ETA {eta}", highlight=False)

    def _ours_done(self, p: UploadProgress) -> int:
        """This command's files done so far: counted in the queue when the run's count changes."""
        if p.files_done != self._counted_at:
            self._counted_at = p.files_done
            self._done = self._queue.counts(self._ours)["done"]
        return self._done

    def _description(self, verb: str, done: int, earlier: int = 0) -> str:
        text = f"{verb} {done}/{len(self._ours)} files"
        return f"{text} (+{earlier} from an earlier upload)" if earlier else text


def _terminal_handlers() -> list[logging.StreamHandler]:
    """The root logger's handlers that write to stderr or stdout (not to a file)."""
    streams = {id(s) for s in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__) if s is not None}
    return [h for h in logging.getLogger().handlers
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
            and id(getattr(h, "stream", None)) in streams]


def _shown_level(handler: logging.Handler) -> int:
    return handler.level or logging.getLogger().getEffectiveLevel()


def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _eta(seconds: float | None) -> str:
    return "-" if seconds is None else str(timedelta(seconds=round(seconds)))
