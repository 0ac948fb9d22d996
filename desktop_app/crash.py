"""Failures reach a person: an exception nobody caught is logged with its traceback and told in plain
words, and a crash of the process itself (a segfault in Qt) leaves a trace in crash.log.

Python drops an exception raised in a Qt slot or in a worker thread after printing it to a
terminal that, for floorhandw.exe on Windows, does not exist (issue "Failures die silently").
`install` routes both through the log, whose handlers keep secrets out (desktop_app/logs.py),
and calls `on_error` with a sentence for the person; the app shows it in its banner. This
module imports no Qt at load time: the headless commands install it too (CONVENTIONS.md: a
crash handler, as in qutebrowser's crashsignal and Vorta's exception dialog).

Also here: the two start-up checks that decide whether a person can be shown anything at all
(`no_display`, `tell_at_start`).
"""

import faulthandler
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType

from desktop_app.version import VERSION

log = logging.getLogger(__name__)

CRASH_LOG = "crash.log"
CRASH_LOG_MAX_BYTES = 1024 * 1024  # one header line per start: a megabyte is years of starts; then one old copy
# What a person reads in the banner; the traceback goes to the log, never on screen.
SOMETHING_WENT_WRONG = ("Something went wrong inside Floorhand. Check that your last action went through; "
                        "the details are in the log for IT.")
# Qt platforms that draw nowhere a person looks.
_INVISIBLE_PLATFORMS = ("offscreen", "minimal")

OnError = Callable[[str], None]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class CrashHandler:
    """The installed hooks and the open crash.log; stop() puts back the hooks that were there before."""

    def __init__(self, trace_file, on_error: OnError | None) -> None:
        self.trace_file = trace_file  # the open crash.log, or None when crash traces go to stderr or nowhere
        self._on_error: OnError | None = None
        self._relay = None  # the Qt relay that carries on_error to the UI thread, while one is used
        self._previous_hook = sys.excepthook
        self._previous_thread_hook = threading.excepthook
        self._faulthandler_was_enabled = faulthandler.is_enabled()
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook
        self.report_to(on_error)

    def report_to(self, on_error: OnError | None) -> None:
        """Tell failures from now on to on_error (None: only log them).

        on_error may be called from any thread. When a Qt application exists at the time of this
        call (which must then be made on Qt's main thread), on_error is carried to that thread
        by a queued signal, so it may touch widgets; without Qt it runs on the thread that failed.
        """
        if self._relay is not None:
            self._relay.deleteLater()
            self._relay = None
        self._on_error = on_error
        if on_error is not None and _qt_application() is not None:
            self._relay = _ui_thread_relay(on_error)
            self._on_error = self._relay.failed.emit

    def excepthook(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        """sys.excepthook: an exception in a Qt slot, or one that ends the main thread."""
        if issubclass(kind, KeyboardInterrupt):  # Ctrl+C keeps Python's default behaviour
            self._previous_hook(kind, value, tb)
            return
        self.failed("the main thread", (kind, value, tb))

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        """threading.excepthook: an exception that ends a worker thread."""
        if issubclass(args.exc_type, KeyboardInterrupt):
            self._previous_thread_hook(args)
            return
        where = f"the thread {args.thread.name}" if args.thread is not None else "a thread"
        self.failed(where, (args.exc_type, args.exc_value, args.exc_traceback))  # type: ignore[arg-type]

    def failed(self, where: str, exc_info: ExcInfo) -> None:
        """Log an exception nobody caught with its traceback, then tell the person."""
        log.error("unexpected error in %s", where, exc_info=exc_info)
        on_error = self._on_error
        if on_error is None:
            return
        try:
            on_error(SOMETHING_WENT_WRONG)
        except Exception:  # a failing on_error must not fail again through this hook, forever
            log.error("could not show the error to the person", exc_info=True)

    def stop(self) -> None:
        """Put back the exception hooks found at install; on_error is told nothing more.

        Crash traces go on into crash.log until the process ends, since Qt's own shutdown comes
        after the app's run and can crash too; unless faulthandler was on before install (a test
        runner's): then it goes back to stderr and crash.log is closed.
        """
        self.report_to(None)
        if sys.excepthook == self.excepthook:
            sys.excepthook = self._previous_hook
        if threading.excepthook == self.thread_excepthook:
            threading.excepthook = self._previous_thread_hook
        if not self._faulthandler_was_enabled:
            return
        faulthandler.disable()
        if _usable_stream(sys.__stderr__):
            faulthandler.enable(file=sys.__stderr__, all_threads=True)
        if self.trace_file is not None:
            self.trace_file.close()
            self.trace_file = None


def install(log_dir: Path | None, on_error: OnError | None = None) -> CrashHandler:
    """Log every uncaught exception (Qt slots, threads) and tell on_error; crash traces go to log_dir/crash.log.

    crash.log is opened for appending and kept open for the life of the process, with one
    header line per start, so that a segfault (in Qt, say) leaves the Python stack of every
    thread there. When log_dir is None or cannot be written, the traces go to stderr and the
    log says so once. See CrashHandler.report_to for the thread on_error runs on.
    """
    trace_file, problem = _open_crash_log(log_dir)
    target = trace_file if trace_file is not None else sys.stderr
    if _usable_stream(target):
        faulthandler.enable(file=target, all_threads=True)
        if problem:
            log.warning("crash traces go to stderr: %s", problem)
    else:  # a windowed program (floorhandw.exe) has no stderr either
        log.warning("crash traces are not kept: %s, and there is no stderr", problem)
    return CrashHandler(trace_file, on_error)


def _open_crash_log(log_dir: Path | None):
    """(the open crash.log with this start's header written, None) or (None, why it cannot be)."""
    if log_dir is None:
        return None, "there is no log folder"
    path = Path(log_dir) / CRASH_LOG
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > CRASH_LOG_MAX_BYTES:
            path.replace(path.with_name(CRASH_LOG + ".1"))
        trace_file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open until the process ends
        started = datetime.now().astimezone().isoformat(timespec="seconds")
        trace_file.write(f"--- {started} Floorhand {VERSION} started (process {os.getpid()}) ---\n")
        trace_file.flush()  # faulthandler writes to the descriptor, past Python's buffer
    except OSError as exc:
        return None, f"{path} cannot be written ({exc.strerror or exc})"
    return trace_file, None


def _usable_stream(stream) -> bool:
    try:
        return stream is not None and stream.fileno() >= 0
    except (AttributeError, OSError, ValueError):  # no descriptor behind it (a test's capture, a closed file)
        return False


def _qt_application():
    """The running Qt application, when Qt has already been imported (this module never imports it first)."""
    qt_core = sys.modules.get("PySide6.QtCore")
    return qt_core.QCoreApplication.instance() if qt_core is not None else None


_relay_type = None


def _ui_thread_relay(on_error: OnError):
    """A QObject on Qt's main thread whose `failed` signal, emitted on any thread, calls on_error there."""
    global _relay_type
    from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

    if _relay_type is None:
        class FailureRelay(QObject):
            failed = Signal(str)

            def __init__(self, callback: OnError) -> None:
                super().__init__()
                self._callback = callback
                self.failed.connect(self._tell)  # a bound slot of an object on the main thread: queued from others

            @Slot(str)
            def _tell(self, sentence: str) -> None:
                try:
                    self._callback(sentence)
                except Exception:  # raised here it would come back through sys.excepthook, and again
                    log.error("could not show the error to the person", exc_info=True)

        _relay_type = FailureRelay
    relay = _relay_type(on_error)
    relay.moveToThread(QCoreApplication.instance().thread())
    return relay


# --- before the window: can anything be shown? --------------------------------------------

def no_display(environ: Mapping[str, str] | None = None) -> bool:
    """Whether Qt's default platform has no display here: Linux (or another X11/Wayland system) over SSH, say.

    Neither DISPLAY nor WAYLAND_DISPLAY is set and QT_QPA_PLATFORM chooses no other platform;
    Qt would abort the process ("could not connect to display", exit 134). Windows and macOS
    always have their own.
    """
    environ = os.environ if environ is None else environ
    return _no_desktop_session(environ) and not environ.get("QT_QPA_PLATFORM")


def screen_for_messages(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a message window would be seen: a desktop session, and a Qt platform that draws on it."""
    environ = os.environ if environ is None else environ
    platform = environ.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip()
    return platform not in _INVISIBLE_PLATFORMS and not _no_desktop_session(environ)


def _no_desktop_session(environ: Mapping[str, str]) -> bool:
    if sys.platform in ("win32", "darwin"):
        return False
    return not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY")


def tell_at_start(message: str) -> None:
    """Show why the app cannot start in a message window, when there is a screen to show it on.

    The caller has printed it to stderr already; floorhandw.exe has no console, so without
    this window a person double-clicking it would see nothing at all. There is no other
    window yet, so a modal message box is fine. The text can be selected, to copy a path.
    """
    if not screen_for_messages():
        return
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QMessageBox

    application = QApplication.instance() or QApplication(sys.argv[:1])  # alive until this returns
    application.setApplicationName("Floorhand")
    box = QMessageBox(QMessageBox.Icon.Critical, "Floorhand", message, QMessageBox.StandardButton.Ok)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.exec()
