"""The outbox: durable appends in seq order, results filed, rejected kept with reasons."""

from sync.outbox import Outbox
from sync.store.database import LocalStore
from tests.sync.pushresults import Result


def test_appends_get_consecutive_seqs_that_survive_reopening(tmp_path):
    store = LocalStore.open(tmp_path)
    outbox = Outbox(store)
    made = [outbox.append("anna", "pick.confirm", {"task": i, "qty": 1}) for i in range(1, 4)]
    store.close()
    again = Outbox(LocalStore.open(tmp_path))
    assert [m.seq for m in again.pending()] == [1, 2, 3]
    assert [m.id for m in again.pending()] == [m.id for m in made]
    assert again.append("ben", "pack.confirm", {"order": 1}).seq == 4


def test_the_device_id_is_made_once(tmp_path):
    store = LocalStore.open(tmp_path)
    first = Outbox(store).device_id()
    store.close()
    assert Outbox(LocalStore.open(tmp_path)).device_id() == first


def test_results_are_filed(tmp_path):
    outbox = Outbox(LocalStore.open(tmp_path))
    a, b, c, d = (outbox.append("anna", "pick.confirm", {"task": i}) for i in range(4))
    rejected = outbox.record_results([a, b, c, d], [
        Result(a.id, "applied"), Result(b.id, "rejected", "order_cancelled", "Order was cancelled"),
        Result(c.id, "duplicate", original_status="applied"),
        Result(d.id, "duplicate", "over_pick", "too many", original_status="rejected"),
    ], push_cursor=42)
    assert [(r.mutation.id, r.code) for r in rejected] == [(b.id, "order_cancelled"), (d.id, "over_pick")]
    assert outbox.pending() == []
    assert [m.id for m in outbox.in_view()] == [a.id, c.id]
    assert outbox.counts()[:2] == (0, 2)
    assert outbox.settle(41) == 0
    assert outbox.settle(42) == 2
    assert outbox.in_view() == []
    outbox.resolve(b.id, by="sam")
    assert [r.mutation.id for r in outbox.rejected()] == [d.id]


def test_a_failed_push_keeps_the_mutations_pending(tmp_path):
    outbox = Outbox(LocalStore.open(tmp_path))
    m = outbox.append("anna", "pick.confirm", {"task": 1})
    outbox.record_failure([m], "network down")
    assert [p.id for p in outbox.pending()] == [m.id]


def test_listeners_hear_about_appends(tmp_path):
    outbox = Outbox(LocalStore.open(tmp_path))
    heard = []
    outbox.on_append(lambda: heard.append(True))
    outbox.append("anna", "pick.confirm", {"task": 1})
    assert heard == [True]


def test_an_append_on_a_full_disk_is_refused_whole_and_the_sequence_has_no_gap(tmp_path):
    import pytest

    from sync.store.database import WriteFailed
    from tests.diskfull import fill_up, make_room

    store = LocalStore.open(tmp_path)
    outbox = Outbox(store)
    fill_up(store.journal)
    kept = []
    with pytest.raises(WriteFailed) as caught:
        for n in range(1000):
            kept.append(outbox.append("anna", "pick.confirm", {"task": n, "note": "x" * 200}))
    assert caught.value.disk_full and str(caught.value) == "the disk of this device is full"
    assert [m.id for m in outbox.pending(2000)] == [m.id for m in kept]  # nothing half-written
    make_room(store.journal)
    after = outbox.append("anna", "pick.confirm", {"task": -1})
    assert after.seq == len(kept) + 1
    store.close()


def test_a_pulled_page_with_nothing_to_settle_writes_nothing_to_the_journal(tmp_path):
    # Every pulled page asks the outbox to settle; with the queue indexed in memory, a page that
    # settles nothing takes no write lock on the journal (where the scans' actions are committed).
    store = LocalStore.open(tmp_path)
    outbox = Outbox(store)
    outbox.track(lambda mutation: [])
    a = outbox.append("anna", "pick.confirm", {"task": 1})
    writes, write = [], store.journal.write
    store.journal.write = lambda **kwargs: writes.append(kwargs) or write(**kwargs)
    assert outbox.settle(100) == 0 and writes == []  # pending, not acked: nothing to settle
    outbox.record_results([a], [Result(a.id, "applied")], push_cursor=42)
    writes.clear()
    assert outbox.settle(41) == 0 and writes == []  # acked, but the replica is not there yet
    assert outbox.settle(42) == 1 and len(writes) == 1 and outbox.in_view() == []
