"""`floorhand --self-test`: the whole app on the demo warehouse, driven the way a picker drives it.

Proves an installation (or a frozen bundle) really works end to end: the reference API
starts in this process, the real app is built by the composition root on the offscreen
platform, and a picker signs in, claims a batch and picks one task with scans typed through
the real keyboard-wedge filter. The run passes once the server, asked over HTTP, holds the
picked quantity. Each step prints one line; the first failure ends the run with the step and
the reason.

The steps are generators that yield what they wait for; a QTimer on the running event loop
checks the condition and resumes them (the event loop is never spun by hand and the main thread never sleeps,
ARCHITECTURE.md §4). A run timer ends a run that stalls, and faulthandler ends a process
whose event loop itself is stuck.
"""

import faulthandler
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QApplication

from desktop_app.app import FloorhandApp, build
from desktop_app.demo import DemoUnavailable, DemoWarehouse, start_demo
from desktop_app.settings import Settings
from sync.api import OrderApi
from sync.device import DeviceCredential

log = logging.getLogger(__name__)

RUN_TIMEOUT_S = 60.0
STEP_TIMEOUT_S = 25.0
POLL_MS = 25
# The demo warehouse's people (order_api/seed/staff.py) and its free totes (order_api/seed/demo.py).
PICKER_BADGE, PICKER_PIN = "U0001", "1111"  # anna, the demo picker
SUPERVISOR, SUPERVISOR_PIN = "sam", "4444"
OFFICE_DEVICE = "floorhand-self-test-office"
FIRST_FREE_TOTE = 21
_SUFFIX_KEYS = {"enter": "\r", "tab": "\t", "none": ""}
_SPECIAL_KEYS = {"\r": Qt.Key.Key_Return, "\t": Qt.Key.Key_Tab}


class StepFailed(Exception):
    """A step of the self-test could not be done; str() says why."""


@dataclass(frozen=True)
class Wait:
    """What a step waits for: `until` turning true, unless `failed` names a reason first."""

    what: str
    until: Callable[[], bool]
    failed: Callable[[], str | None] = lambda: None
    timeout_s: float = STEP_TIMEOUT_S


Step = Callable[[], Iterator[Wait]]


def scanner_keys(text: str, prefix: str, suffix: str) -> list[tuple[Qt.Key, str]]:
    """The (key, text) presses a keyboard-wedge scanner sends for `text` with this site's prefix and suffix."""
    keys = []
    for char in prefix + text + _SUFFIX_KEYS[suffix]:
        if char in _SPECIAL_KEYS:
            keys.append((_SPECIAL_KEYS[char], char))
        elif " " <= char <= "~":
            keys.append((Qt.Key(ord(char.upper())), char))  # Qt's key codes of printable ASCII are its codes
        else:
            raise ValueError(f"a scanner cannot type {char!r} as a key here")
    return keys


class PickerAtTheKeyboard:
    """Sends key events to whatever has the focus, as a scanner or a person would: the wedge filter sees them all."""

    def __init__(self, app: FloorhandApp) -> None:
        self._prefix = str(app.settings["scanner.prefix"])
        self._suffix = str(app.settings["scanner.suffix"])

    def scan(self, code: str) -> None:
        """One scanner burst; scanners type several keys a millisecond apart, these arrive back to back."""
        for key, text in scanner_keys(code, self._prefix, self._suffix):
            self._key(key, text)

    def press_enter(self) -> None:
        self._key(Qt.Key.Key_Return, "\r")

    @staticmethod
    def _key(key: Qt.Key, text: str) -> None:
        target = QGuiApplication.focusObject()
        if target is None:
            raise StepFailed("nothing has the keyboard focus, so scans would go nowhere")
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QCoreApplication.sendEvent(target, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, text))


class SelfTest(QObject):
    """Runs the steps on the event loop, prints one line each, and emits finished(exit status)."""

    finished = Signal(int)

    def __init__(self, app: FloorhandApp, demo: DemoWarehouse, out: Callable[[str], None]) -> None:
        super().__init__(app.window)
        self.app, self.demo, self.out = app, demo, out
        self.keys = PickerAtTheKeyboard(app)
        self.said: list[tuple[str, str]] = []  # every (kind, message) the feedback showed
        app.feedback.shown.connect(lambda kind, message: self.said.append((kind, message)))
        self._steps: list[tuple[str, Step]] = [
            ("show the main window", self._show_window),
            ("sign in", self._sign_in),
            ("claim a pick batch", self._claim_batch),
            ("assign totes", self._assign_totes),
            ("pick one task by scans", self._pick_one_task),
            ("push the picks", self._push),
            ("check the server", self._check_server),
        ]
        self._index = -1
        self._running: Iterator[Wait] | None = None
        self._waiting: Wait | None = None
        self._step_started = self._wait_started = 0.0
        self._answers: dict[str, object] = {}  # background results by name
        self._office_device: DeviceCredential | None = None  # the supervisor's office device, once registered
        self._task: dict = {}
        self._picked = 0
        self._done = False
        self._poll = QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self._check)
        self._deadline = QTimer(self, singleShot=True, interval=int(RUN_TIMEOUT_S * 1000))
        self._deadline.timeout.connect(lambda: self._fail(f"the self-test did not finish within {RUN_TIMEOUT_S:.0f} s"))

    @property
    def step(self) -> str:
        return self._steps[self._index][0] if 0 <= self._index < len(self._steps) else "start"

    def start(self) -> None:
        self._deadline.start()
        self._poll.start()
        self._next_step()

    # --- the machinery -----------------------------------------------------------------

    def _next_step(self) -> None:
        self._index += 1
        if self._index == len(self._steps):
            self._finish(0)
            return
        self._step_started = time.monotonic()
        self._running = self._steps[self._index][1]()
        self._resume()

    def _resume(self) -> None:
        try:
            self._waiting = next(self._running)
        except StopIteration as done:
            self.out(f"[ ok ] {self.step}: {done.value} ({time.monotonic() - self._step_started:.1f} s)")
            self._next_step()
            return
        except Exception as exc:  # noqa: BLE001 - every failure, a bug included, is this step's verdict
            self._fail(self._why(exc))
            return
        self._wait_started = time.monotonic()
        self._check()

    def _check(self) -> None:
        wait = self._waiting
        if wait is None or self._done:
            return
        try:
            reason = wait.failed()
            ready = reason is None and wait.until()
        except Exception as exc:  # noqa: BLE001 - as in _resume
            reason, ready = self._why(exc), False
        if ready:
            self._waiting = None
            self._resume()
            return
        if reason is None and time.monotonic() - self._wait_started > wait.timeout_s:
            reason = f"waited {wait.timeout_s:.0f} s for {wait.what}" + self._last_words()
        if reason is not None:
            self._fail(reason)

    def _fail(self, reason: str) -> None:
        if self._done:
            return
        self.out(f"[FAIL] {self.step}: {reason}")
        self.out(f"self-test FAILED at step '{self.step}': {reason}")
        self._finish(1)

    def _finish(self, status: int) -> None:
        self._done = True
        self._waiting = None
        self._poll.stop()
        self._deadline.stop()
        if status == 0:
            self.out("self-test passed")
        self.finished.emit(status)

    def _why(self, exc: Exception) -> str:
        if isinstance(exc, StepFailed):
            return str(exc)
        log.error("self-test step %r broke", self.step, exc_info=exc)  # the traceback goes to the log file
        return f"{type(exc).__name__}: {exc}"

    def _last_words(self) -> str:
        return f"; the app last said: {self.said[-1][1]!r}" if self.said else ""

    def _background(self, name: str, fn: Callable[[], object]) -> Wait:
        """Run fn on the app's task runner (never on the main thread) and wait for its answer."""
        self._answers.pop(name, None)

        def failed(exc: BaseException) -> None:
            self._answers[name] = StepFailed(f"{name}: {exc}")

        self.app.runner.run(fn, lambda result: self._answers.__setitem__(name, result), failed, name=name)

        def error() -> str | None:
            answer = self._answers.get(name)
            return str(answer) if isinstance(answer, StepFailed) else None

        return Wait(name, lambda: name in self._answers, error)

    def _scan_answered(self, code: str) -> Iterator[Wait]:
        """Scan `code` and wait for the app's verdict; a rejection fails the step."""
        heard = len(self.said)
        self.keys.scan(code)
        yield Wait(f"the app's answer to the scan {code}", lambda: len(self.said) > heard)
        kind, message = self.said[-1]
        if kind not in ("accept", "done"):
            raise StepFailed(f"the scan {code} was answered {kind}: {message}")

    # --- the steps ---------------------------------------------------------------------

    def _show_window(self) -> Iterator[Wait]:
        window = self.app.window
        window.show()
        window.activateWindow()
        yield Wait("the window to take the keyboard focus",
                   lambda: window.isVisible() and QGuiApplication.focusObject() is not None)
        return f"{QGuiApplication.platformName()} platform, {window.width()}x{window.height()}, sign-in screen"

    def _sign_in(self) -> Iterator[Wait]:
        signin = self.app.window.signin

        def typed_not_scanned() -> str | None:
            if signin.username.text().strip() == PICKER_BADGE:
                return (f"the badge scan {PICKER_BADGE} reached the screen as typing, not as a scan: the "
                        "keyboard-wedge settings (scanner.*) do not recognise scanner-speed input")
            return signin.error.text() or None

        self.keys.scan(PICKER_BADGE)
        yield Wait("the badge scan to ask for the PIN", lambda: QGuiApplication.focusObject() is signin.pin,
                   typed_not_scanned)
        signin.pin.setText(PICKER_PIN)
        self.keys.press_enter()
        yield Wait("the sign-in to finish", lambda: self.app.station.person is not None,
                   lambda: signin.error.text() or None)
        person = self.app.station.person
        return f"{person.display_name} ({', '.join(person.roles)}) by badge {PICKER_BADGE}, online={person.online}"

    def _claim_batch(self) -> Iterator[Wait]:
        picking = self.app.picking.view
        yield Wait("the picking screen", lambda: self.app.station.current_section() == self.app.picking.key
                   and QGuiApplication.focusObject() is picking)
        heard = len(self.said)
        self.keys.press_enter()  # Enter on the start page claims the next batch

        def refused() -> str | None:
            rejections = [message for kind, message in self.said[heard:] if kind == "reject"]
            return rejections[0] if rejections else None

        yield Wait("a claimed batch", lambda: picking.pages.currentWidget() in (picking.tote_page, picking.task_page),
                   refused)
        return f"batch {picking.session.batch_id}"

    def _assign_totes(self) -> Iterator[Wait]:
        picking = self.app.picking.view
        tote = FIRST_FREE_TOTE
        while picking.pages.currentWidget() is picking.tote_page:
            yield from self._scan_answered(f"T-{tote:04d}")
            tote += 1
        return f"{tote - FIRST_FREE_TOTE} totes, T-{FIRST_FREE_TOTE:04d} and up"

    def _pick_one_task(self) -> Iterator[Wait]:
        picking = self.app.picking.view
        card = picking.session.current()
        if card is None:
            raise StepFailed("the claimed batch has no task to pick")
        row = self.app.core.view.row("pick_task", card.task_id)
        yield self._background("read the order on the server", lambda: self._server_line(row["order_id"],
                                                                                           row["line_id"]))
        self._task = {**row, "picked_before": self._answers["read the order on the server"]["picked_qty"]}
        if picking.session.options.location_scan_required:
            yield from self._scan_answered(card.location_label)
        for _ in range(card.remaining):
            yield from self._scan_answered(card.gtin)
            self._picked += 1
        after = self.app.core.view.row("pick_task", card.task_id)
        if after["picked_qty"] != card.picked_qty + self._picked:
            raise StepFailed(f"task {card.task_id} shows {after['picked_qty']} picked after {self._picked} scans")
        return f"task {card.task_id} at {card.location_label}: {self._picked} x {card.sku} ({card.gtin})"

    def _push(self) -> Iterator[Wait]:
        outbox = self.app.core.outbox

        def rejected() -> str | None:
            refused = outbox.rejected()
            return f"the server refused {refused[-1].mutation.name}: {refused[-1].message}" if refused else None

        yield Wait("the server to acknowledge the queued actions", lambda: outbox.counts()[0] == 0, rejected)
        return "every queued action acknowledged, none refused"

    def _check_server(self) -> Iterator[Wait]:
        order_id, line_id = self._task["order_id"], self._task["line_id"]
        name = "read the order on the server"
        yield self._background(name, lambda: self._server_line(order_id, line_id))
        picked = self._answers[name]["picked_qty"]
        expected = self._task["picked_before"] + self._picked
        if picked != expected:
            raise StepFailed(f"order {self._task['order_number']} line {line_id} has {picked} picked on the server, "
                             f"expected {expected}")
        return f"order {self._task['order_number']} line {line_id}: picked {picked} (was {self._task['picked_before']})"

    def _server_line(self, order_id: int, line_id: int) -> dict:
        """The order line as the server has it, read by the demo supervisor from an office device (worker thread)."""
        with OrderApi(self.demo.url, timeout=15) as office:
            # The office device registers at its first sign-in; the second one shows its credential.
            office.device = self._office_device
            answer = office.request_tokens(device_id=OFFICE_DEVICE, username=SUPERVISOR, pin=SUPERVISOR_PIN,
                                           device_name="self-test office")
            if answer.device_secret:
                self._office_device = office.device = DeviceCredential(OFFICE_DEVICE, answer.device_secret)
            office.install(SUPERVISOR, answer.tokens)
            order = office.order(order_id)
        for line in order["lines"]:
            if line["id"] == line_id:
                return line
        raise StepFailed(f"order {order_id} on the server has no line {line_id}")


def run_self_test(overrides: dict[str, object], out: Callable[[str], None] = print) -> int:
    """The whole self-test; returns the exit status (0 passed, 1 a step failed, 2 the demo cannot start)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A backstop for a main thread that blocks outside the event loop: print where and exit.
    try:
        faulthandler.dump_traceback_later(RUN_TIMEOUT_S + 30, exit=True)
        watchdog = True
    except (RuntimeError, ValueError, OSError, AttributeError):  # no stderr file to print on (a windowed bundle)
        watchdog = False
    try:
        return _run(overrides, out)
    finally:
        if watchdog:
            faulthandler.cancel_dump_traceback_later()


def _run(overrides: dict[str, object], out: Callable[[str], None]) -> int:
    started = time.monotonic()
    # The site's scanner, picking and sound settings apply; the server, data folder and keyring are the demo's.
    settings = Settings.load(overrides=overrides)
    try:
        demo = start_demo()
    except DemoUnavailable as exc:
        out(f"[FAIL] start the demo order API: {exc}")
        return 2
    out(f"[ ok ] start the demo order API: {demo.url} ({time.monotonic() - started:.1f} s)")
    qt = QApplication.instance() or QApplication(sys.argv[:1])
    qt.setApplicationName("Floorhand")
    started = time.monotonic()
    try:
        app = build(settings, server_url=demo.url, data_dir=demo.client_dir, keyring="none", demo=demo,
                    sound_folder=Path(demo.folder, "sounds"))
    except Exception as exc:  # any failure to build is this step's result, told with its reason
        out(f"[FAIL] build the app: {type(exc).__name__}: {exc}")
        demo.stop()
        return 1
    out(f"[ ok ] build the app: data in {demo.client_dir} ({time.monotonic() - started:.1f} s)")
    test = SelfTest(app, demo, out)
    test.finished.connect(qt.exit)
    QTimer.singleShot(0, test.start)
    try:
        return qt.exec()
    finally:
        app.close()
