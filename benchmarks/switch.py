"""What a switch of person costs on a shared device, on the bench seed: PIN to first screen, and to a complete scope.

Run: .venv/bin/python -m benchmarks.switch [--rounds 3] [--scale 1.0]

The reference API runs in its own process on the bench seed (SQLite file). The whole app
(desktop_app.app.build, offscreen, no keyring) runs in this process on one data folder, and
the same people take turns on it, each by the sign-in form (name, PIN, Enter):

    anna (picker)      new: the device's first sign-in, catalog + floor from nothing
    sam (supervisor)   new scope: office, studio, packing_ref and his own added; catalog and floor kept
    anna               seen before: catalog and floor current; her own work pulled again (purged at sam)
    sam                seen before: office, studio and packing_ref hidden while anna worked, caught up now
    ben (packer)       new scope: packing and his own added

Measured per turn, from the Enter in the PIN field (the sign-in runs on a worker):
- first screen: the station has shown the person's first section (Station._signed_in returned);
- complete: the engine reports idle with every audience of the new scope at the server's
  last change (read from the server's database when the PIN was entered), and the view
  holds the person's data: as many orders as the server has in the scope, for sam and ben.
Each round is a fresh server and data folder; rounds alternate nothing else.
"""

import argparse
import logging
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from benchmarks.machine import describe
from benchmarks.scan_latency import serve

TURNS = (("anna", "1111", "new (first sign-in)"), ("sam", "4444", "new scope"), ("anna", "1111", "seen before"),
         ("sam", "4444", "seen before"), ("ben", "2222", "new scope"))
TIMEOUT_S = 300.0


def server_last_seq(db_file: Path) -> int:
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT value FROM sync_meta WHERE key = 'last_seq'").fetchone()[0]


def orders_in_scope(db_file: Path, roles: str) -> int | None:
    """How many orders the person should see: all for the office, the packing statuses for a packer."""
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as conn:
        if "supervisor" in roles:
            return conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        if "packer" in roles:
            return conn.execute("SELECT count(*) FROM orders WHERE status IN ('picked', 'packed')").fetchone()[0]
    return None


def wait(condition, what: str) -> float:
    """Run the event loop until condition() holds; returns when, by perf_counter."""
    loop, deadline = QEventLoop(), time.perf_counter() + TIMEOUT_S
    timer = QTimer(interval=2)
    result: list[float] = []

    def check() -> None:
        if condition():
            result.append(time.perf_counter())
            loop.quit()
        elif time.perf_counter() > deadline:
            loop.quit()

    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    if not result:
        raise TimeoutError(f"no {what} within {TIMEOUT_S:.0f} s")
    return result[0]


def one_round(url: str, db_file: Path, folder: Path) -> list[tuple[str, str, float, float, str]]:
    from desktop_app.app import build
    from desktop_app.settings import Settings
    from sync.connectivity import SyncState
    from sync.store import replica

    settings = Settings.load(machine_path=folder / "machine.toml", user_path=folder / "user.toml", environ={},
                             overrides={"ui.layout": "desktop", "sounds.enabled": "false"})
    app = build(settings, server_url=url, data_dir=folder / "client", keyring="none")
    app.window.show()
    rows = []
    try:
        for username, pin, kind in TURNS:
            shown: list[float] = []
            original = app.station._signed_in

            def signed_in(person, original=original, shown=shown) -> None:
                original(person)
                shown.append(time.perf_counter())

            app.station._signed_in = signed_in
            target = server_last_seq(db_file)
            form = app.window.signin
            if app.station.person is not None:
                app.station.switch_user(f"U{dict(anna=1, ben=2, chloe=3, sam=4)[username]:04d}")
            else:
                form.username.setText(username)
            form.pin.setText(pin)
            t0 = time.perf_counter()
            form.pin.returnPressed.emit()
            first = wait(lambda: bool(shown), f"first screen of {username}") - t0
            app.station._signed_in = original

            def complete() -> bool:
                status = app.sync_signals.last
                if status is None or status.state is not SyncState.IDLE:
                    return False
                with app.core.store.replica.read() as conn:
                    cursors, scope = replica.cursors(conn), replica.scope(conn)
                return bool(scope) and all(cursors.get(a, 0) >= target for a in scope)

            done = wait(complete, f"complete scope of {username}") - t0
            expected = orders_in_scope(db_file, " ".join(app.station.person.roles))
            check = ""
            if expected is not None:
                got = len(app.core.view.rows("order"))
                check = f"{got} of {expected} orders" if got != expected else f"all {got} orders"
            rows.append((username, kind, first, done, check))
    finally:
        app.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="bench seed scale, (0, 1]")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("sync.credentials").setLevel(logging.ERROR)  # no keyring on purpose
    qInstallMessageHandler(lambda _mode, _context, message: "propagateSizeHints" in message
                           or print(message, file=sys.stderr))
    from order_api.server import free_port

    QApplication.instance() or QApplication(sys.argv[:1])
    spawn = multiprocessing.get_context("spawn")
    results: list[list[tuple]] = []
    for n in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            port, ready = free_port(), spawn.Event()
            server = spawn.Process(target=serve, args=(f"sqlite:///{tmp}/api.db", str(tmp / "blobs"), args.scale,
                                                       port, ready), daemon=True)
            server.start()
            try:
                if not ready.wait(600):
                    raise RuntimeError("the server did not come up")
                results.append(one_round(f"http://127.0.0.1:{port}", tmp / "api.db", tmp))
            finally:
                server.terminate()
                server.join(30)
        print(f"round {n + 1}: " + "; ".join(f"{u} ({k}) {f * 1000:.0f} ms / {d * 1000:.0f} ms {c}"
                                              for u, k, f, d, c in results[-1]), file=sys.stderr)
    print(f"Machine: {describe()}\n")
    print("| turn | PIN to first screen, per round | median | PIN to complete scope, per round | median | "
          "orders in view |")
    print("|---|---|---|---|---|---|")
    for i, (username, _pin, kind) in enumerate(TURNS):
        firsts = [r[i][2] * 1000 for r in results]
        dones = [r[i][3] * 1000 for r in results]
        checks = {r[i][4] for r in results}
        print(f"| {username}, {kind} | {' / '.join(f'{v:.0f}' for v in firsts)} ms | "
              f"**{statistics.median(firsts):.0f} ms** | {' / '.join(f'{v:.0f}' for v in dones)} ms | "
              f"**{statistics.median(dones):.0f} ms** | {', '.join(sorted(c for c in checks if c)) or '-'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
