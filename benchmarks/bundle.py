"""Size of the PyInstaller bundle on disk and its start time to the first window shown.

Run: make bundle && .venv/bin/python -m benchmarks.bundle [--bundle dist/floorhand] [--runs 7]

Size: every file of the onedir bundle (apparent bytes and disk blocks), and the largest
contributors: each file over 1 MB, and each top-level folder of _internal as a whole.

Start: measured from outside, as a person clicking the icon would see it. One Xvfb screen;
the bundled executable started with `--server http://127.0.0.1:9` (nothing listens there, so
the sign-in window shows without a server) in a clean environment with its own HOME; from
just before the process is created until `xdotool search --onlyvisible --name Floorhand`
finds a mapped window, polled every 5 ms; then the app is terminated. Three kinds of start:
- first: the first start of a new user (data folder, databases and sound files created),
- warm: later starts with the bundle's files in the page cache,
- cold: later starts after `sync; echo 3 > /proc/sys/vm/drop_caches`, which needs root
  (skipped, and said so, without it).
Each kind but the first is the median of --runs starts (min and max shown as well). For
comparison, the same warm starts of the app from the source tree (.venv/bin/floorhand).
The load average before and after is printed: on a shared machine it moves the numbers.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import describe

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000
POLL_S = 0.005
TIMEOUT_S = 60.0
DROP_CACHES = Path("/proc/sys/vm/drop_caches")


# --- size ------------------------------------------------------------------------------------

def bundle_files(bundle: Path) -> list[Path]:
    return [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]


def size_report(bundle: Path) -> list[str]:
    files = bundle_files(bundle)
    apparent = sum(p.stat().st_size for p in files)
    on_disk = sum(p.stat().st_blocks * 512 for p in files)
    internal = bundle / "_internal"
    groups: dict[str, int] = {}
    for p in files:
        rel = p.relative_to(bundle)
        key = str(rel) if p.parent == bundle or p.parent == internal else f"{rel.parts[0]}/{rel.parts[1]}/"
        groups[key] = groups.get(key, 0) + p.stat().st_size
    big_files = sorted(((p.stat().st_size, str(p.relative_to(bundle))) for p in files if p.stat().st_size > MB),
                       reverse=True)
    lines = [f"{len(files)} files, {apparent / MB:.1f} MB ({apparent / 2**20:.1f} MiB) apparent, "
             f"{on_disk / MB:.1f} MB on disk", "",
             "| largest files | MB |", "|---|---:|"]
    lines += [f"| {name} | {size / MB:.1f} |" for size, name in big_files[:15]]
    lines += ["", "| by top-level entry of the bundle | MB |", "|---|---:|"]
    lines += [f"| {name} | {size / MB:.1f} |" for name, size in sorted(groups.items(), key=lambda kv: -kv[1])[:12]]
    return lines


# --- start time ------------------------------------------------------------------------------

class Screen:
    """An Xvfb server on a free display number."""

    def __init__(self) -> None:
        read, write = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as f:
            self.display = ":" + f.readline().strip()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def window_shown(display: str) -> bool:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Floorhand"],
                           env={"DISPLAY": display, "PATH": os.environ["PATH"]}, capture_output=True, text=True)
    return bool(found.stdout.strip())


def start_once(executable: Path, display: str, home: Path) -> float:
    """Seconds from process creation to the first visible Floorhand window."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "DISPLAY": display,
           "FLOORHAND_MACHINE_CONFIG": str(home / "no-machine-config.toml")}
    started = time.perf_counter()
    app = subprocess.Popen([str(executable), "--server", "http://127.0.0.1:9"], env=env, cwd=home,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not window_shown(display):
            if app.poll() is not None:
                raise RuntimeError(f"{executable} exited with {app.returncode} before showing a window")
            if time.perf_counter() - started > TIMEOUT_S:
                raise RuntimeError(f"no Floorhand window after {TIMEOUT_S:.0f} s")
            time.sleep(POLL_S)
        return time.perf_counter() - started
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(timeout=10)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()


def drop_page_cache() -> None:
    os.sync()
    DROP_CACHES.write_text("3\n")


def can_drop_page_cache() -> bool:
    return os.geteuid() == 0 and os.access(DROP_CACHES, os.W_OK)


def summary(name: str, times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    return (f"| {name} | {len(ms)} | {statistics.median(ms):.0f} | {ms[0]:.0f} | {ms[-1]:.0f} |")


def start_report(bundle: Path, runs: int) -> list[str]:
    executable = bundle / "floorhand"
    source_tree = ROOT / ".venv" / "bin" / "floorhand"
    screen = Screen()
    home = Path(tempfile.mkdtemp(prefix="floorhand-bench-home-"))
    try:
        cold_possible = can_drop_page_cache()
        if cold_possible:
            drop_page_cache()
        first = start_once(executable, screen.display, home)
        warm = [start_once(executable, screen.display, home) for _ in range(runs)]
        cold = []
        if cold_possible:
            for _ in range(runs):
                drop_page_cache()
                cold.append(start_once(executable, screen.display, home))
        from_source = []
        if source_tree.is_file():
            start_once(source_tree, screen.display, home)  # its own first start: not counted
            from_source = [start_once(source_tree, screen.display, home) for _ in range(runs)]
    finally:
        screen.close()
        shutil.rmtree(home, ignore_errors=True)
    lines = ["| start | runs | median ms | min ms | max ms |", "|---|---:|---:|---:|---:|",
             summary("first (new user" + (", page cache dropped)" if cold_possible else ")"), [first]),
             summary("warm (files in the page cache)", warm)]
    if cold:
        lines.append(summary("cold (page cache dropped before each start)", cold))
    if from_source:
        lines.append(summary("warm, from the source tree (.venv/bin/floorhand), for comparison", from_source))
    if not cold:
        lines += ["", "Cold starts skipped: dropping the page cache needs root."]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "floorhand")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    if not (args.bundle / "floorhand").is_file():
        parser.error(f"no bundle at {args.bundle}: run make bundle first")
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is missing: make venv installs it")
    print(f"Machine: {describe()}")
    print(f"Bundle: {args.bundle}")
    print()
    print("\n".join(size_report(args.bundle)))
    print()
    load_before = os.getloadavg()[0]
    report = start_report(args.bundle, args.runs)
    print("\n".join(report))
    print()
    print(f"Load average (1 min) before the starts {load_before:.1f}, after {os.getloadavg()[0]:.1f}, "
          f"on {os.cpu_count()} cores.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
