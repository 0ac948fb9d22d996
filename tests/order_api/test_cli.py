"""`floorhand-api serve --seed demo` as a real process answers the contract end to end."""

import json
import signal
import subprocess
import threading
import sys
import time
import uuid
from datetime import datetime, timezone

import httpx
import pytest

from order_api.server import free_port
from tests.order_api.harness import DeviceKeys


@pytest.fixture
def demo_server(demo_server_process):
    yield demo_server_process[1]


@pytest.fixture
def demo_server_process(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "order_api.cli", "serve", "--seed", "demo", "--db", f"sqlite:///{tmp_path}/demo.db",
         "--blob-store", f"fs:{tmp_path}/blobs", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"{url}/openapi.json", timeout=1)
            break
        except httpx.TransportError:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the demo server did not start"
            time.sleep(0.2)
    yield proc, url
    proc.terminate()
    proc.wait(30)


def _sign_in(url, username, pin, device):
    return DeviceKeys().signed_in(url, {"username": username, "pin": pin, "device_id": device})


def _mutation(seq, name, user, **args):
    return {"seq": seq, "id": str(uuid.uuid4()), "name": name, "args": args, "user": user,
            "at": datetime.now(timezone.utc).isoformat()}


def test_demo_server_picks_packs_and_syncs(demo_server):
    anna = _sign_in(demo_server, "anna", "1111", "hh-1")
    batch = anna.post("/v1/pick-batches/claim", json={}).json()["batches"][0]
    seq = 0
    muts = []
    for order in batch["orders"]:
        seq += 1
        muts.append(_mutation(seq, "tote.assign", "anna", batch=batch["batch"]["id"], order=order["id"],
                              tote=f"DEMO-T{order['id']}"))
    for task in batch["tasks"]:
        seq += 1
        muts.append(_mutation(seq, "pick.confirm", "anna", task=task["id"], location=task["location_label"],
                              qty=task["qty"], barcode=task["gtin"]))
    out = anna.post("/v1/sync/push", json={"device_id": "hh-1", "schema_version": 1, "mutations": muts}).json()
    assert {r["status"] for r in out["results"]} == {"applied"}, json.dumps(out)[:2000]

    ben = _sign_in(demo_server, "ben", "2222", "pack-1")
    order = ben.get(f"/v1/orders/{batch['orders'][0]['id']}").json()
    assert order["status"] == "picked"
    parcels = [{"box_type": "M", "weight_g": 1500,
                "items": [{"line": line["id"], "qty": line["picked_qty"]} for line in order["lines"]]}]
    packed = ben.post("/v1/sync/push", json={"device_id": "pack-1", "schema_version": 1,
                                             "mutations": [_mutation(1, "pack.confirm", "ben", order=order["id"],
                                                                     parcels=parcels)]}).json()
    assert packed["results"][0]["status"] == "applied", packed

    rows, cursor = 0, 0
    while True:
        page = ben.get("/v1/sync/pull", params={"cursor": cursor, "limit": 1000}).json()
        rows += len(page["changes"])
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    assert rows > 500


def test_sigterm_answers_open_long_polls_and_the_server_exits(demo_server_process):
    proc, url = demo_server_process

    office = _sign_in(url, "sam", "4444", "cli-office")
    cursor = 0
    while True:
        page = office.get("/v1/sync/pull", params={"cursor": cursor, "limit": 5000}).json()
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    scope = office.get("/v1/me").json()["scope"]
    answer: dict = {}
    poller = threading.Thread(target=lambda: answer.setdefault(
        "page", office.get("/v1/sync/pull", params={"cursor": cursor, "wait": 30}).json()))
    poller.start()
    time.sleep(0.3)  # the poll is waiting on the server by now
    proc.terminate()
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert proc.wait(20) in (0, -signal.SIGTERM)
    poller.join(5)
    assert answer.get("page") == {"changes": [], "cursor": cursor, "has_more": False, "reset": False,
                                  "audiences": scope}

