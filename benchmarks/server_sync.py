"""Pull and push throughput of the reference API over loopback, on the bench seed.

Run: .venv/bin/python -m benchmarks.server_sync [--db URL] [--rounds 3]

The server runs in its own process (`floorhand-api serve --seed bench`), so client and
server do not share an interpreter. Pull: a supervisor (who sees every entity) follows
the feed from cursor 0 to the end, pages of 5,000; rows/s is total rows / wall time.
Push: a picker claims batches and pushes pick.confirm mutations in requests of 250;
mutations/s counts applied mutations over the wall time of the push requests only.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx

from benchmarks.machine import describe
from order_api.deps import DEVICE_HEADER
from order_api.server import free_port


def start_server(db_url: str, blobs: Path) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "order_api.cli", "serve", "--db", db_url, "--seed", "bench", "--port", str(port),
         "--blob-store", f"fs:{blobs}", "--log-level", "warning"],
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            httpx.get(f"{url}/openapi.json", timeout=1)
            return proc, url, time.perf_counter() - started
        except httpx.TransportError:
            if proc.poll() is not None:
                raise RuntimeError("the server exited during start-up")
            time.sleep(0.2)


# Device secrets the server handed out at registration, by (server URL, device id): a
# device's later sign-ins and all its calls carry its credential (Floorhand-Device).
_DEVICE_SECRETS: dict[tuple[str, str], str] = {}


def device_header(url: str, device: str) -> dict[str, str]:
    """The Floorhand-Device header of a device registered by sign_in; {} before its first sign-in."""
    secret = _DEVICE_SECRETS.get((url, device))
    return {DEVICE_HEADER: f"{device} {secret}"} if secret else {}


def sign_in(url: str, username: str, pin: str, device: str) -> httpx.Client:
    """A client of a fresh session of username on device, sending the bearer token and the device credential."""
    r = httpx.post(f"{url}/v1/auth/token", json={"username": username, "pin": pin, "device_id": device},
                   headers=device_header(url, device), timeout=120)
    r.raise_for_status()
    answer = r.json()
    if answer.get("device_secret"):
        _DEVICE_SECRETS[(url, device)] = answer["device_secret"]
    headers = {"Authorization": f"Bearer {answer['access_token']}", **device_header(url, device)}
    return httpx.Client(base_url=url, headers=headers, timeout=120)


def pull_everything(client: httpx.Client) -> tuple[int, float]:
    rows, cursor = 0, 0
    started = time.perf_counter()
    while True:
        page = client.get("/v1/sync/pull", params={"cursor": cursor, "limit": 5000}).json()
        rows += len(page["changes"])
        cursor = page["cursor"]
        if not page["has_more"]:
            return rows, time.perf_counter() - started


def push_picks(client: httpx.Client, device: str, user: str, wanted: int, batch_size: int = 250) -> tuple[int, float]:
    seq, applied, spent = 0, 0, 0.0
    while applied < wanted:
        claimed = client.post("/v1/pick-batches/claim", json={"ahead": 10}).json()["batches"]
        tasks = [t for b in claimed for t in b["tasks"] if t["status"] == "open"]
        if not tasks:
            break
        muts = []
        for t in tasks:
            seq += 1
            muts.append({"seq": seq, "id": str(uuid.uuid4()), "name": "pick.confirm", "user": user,
                         "at": datetime.now(timezone.utc).isoformat(),
                         "args": {"task": t["id"], "location": t["location_label"], "qty": t["qty"] - t["picked_qty"],
                                  "barcode": t["gtin"]}})
        for i in range(0, len(muts), batch_size):
            body = {"device_id": device, "schema_version": 1, "mutations": muts[i:i + batch_size]}
            started = time.perf_counter()
            results = client.post("/v1/sync/push", json=body).json()["results"]
            spent += time.perf_counter() - started
            applied += sum(r["status"] == "applied" for r in results)
    return applied, spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mutations", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = args.db or f"sqlite:///{tmp}/bench.db"
        proc, url, startup = start_server(db_url, Path(tmp) / "blobs")
        try:
            sam = sign_in(url, "sam", "4444", "bench-office")
            pulls = [pull_everything(sam) for _ in range(args.rounds)]
            anna = sign_in(url, "anna", "1111", "bench-handheld")
            pushes = [push_picks(anna, "bench-handheld", "anna", args.mutations)]
        finally:
            proc.terminate()
            proc.wait(30)
    rows = pulls[0][0]
    pull_rate = statistics.median(r / s for r, s in pulls)
    applied, spent = pushes[0]
    print(f"Machine: {describe()}")
    print(f"Database: {'SQLite file' if not args.db else args.db.split(':')[0]}; seed + start-up {startup:.1f} s\n")
    print("| measure | value |\n|---|---|")
    print(f"| initial pull, supervisor scope ({rows:,} rows, pages of 5,000), median of {len(pulls)} | "
          f"{pull_rate:,.0f} rows/s |")
    print(f"| push, pick.confirm in requests of 250 ({applied:,} applied) | {applied / spent:,.0f} mutations/s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
