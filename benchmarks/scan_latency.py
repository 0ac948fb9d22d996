"""Scan-to-feedback latency of the picking screen on the bench seed: online with a pull running, and offline
with a backlog of queued actions.

Run: .venv/bin/python -m benchmarks.scan_latency [--backlog 0,1000,5000] [--scans 1000] [--scale 1.0]
     [--gap-ms 30] [--writer-rate 50] [--profile] [--phases]

One row per --backlog value, each on a fresh server and a fresh app. Backlog 0 (online):
three processes, the reference API (bench seed at --scale, SQLite file); a supervisor's
device pushing pick.confirm over HTTP, --writer-rate a second in two pushes (each pick moves
stock, which is in the picker's scope, so this app's pull thread keeps applying pages); and
the whole app from desktop_app.app.build, offscreen, handheld layout, sounds off (no audio
device here), signed in as the picker anna with her scope (catalog + floor) synced first.
Backlog N > 0 (offline): the app signs in and syncs the same way and claims 10 batches ahead;
then the server is stopped (no writer device, nothing pulled or pushed during the run) and N
actions are queued by Outbox.append, as an offline picker's earlier work: a tote.assign per
order and a pick.confirm per piece of the other batches of the bench floor, in walking order.
The timed scans then pick the claimed batches offline, until --scans or the batches run out.

Batches are picked by keyboard-wedge bursts (keys 8 ms apart on the wedge's clock, sent to
the focus object through the app's event filters, then Enter): a tote per order (a durable
tote.assign), then per task in walking order a wrong location on every 4th task (reject),
the right location (accept) and the product once per piece (accept or done, a durable
pick.confirm). A done batch is followed by the next claim (network, on a worker: not
timed); each burst starts --gap-ms after the last verdict. Measured: from sending the Enter
that ends a burst until Feedback.shown (page and banner updated) and until the banner's
next paint event; the longest gap between ticks of a 5 ms timer on the main thread, minus
5 ms, over the whole run; pull pages as distinct replica cursors an engine listener saw.
--profile adds a cProfile of the main thread inside the Enter key events. --phases times the parts of
a scan's way, per kind of scan: PickingSession.scan (judging it on the UI thread), from handing
an action over to its being stored (Submission.when_done, the journal writer), from "stored" to
the UI thread taking the verdict up, and every PickingView._draw (the page drawn for a verdict or
a pull), printed after the table.

The script drives the app only through what a person does (wedge bursts, Feedback.shown), so the
same file also runs against an older checkout of the app: PYTHONPATH=<checkout> from that folder.
"""

import argparse
import contextlib
import cProfile
import logging
import multiprocessing
import os
import pstats
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QObject, Qt, QTimer, qInstallMessageHandler
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QApplication

from benchmarks.client_sync import PICKER, replica_rows
from benchmarks.machine import describe
from benchmarks.scan_phases import time_phases
from benchmarks.server_sync import sign_in

KEY_MS = 8  # a barcode gun types a key every 5-15 ms
WRONG_EVERY = 4  # every 4th task gets a wrong location scan first
WRONG_LOCATION = "Z-99-99-9"  # a well-formed label of no bin (the bench floor has zones A-D)
STALL_TICK_MS = 5
CLAIM_AHEAD = 10  # the most the order API lets a picker claim ahead for a dead zone
NO_VERDICT_S = 10  # a scan with no verdict after this long stops the run


# --- the other two processes --------------------------------------------------------------

def serve(db_url: str, blobs: str, scale: float, port: int, ready) -> None:
    """The reference API with the bench seed at `scale`, until terminated."""
    from order_api.models.base import utcnow
    from order_api.seed import bench, load_rows
    from order_api.server import start_in_thread
    from order_api.settings import ServerSettings

    server = start_in_thread(ServerSettings(db_url=db_url, blob_store=f"fs:{blobs}"), port=port)
    load_rows(server.app.state.ctx.db, "bench", lambda: bench.build(utcnow(), scale))
    ready.set()
    threading.Event().wait()


def keep_picking(url: str, rate: float, stop, applied) -> None:
    """A supervisor's device: claims batches and pushes pick.confirm, `rate` per second, until stop."""
    client = sign_in(url, "sam", "4444", "bench-writer")
    per_push, seq, tasks = max(1, round(rate / 2)), 0, []
    while not stop.is_set():
        started = time.monotonic()
        if not tasks:
            batches = client.post("/v1/pick-batches/claim", json={"ahead": 2}).json()["batches"]
            tasks = [t for b in batches for t in b["tasks"] if t["status"] == "open"]
            if not tasks:
                return
        chunk, tasks, at = tasks[:per_push], tasks[per_push:], datetime.now(timezone.utc).isoformat()
        muts = [{"seq": seq + n, "id": str(uuid.uuid4()), "name": "pick.confirm", "user": "sam", "at": at,
                 "args": {"task": t["id"], "location": t["location_label"], "qty": t["qty"] - t["picked_qty"],
                          "barcode": t["gtin"]}} for n, t in enumerate(chunk, 1)]
        seq += len(chunk)
        answer = client.post("/v1/sync/push", json={"device_id": "bench-writer", "schema_version": 1,
                                                     "mutations": muts})
        answer.raise_for_status()
        with applied.get_lock():
            applied.value += sum(r["status"] == "applied" for r in answer.json()["results"])
        stop.wait(max(0.0, 0.5 - (time.monotonic() - started)))


def backlog_actions(db_path: Path, skip_batches: set[int], count: int) -> list[tuple[str, dict]]:
    """`count` actions of an offline picker: a tote per order, then each piece, of the floor's other batches."""
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        rows = conn.execute(
            "SELECT t.batch_id, o.id, t.id, t.qty - t.picked_qty, l.label, p.gtin FROM pick_tasks t "
            "JOIN order_lines ol ON ol.id = t.line_id JOIN orders o ON o.id = ol.order_id "
            "JOIN locations l ON l.id = t.location_id JOIN products p ON p.id = ol.product_id "
            "WHERE t.status = 'open' ORDER BY t.batch_id, t.route_key, t.id").fetchall()
    orders: dict[int, set[int]] = {}
    for batch_id, order_id, *_ in rows:
        orders.setdefault(batch_id, set()).add(order_id)
    actions: list[tuple[str, dict]] = []
    batch = None
    for batch_id, _order_id, task_id, qty, label, gtin in rows:
        if batch_id in skip_batches:
            continue
        if len(actions) >= count:
            break
        if batch_id != batch:
            batch = batch_id
            actions += [("tote.assign", {"batch": batch_id, "order": o, "tote": f"T-{o:06d}"})
                        for o in sorted(orders[batch_id])]
        actions += [("pick.confirm", {"task": task_id, "location": label, "qty": 1, "barcode": gtin.zfill(14)})] * qty
    return actions[:count]


# --- what a picker scans ------------------------------------------------------------------

def batch_scans(view, batch_id: int) -> list[tuple[str, str, str]]:
    """(text, what, expected verdict) of every scan that picks the batch, in the order a picker makes them."""
    tasks = [t for t in view.rows("pick_task", batch_id=batch_id) if t.get("order_status") != "cancelled"]
    orders = sorted({t["order_id"] for t in tasks if not t.get("tote")})
    scans = [(f"T-{order:04d}", "tote", "accept") for order in orders]
    walk = sorted((t for t in tasks if t["status"] == "open"), key=lambda t: (t["route_key"], t["id"]))
    for n, t in enumerate(walk):
        if n % WRONG_EVERY == WRONG_EVERY - 1:
            scans.append((WRONG_LOCATION, "wrong location", "reject"))
        scans.append((t["location_label"], "location", "accept"))
        scans += [(t["gtin"], "product", "accept")] * (t["qty"] - t.get("picked_qty", 0))
    if scans:
        scans[-1] = (*scans[-1][:2], "done")
    return scans


def wait_until(condition, timeout: float, what: str) -> None:
    """Run the event loop until condition() holds (checked every 50 ms)."""
    loop, deadline = QEventLoop(), time.monotonic() + timeout
    timer = QTimer(interval=50)
    timer.timeout.connect(lambda: (condition() or time.monotonic() > deadline) and loop.quit())
    timer.start()
    if not condition():
        loop.exec()
    timer.stop()
    if not condition():
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


class StallMeter(QObject):
    """The longest gap between ticks of a 5 ms timer on the main thread, from construction to stop()."""

    def __init__(self) -> None:
        super().__init__()
        self.longest, self.over_16, self._last = 0.0, 0, time.perf_counter()
        self._timer = QTimer(self, interval=STALL_TICK_MS, timerType=Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        stall = now - self._last - STALL_TICK_MS / 1000
        self.longest, self.over_16, self._last = max(self.longest, stall), self.over_16 + (stall > 0.016), now


class ScanRun(QObject):
    """Picks batch after batch by wedge bursts until `scans` verdicts are timed."""

    def __init__(self, app, clock: list[float], scans: int, gap_ms: int, profiler: cProfile.Profile | None,
                 offline: bool = False) -> None:
        super().__init__()
        self.app, self.clock, self.wanted, self.gap_ms, self.profiler = app, clock, scans, gap_ms, profiler
        self.offline, self.ran_out = offline, False  # offline: no more claimed batches ends the run
        self._scans_sent = 0
        self.by_kind: dict[str, list[float]] = {}  # seconds from Enter to Feedback.shown, by what was scanned
        self.painted: list[float] = []  # seconds from Enter to the banner's paint event
        self.unexpected: list[tuple[str, str, str, str]] = []
        self.claims: list[float] = []
        self.done, self.error, self.loop = 0, None, QEventLoop()
        self._plan: list[tuple[str, str, str]] = []
        self._phase, self._t0, self._paint_t0, self._current, self._claim_t0, self._retries = "", None, None, None, 0, 0
        app.feedback.shown.connect(self._shown)
        app.feedback.banner.installEventFilter(self)

    def run(self) -> None:
        self._claim()
        self.loop.exec()

    def _stop(self, error: str | None = None) -> None:
        self.error, self._phase = error, ""
        self.loop.quit()

    def _claim(self) -> None:
        self._phase, self._claim_t0 = "claiming", time.perf_counter()
        self.app.picking.view.start_batch()

    def _scan(self) -> None:
        self._paint_t0 = None  # a banner not repainted before the next scan gives no paint time
        self._current = text, _, _ = self._plan.pop(0)
        target = QGuiApplication.focusObject()
        if target is None:
            return self._stop("nothing has the keyboard focus")
        for ch in text:
            self.clock[0] += KEY_MS
            _keys(target, ord(ch.upper()), ch)
        self.clock[0] += KEY_MS
        self._t0 = time.perf_counter()
        with self.profiler or contextlib.nullcontext():
            _keys(target, Qt.Key.Key_Return, "\r", release=False)
        _keys(target, Qt.Key.Key_Return, "\r", press=False)
        self.clock[0] += 1000  # the next burst is a new one
        # The verdict may come later than the key (once the action is on disk): Feedback.shown says when.
        self._scans_sent += 1
        sent = self._scans_sent
        QTimer.singleShot(NO_VERDICT_S * 1000, lambda: self._no_verdict(sent, text))

    def _no_verdict(self, sent: int, text: str) -> None:
        if self._phase == "scanning" and self._scans_sent == sent and self._t0 is not None:
            self._stop(f"no verdict for the scan {text!r} after {NO_VERDICT_S} s")

    def _shown(self, kind: str, message: str) -> None:
        if self._phase == "scanning" and self._t0 is not None:
            text, what, expected = self._current
            self.by_kind.setdefault(what, []).append(time.perf_counter() - self._t0)
            self._paint_t0, self._t0, self.done = self._t0, None, self.done + 1
            if kind != expected:
                self.unexpected.append((text, expected, kind, message))
            if self.done >= self.wanted:
                return self._stop()
            QTimer.singleShot(self.gap_ms, self._scan if self._plan else self._claim)
        elif self._phase == "claiming":
            batch = self.app.picking.view.session.batch_id
            if self.offline and kind == "reject" and "No batch" in message and self.done:
                self.ran_out = True  # every batch claimed before going offline is picked
                return self._stop()
            if kind != "accept" or batch is None:
                self._retries += 1  # the last batch's picks may not have reached the server yet
                if self._retries > 20:
                    return self._stop(f"no batch to pick: {message}")
                QTimer.singleShot(500, self._claim)
                return
            self.claims.append(time.perf_counter() - self._claim_t0)
            self._phase = "planning"
            self.app.runner.run(lambda: batch_scans(self.app.core.view, batch), self._planned,
                                lambda exc: self._stop(f"planning failed: {exc}"), name="plan scans")

    def _planned(self, plan: list[tuple[str, str, str]]) -> None:
        if not plan:
            return self._stop("a claimed batch with nothing to pick")
        self._plan, self._phase = plan, "scanning"
        QTimer.singleShot(self.gap_ms, self._scan)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint and self._paint_t0 is not None:
            self.painted.append(time.perf_counter() - self._paint_t0)
            self._paint_t0 = None
        return False


def _keys(target: QObject, key: int, text: str, press: bool = True, release: bool = True) -> None:
    """A key press and/or release sent to target, through the app's event filters (the wedge)."""
    for kind, wanted in ((QEvent.Type.KeyPress, press), (QEvent.Type.KeyRelease, release)):
        if wanted:
            QCoreApplication.sendEvent(target, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, text))


def percentiles(values: list[float]) -> str:
    q = statistics.quantiles(values, n=100, method="inclusive")
    return (f"p50 {q[49] * 1000:.1f} ms, p90 {q[89] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, "
            f"max {max(values) * 1000:.1f} ms")


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] * 1000


class Row:
    """What one row of the benchmark measured."""

    def __init__(self, backlog: int) -> None:
        self.backlog = backlog
        self.lines: list[str] = []  # the row's own table and notes
        self.summary: dict[str, str] = {}  # measure -> value, for the table across rows


def measure(args, backlog: int, qt: QApplication) -> Row:
    """One row: a fresh server and app; online with a pull running (backlog 0) or offline with `backlog` queued."""
    from desktop_app.app import build
    from desktop_app.settings import Settings
    from desktop_app.views.shell.signin_view import SignInRequest
    from order_api.server import free_port
    from sync.connectivity import SyncState

    row = Row(backlog)
    offline = backlog > 0
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port, ready, started = free_port(), spawn.Event(), time.perf_counter()
        server = spawn.Process(target=serve, args=(f"sqlite:///{tmp}/bench.db", str(tmp / "blobs"), args.scale,
                                                   port, ready), daemon=True)
        server.start()
        stop_writer, applied = spawn.Event(), spawn.Value("i", 0)
        writer = app = None
        queued_s = 0.0
        try:
            if not ready.wait(600):
                raise RuntimeError("the order API did not come up in 600 s")
            url, startup = f"http://127.0.0.1:{port}", time.perf_counter() - started
            settings = Settings.load(machine_path=tmp / "m.toml", user_path=tmp / "u.toml", environ={},
                                     overrides={"ui.layout": "handheld", "sounds.enabled": False})
            clock = [10_000.0]
            app = build(settings, server_url=url, data_dir=tmp / "client", keyring="none",
                        wedge_clock=lambda: clock[0], sound_folder=tmp / "sounds")
            app.window.show()
            app.window.activateWindow()
            started = time.perf_counter()
            app.window.signin.submitted.emit(SignInRequest(PICKER[0], None, PICKER[1]))
            wait_until(lambda: app.station.person is not None, 60, "the sign-in")
            wait_until(lambda: app.core.engine.status().state is SyncState.IDLE, 600, "the initial sync")
            synced, rows_before = time.perf_counter() - started, replica_rows(app.core)

            if offline:
                claimed = {b["batch"]["id"] for b in app.core.api.claim_batches(CLAIM_AHEAD)}
                app.core.engine.pull_now()
                server.terminate()
                server.join(30)
                wait_until(lambda: app.core.engine.connectivity.state is SyncState.OFFLINE, 60,
                           "the app to notice the server is gone")
                actions = backlog_actions(tmp / "bench.db", claimed, backlog)
                began = time.perf_counter()
                for name, action_args in actions:
                    app.core.outbox.append(PICKER[0], name, action_args)
                queued_s = time.perf_counter() - began
                wait_until(lambda: app.core.outbox.counts()[0] == len(actions), 60, "the backlog")
            else:
                writer = spawn.Process(target=keep_picking, args=(url, args.writer_rate, stop_writer, applied),
                                       daemon=True)
                writer.start()
                wait_until(lambda: applied.value > 0, 60, "the other device's first push")
            cursors, counting = set(), [True]
            app.core.engine.subscribe(lambda status: counting[0] and cursors.add(status.cursor))
            start_cursor, writer_before = app.core.engine.cursor(), applied.value
            profiler = cProfile.Profile() if args.profile else None
            run = ScanRun(app, clock, args.scans, args.gap_ms, profiler, offline=offline)
            stalls, began = StallMeter(), time.perf_counter()
            run.run()
            spent = time.perf_counter() - began
            stalls.stop()
            counting[0] = False
            if run.error:
                raise RuntimeError(run.error)
            pages = len({c for c in cursors if c > start_cursor})
            writer_picks = applied.value - writer_before
            rows_after = replica_rows(app.core)
            pending_after = app.core.outbox.counts()[0]
        finally:
            stop_writer.set()
            if writer is not None:
                writer.join(30)
            if app is not None:
                logging.getLogger("sync.api").setLevel(logging.ERROR)  # the long poll cut short by close()
                app.close()
                # The window, the station and their timers go now: none may fire into the next row.
                app.window.hide()
                app.window.deleteLater()
                QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            if server.is_alive():
                server.terminate()
            server.join(30)

    mix = ", ".join(f"{len(v)} {k}" for k, v in run.by_kind.items())
    claim_ms = statistics.median(run.claims) * 1000
    what = (f"offline, {backlog:,} actions queued first ({queued_s:.1f} s of appends), {pending_after:,} "
            f"queued after the run" if offline else "online, a pull running")
    row.lines.append(f"Backlog {backlog:,}: {what}. Server: SQLite file, bench seed at scale {args.scale:g}; "
                     f"seed + start-up {startup:.1f} s. Sign-in and initial sync of the picker's scope: "
                     f"{synced:.1f} s.")
    row.lines.append(f"Scans: {mix}; {len(run.claims)} batches (median claim {claim_ms:.0f} ms, not counted)"
                     f"{', every claimed batch picked' if run.ran_out else ''}; run {spent:.1f} s; another device "
                     f"confirmed {writer_picks:,} picks meanwhile.\n")
    row.lines.append("| measure | value |\n|---|---|")
    every = [x for values in run.by_kind.values() for x in values]
    row.lines.append(f"| Enter to Feedback.shown, {len(every):,} scans | {percentiles(every)} |")
    for kind, values in run.by_kind.items():
        row.lines.append(f"| Enter to Feedback.shown, {kind} scans ({len(values):,}) | {percentiles(values)} |")
    row.lines.append(f"| Enter to the banner's paint event, {len(run.painted):,} scans | {percentiles(run.painted)} |")
    row.lines.append(f"| longest main-thread stall (5 ms timer; ticks over 16 ms late: {stalls.over_16}) | "
                     f"{stalls.longest * 1000:.1f} ms |")
    row.lines.append(f"| replica rows before / after the run | {rows_before:,} / {rows_after:,} |")
    row.lines.append(f"| pull pages applied during the run | {pages:,} |")
    row.lines.append(f"| scans whose verdict differed from the plan | {len(run.unexpected)} |")
    for text, expected, kind, message in run.unexpected[:5]:
        row.lines.append(f"  {text}: {kind} instead of {expected}: {message}")
    if profiler is not None:
        row.lines.append("\nMain thread inside the Enter key events (cProfile, by cumulative time):")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    storing = [x for kind in ("product", "tote") for x in run.by_kind.get(kind, [])]
    others = [x for kind, values in run.by_kind.items() if kind not in ("product", "tote") for x in values]
    row.summary = {
        "scans": f"{len(every):,}",
        "p50": f"{statistics.median(every) * 1000:.1f} ms",
        "p99": f"{p99(every):.1f} ms",
        "p99 of scans that store an action (tote, product)": f"{p99(storing):.1f} ms",
        "p99 of the others (locations)": f"{p99(others):.1f} ms",
        "max": f"{max(every) * 1000:.1f} ms",
        "longest main-thread stall": f"{stalls.longest * 1000:.1f} ms",
        "scans whose verdict differed from the plan": str(len(run.unexpected)),
    }
    return row




def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", default="0,1000,5000",
                        help="comma-separated: 0 is the online row, N > 0 an offline row with N actions queued")
    parser.add_argument("--scans", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=1.0, help="bench seed scale, (0, 1]")
    parser.add_argument("--gap-ms", type=int, default=30, help="pause after a verdict before the next burst")
    parser.add_argument("--writer-rate", type=float, default=50, help="another device's picks per second")
    parser.add_argument("--profile", action="store_true", help="cProfile the main thread inside the Enter keys")
    parser.add_argument("--phases", action="store_true", help="time the parts of a scan's way (see the docstring)")
    args = parser.parse_args()
    phases = time_phases() if args.phases else None
    backlogs = [int(b) for b in args.backlog.split(",")]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("sync.credentials").setLevel(logging.ERROR)  # keyring off on purpose
    # The offscreen platform cannot resize windows to their size hints and says so on every layout.
    qInstallMessageHandler(lambda _mode, _context, message: "propagateSizeHints" in message
                           or print(message, file=sys.stderr))
    qt = QApplication.instance() or QApplication(sys.argv[:1])
    qt.setApplicationName("Floorhand")
    load = os.getloadavg()[0]
    rows = []
    for backlog in backlogs:
        engine_logs = [logging.getLogger(name) for name in ("sync.engine", "sync.push")]
        if backlog:  # an offline row: the engine's failed pushes are expected, not news
            for engine_log in engine_logs:
                engine_log.setLevel(logging.CRITICAL)
        rows.append(measure(args, backlog, qt))
        for engine_log in engine_logs:
            engine_log.setLevel(logging.NOTSET)

    print(f"Machine: {describe()}; load average before the run {load:.2f}")
    for row in rows:
        print("\n".join(row.lines) + "\n")
    names = {0: "online, pull running"}
    print("| measure | " + " | ".join(names.get(r.backlog, f"{r.backlog:,} queued offline") for r in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for measure_name in rows[0].summary:
        print(f"| {measure_name} | " + " | ".join(r.summary.get(measure_name, "") for r in rows) + " |")
    if phases:
        print("\n| phase (all rows) | n | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|")
        for name, values in sorted(phases.items()):
            q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
            print(f"| {name} | {len(values)} | {q[49]:.1f} ms | {q[89]:.1f} ms | {q[98]:.1f} ms | {max(values):.1f} ms |")
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # straight out: the app's threads and Qt objects are not torn down one by one
