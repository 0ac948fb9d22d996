"""kill -9 of a packing station between labels, and a label printer switched off or cut off (ARCHITECTURE.md §9).

A real order API process over loopback, a station process (tests/reliability/spool_worker.py:
a client core, its print spool with the label fetcher and a RawTcpPrinter) on a real data
folder, and a raw-TCP label printer on loopback in this process. Every parcel's label must
come out once, in packing order, with the bytes the server has for the parcel; a label that
was on the wire when the station died may have come out (at most once), is `uncertain`, and
prints again only after a person says it did not come out.
"""

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from order_api.db import Database
from order_api.feed import publish_stock
from order_api.models import Order, Parcel, Stock
from sync.store.database import JOURNAL_FILE
from tests.order_api import scenario
from tests.peripherals.label_printer import LoopbackLabelPrinter
from tests.reliability.conftest import PICKER, PIN, REPO, WAIT_S, add_user, signed_in_http
from tests.sync.conftest import wait_until

PACKER, SUPERVISOR = "ben", "sam"
UNIT_G = {"4006381333931": 600, "4012345678901": 250}  # tests/order_api/scenario.py; box M weighs 300 g
UNSETTLED = ("waiting_label", "ready", "sending")  # a job the spool still works on, without a person


# --- the floor: a server with picked orders ------------------------------------------------

class RawDevice:
    """A person signed in on a device of the test, pushing one mutation at a time over raw HTTP."""

    def __init__(self, url: str, username: str, device_id: str) -> None:
        self.username, self.device_id = username, device_id
        self.http = signed_in_http(url, username, device_id)
        self.seq = 0

    def do(self, name: str, **args) -> None:
        self.seq += 1
        mutation = {"seq": self.seq, "id": str(uuid.uuid4()), "name": name, "args": args,
                    "at": datetime.now(timezone.utc).isoformat(), "user": self.username}
        r = self.http.post("/v1/sync/push", json={"device_id": self.device_id, "schema_version": 1,
                                                  "mutations": [mutation]})
        assert r.status_code == 200, r.text
        [result] = r.json()["results"]
        assert result["status"] == "applied", (name, args, result)


def picked_orders(url: str, count: int) -> list[dict]:
    """`count` orders picked in full through the API, as tests/desktop_app/test_app_packing.py picks them:
    [{id, number, line, qty, gtin}] (every order of the tiny warehouse has one line)."""
    picker = RawDevice(url, PICKER, "setup-picker")
    done: list[dict] = []
    try:
        while len(done) < count:
            r = picker.http.post("/v1/pick-batches/claim", json={})
            assert r.status_code == 200, r.text
            batch = r.json()["batches"][0]
            for order in batch["orders"]:
                tote = f"T-{90 + order['id']:04d}"
                picker.do("tote.assign", batch=batch["batch"]["id"], order=order["id"], tote=tote)
            for task in batch["tasks"]:
                picker.do("pick.confirm", task=task["id"], location=task["location_label"], qty=task["qty"],
                          barcode=task["gtin"])
                done.append({"id": task["order_id"], "number": task["order_number"], "line": task["line_id"],
                             "qty": task["qty"], "gtin": task["gtin"]})
    finally:
        picker.http.close()
    return done[:count]


class PackingFloor:
    """A running order API (a child process) with picked orders waiting at the packing bench."""

    def __init__(self, server, db: Database, orders: list[dict]) -> None:
        self.server, self.db, self.orders = server, db, orders

    def labels(self, refs: list[str]) -> dict[str, bytes]:
        """What the server gives for each parcel ref: the label route the station's spool asks."""
        labels = {}
        with signed_in_http(self.server.url, SUPERVISOR, "checker-sam") as http:
            for ref in refs:
                r = http.post(f"/v1/parcels/by-ref/{ref}/label", params={"format": "zpl"})
                assert r.status_code == 200, r.text
                labels[ref] = r.content
        return labels

    def parcels(self) -> Counter:
        """How many parcels the server holds per ref."""
        with self.db.read() as s:
            return Counter(s.scalars(select(Parcel.ref)))

    def order_status(self, order_ids: list[int]) -> set[str]:
        with self.db.read() as s:
            return {s.get(Order, order_id).status for order_id in order_ids}


@pytest.fixture
def packing_floor(tmp_path, server_process):
    """The tiny scenario warehouse (three batches of two orders) with six orders picked, a packer and a supervisor.

    The server's database is a SQLite file: what is under test is the station, and the kill
    tests of test_kill.py cover the server on PostgreSQL.
    """
    db_url = f"sqlite:///{tmp_path}/api.db"
    db = Database(db_url)
    db.create_schema()
    scenario.build(db, batches=3, orders_per_batch=2)
    for username, roles in ((PICKER, "picker"), (PACKER, "packer"), (SUPERVISOR, "supervisor")):
        add_user(db, username, roles)
    with db.write() as s:  # one bin of the scenario holds 3 bottles: enough stock for every order
        for stock in s.scalars(select(Stock)):
            stock.qty = 1000
            publish_stock(s, stock)
    server = server_process(db_url)
    floor = PackingFloor(server, db, picked_orders(server.url, 6))
    yield floor
    db.dispose()


def packs_of(orders: list[dict], parcels: list[int]) -> list[dict]:
    """Pack orders[i] into parcels[i] parcels (1 or 2; a line's units shared out), each with its own ref."""
    packs = []
    for order, count in zip(orders, parcels, strict=True):
        qtys = [order["qty"] // count + (1 if n < order["qty"] % count else 0) for n in range(count)]
        packs.append({"order": order["id"], "number": order["number"], "parcels": [
            {"ref": str(uuid.uuid4()), "box_type": "M", "weight_g": 300 + UNIT_G[order["gtin"]] * qty,
             "items": [{"line": order["line"], "qty": qty}]} for qty in qtys]})
    return packs


def refs_of(packs: list[dict]) -> list[str]:
    """The parcels' refs in packing order."""
    return [parcel["ref"] for pack in packs for parcel in pack["parcels"]]


# --- the station: a spool_worker process --------------------------------------------------

class Station:
    """A tests.reliability.spool_worker child process: commands go to its stdin, its stdout lines are kept."""

    def __init__(self, args: list[str], stderr_path: Path) -> None:
        env = {**os.environ, "FLOORHAND_PIN": PIN, "PYTHONUNBUFFERED": "1"}
        self.stderr_path = stderr_path
        with open(stderr_path, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.spool_worker", *args], cwd=REPO,
                                         env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
        self.lines: list[str] = []  # complete lines only
        self.ended = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name=f"station-{self.proc.pid}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.endswith("\n"):  # a line cut off by SIGKILL announced nothing
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    def count(self, prefix: str) -> int:
        return sum(1 for line in self.lines if line.split()[:1] == [prefix])

    def wait_lines(self, prefix: str, count: int, timeout: float = WAIT_S) -> None:
        """Block until the process has said `count` lines starting with prefix in all (not only from now on)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.count(prefix) >= count or self.ended, timeout) \
                    or self.count(prefix) < count:
                raise AssertionError(f"no {count} {prefix!r} lines (ended: {self.ended}); last lines "
                                     f"{self.lines[-5:]}\n{self.stderr()}")

    def words(self, prefix: str) -> list[list[str]]:
        return [line.split()[1:] for line in self.lines if line.split()[:1] == [prefix]]

    def tell(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL, then collect every line written before it."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.finish()

    def quit(self) -> None:
        """Stop it the way a person closes the app: the spool finishes the label it is sending."""
        self.tell("QUIT")
        assert self.finish() == 0, self.stderr()
        assert self.lines[-1:] == ["BYE"], self.lines[-5:]

    def finish(self, timeout: float = WAIT_S) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):  # stdin of a killed process: a broken pipe
                stream.close()
        return code

    def stderr(self, chars: int = 4000) -> str:
        return self.stderr_path.read_text(errors="replace")[-chars:]


@pytest.fixture
def station(tmp_path, packing_floor, bench_printer):
    """Factory of station processes of the packer on one data folder; each is READY when returned."""
    started: list[Station] = []
    data_dir = tmp_path / "station"

    def start() -> Station:
        proc = Station(["--data-dir", str(data_dir), "--server", packing_floor.server.url, "--user", PACKER,
                        "--printer-port", str(bench_printer.port)], tmp_path / f"station-{len(started)}.err")
        started.append(proc)
        proc.wait_lines("READY", 1)
        return proc

    start.data_dir = data_dir
    yield start
    for proc in started:
        proc.kill()


# --- what the journal says -----------------------------------------------------------------

def journal_jobs(data_dir: Path) -> list[tuple]:
    """(id, parcel_ref, state, problem, attempts) of every print job, in packing order.

    A plain read on the station's journal file: WAL lets it run beside the station's writer.
    """
    with contextlib.closing(sqlite3.connect(data_dir / JOURNAL_FILE, timeout=30)) as conn:
        return conn.execute("SELECT id, parcel_ref, state, problem, attempts FROM print_jobs ORDER BY id").fetchall()


def states(data_dir: Path) -> dict[int, str]:
    return {job_id: state for job_id, _, state, _, _ in journal_jobs(data_dir)}


def outbox_states(data_dir: Path) -> Counter:
    with contextlib.closing(sqlite3.connect(data_dir / JOURNAL_FILE, timeout=30)) as conn:
        outbox = Counter(state for (state,) in conn.execute("SELECT state FROM outbox WHERE name = 'pack.confirm'"))
        rejected = conn.execute("SELECT count(*) FROM rejected").fetchone()[0]
    return outbox + Counter(rejected=rejected)


def queue_drained(data_dir: Path) -> bool:
    """Nothing waits for its label, for the printer or on the wire: every job is printed or waits for a person."""
    return all(state not in UNSETTLED for state in states(data_dir).values())


def arrivals(printer: LoopbackLabelPrinter, labels: dict[str, bytes]) -> list[str]:
    """The refs of the labels the printer got, in the order it got them; every one must be a whole server label."""
    by_bytes = {data: ref for ref, data in labels.items()}
    assert len(by_bytes) == len(labels), "two parcels have the same label"
    received = list(printer.labels)
    unknown = [data[:120] for data in received if data not in by_bytes]
    assert not unknown, f"the printer got bytes that are no parcel's label as the server gives it: {unknown}"
    return [by_bytes[data] for data in received]


def assert_in_packing_order(got: list[str], refs: list[str]) -> None:
    positions = [refs.index(ref) for ref in got]
    assert positions == sorted(positions) and len(set(positions)) == len(positions), \
        f"labels out of packing order: {positions}"


def assert_all_packed_once(floor: PackingFloor, data_dir: Path, packs: list[dict]) -> None:
    """Every pack.confirm went through once: the server holds each parcel once, the journal waits for nothing."""
    assert floor.parcels() == Counter(refs_of(packs))
    assert floor.order_status([pack["order"] for pack in packs]) == {"packed"}
    outbox = outbox_states(data_dir)
    assert (outbox["pending"], outbox["rejected"], outbox["acked"] + outbox["done"]) == (0, 0, len(packs)), outbox


# --- 1. packs queued offline, the station killed between labels, restarted -------------------

# Where a kill lands, counted from what the printer and the station have done so far:
#   label: right after the printer got the n-th next label whole (its job is `sending` or just `printed`)
#   query: right after the printer was asked ~HS for the n-th next label (its job is `sending`, the
#          bytes on their way or not yet sent)
#   send:  right after the station said its n-th label goes to the printer (the `sending` commit is done)
KILL_POINTS = ("label", "query", "send")
PARCELS = [2, 1, 2, 1, 2]  # parcels per packed order: 8 labels


def kill_plan(seed: int | None) -> tuple[random.Random | None, int]:
    """The seeded random generator of the kill points and how many kills; None: one kill after the 2nd label."""
    if seed is None:
        return None, 1
    rng = random.Random(f"spool-kill/{seed}")
    return rng, rng.randint(1, 3)


def kill_somewhere(proc: Station, printer: LoopbackLabelPrinter, rng: random.Random | None, queued: int) -> str:
    """Wait for the chosen point among the `queued` labels still to print, then SIGKILL; says where it was."""
    if rng is None:
        kind, n = "label", 2
    else:
        kind = rng.choice(KILL_POINTS)
        # "label" stops short of the last label, so the kill lands between two of them.
        n = rng.randint(1, max(1, queued - 1)) if kind == "label" else rng.randint(1, queued)
    if kind == "label":
        printer.wait_for_labels(len(printer.labels) + n, timeout=WAIT_S)
    elif kind == "query":
        printer.wait_for_queries(printer.queries + n, timeout=WAIT_S)
    else:
        proc.wait_lines("SEND", n)
    proc.kill()
    return f"{kind} {n}"


SLOW_SEEDS = range(6)


@pytest.mark.parametrize("seed", [pytest.param(None, id="after-2nd-label"),
                                  *(pytest.param(s, id=f"seed-{s}", marks=pytest.mark.slow) for s in SLOW_SEEDS)])
def test_offline_packs_kill_between_labels_restart(packing_floor, station, bench_printer, seed):
    floor, printer, data_dir = packing_floor, bench_printer, station.data_dir
    packs = packs_of(floor.orders[:5], PARCELS)
    refs = refs_of(packs)
    proc = station()  # signed in online: the packer's session outlives the server's outage
    floor.server.stop()

    proc.tell("PACK " + json.dumps(packs))
    proc.wait_lines("PACKED", len(packs))
    jobs = journal_jobs(data_dir)
    assert [ref for _, ref, _, _, _ in jobs] == refs, "one label job per parcel, in packing order"
    # The spool asked for the first label and got no answer: the labels wait, the packs too.
    wait_until(lambda: journal_jobs(data_dir)[0][3] == "label_unreachable", "the spool to find the server away")
    assert set(states(data_dir).values()) == {"waiting_label"}
    assert outbox_states(data_dir) == Counter(pending=len(packs)), "the packs went out with the server stopped"
    assert printer.labels == []

    floor.server.start()  # same port and database; the station's engine finds it by itself
    rng, kills = kill_plan(seed)
    sending_at_kill: set[int] = set()
    where = []
    for _ in range(kills):
        queued = sum(state in ("waiting_label", "ready") for state in states(data_dir).values())
        if queued == 0:
            break
        where.append(kill_somewhere(proc, printer, rng, queued))
        at_kill = states(data_dir)
        on_wire = {job_id for job_id, state in at_kill.items() if state == "sending"}
        assert len(on_wire) <= 1, f"two labels on the wire at once: {at_kill}"
        printed = [job_id for job_id, state in at_kill.items() if state == "printed"]
        waiting = [job_id for job_id, state in at_kill.items() if state in ("waiting_label", "ready")]
        assert not printed or not waiting or max(printed) < min(waiting), \
            f"a label printed before an earlier one: {at_kill}"
        sending_at_kill |= on_wire
        proc = station()  # the same data folder, the server up

    wait_until(lambda: queue_drained(data_dir), "every label printed or waiting for a person", timeout=WAIT_S)
    labels = floor.labels(refs)
    before = arrivals(printer, labels)
    uncertain = sorted(job_id for job_id, state in states(data_dir).items() if state == "uncertain")
    # Only a label that was on the wire when the station died waits for a person, and none else.
    assert uncertain == sorted(sending_at_kill), (where, journal_jobs(data_dir))
    assert all(problem == "interrupted" for job_id, _, _, problem, _ in journal_jobs(data_dir) if job_id in uncertain)
    ref_of = {job_id: ref for job_id, ref, _, _, _ in journal_jobs(data_dir)}
    counts = Counter(before)
    # Once each; a label in doubt at most once (it came out whole before the kill, or not at all).
    assert {ref: counts[ref] for ref in refs} == {
        ref: (counts[ref] if job_id in uncertain and counts[ref] <= 1 else 1) for job_id, ref in ref_of.items()}, where
    assert_in_packing_order(before, refs)

    # A person says the labels that may have printed did not come out: each prints once more, and only then.
    for job_id in uncertain:
        proc.tell(f"DECIDE {job_id} not")
    proc.wait_lines("DECIDED", len(uncertain))
    printer.wait_for_labels(len(before) + len(uncertain), timeout=WAIT_S)
    wait_until(lambda: set(states(data_dir).values()) == {"printed"}, "the decided labels printed")
    proc.quit()  # the spool is stopped: nothing can come out later
    assert arrivals(printer, labels) == before + [ref_of[job_id] for job_id in uncertain], where
    assert all(Counter(arrivals(printer, labels))[ref] == 1 + (counts[ref] if job_id in uncertain else 0)
               for job_id, ref in ref_of.items())
    assert_all_packed_once(floor, data_dir, packs)


# --- 2. the printer switched off, then on; a label cut off mid-way ---------------------------

def test_printer_off_then_on_and_a_label_cut_off(packing_floor, station, bench_printer):
    floor, printer, data_dir = packing_floor, bench_printer, station.data_dir
    first, while_off, cut_off, last = (packs_of(floor.orders[i:j], parcels) for i, j, parcels in (
        (0, 1, [1]), (1, 3, [2, 1]), (3, 4, [1]), (4, 5, [1])))
    packs = first + while_off + cut_off + last
    refs = refs_of(packs)
    proc = station()

    proc.tell("PACK " + json.dumps(first))
    printer.wait_for_labels(1)

    printer.switch_off()
    proc.tell("PACK " + json.dumps(while_off))
    proc.wait_lines("PACKED", 1 + len(while_off))
    # All three fetched; the first tried on the printer again and again, the later ones held behind it.
    wait_until(lambda: [(state, problem, attempts >= 2) for _, _, state, problem, attempts in journal_jobs(data_dir)]
               == [("printed", None, False), ("ready", "offline", True), ("ready", None, False),
                   ("ready", None, False)], "the labels fetched and the first tried on the dead printer")
    # The station restarts while the printer is off: the jobs are in its journal, none is in doubt.
    proc.quit()
    assert [state for _, _, state, _, _ in journal_jobs(data_dir)] == ["printed"] + ["ready"] * 3
    proc = station()
    printer.switch_on()
    printer.wait_for_labels(4)
    wait_until(lambda: set(states(data_dir).values()) == {"printed"}, "the labels printed once the printer is on")

    printer.status = "hang_up"  # it drops the connection once the label has started to arrive
    proc.tell("PACK " + json.dumps(cut_off))
    proc.wait_lines("PACKED", 1)
    [[_order, cut_job]] = proc.words("PACKED")
    wait_until(lambda: states(data_dir)[int(cut_job)] == "uncertain", "the cut-off label to be in doubt")
    assert journal_jobs(data_dir)[-1][3] == "offline"  # what the printer did, for the person deciding
    assert len(printer.labels) == 4

    printer.status = "ok"
    proc.tell("PACK " + json.dumps(last))
    printer.wait_for_labels(5)
    wait_until(lambda: list(states(data_dir).values())[-1] == "printed", "the next order's label printed")
    assert states(data_dir)[int(cut_job)] == "uncertain", "a label in doubt was decided without a person"

    proc.tell(f"DECIDE {cut_job} not")
    printer.wait_for_labels(6)
    wait_until(lambda: set(states(data_dir).values()) == {"printed"}, "the decided label printed")
    proc.quit()
    labels = floor.labels(refs)
    got = arrivals(printer, labels)
    cut_ref = refs_of(cut_off)[0]
    assert got == [ref for ref in refs if ref != cut_ref] + [cut_ref], "a label lost, repeated or out of order"
    assert_all_packed_once(floor, data_dir, packs)
