"""Tests for sync.print_spool: a real journal file, a real printer on loopback, labels from a stand-in of the server."""

import threading

import pytest
from sqlalchemy import insert

from peripherals.printers import RawTcpPrinter
from sync.print_spool import (CANCELLED, PRINTED, READY, UNCERTAIN, LabelNotReady, LabelRefused, PrintSpool,
                              SpoolCounts, WrongJobState)
from sync.retry import Backoff
from sync.store.database import LocalStore
from sync.store.schema import print_jobs
from tests.peripherals.label_printer import LoopbackLabelPrinter
from tests.sync.conftest import wait_until

FAST = Backoff(base=0.01, cap=0.05)  # retries in milliseconds, so the tests wait for events, not for backoff
IDLE = SpoolCounts(waiting=0, ready=0, uncertain=0, problem=None)


def label(ref: str) -> bytes:
    return f"^XA^FO50,50^FD{ref}^FS^XZ".encode()


class ServerLabels:
    """The labels the server knows, in place of the label route: ready, refused, or the server down."""

    def __init__(self, *refs: str) -> None:
        self.ready = {ref: label(ref) for ref in refs}
        self.refused: dict[str, str] = {}
        self.down = False

    def __call__(self, parcel_ref: str) -> bytes:
        if self.down:
            raise ConnectionRefusedError("the order API is not answering")
        if parcel_ref in self.refused:
            raise LabelRefused(self.refused[parcel_ref])
        if parcel_ref not in self.ready:
            raise LabelNotReady(parcel_ref)
        return self.ready[parcel_ref]


@pytest.fixture
def store(tmp_path):
    opened = LocalStore.open(tmp_path / "client")
    yield opened
    opened.close()


@pytest.fixture
def spools():
    """Factory of started spools; each is stopped at the end (and must stop)."""
    made: list[PrintSpool] = []

    def make(journal, printer, fetch, start: bool = True) -> PrintSpool:
        spool = PrintSpool(journal, printer, fetch, backoff=FAST)
        made.append(spool)
        if start:
            spool.start()
        return spool

    yield make
    for spool in made:
        assert spool.stop()


def on_loopback(printer: LoopbackLabelPrinter) -> RawTcpPrinter:
    return RawTcpPrinter("127.0.0.1", printer.port, timeout=2)


def pack(spool: PrintSpool, *refs: str) -> list[int]:
    return [spool.add_label(ref, "SO-1001", n, "ben") for n, ref in enumerate(refs, 1)]


def test_labels_print_once_each_in_packing_order(store, bench_printer, spools):
    refs = [f"P-{n}" for n in range(1, 6)]
    spool = spools(store.journal, on_loopback(bench_printer), ServerLabels(*refs))
    changed = threading.Event()
    spool.on_change(changed.set)
    ids = pack(spool, *refs)
    assert changed.is_set()  # told in the thread that stored the job
    assert bench_printer.wait_for_labels(5) == [label(ref) for ref in refs]
    wait_until(lambda: spool.counts() == IDLE, "the spool to be empty")
    assert spool.stop()
    assert len(bench_printer.labels) == 5
    jobs = spool.jobs()
    assert [(j.id, j.state, j.user_id, j.printer) for j in jobs] == [
        (i, PRINTED, "ben", bench_printer.setting) for i in ids]


def test_a_later_label_waits_for_an_earlier_one_the_server_does_not_know_yet(store, bench_printer, spools):
    server = ServerLabels("P-2")
    spool = spools(store.journal, on_loopback(bench_printer), server)
    first, second = pack(spool, "P-1", "P-2")
    wait_until(lambda: spool.job(second).state == READY and spool.job(first).attempts >= 3,
               "the second label fetched while the first is asked for again")
    assert bench_printer.labels == []
    assert spool.counts() == SpoolCounts(waiting=1, ready=1, uncertain=0, problem="label_not_ready")
    server.ready["P-1"] = label("P-1")
    spool.wake()
    assert bench_printer.wait_for_labels(2) == [label("P-1"), label("P-2")]


def test_an_unreachable_server_delays_the_labels_and_loses_none(store, bench_printer, spools):
    server = ServerLabels("P-1", "P-2", "P-3")
    server.down = True
    spool = spools(store.journal, on_loopback(bench_printer), server)
    first = pack(spool, "P-1", "P-2", "P-3")[0]
    wait_until(lambda: spool.job(first).attempts >= 3, "the server asked again")
    assert spool.counts() == SpoolCounts(waiting=3, ready=0, uncertain=0, problem="label_unreachable")
    server.down = False
    spool.wake()  # the network is back
    assert bench_printer.wait_for_labels(3) == [label("P-1"), label("P-2"), label("P-3")]


def test_a_printer_switched_off_and_on_again_gets_every_label_once(store, bench_printer, spools):
    refs = ("P-1", "P-2", "P-3")
    spool = spools(store.journal, on_loopback(bench_printer), ServerLabels(*refs))
    bench_printer.switch_off()
    first = pack(spool, *refs)[0]
    wait_until(lambda: spool.job(first).attempts >= 3, "the printer tried again")
    assert spool.counts() == SpoolCounts(waiting=0, ready=3, uncertain=0, problem="offline")
    bench_printer.switch_on()
    spool.wake()
    assert bench_printer.wait_for_labels(3) == [label(ref) for ref in refs]
    wait_until(lambda: spool.counts() == IDLE, "the spool to be empty")
    assert spool.stop() and len(bench_printer.labels) == 3


def test_paper_out_is_reported_until_the_paper_is_back(store, bench_printer, spools):
    bench_printer.status = "paper_out"
    spool = spools(store.journal, on_loopback(bench_printer), ServerLabels("P-1", "P-2"))
    pack(spool, "P-1", "P-2")
    wait_until(lambda: spool.counts().problem == "paper_out", "paper out to be reported")
    bench_printer.wait_for_queries(3)  # asked again and again: still nothing sent
    assert bench_printer.labels == [] and spool.counts().ready == 2
    bench_printer.status = "ok"
    spool.wake()
    assert bench_printer.wait_for_labels(2) == [label("P-1"), label("P-2")]
    wait_until(lambda: spool.counts() == IDLE, "the problem to clear")


def test_a_label_left_on_the_wire_waits_for_a_person_and_holds_nobody_back(store, bench_printer, spools):
    server = ServerLabels("P-1", "P-2", "P-3")
    with store.journal.write() as conn:  # what a process killed while sending P-1 leaves behind
        conn.execute(insert(print_jobs).values(
            printer=bench_printer.setting, kind="label", parcel_ref="P-1", order_number="SO-1001", parcel_no=1,
            user_id="ben", state="sending", data=label("P-1"), attempts=0, created_at="2026-11-30T08:00:00+00:00"))
    spool = spools(store.journal, on_loopback(bench_printer), server, start=False)
    second, _ = pack(spool, "P-2", "P-3")
    spool.start()
    assert bench_printer.wait_for_labels(2) == [label("P-2"), label("P-3")]
    (first,) = [j for j in spool.jobs() if j.parcel_ref == "P-1"]
    assert (first.state, first.problem) == (UNCERTAIN, "interrupted")
    wait_until(lambda: spool.counts() == SpoolCounts(0, 0, 1, None), "the later labels printed")
    with pytest.raises(WrongJobState):
        spool.decide(second, printed=False, user_id="sam")  # printed: nothing to decide

    spool.decide(first.id, printed=False, user_id="sam")  # it did not come out: print it again
    assert bench_printer.wait_for_labels(3)[2] == label("P-1")
    wait_until(lambda: spool.job(first.id).state == PRINTED, "the decided label printed")
    assert spool.job(first.id).decided_by == "sam"
    assert spool.stop() and len(bench_printer.labels) == 3


def test_a_label_that_may_have_printed_is_not_sent_again_until_decided(store, bench_printer, spools):
    bench_printer.status = "hang_up"  # switched off while the label arrives
    spool = spools(store.journal, on_loopback(bench_printer), ServerLabels("P-1", "P-2"))
    first = pack(spool, "P-1")[0]
    wait_until(lambda: spool.job(first).state == UNCERTAIN, "the label to be uncertain")
    assert spool.job(first).problem == "offline"
    bench_printer.status = "ok"
    pack(spool, "P-2")
    assert bench_printer.wait_for_labels(1) == [label("P-2")]
    spool.decide(first, printed=True, user_id="sam")  # it came out after all
    assert spool.job(first).state == PRINTED
    wait_until(lambda: spool.counts() == IDLE, "the second label printed")
    assert spool.stop() and bench_printer.labels == [label("P-2")]


def test_a_reprint_needs_a_reason_and_records_who_asked(store, bench_printer, spools):
    spool = spools(store.journal, on_loopback(bench_printer), ServerLabels("P-1"))
    (first,) = pack(spool, "P-1")
    bench_printer.wait_for_labels(1)
    wait_until(lambda: spool.job(first).state == PRINTED, "the first label printed")
    with pytest.raises(ValueError, match="reason"):
        spool.reprint(first, "  ", "ben")
    again = spool.reprint(first, "smudged", "anna")
    assert bench_printer.wait_for_labels(2) == [label("P-1"), label("P-1")]
    wait_until(lambda: spool.job(again).state == PRINTED, "the reprint printed")
    reprint = spool.job(again)
    assert (reprint.reprint_of, reprint.reason, reprint.user_id, reprint.decided_by, reprint.parcel_ref) == (
        first, "smudged", "anna", "anna", "P-1")
    (waiting,) = pack(spool, "P-2")  # the server does not know it yet
    with pytest.raises(WrongJobState):
        spool.reprint(waiting, "damaged", "ben")  # nothing printed to print again
    assert spool.stop() and len(bench_printer.labels) == 2


def test_a_refused_or_cancelled_label_never_prints_and_holds_nobody_back(store, bench_printer, spools):
    server = ServerLabels("P-2", "P-4")
    server.refused["P-1"] = "pack_refused"
    spool = spools(store.journal, on_loopback(bench_printer), server)
    first, _, third, _ = pack(spool, "P-1", "P-2", "P-3", "P-4")
    assert bench_printer.wait_for_labels(1) == [label("P-2")]
    assert (spool.job(first).state, spool.job(first).reason) == (CANCELLED, "pack_refused")
    spool.cancel(third, "parcel_reopened", "ben")  # P-3 never got a label; P-4 goes on
    assert bench_printer.wait_for_labels(2) == [label("P-2"), label("P-4")]
    assert spool.job(third).decided_by == "ben"
    with pytest.raises(WrongJobState):
        spool.cancel(third, "again", "ben")
    fifth = spool.add_label("P-5", "SO-1002", 1, "ben")  # its pack is refused before the server knows it
    assert spool.cancel_parcel("P-5", "pack_refused") == 1
    assert spool.job(fifth).state == CANCELLED
    wait_until(lambda: spool.counts() == IDLE, "nothing left to print")


def test_a_restart_goes_on_where_the_spool_stopped(tmp_path, bench_printer, spools):
    server = ServerLabels("P-1", "P-2", "P-3")
    store = LocalStore.open(tmp_path / "client")
    spool = spools(store.journal, on_loopback(bench_printer), server)
    pack(spool, "P-1")
    bench_printer.wait_for_labels(1)
    wait_until(lambda: spool.counts() == IDLE, "the first label printed")
    bench_printer.switch_off()
    second = spool.add_label("P-2", "SO-1002", 1, "ben")
    spool.add_label("P-3", "SO-1002", 2, "ben")
    spool.add_label("P-4", "SO-1003", 1, "ben")  # the server does not know it yet
    wait_until(lambda: spool.job(second).problem == "offline", "the printer found off")
    assert spool.stop()
    store.close()

    bench_printer.switch_on()
    server.ready["P-4"] = label("P-4")
    again = LocalStore.open(tmp_path / "client")
    spool = spools(again.journal, on_loopback(bench_printer), server)
    assert bench_printer.wait_for_labels(4) == [label(f"P-{n}") for n in range(1, 5)]
    wait_until(lambda: spool.counts() == IDLE, "the spool to be empty after the restart")
    assert spool.stop() and len(bench_printer.labels) == 4
    again.close()


def test_a_journal_of_the_release_before_the_spool_is_upgraded_with_its_queued_work(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine

    from sync.outbox import Outbox
    from sync.store import migrate

    journal = tmp_path / "journal.sqlite3"
    engine = create_engine(f"sqlite:///{journal}")
    with engine.begin() as conn:  # the file as release j0003 made it, with an action still queued
        cfg = migrate.alembic_config("journal")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "j0003")
        conn.exec_driver_sql("INSERT INTO outbox (seq, id, name, args, user, at, state, attempts) VALUES "
                             "(1, 'q-1', 'pack.close', '{\"parcel\": 1}', 'ben', '2026-11-30T08:00:00+00:00', "
                             "'pending', 0)")
        conn.exec_driver_sql("INSERT INTO sync_state (key, value) VALUES ('last_seq', '1')")
    engine.dispose()

    store = LocalStore.open(tmp_path)
    try:
        assert [m.id for m in Outbox(store).pending()] == ["q-1"]
        spool = PrintSpool(store.journal, None, ServerLabels())
        assert spool.add_label("P-1", "SO-1001", 1, "ben") == 1
        assert spool.counts() == SpoolCounts(waiting=1, ready=0, uncertain=0, problem=None)
    finally:
        store.close()
    assert len(list(tmp_path.glob("journal.sqlite3.before-j0003-*.bak"))) == 1


def test_a_pack_and_its_label_jobs_are_stored_in_one_transaction_or_not_at_all(tmp_path):
    """No pack without its labels, no label without its pack: a failure in between keeps neither."""
    from contract.actions import PackConfirm, ParcelItem, ParcelSpec
    from sync.outbox import Outbox
    from sync.store.database import WriteFailed

    store = LocalStore.open(tmp_path / "station")
    try:
        outbox, spool = Outbox(store), PrintSpool(store.journal, None, lambda ref: b"")
        pack = PackConfirm(order=7, parcels=[
            ParcelSpec(box_type="M", weight_g=900, ref=f"ref-{n}", items=[ParcelItem(line=1, qty=1)]) for n in (1, 2)])
        labels = spool.labels_of([("ref-1", "SO-7", 1), ("ref-2", "SO-7", 2)], "2")
        outbox.append("ben", PackConfirm.NAME, pack.checked(), along=labels)
        spool.labels_added()
        assert [(j.parcel_ref, j.order_number, j.parcel_no, j.state) for j in spool.jobs()] == [
            ("ref-1", "SO-7", 1, "waiting_label"), ("ref-2", "SO-7", 2, "waiting_label")]
        assert [m.name for m in outbox.pending()] == [PackConfirm.NAME]

        def full_disk(conn):
            labels(conn)
            raise WriteFailed(store.journal.path, OSError("database or disk is full"))

        with pytest.raises(WriteFailed):
            outbox.append("ben", PackConfirm.NAME, pack.checked(), along=full_disk)
        assert len(spool.jobs()) == 2 and len(outbox.pending()) == 1
        outbox.close()
    finally:
        store.close()
