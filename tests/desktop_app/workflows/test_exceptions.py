"""Refused actions become cards with a next step; only a supervisor or admin marks them dealt with."""

from datetime import datetime, timedelta, timezone

import pytest

from desktop_app.workflows.exceptions import ExceptionCard, Exceptions, NotAllowedToResolve, advise, describe
from sync.outbox import Outbox
from sync.store.database import LocalStore
from tests.sync.pushresults import Result

MORNING = datetime(2024, 6, 3, 9, 15, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock(MORNING)


@pytest.fixture
def store(tmp_path):
    s = LocalStore.open(tmp_path)
    yield s
    s.close()


@pytest.fixture
def outbox(store, clock):
    return Outbox(store, clock=clock)


@pytest.fixture
def refused(outbox, clock):
    """Four queued actions: one applied, three refused (cancelled order, lost lease, an unknown code)."""
    ok = outbox.append("anna", "pick.confirm", {"task": 11, "location": "A-01-01-1", "qty": 1, "barcode": "1"})
    clock.now += timedelta(minutes=1)
    cancelled = outbox.append("anna", "pick.confirm",
                              {"task": 12, "location": "A-01-03-2", "qty": 2, "barcode": "4006381333931"})
    clock.now += timedelta(minutes=1)
    lost = outbox.append("anna", "tote.assign", {"batch": 3, "order": 5, "tote": "T-0007"})
    clock.now += timedelta(minutes=1)
    odd = outbox.append("anna", "pick.short", {"task": 13, "reason": "damaged"})
    clock.now += timedelta(minutes=5)
    outbox.record_results([ok, cancelled, lost, odd], [
        Result(ok.id, "applied"),
        Result(cancelled.id, "rejected", "order_cancelled", "Order SO-1005 was cancelled; put the items back."),
        Result(lost.id, "rejected", "lease_lost", "Batch B-003 is now held by another picker."),
        Result(odd.id, "rejected", "bin_frozen", "Bin A-01-04-1 is frozen for stocktaking."),
    ], push_cursor=7)
    return cancelled, lost, odd


def test_cards_come_oldest_first_with_what_who_and_when(outbox, refused, clock):
    cancelled, lost, odd = refused
    cards = Exceptions(outbox, clock=clock, tz=timezone.utc).cards()
    assert [c.mutation_id for c in cards] == [cancelled.id, lost.id, odd.id]
    assert [c.seq for c in cards] == sorted(c.seq for c in cards)
    first = cards[0]
    assert first == ExceptionCard(
        mutation_id=cancelled.id, seq=cancelled.seq, action="Pick confirmed", who="anna",
        when=cancelled.at, when_short="today 09:16", what="task 12 at A-01-03-2, 2 items", code="order_cancelled",
        reason="Order SO-1005 was cancelled; put the items back.", next_step=first.next_step)
    assert [c.action for c in cards] == ["Pick confirmed", "Tote assigned", "Short pick"]
    assert cards[1].what == "tote T-0007, order 5, batch 3"
    assert cards[2].what == "task 13, damaged"


def test_the_next_step_says_where_the_items_go_back(outbox, refused, clock):
    cards = Exceptions(outbox, clock=clock, tz=timezone.utc).cards()
    cancelled, lost, odd = cards
    assert cancelled.next_step == ("Put the picked items back at A-01-03-2 and scan the tote empty; "
                                   "the order was cancelled after picking started.")
    assert "given to someone else while this device was offline" in lost.next_step
    assert "new picker's list" in lost.next_step
    assert odd.next_step == ("Check the action with the order office; "
                             "the server said: Bin A-01-04-1 is frozen for stocktaking.")


def test_older_actions_show_their_date(outbox, refused, clock):
    clock.now = MORNING + timedelta(days=2)
    cards = Exceptions(outbox, clock=clock, tz=timezone.utc).cards()
    assert cards[0].when_short == "3 Jun 09:16"
    clock.now = MORNING + timedelta(days=400)
    assert Exceptions(outbox, clock=clock, tz=timezone.utc).cards()[0].when_short == "3 Jun 2024 09:16"


def test_a_supervisor_resolves_a_card_and_it_leaves_the_list(outbox, refused, clock):
    cancelled, lost, odd = refused
    exceptions = Exceptions(outbox, clock=clock, tz=timezone.utc)
    assert exceptions.count() == 3
    exceptions.resolve(lost.id, by="sam", roles=["supervisor"])
    assert [c.mutation_id for c in exceptions.cards()] == [cancelled.id, odd.id]
    assert exceptions.count() == 2
    assert outbox.counts()[1] == 2
    resolved = {r.mutation.id for r in outbox.rejected(include_resolved=True)} - {r.mutation.id
                                                                                   for r in outbox.rejected()}
    assert resolved == {lost.id}
    exceptions.resolve(odd.id, by="root", roles=["admin"])
    assert exceptions.count() == 1


def test_a_picker_cannot_resolve(outbox, refused, clock):
    cancelled, _, _ = refused
    exceptions = Exceptions(outbox, clock=clock)
    assert not exceptions.can_resolve(["picker"])
    assert exceptions.can_resolve(["picker", "supervisor"])
    with pytest.raises(NotAllowedToResolve, match="supervisor or admin") as raised:
        exceptions.resolve(cancelled.id, by="anna", roles=["picker", "packer"])
    assert isinstance(raised.value, PermissionError)
    assert exceptions.count() == 3


def test_resolving_twice_says_so_and_keeps_the_first_resolver(store, outbox, refused, clock):
    cancelled, _, _ = refused
    exceptions = Exceptions(outbox, clock=clock)
    exceptions.resolve(cancelled.id, by="sam", roles=["supervisor"])
    with pytest.raises(LookupError):
        exceptions.resolve(cancelled.id, by="root", roles=["admin"])
    with store.journal.read() as conn:
        by = conn.exec_driver_sql("SELECT resolved_by FROM rejected WHERE id = ?", (cancelled.id,)).scalar()
    assert by == "sam"


def test_no_refusals_no_cards(outbox):
    assert Exceptions(outbox).cards() == []
    assert Exceptions(outbox).count() == 0


@pytest.mark.parametrize(("name", "args", "code", "expected"), [
    ("pick.confirm", {"task": 4, "location": "B-02-01-3", "qty": 5}, "over_pick", "put the extra back at B-02-01-3"),
    ("pick.confirm", {"task": 4, "location": "B-02-01-3", "qty": 1}, "lease_lost", "return the items to B-02-01-3"),
    ("pick.confirm", {"task": 4, "location": "B-02-01-3"}, "wrong_product", "put it back at B-02-01-3"),
    ("tote.assign", {"tote": "T-0009", "order": 2}, "tote_in_use", "Tote T-0009 already holds another order"),
    ("pack.confirm", {"order": 7}, "order_cancelled", "Do not ship"),
    ("asset.register", {"asset": 3}, "unknown_asset", "no such image"),
    ("shot.qc", {"shot": 3, "decision": "reject"}, "comment_required", "write what the photographer should redo"),
])
def test_advice_per_code(name, args, code, expected):
    assert expected in advise(name, args, code, "server text")


def test_descriptions_use_only_the_args_present():
    assert describe("pick.confirm", {"task": 12}) == "task 12"
    assert describe("pick.confirm", {"task": 12, "location": "A-01", "qty": 1}) == "task 12 at A-01, 1 item"
    parcels = [{"box_type": "S", "weight_g": 500, "items": [{"line": 1, "qty": 2}, {"line": 2, "qty": 1}]}]
    assert describe("pack.confirm", {"order": 7, "parcels": parcels}) == "order 7, 1 parcel, 3 items"
    assert describe("sample.check_in", {"barcode": "S-1", "sku": "TSH-01"}) == "sample S-1, SKU TSH-01"
    assert describe("asset.register", {"asset": 9, "angle": "front", "width_px": 4000, "height_px": 3000}) == (
        "image 9 as front, 4000×3000 px")
    assert describe("pick.undo", {}) == ""


def test_every_code_of_the_contract_has_a_next_step_in_plain_words():
    from contract.rejections import Rejection

    for code in Rejection:
        assert "server said" not in advise("pick.confirm", {}, str(code), "server text"), code
