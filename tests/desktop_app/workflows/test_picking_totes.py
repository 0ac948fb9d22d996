"""Totes at batch start: a tote that holds an order is refused on the spot, and Esc steps back without undoing."""

import pytest

from desktop_app.workflows.picking import PickingOptions, PickingState
from order_api.feed import publish_order
from order_api.models import Order
from scanners.codes import ToteCode
from sync.client import ClientCore
from tests.desktop_app.conftest import FAST, KEYRING, NO_RETRY
from tests.desktop_app.workflows.picking_steps import StoredSession, assign_totes, pick_everything, queued


@pytest.fixture
def session(core):
    s = StoredSession(core, "anna", PickingOptions())
    assert s.start().kind == "accept"
    return s


def order_numbers(server, batch_id: int) -> dict[str, str]:
    """Tote -> order number of a batch's orders, as the server has them."""
    with server.db.read() as s:
        return {o.tote: o.number for o in s.query(Order).filter_by(batch_id=batch_id) if o.tote}


def next_batch_after_picking(server, core, session) -> None:
    """Pick the whole first batch into T-0001 and T-0002, send it, and take up the next batch."""
    assert pick_everything(session).kind == "done"
    status = core.engine.sync_once()
    assert status.pending == 0 and status.rejected == 0
    assert session.start().kind == "accept" and session.batch_id == server.warehouse.batches[1]
    assert session.state is PickingState.NEED_TOTES


def test_a_tote_already_used_in_the_batch_is_refused_with_the_order_it_holds(core, session):
    first = session.tote_needed().order_number
    assert session.scan(ToteCode("T-0001")).kind == "accept"
    before = queued(core)

    outcome = session.scan(ToteCode("T-0001"))

    assert (outcome.kind, outcome.message) == ("reject", f"T-0001 holds {first}: scan an empty tote")
    assert queued(core) == before
    assert session.state is PickingState.NEED_TOTES


def test_a_tote_holding_a_picked_order_of_an_earlier_batch_is_refused_before_anything_is_queued(server, core,
                                                                                                 session):
    next_batch_after_picking(server, core, session)
    held = order_numbers(server, server.warehouse.batches[0])["T-0001"]
    waiting_for = session.tote_needed()
    before = queued(core)

    outcome = session.scan(ToteCode("T-0001"))

    assert (outcome.kind, outcome.message) == ("reject", f"T-0001 holds {held}: scan an empty tote")
    assert queued(core) == before  # no tote.assign to come back later as an exception
    assert session.tote_needed() == waiting_for
    assert session.scan(ToteCode("T-0003")).kind == "accept"
    assert queued(core)[len(before):] == [("tote.assign", {"batch": session.batch_id, "order": waiting_for.order_id,
                                                           "tote": "T-0003"})]


def test_the_tote_of_a_cancelled_order_can_take_another_one(server, core, session):
    assert pick_everything(session).kind == "done"
    assert core.engine.sync_once().pending == 0
    cancelled = server.warehouse.orders[0]
    sam = server.sign_in("sam", pin="1111", device_id="office")
    assert sam.http.post(f"/v1/orders/{cancelled}/cancel").status_code == 200
    with server.db.read() as s:
        freed = s.get(Order, cancelled).tote
    assert session.start().kind == "accept" and session.state is PickingState.NEED_TOTES

    assert session.scan(ToteCode(freed)).kind == "accept"
    status = core.engine.sync_once()
    assert status.pending == 0 and status.rejected == 0  # and the server agrees


def test_a_device_that_holds_the_orders_goes_by_the_order_not_the_copy_on_its_tasks(server, core, session, tmp_path):
    """A supervisor's device has the orders too (office scope); packing an order republishes it, not its tasks."""
    assert pick_everything(session).kind == "done"
    assert core.engine.sync_once().pending == 0
    with server.db.write() as s:
        packed = s.query(Order).filter_by(tote="T-0001").one()
        packed.status = "packed"
        publish_order(s, packed)
    office = ClientCore.open(tmp_path / "office", server.url, keyring=KEYRING, options=FAST, retry=NO_RETRY)
    try:
        office.signin.online(username="sam", pin="1111")
        office.engine.signed_in()
        sam = StoredSession(office, "sam", PickingOptions())
        assert sam.start().kind == "accept" and sam.batch_id == server.warehouse.batches[1]
        office.engine.sync_once()
        picked = order_numbers(server, server.warehouse.batches[0])["T-0002"]

        assert sam.scan(ToteCode("T-0002")).message == f"T-0002 holds {picked}: scan an empty tote"
        assert sam.scan(ToteCode("T-0001")).kind == "accept"
        status = office.engine.sync_once()
        assert status.pending == 0 and status.rejected == 0
    finally:
        office.close()


def test_esc_at_the_totes_steps_back_undoing_nothing_and_start_takes_the_batch_up_again(core, session):
    batch_id = session.batch_id
    assign_first = session.tote_needed()
    assert session.scan(ToteCode("T-0001")).kind == "accept"
    before = queued(core)

    outcome = session.put_aside()

    assert outcome.kind == "info" and "press Enter" in outcome.message
    assert session.state is PickingState.NO_BATCH and session.tote_needed() is None
    assert queued(core) == before
    assert session.start().kind == "accept" and session.batch_id == batch_id
    card = session.tote_needed()
    assert card.order_id != assign_first.order_id and card.orders_ready == 1  # the first tote is kept
    assign_totes(session, first=2)
    assert session.state is PickingState.NEED_LOCATION
