"""A capture burst through `floorhand studio watch`: from a file complete on disk to uploaded and registered.

Run: .venv/bin/python -m benchmarks.studio_watch [--files 300] [--mb 25] [--interval 0.5] [--settle 1.5]
     [--workdir DIR]

The reference API runs as its own process (`floorhand-api serve --seed demo`, fs blob store,
its scrub off); `floorhand studio watch` runs as another, signed in as the demo photographer
(chloe), every capture for one SKU. This process plays the camera: every `--interval`
seconds it writes the next capture into the capture folder in four writes 50 ms apart (as
tethering software does) and notes when the file is complete (closed). The captures are one
real JPEG of about `--mb` MB (noise, encoded once with Pillow) with a few random bytes after
its end marker, so each has its own SHA-256 while the structure check still reads all of
its image data, as it would a real photo's.

Measured from the watch's own lines, timestamped as they arrive: complete on disk → taken
(checked, hashed and moved under its SKU's name; the settle time is part of it), and
complete on disk → uploaded (the server has registered the asset to the SKU). Also the
watch process's CPU seconds and peak RSS. Median, p95 and max over the burst.
"""

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.machine import describe
from benchmarks.upload import a_sku, free_port, proc_cpu_s, wait_for_api

PHOTOGRAPHER = ("chloe", "3333")  # order_api/seed/staff.py


def big_jpeg(mb: int) -> bytes:
    """One real JPEG of about `mb` MB: noise compresses badly, so its image data is nearly all of it."""
    from PIL import Image, ImageCms

    side = int((mb * 1_000_000 / 1.1) ** 0.5)  # noise at quality 95: about 1.1 bytes a pixel
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image.save(out, "JPEG", quality=95, icc_profile=srgb)
    return out.getvalue()


def start_api(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "order_api.cli", "serve", "--db", f"sqlite:///{folder / 'api.db'}", "--seed", "demo",
         "--port", str(port), "--blob-store", f"fs:{folder / 'blobs'}", "--log-level", "warning",
         "--scrub-rate", "0"], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    return wait_for_api(proc, url), url


class Watch:
    """The `studio watch` process and the moments its lines arrived."""

    def __init__(self, url: str, folder: Path, sku: str, settle: float) -> None:
        capture, self.session = folder / "capture", folder / "session"
        capture.mkdir()
        self.capture = capture
        command = [sys.executable, "-m", "sync.cli", "--data-dir", str(folder / "client"), "studio", "watch",
                   str(capture), "--sku", sku, "--session-folder", str(self.session), "--settle", str(settle),
                   "--server", url, "--user", PHOTOGRAPHER[0], "--keyring", "none"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                        env={**os.environ, "FLOORHAND_PIN": PHOTOGRAPHER[1]})
        self.taken: dict[str, tuple[str, float]] = {}  # capture name -> (session name, when)
        self.uploaded: dict[str, float] = {}  # session name -> when
        self.peak_rss_mb = 0.0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._watcher = threading.Thread(target=self._watch_memory, daemon=True)
        self._watcher.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            now = time.monotonic()
            line = line.rstrip("\n")
            if " → " in line:
                original, _, rest = line.partition(" → ")
                self.taken[original] = (rest.split(" ")[0], now)
            elif line.endswith(": uploaded"):
                self.uploaded[line[:-len(": uploaded")]] = now

    def _watch_memory(self) -> None:
        while self.process.poll() is None:
            try:
                with open(f"/proc/{self.process.pid}/status") as f:
                    hwm = next(int(x.split()[1]) / 1024 for x in f if x.startswith("VmHWM:"))
                self.peak_rss_mb = max(self.peak_rss_mb, hwm)
            except (OSError, StopIteration):
                pass
            time.sleep(0.2)

    def cpu_s(self) -> float:
        return proc_cpu_s(self.process.pid)

    def stop(self) -> None:
        self.process.send_signal(2)
        self.process.wait(120)


def burst(watch: Watch, body: bytes, files: int, interval: float) -> dict[str, float]:
    """Write the captures at camera pace; returns when each was complete on disk."""
    complete = {}
    step = -(-len(body) // 4)
    started = time.monotonic()
    for i in range(files):
        name = f"IMG_{i:04d}.JPG"
        with open(watch.capture / name, "wb") as f:
            for offset in range(0, len(body), step):
                f.write(body[offset:offset + step])
                f.flush()
                time.sleep(0.05)
            f.write(os.urandom(16))  # after the end marker: a capture of its own
        complete[name] = time.monotonic()
        pause = started + (i + 1) * interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    return complete


def spread(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"p50 {statistics.median(values):.2f} s, p95 {p95:.2f} s, max {values[-1]:.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--mb", type=int, default=25)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between captures (default 0.5)")
    parser.add_argument("--settle", type=float, default=1.5, help="the watch's --settle (default 1.5)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="floorhand-studio-bench-"))
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    body = big_jpeg(args.mb)
    api, url = start_api(workdir)
    try:
        sku = a_sku(workdir)
        watch = Watch(url, workdir, sku, args.settle)
        time.sleep(3)  # its start-up (imports, sign-in) is not the burst's
        cpu_before = watch.cpu_s()
        started = time.monotonic()
        complete = burst(watch, body, args.files, args.interval)
        deadline = time.monotonic() + 600
        while len(watch.uploaded) < args.files and time.monotonic() < deadline and watch.process.poll() is None:
            time.sleep(0.2)
        finished = time.monotonic()
        cpu = watch.cpu_s() - cpu_before
        watch.stop()
    finally:
        api.terminate()
        api.wait(30)
    taken = [watch.taken[name][1] - at for name, at in complete.items() if name in watch.taken]
    uploaded = [watch.uploaded[watch.taken[name][0]] - at for name, at in complete.items()
                if name in watch.taken and watch.taken[name][0] in watch.uploaded]
    mb = len(body) / 1e6
    print(f"Machine: {describe()}")
    print(f"Burst: {args.files} captures of {mb:.1f} MB, one every {args.interval} s "
          f"({mb / args.interval:.0f} MB/s offered), settle {args.settle} s; fs store on the same disk")
    print(f"- taken: {len(taken)} of {args.files}; complete on disk → taken: {spread(taken)}")
    print(f"- uploaded: {len(uploaded)} of {args.files}; complete on disk → uploaded: {spread(uploaded)}")
    print(f"- the watch process: {cpu:.1f} CPU s ({cpu / (args.files * mb / 1000):.2f} per GB), "
          f"peak RSS {watch.peak_rss_mb:.0f} MB; burst {finished - started:.1f} s from first write to last upload")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if len(uploaded) == args.files else 1


if __name__ == "__main__":
    raise SystemExit(main())
