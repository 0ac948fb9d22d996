"""Scan-to-feedback latency of the packing screen, and last verified scan to label bytes at the printer, on the
bench seed.

Run: .venv/bin/python -m benchmarks.pack_latency [--orders 200] [--printers folder,tcp] [--scale 1.0]
     [--gap-ms 30] [--profile]

One row per --printers value, each on a fresh server and a fresh app: `folder` (labels written to a
folder in a temporary directory, printer.label=folder:...) and `tcp` (a raw-TCP ZPL printer on
loopback in this process, printer.label=tcp://127.0.0.1:PORT, that answers every ~HS with a ready
status and notes when each label's last byte arrived). Two processes: the reference API (bench seed
at --scale, SQLite file; at scale 1 it has 2,000 picked orders, each in its own tote T-0001...) and
the whole app from desktop_app.app.build, offscreen, desktop layout, sounds off (no audio device
here), scale.port=simulated (peripherals.simulated_scale.SimulatedScale, as the app builds it: its
readings settle after 0.3 s), packing.weight_gate=off, signed in as the packer ben with his scope
(catalog, packing_ref, packing) synced first. Online: the app pushes and pulls while it packs.

The packer opens --orders picked orders one after the other, lowest id first, each by its tote, and
verifies every unit by scanning its GTIN; every 5th order also gets a wrong item (the GTIN of another
order's product) right after its tote. Orders whose units fit no single box are passed over (they
would need a second parcel; the count is printed), so each order is one parcel and one label. Scans
are keyboard-wedge bursts (keys 8 ms apart on the wedge's clock, sent to the focus object through the
app's event filters, then Enter), each --gap-ms after the previous verdict. The last unit asks for
the weight ("put the parcel on the scale"); the packing section places the parcel on the simulated
scale, whose stable reading 0.3 s later closes the parcel: a durable pack.confirm and a durable label
job in the print spool, then "packed" (Feedback.shown with kind done). The next tote is scanned
--gap-ms after that.

Measured:
- from sending the Enter that ends a burst until Feedback.shown, per kind of scan: tote (opens the
  order), item (a unit verified, not the last), wrong item (rejected), last unit (its verdict: put the
  parcel on the scale); and until the Enter's key event returned: packing decides inside the key
  event and shows the verdict (Feedback.shown) before it redraws the page, so this also holds the
  page's update; and until the banner's next paint event;
- the longest gap between ticks of a 5 ms timer on the main thread, minus 5 ms, over the whole run;
- per order, from the Enter of the last unit's scan: until the scale's stable reading (the simulated
  settle time, kept as the app has it: not the app's work), until "packed" (the close on the main
  thread), and (tcp row) until the label's last byte arrived at the printer. The stable reading is
  timed by an event filter on the scale's settle timer. The label path after the close: the spool's
  worker asks the server for the label by the parcel's ref, which it has once the pack.confirm is
  pushed and applied, then prints it. Labels are counted per order and parcel from the ZPL the
  printer got (each exactly once); the folder row counts the label files.
--profile adds a cProfile of the main thread inside the Enter key events.
"""

import argparse
import contextlib
import cProfile
import io
import logging
import multiprocessing
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QObject, Qt, QTimer, qInstallMessageHandler
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from benchmarks.machine import describe
from benchmarks.pack_bench import LoopbackZebra, PlannedOrder, plan_orders
from benchmarks.scan_latency import KEY_MS, NO_VERDICT_S, StallMeter, _keys, serve, wait_until

PACKER = ("ben", "2222")  # order_api/seed/staff.py
LABELS_WAIT_S = 120  # after the last order, how long the labels still on their way may take


class PackRun(QObject):
    """Packs the planned orders by wedge bursts, one after the other, timing every verdict."""

    def __init__(self, app, clock: list[float], plans: list[PlannedOrder], gap_ms: int,
                 profiler: cProfile.Profile | None) -> None:
        super().__init__()
        self.app, self.clock, self.gap_ms, self.profiler = app, clock, gap_ms, profiler
        self._orders = list(plans)
        self.by_kind: dict[str, list[float]] = {}  # seconds from Enter to Feedback.shown, by what was scanned
        self.handled: dict[str, list[float]] = {}  # seconds from Enter until its key event returned, by kind
        self.painted: dict[str, list[float]] = {}  # seconds from Enter to the banner's next paint event, by kind
        self._paint: tuple[str, float] | None = None  # the scan whose banner paint is awaited
        self.unexpected: list[tuple[str, str, str, str]] = []
        self.closes: dict[str, dict[str, float]] = {}  # order number -> enter, stable, done (perf_counter)
        self.packed, self.error, self.loop = 0, None, QEventLoop()
        self._plan: list[tuple[str, str, str]] = []
        self._order: PlannedOrder | None = None
        self._phase, self._t0, self._current, self._sent = "", None, None, 0
        app.feedback.shown.connect(self._shown)
        for timer in app.bench.scale.findChildren(QTimer):  # the simulated scale's settle timer
            timer.installEventFilter(self)
        app.feedback.banner.installEventFilter(self)

    def run(self) -> None:
        QTimer.singleShot(0, self._next_order)
        self.loop.exec()

    def _stop(self, error: str | None = None) -> None:
        self.error, self._phase = error, ""
        self.loop.quit()

    def _next_order(self) -> None:
        if not self._orders:
            return self._stop()
        self._order = order = self._orders.pop(0)
        self._plan = [(order.tote, "tote", "accept")]
        if order.wrong:
            self._plan.append((order.wrong, "wrong item", "reject"))
        self._plan += [(gtin, "item", "accept") for gtin in order.units[:-1]]
        self._plan.append((order.units[-1], "last unit", "info"))  # "Put the parcel on the scale."
        self._phase = "scanning"
        self._scan()

    def _scan(self) -> None:
        self._current = text, what, _ = self._plan.pop(0)
        self._paint = None  # a banner not repainted before the next scan gives no paint time
        target = QGuiApplication.focusObject()
        if target is None:
            return self._stop("nothing has the keyboard focus")
        for ch in text:
            self.clock[0] += KEY_MS
            _keys(target, ord(ch.upper()), ch)
        self.clock[0] += KEY_MS
        self._t0 = t0 = time.perf_counter()
        with self.profiler or contextlib.nullcontext():
            _keys(target, Qt.Key.Key_Return, "\r", release=False)
        # Packing decides within the key event: it returns once the verdict is shown and the page redrawn.
        self.handled.setdefault(what, []).append(time.perf_counter() - t0)
        self._paint = (what, t0)
        _keys(target, Qt.Key.Key_Return, "\r", press=False)
        self.clock[0] += 1000  # the next burst is a new one
        self._sent += 1
        sent = self._sent
        QTimer.singleShot(NO_VERDICT_S * 1000, lambda: self._no_verdict(sent, text))

    def _no_verdict(self, sent: int, text: str) -> None:
        if self._phase in ("scanning", "weighing") and self._sent == sent:
            self._stop(f"no verdict for the scan {text!r} after {NO_VERDICT_S} s ({self._phase})")

    def _shown(self, kind: str, message: str) -> None:
        now = time.perf_counter()
        if self._phase == "scanning" and self._t0 is not None:
            text, what, expected = self._current
            self.by_kind.setdefault(what, []).append(now - self._t0)
            t0, self._t0 = self._t0, None
            if kind != expected:
                self.unexpected.append((text, expected, kind, message))
            if what == "last unit":
                if kind != "info":
                    return self._stop(f"the last unit of {self._order.number} did not ask for the weight: {message}")
                self._phase = "weighing"
                self.closes[self._order.number] = {"enter": t0}
                return
            QTimer.singleShot(self.gap_ms, self._scan)
        elif self._phase == "weighing":
            if kind != "done":
                return self._stop(f"{self._order.number} did not close once weighed: {kind}: {message}")
            self.closes[self._order.number]["done"] = now
            self.packed += 1
            self._phase = "packed"
            QTimer.singleShot(self.gap_ms, self._next_order)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Timer and self._phase == "weighing" and watched is not self.app.feedback.banner:
            self.closes[self._order.number].setdefault("stable", time.perf_counter())
        elif event.type() == QEvent.Type.Paint and self._paint is not None and watched is self.app.feedback.banner:
            what, t0 = self._paint
            self.painted.setdefault(what, []).append(time.perf_counter() - t0)
            self._paint = None
        return False


def run_events_until(condition, timeout: float) -> None:
    """Run the event loop until condition() holds or timeout seconds have passed (checked every 50 ms)."""
    deadline = time.monotonic() + timeout
    with contextlib.suppress(RuntimeError):
        wait_until(lambda: condition() or time.monotonic() > deadline, timeout + 1, "")


def quantile(values: list[float], q: int) -> float:
    """The q-th percentile in ms (inclusive method, as scan_latency's)."""
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def spread(values: list[float], *qs: int) -> str:
    if not values:
        return "-"
    return ", ".join(f"p{q} {quantile(values, q):.1f} ms" for q in qs) + f", max {max(values) * 1000:.1f} ms"


class Row:
    """What one row of the benchmark measured."""

    def __init__(self, printer: str) -> None:
        self.printer = printer
        self.lines: list[str] = []
        self.summary: dict[str, str] = {}


def measure(args, printer_kind: str) -> Row:
    """One row: a fresh server and app, --orders orders packed, labels to a folder or to a TCP printer."""
    from desktop_app.app import build
    from desktop_app.settings import Settings
    from desktop_app.views.shell.signin_view import SignInRequest
    from order_api.server import free_port
    from sync.connectivity import SyncState

    row = Row(printer_kind)
    spawn = multiprocessing.get_context("spawn")
    zebra = LoopbackZebra() if printer_kind == "tcp" else None
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        labels_dir = tmp / "labels"
        port, ready, started = free_port(), spawn.Event(), time.perf_counter()
        server = spawn.Process(target=serve, args=(f"sqlite:///{tmp}/bench.db", str(tmp / "blobs"), args.scale,
                                                   port, ready), daemon=True)
        server.start()
        app = None
        try:
            if not ready.wait(600):
                raise RuntimeError("the order API did not come up in 600 s")
            url, startup = f"http://127.0.0.1:{port}", time.perf_counter() - started
            printer = zebra.setting if zebra is not None else f"folder:{labels_dir}"
            settings = Settings.load(machine_path=tmp / "m.toml", user_path=tmp / "u.toml", environ={},
                                     overrides={"ui.layout": "desktop", "sounds.enabled": False,
                                                "scale.port": "simulated", "printer.label": printer,
                                                "packing.weight_gate": "off"})
            clock = [10_000.0]
            app = build(settings, server_url=url, data_dir=tmp / "client", keyring="none",
                        wedge_clock=lambda: clock[0], sound_folder=tmp / "sounds")
            app.window.show()
            app.window.activateWindow()
            started = time.perf_counter()
            app.window.signin.submitted.emit(SignInRequest(PACKER[0], None, PACKER[1]))
            wait_until(lambda: app.station.person is not None, 60, "the sign-in")
            wait_until(lambda: app.core.engine.status().state is SyncState.IDLE, 600, "the initial sync")
            app.station.show_section("pack")
            wait_until(lambda: app.packing.on_screen and app.packing.view.session is not None
                       and app.packing.view.session.bench.waiting() > 0, 60, "the orders at the bench")
            synced = time.perf_counter() - started
            plans, skipped = plan_orders(app.core.view, args.orders)
            if len(plans) < args.orders:
                raise RuntimeError(f"only {len(plans)} picked orders fit one box: use fewer --orders or a larger "
                                   f"--scale")
            profiler = cProfile.Profile() if args.profile else None
            run = PackRun(app, clock, plans, args.gap_ms, profiler)
            stalls, began = StallMeter(), time.perf_counter()
            run.run()
            spent = time.perf_counter() - began
            stalls.stop()
            if run.error:
                raise RuntimeError(run.error)
            # The event loop keeps running meanwhile: the spool is woken from the main thread.
            def labels_in() -> int:
                return len(zebra.labels) if zebra is not None else len(list(labels_dir.glob("*.zpl")))

            run_events_until(lambda: labels_in() >= len(plans), LABELS_WAIT_S)
            run_events_until(lambda: False, 1.0)  # a label printed twice would come now
            arrived = list(zebra.labels) if zebra is not None else []
            label_files = labels_in()
            pending_after = app.core.outbox.counts()[0]
        finally:
            if app is not None:
                logging.getLogger("sync.api").setLevel(logging.ERROR)  # the long poll cut short by close()
                app.close()
                app.window.hide()
                app.window.deleteLater()
                QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            if zebra is not None:
                zebra.close()
            if server.is_alive():
                server.terminate()
            server.join(30)

    every = [x for values in run.by_kind.values() for x in values]
    mix = ", ".join(f"{len(v)} {k}" for k, v in run.by_kind.items())
    closes = [c for c in run.closes.values() if "done" in c]
    settle = [c["stable"] - c["enter"] for c in closes if "stable" in c]
    closing = [c["done"] - c["stable"] for c in closes if "stable" in c]
    enter_to_done = [c["done"] - c["enter"] for c in closes]
    where = ("a raw-TCP ZPL printer on loopback in the benchmark process" if zebra is not None
             else "a folder printer in a temporary directory")
    row.lines.append(f"Labels to {where}. Server: SQLite file, bench seed at scale {args.scale:g}; seed + start-up "
                     f"{startup:.1f} s. Sign-in of ben and initial sync of his scope: {synced:.1f} s.")
    row.lines.append(f"{run.packed} orders packed ({skipped} passed over before them: their units fit no single "
                     f"box); scans: {mix}; run {spent:.1f} s; actions still queued after the run: "
                     f"{pending_after}.\n")
    row.lines.append("| measure | value |\n|---|---|")
    row.lines.append(f"| Enter to Feedback.shown, {len(every):,} scans | {spread(every, 50, 90, 99)} |")
    for kind, values in run.by_kind.items():
        row.lines.append(f"| Enter to Feedback.shown, {kind} scans ({len(values):,}) | {spread(values, 50, 90, 99)} |")
    handled = [x for values in run.handled.values() for x in values]
    row.lines.append(f"| Enter until its key event returned (verdict shown, page redrawn), {len(handled):,} scans | "
                     f"{spread(handled, 50, 90, 99)} |")
    for kind, values in run.handled.items():
        row.lines.append(f"| Enter until its key event returned, {kind} scans | {spread(values, 50, 90, 99)} |")
    painted = [x for values in run.painted.values() for x in values]
    row.lines.append(f"| Enter to the banner's paint event, {len(painted):,} scans | {spread(painted, 50, 90, 99)} |")
    row.lines.append(f"| longest main-thread stall (5 ms timer; ticks over 16 ms late: {stalls.over_16}) | "
                     f"{stalls.longest * 1000:.1f} ms |")
    row.lines.append(f"| last unit's Enter to the scale's stable reading (simulated settle), {len(settle)} orders | "
                     f"{spread(settle, 50, 95)} |")
    row.lines.append(f"| stable reading to \"packed\" (closing on the main thread) | {spread(closing, 50, 95)} |")
    row.lines.append(f"| last unit's Enter to \"packed\" | {spread(enter_to_done, 50, 95)} |")
    row.summary = {
        "orders packed": f"{run.packed:,}",
        "scans": f"{len(every):,} ({mix})",
        "Enter to Feedback.shown, all scans: p50 / p99 / max":
            f"{quantile(every, 50):.1f} / {quantile(every, 99):.1f} / {max(every) * 1000:.1f} ms",
    }
    for kind in ("tote", "item", "wrong item", "last unit"):
        values = run.by_kind.get(kind, [])
        row.summary[f"{kind} scans: p50 / p99 / max"] = (
            f"{quantile(values, 50):.1f} / {quantile(values, 99):.1f} / {max(values) * 1000:.1f} ms" if values else "-")
    row.summary["Enter until its key event returned (page redrawn), all scans: p50 / p99 / max"] = (
        f"{quantile(handled, 50):.1f} / {quantile(handled, 99):.1f} / {max(handled) * 1000:.1f} ms")
    row.summary["Enter to the banner's paint event, all scans: p50 / p99 / max"] = (
        f"{quantile(painted, 50):.1f} / {quantile(painted, 99):.1f} / {max(painted) * 1000:.1f} ms" if painted else "-")
    row.summary["longest main-thread stall"] = f"{stalls.longest * 1000:.1f} ms"
    row.summary["scans whose verdict differed from the plan"] = str(len(run.unexpected))
    row.summary["stable reading to \"packed\": p50 / p95"] = (
        f"{quantile(closing, 50):.1f} / {quantile(closing, 95):.1f} ms")
    if zebra is not None:
        _label_lines(row, run, arrived)
    else:
        row.lines.append(f"| label files in the folder after the run | {label_files} for {run.packed} orders |")
        row.summary["labels at the printer"] = f"{label_files} files for {run.packed} orders"
    row.lines.append(f"| scans whose verdict differed from the plan | {len(run.unexpected)} |")
    for text, expected, kind, message in run.unexpected[:5]:
        row.lines.append(f"  {text}: {kind} instead of {expected}: {message}")
    if profiler is not None:
        report = io.StringIO()
        pstats.Stats(profiler, stream=report).sort_stats("cumulative").print_stats(25)
        row.lines.append("\nMain thread inside the Enter key events (cProfile, by cumulative time):\n" + report.getvalue())
    return row


def _label_lines(row: Row, run: PackRun, arrived) -> None:
    """The tcp row's label measures: from the last unit's Enter (and from the stable reading) to the label's bytes."""
    seen = Counter((label.order_number, label.parcel_no) for label in arrived)
    twice = sum(n - 1 for n in seen.values() if n > 1)
    first_at: dict[str, float] = {}
    for label in arrived:
        first_at.setdefault(label.order_number, label.at)
    missing = [number for number in run.closes if number not in first_at]
    strangers = [number for number in first_at if number not in run.closes]
    wrong_parcel = sum(1 for label in arrived if (label.parcel_no, label.parcel_count) != (1, 1))
    total = [first_at[n] - c["enter"] for n, c in run.closes.items() if n in first_at]
    no_settle = [first_at[n] - c["stable"] for n, c in run.closes.items() if n in first_at and "stable" in c]
    after_close = [first_at[n] - c["done"] for n, c in run.closes.items() if n in first_at and "done" in c]
    row.lines.append(f"| last unit's Enter to the label's bytes at the printer, {len(total)} labels | "
                     f"{spread(total, 50, 95)} |")
    row.lines.append(f"| stable reading to the label's bytes (without the settle) | {spread(no_settle, 50, 95)} |")
    row.lines.append(f"| \"packed\" to the label's bytes (push, label fetch, print) | {spread(after_close, 50, 95)} |")
    row.lines.append(f"| labels at the printer | {len(arrived)} for {len(run.closes)} orders: {twice} printed more "
                     f"than once, {len(missing)} missing, {len(strangers)} of orders not packed here, "
                     f"{wrong_parcel} not \"parcel 1 of 1\" |")
    row.summary["last unit's Enter to label bytes at the printer: p50 / p95"] = (
        f"{quantile(total, 50):.0f} / {quantile(total, 95):.0f} ms" if total else "-")
    row.summary["stable reading to label bytes (no settle): p50 / p95"] = (
        f"{quantile(no_settle, 50):.0f} / {quantile(no_settle, 95):.0f} ms" if no_settle else "-")
    each_once = not twice and not missing and not strangers and not wrong_parcel
    row.summary["labels at the printer"] = (f"{len(arrived)} for {len(run.closes)} orders"
                                            + (", each once" if each_once else
                                               f": {twice} twice, {len(missing)} missing"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200, help="orders to pack in each row")
    parser.add_argument("--printers", default="folder,tcp", help="comma-separated rows: folder and/or tcp")
    parser.add_argument("--scale", type=float, default=1.0, help="bench seed scale, (0, 1]")
    parser.add_argument("--gap-ms", type=int, default=30, help="pause after a verdict before the next burst")
    parser.add_argument("--profile", action="store_true", help="cProfile the main thread inside the Enter keys")
    args = parser.parse_args()
    printers = [p.strip() for p in args.printers.split(",") if p.strip()]
    if not printers or set(printers) - {"folder", "tcp"}:
        parser.error("--printers takes folder, tcp or both")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("sync.credentials").setLevel(logging.ERROR)  # keyring off on purpose
    qInstallMessageHandler(lambda _mode, _context, message: "propagateSizeHints" in message
                           or print(message, file=sys.stderr))
    qt = QApplication.instance() or QApplication(sys.argv[:1])
    qt.setApplicationName("Floorhand")
    load = os.getloadavg()[0]
    rows = [measure(args, printer) for printer in printers]

    print(f"Machine: {describe()}; load average before the run {load:.2f}")
    names = {"folder": "folder printer", "tcp": "TCP printer on loopback"}
    for row in rows:
        print(f"\n{names[row.printer]}: " + "\n".join(row.lines) + "\n")
    print("| measure | " + " | ".join(names[r.printer] for r in rows) + " |")
    print("|---|" + "---|" * len(rows))
    measures = list(dict.fromkeys(name for r in rows for name in r.summary))
    for measure_name in measures:
        print(f"| {measure_name} | " + " | ".join(r.summary.get(measure_name, "") for r in rows) + " |")
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # straight out: the app's threads and Qt objects are not torn down one by one
