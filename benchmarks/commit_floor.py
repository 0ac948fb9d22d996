"""The floor under a durable scan: what one journal commit costs on this disk, nothing else running.

Run: .venv/bin/python -m benchmarks.commit_floor [--commits 1000] [--rounds 3]

A scan that stores an action is accepted only once its commit is synced to disk
(synchronous=FULL in WAL mode, as the journal is opened). This times that alone: a fresh
SQLite file beside the data (the current folder's file system unless --dir), WAL, one
small row per transaction like an outbox append, committed one at a time, with SQLite's
automatic checkpoint (every 1,000 pages) as the journal has it. No Qt, no threads, no
server: no scan can be accepted faster than this on the same disk.
"""

import argparse
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.machine import describe


def one_round(folder: Path, commits: int) -> list[float]:
    path = folder / f"floor-{uuid.uuid4().hex}.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE outbox (seq INTEGER PRIMARY KEY, id TEXT, name TEXT, args TEXT)")
        spent = []
        for n in range(commits):
            start = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO outbox (id, name, args) VALUES (?, ?, ?)",
                         (uuid.uuid4().hex, "pick.confirm", '{"task": %d, "qty": 1, "barcode": "4006381333931"}' % n))
            conn.execute("COMMIT")
            spent.append((time.perf_counter() - start) * 1000)
        return spent
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="folder on the disk to measure (default: a temporary one)")
    args = parser.parse_args()
    print(f"Machine: {describe()}")
    print(f"{args.commits} synced commits per round, one small row each\n")
    print("| round | p50 | p90 | p99 | max |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for r in range(1, args.rounds + 1):
            spent = sorted(one_round(Path(tmp), args.commits))
            q = statistics.quantiles(spent, n=100, method="inclusive")
            print(f"| {r} | {q[49]:.1f} ms | {q[89]:.1f} ms | {q[98]:.1f} ms | {spent[-1]:.1f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
