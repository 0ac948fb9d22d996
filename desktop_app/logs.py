"""The log: a rotating file in the platform's log folder plus stderr, with secrets taken out of every line.

Set up once by the entry point (desktop_app/main.py) for the window and the headless
commands alike. No secret may reach a log line (ARCHITECTURE.md §6), and some arrive there
without anyone writing them: httpx logs each request URL at INFO, and a presigned upload URL
carries its signature in the query string. RedactSecrets rewrites every record on its way
to a handler, so neither the file nor the terminal sees a token, a PIN or a URL signature.

The terminal gets warnings, not chatter: libraries that narrate their routine work at INFO
(Alembic's "Context impl SQLiteImpl" at each start) write it to the file only, and Qt's own
messages come through route_qt_messages() instead of straight to stderr.
"""

import logging
import logging.handlers
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

LOG_FILE = "floorhand.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HIDDEN = "***"

# Query parameters that authorise a request by themselves: S3 presigned URLs (AWS Signature
# Version 4 and the older version 2) and the reference API's fs store part URLs (`sig`,
# order_api/blobstore/fs.py). X-Amz-Credential names the access key and its scope.
_SIGNED_PARAMS = ("X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "Signature", "AWSAccessKeyId",
                  "sig", "token", "access_token", "refresh_token")
_PATTERNS = (
    (re.compile(r"(?i)\b(Bearer\s+)[^\s\"',;]+"), rf"\g<1>{HIDDEN}"),
    (re.compile(r"(?i)([?&](?:%s)=)[^&\s\"'#<>]+" % "|".join(map(re.escape, _SIGNED_PARAMS))), rf"\g<1>{HIDDEN}"),
    # Keys of request bodies, dict reprs and form fields: "pin": "1111", 'refresh_token': '…', pin=1111.
    # The device credential header: "Floorhand-Device: <device id> <secret>" (sync/api.py).
    (re.compile(r"(?i)(\bFloorhand-Device[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9._:-]+\s+)[^\"'\s,&}]+"), rf"\g<1>{HIDDEN}"),
    (re.compile(r"(?i)(\b(?:refresh_token|access_token|pin|password|secret|device_secret|credential|ticket|"
                r"offline_ticket)[\"']?\s*[:=]\s*[\"']?)[^\"'\s,&}]+"),
     rf"\g<1>{HIDDEN}"),
)


def redact(text: str) -> str:
    """`text` with bearer tokens, token and PIN fields and URL signatures replaced by ***."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """A handler filter that rewrites each record's message and traceback without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # The formatter uses exc_text when it is set: an httpx error names the full URL.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# extra= of a record whose message the caller has printed on stderr itself: the file gets it, the terminal once.
FILE_ONLY = {"file_only": True}
# Loggers whose INFO lines tell routine work ("Running upgrade ..." at each start): kept in the
# file, shown on the terminal only at debug level, where a person asked for everything.
FILE_ONLY_CHATTER = ("alembic",)


class KeepChatterInFile(logging.Filter):
    """A console filter: FILE_ONLY records stay out, and so do FILE_ONLY_CHATTER loggers' records below WARNING
    unless show_chatter (debug level)."""

    def __init__(self, *, show_chatter: bool = False) -> None:
        super().__init__()
        self.show_chatter = show_chatter

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "file_only", False):
            return False
        if self.show_chatter or record.levelno >= logging.WARNING:
            return True
        return not any(record.name == name or record.name.startswith(name + ".") for name in FILE_ONLY_CHATTER)


def default_log_dir() -> Path:
    """The platform's per-user log folder."""
    # ~/.local/state/Floorhand/log (Linux), %LOCALAPPDATA%\Floorhand\Logs (Windows), ~/Library/Logs/Floorhand (macOS).
    return Path(platformdirs.user_log_dir("Floorhand", appauthor=False))


def log_dir_of(setting: object) -> Path:
    """The folder named by the log_dir setting, or the platform's when it is empty."""
    return Path(str(setting)).expanduser() if setting else default_log_dir()


@dataclass
class LogSetup:
    """Where this run logs: the file (None when its folder cannot be written) and why not; stop() undoes it."""

    path: Path | None
    problem: str | None = None
    handlers: list[logging.Handler] = field(default_factory=list, repr=False)
    previous_level: int = logging.WARNING

    def stop(self) -> None:
        """Remove and close this setup's handlers, leaving any others (a test runner's) as they were."""
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            handler.close()
        self.handlers = []
        root.setLevel(self.previous_level)


def start_logging(level: str, folder: Path, *, console_level: str | None = None) -> LogSetup:
    """Log to folder/floorhand.log (rotated at 5 MB, 5 kept) at `level` and to stderr at console_level.

    A log folder that cannot be written leaves stderr only, and says so. Handlers that were
    there before are left alone; the caller calls stop() when the command is over.
    """
    file_level = _level(level)
    screen_level = _level(console_level) if console_level else file_level
    root = logging.getLogger()
    formatter = logging.Formatter(FORMAT)
    handlers: list[logging.Handler] = []
    if sys.stderr is not None:  # a windowed program (floorhandw.exe) has no stderr at all
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(screen_level)
        console.addFilter(KeepChatterInFile(show_chatter=screen_level <= logging.DEBUG))
        handlers.append(console)
    path: Path | None = folder / LOG_FILE
    problem = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        file = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError as exc:
        path, problem = None, f"the log folder {folder} cannot be written ({exc.strerror or exc})"
    else:
        file.setLevel(file_level)
        handlers.append(file)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactSecrets())
        root.addHandler(handler)
    setup = LogSetup(path, problem, handlers, root.level)
    root.setLevel(min(file_level, screen_level))
    if problem:
        logging.getLogger(__name__).warning("logging to stderr only: %s", problem)
    return setup


def route_qt_messages() -> Callable[[], None]:
    """Send Qt's own messages (qt.qpa.*, Qt Multimedia's) to the log instead of raw stderr; returns the undo.

    Qt's debug and info messages become DEBUG and INFO records, its warnings WARNING, critical
    ones ERROR and fatal ones CRITICAL (Qt aborts after those), on the logger "qt.<category>".
    The app calls this before its QApplication exists, so start-up messages are caught too.

    The undo puts back the handler found here, if there was one: in tests that is pytest-qt's,
    which fails a test on Qt warnings (qt_log_level_fail in pyproject.toml). With none (a real
    run), Qt's messages keep going to the log until the process ends, those of Qt's own
    shutdown included, which comes after the app's run is over.
    """
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler  # only the window needs Qt

    levels = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}

    def to_log(mode: QtMsgType, context, message: str) -> None:
        category = context.category or "default"
        name = "qt" if category == "default" else category if category.startswith("qt.") else f"qt.{category}"
        logging.getLogger(name).log(levels.get(mode, logging.WARNING), "%s", message)

    previous = qInstallMessageHandler(to_log)

    def undo() -> None:
        if previous is not None:
            qInstallMessageHandler(previous)

    return undo


def _level(name: str) -> int:
    level = logging.getLevelName(name.upper())
    if not isinstance(level, int):
        raise ValueError(f"{name!r} is not a log level (debug, info, warning or error)")
    return level
