"""The picking workflow against the real reference API and a real client core: scans in, mutations out."""

import pytest

from desktop_app.workflows.picking import PickingOptions, PickingSession, PickingState
from order_api.models import Order, PickTask
from scanners.codes import LocationLabel, ToteCode, Unrecognised, UserBadge
from tests.desktop_app.workflows.picking_steps import (
    StoredSession, assign_totes, pick_current, pick_everything, product, queued, server_tasks,
)


@pytest.fixture
def session(core):
    s = StoredSession(core, "anna", PickingOptions())
    assert s.start().kind == "accept"
    return s


def test_a_whole_batch_picked_by_scans_reaches_the_server(server, core, session):
    batch_id = server.warehouse.batches[0]
    assert session.batch_id == batch_id
    assert session.state is PickingState.NEED_TOTES
    outcome = pick_everything(session)
    assert outcome.kind == "done" and "done" in outcome.message
    assert session.state is PickingState.BATCH_DONE
    summary = session.summary()
    assert (summary.lines_total, summary.lines_picked, summary.qty_picked) == (2, 2, 4)
    assert summary.queued_actions == 2 + 4  # two totes, one confirm per scanned item

    status = core.engine.sync_once()
    assert status.pending == 0 and status.rejected == 0
    tasks = server_tasks(server, batch_id)
    assert tasks and all(t.picked_qty == t.qty and t.status == "done" for t in tasks)
    with server.db.read() as s:
        assert sorted(o.tote for o in s.query(Order).filter_by(batch_id=batch_id)) == ["T-0001", "T-0002"]


def test_tasks_come_in_route_order_with_the_batch_progress(session):
    assign_totes(session)
    first = session.current()
    assert first.location_label == "A-01-01-1" and first.product_name == "Rain Jacket, Olive, L"
    assert (first.remaining, first.lines_done, first.lines_total) == (2, 0, 2)
    assert first.tote in ("T-0001", "T-0002") and first.order_number.startswith("SO-")
    pick_current(session)
    second = session.current()
    assert second.location_label == "A-01-02-1" and second.gtin == "4012345678901"
    assert (second.lines_done, second.lines_total) == (1, 2)


def test_wrong_location_and_wrong_product_change_nothing(core, session):
    assign_totes(session)
    before_queue, before_view = queued(core), core.view.rows("pick_task")

    assert session.scan(product("4006381333931")).message == "Scan the location first: go to A-01-01-1"
    outcome = session.scan(LocationLabel("B-02-01-1"))
    assert outcome.kind == "reject"
    assert outcome.message == "Wrong location: scanned B-02-01-1, go to A-01-01-1"
    assert session.state is PickingState.NEED_LOCATION

    assert session.scan(LocationLabel("A-01-01-1")).kind == "accept"
    outcome = session.scan(product("4012345678901"))
    assert outcome.kind == "reject" and outcome.message.startswith("Wrong product: scanned 4012345678901")
    assert queued(core) == before_queue and core.view.rows("pick_task") == before_view


def test_on_a_full_disk_an_action_is_refused_with_the_reason_and_works_once_there_is_room(core, session):
    from tests.diskfull import fill_up, make_room

    assign_totes(session)
    card = session.current()
    assert session.scan(LocationLabel(card.location_label)).kind == "accept"
    fill_up(core.store.journal)
    # Pick one and take it back, again and again, until the file's last free bytes are used.
    actions = [lambda: session.scan(product(card.gtin)), session.undo_last] * 100
    for action in actions:
        before_queue, before_view = queued(core), core.view.rows("pick_task")
        outcome = action()
        if outcome.kind == "reject":
            break
    assert outcome.message == ("Not saved: the disk of this device is full. Nothing was recorded; "
                               "call IT, then scan again.")
    assert queued(core) == before_queue and core.view.rows("pick_task") == before_view
    assert session.current().task_id == card.task_id
    make_room(core.store.journal)
    assert action().kind == "accept"  # the same action, once there is room
    assert len(queued(core)) == len(before_queue) + 1


def test_a_tote_scan_at_a_task_checks_the_tote_the_items_go_into(core, session):
    assign_totes(session)
    tote = session.current().tote
    other = "T-0002" if tote == "T-0001" else "T-0001"
    before = queued(core)
    assert session.scan(ToteCode(tote)).kind == "accept"
    assert session.scan(ToteCode(other)).message == f"Wrong tote: this goes into {tote}."
    assert queued(core) == before


def test_a_product_scan_alone_is_enough_when_the_site_does_not_require_location_scans(core):
    session = StoredSession(core, "anna", PickingOptions(location_scan_required=False))
    session.start()
    assign_totes(session)
    assert session.state is PickingState.NEED_PRODUCT
    assert session.scan(product("4006381333931")).kind == "accept"
    assert session.current().picked_qty == 1


def test_a_gs1_count_and_a_typed_count_confirm_several_items_at_once(core, session):
    assign_totes(session)
    assert session.scan(LocationLabel("A-01-01-1")).kind == "accept"
    assert session.enter_quantity(2).kind == "reject"  # no item scanned yet: the product is unverified
    assert session.scan(product("4006381333931", quantity=3)).kind == "reject"  # more than the task needs
    assert session.scan(product("4006381333931", quantity=2)).kind == "accept"
    assert session.current().location_label == "A-01-02-1"

    assert session.scan(LocationLabel("A-01-02-1")).kind == "accept"
    assert session.scan(product("4012345678901")).kind == "accept"
    assert session.enter_quantity(2).kind == "reject"  # only one more is needed
    assert session.enter_quantity(1).kind == "done"
    confirms = [args["qty"] for name, args in queued(core) if name == "pick.confirm"]
    assert confirms == [2, 1, 1]


def test_undo_takes_back_the_last_scan_on_the_device_and_the_server(server, core, session):
    assign_totes(session)
    card = session.current()
    session.scan(LocationLabel(card.location_label))
    session.scan(product(card.gtin))
    confirm = core.outbox.pending()[-1]
    assert confirm.name == "pick.confirm"

    outcome = session.undo_last()
    assert outcome.kind == "accept" and card.location_label in outcome.message
    undo = core.outbox.pending()[-1]
    assert (undo.name, undo.args) == ("pick.undo", {"task": card.task_id, "confirmation": confirm.id})
    again = session.current()
    assert again.task_id == card.task_id and again.picked_qty == 0
    assert session.undo_last().kind == "reject"  # nothing left to take back

    core.engine.sync_once()
    [task] = [t for t in server_tasks(server, session.batch_id) if t.id == card.task_id]
    assert (task.picked_qty, task.status) == (0, "open")


def test_undo_after_a_completed_task_steps_back_to_it(core, session):
    assign_totes(session)
    first = session.current()
    pick_current(session)
    assert session.current().task_id != first.task_id
    session.undo_last()
    back = session.current()
    assert back.task_id == first.task_id and back.remaining == 1
    assert session.state is PickingState.NEED_PRODUCT  # still at that bin
    assert session.scan(product(first.gtin)).kind == "accept"
    assert session.current().task_id != first.task_id


def test_skip_moves_the_task_to_the_end_of_the_walk_without_telling_the_server(core, session):
    assign_totes(session)
    before = queued(core)
    assert session.current().location_label == "A-01-01-1"
    assert session.skip().kind == "accept"
    assert session.current().location_label == "A-01-02-1"
    pick_current(session)
    assert session.current().location_label == "A-01-01-1"
    assert session.skip().kind == "reject"  # the last task has nowhere to go
    assert [n for n, _ in queued(core)][len(before):] == ["pick.confirm", "pick.confirm"]


def test_a_short_pick_moves_on_and_the_reallocated_task_joins_the_batch(server, core, session):
    assign_totes(session)
    pick_current(session)
    shorted = session.current()
    assert shorted.location_label == "A-01-02-1"
    with pytest.raises(ValueError):
        session.short("lost")
    outcome = session.short("not_found")
    assert outcome.kind == "done"
    assert queued(core)[-1] == ("pick.short", {"task": shorted.task_id, "reason": "not_found"})

    assert session.arrivals() is None
    core.engine.sync_once()  # the server finds the product in another bin and adds a task to the batch
    card = session.current()
    assert session.state is PickingState.NEED_LOCATION
    assert (card.location_label, card.gtin, card.remaining) == ("B-02-01-1", "4012345678901", 2)
    news = session.arrivals()
    assert (news.kind, news.message) == ("info", "Also at B-02-01-1: added to the end of the walk")
    assert session.arrivals() is None  # told once
    assert pick_current(session).kind == "done"
    core.engine.sync_once()
    tasks = {t.location_id: t for t in server_tasks(server, session.batch_id)}
    assert sorted(t.status for t in tasks.values()) == ["done", "done", "short"]
    summary = session.summary()
    assert (summary.lines_total, summary.lines_picked, summary.lines_short, summary.queued_actions) == (3, 2, 1, 0)


def test_the_whole_batch_is_picked_with_the_server_down_and_applied_when_it_is_back(server, core, session,
                                                                                      restart_server):
    stop, start = restart_server
    stop()
    outcome = pick_everything(session)
    assert outcome.kind == "done"
    assert core.engine.sync_once().pending == 6
    assert all(t.picked_qty == 0 for t in server_tasks(server, session.batch_id))

    start()
    core.engine.connectivity.fire("retry")
    status = core.engine.sync_once()
    assert status.pending == 0 and status.rejected == 0
    assert all(t.picked_qty == t.qty == 2 and t.status == "done" for t in server_tasks(server, session.batch_id))


def test_a_device_without_the_server_takes_up_its_claimed_batch_where_it_left_off(server, core, session,
                                                                                  restart_server):
    assign_totes(session)
    pick_current(session)
    left_at = session.current().task_id
    stop, _ = restart_server
    stop()

    resumed = StoredSession(core, "anna")
    outcome = resumed.start()
    assert outcome.kind == "accept" and "offline" in outcome.message
    assert resumed.batch_id == session.batch_id and resumed.offline_reason
    assert resumed.tote_needed() is None and resumed.current().task_id == left_at
    assert resumed.state is PickingState.NEED_LOCATION


def test_a_restart_online_resumes_at_the_right_task_and_then_claims_the_next_batch(server, core, session):
    assign_totes(session)
    pick_current(session)
    core.engine.sync_once()
    resumed = StoredSession(core, "anna")
    assert resumed.start().kind == "accept" and resumed.batch_id == session.batch_id
    assert resumed.current().location_label == "A-01-02-1"
    assert pick_current(resumed).kind == "done"

    core.engine.sync_once()
    assert resumed.start().kind == "accept"
    assert resumed.batch_id == server.warehouse.batches[1]
    assert resumed.state is PickingState.NEED_TOTES


def test_a_pick_for_an_order_cancelled_meanwhile_comes_back_rejected(server, core, session):
    core.engine.sync_once()
    first_task = server.warehouse.tasks[session.batch_id][1]  # SKU-1 at A-01-01-1, first on the walk
    with server.db.read() as s:
        order_id = s.get(PickTask, first_task).line.order_id
    sam = server.sign_in("sam", pin="1111", device_id="office")
    assert sam.http.post(f"/v1/orders/{order_id}/cancel").status_code == 200

    assert pick_everything(session).kind == "done"  # the device has not heard of the cancel yet
    status = core.engine.sync_once()
    assert status.pending == 0
    rejected = core.outbox.rejected()
    assert {r.code for r in rejected} == {"order_cancelled"}
    assert [r.mutation.name for r in rejected if r.mutation.args.get("task") == first_task] == ["pick.confirm"] * 2
    # Now that the device knows, the cancelled order's line is no longer offered.
    assert session.summary().lines_total == 1


def test_a_cancelled_order_known_on_the_device_is_not_offered(server, core):
    order_id = server.warehouse.orders[0]
    sam = server.sign_in("sam", pin="1111", device_id="office")
    session = StoredSession(core, "anna")
    session.start()
    assert sam.http.post(f"/v1/orders/{order_id}/cancel").status_code == 200
    core.engine.sync_once()
    assert session.tote_needed().orders_total == 1
    assign_totes(session)
    assert pick_current(session).kind == "done"


def test_badges_and_unreadable_scans(session):
    outcome = session.scan(UserBadge("U0002"))
    assert (outcome.kind, outcome.badge) == ("switch_user", "U0002")
    outcome = session.scan(Unrecognised("xyz", "Not a barcode this warehouse uses."))
    assert (outcome.kind, outcome.message) == ("reject", "Not a barcode this warehouse uses.")


def test_scans_before_a_batch_is_started_are_refused(core):
    session = StoredSession(core, "anna")
    assert session.state is PickingState.NO_BATCH and session.current() is None and session.summary() is None
    assert session.scan(LocationLabel("A-01-01-1")).kind == "reject"
    assert session.skip().kind == "reject"
    assert core.outbox.pending() == []


def test_a_count_for_a_task_that_is_no_longer_current_is_refused(session):
    assign_totes(session)
    card = session.current()
    assert session.scan(LocationLabel(card.location_label)).kind == "accept"
    assert session.scan(product(card.gtin)).kind == "accept"
    before = queued(session._core)

    outcome = session.enter_quantity(1, task_id=card.task_id + 1000)

    assert outcome.kind == "reject" and "changed" in outcome.message
    assert queued(session._core) == before
    assert session.enter_quantity(1, task_id=card.task_id).kind in ("accept", "done")


def test_the_bin_whose_label_was_scanned_stays_current_when_new_work_arrives(core, session):
    assign_totes(session)
    first = session.current()
    session.skip()
    second = session.current()
    assert session.short("damaged").kind == "accept"  # the server offers the rest from another bin
    assert session.current().task_id == first.task_id
    assert session.scan(LocationLabel(first.location_label)).kind == "accept"

    core.engine.sync_once()  # brings the reallocated task; by walk order it would come first

    assert len(_live_open(session)) == 2, "the short was not reallocated"
    assert session.current().task_id == first.task_id
    assert session.current().location_confirmed
    assert second.task_id != first.task_id


def _live_open(session):
    return [t for t in session._tasks() if t["status"] == "open" and t.get("order_status") != "cancelled"]


def test_the_lease_is_renewed_while_picking_and_a_lost_batch_is_told(server, core, session):
    from order_api.models import PickBatch

    with server.db.read() as s:
        before = s.get(PickBatch, session.batch_id).lease_expires
    assert session.renew_lease() is None
    with server.db.read() as s:
        assert s.get(PickBatch, session.batch_id).lease_expires > before

    sam = server.sign_in("sam", pin="1111", device_id="office")
    r = sam.http.post(f"/v1/pick-batches/{session.batch_id}/reassign", json={"username": "sam"})
    assert r.status_code == 200, r.text
    outcome = session.renew_lease()
    assert outcome.kind == "reject" and "someone else" in outcome.message


# --- the journal writer: scans judged before the action before them is stored --------------

def confirms_on_disk(core) -> list[tuple[int, str]]:
    """(seq, name) of the picks as a fresh connection finds them in the journal file."""
    from tests.journalgate import journal_actions

    return [(seq, name) for seq, _, name in journal_actions(core.store.journal.path) if name == "pick.confirm"]


@pytest.fixture
def at_first_bin(core):
    """A session (the screen's kind: verdicts not waited for) with totes assigned, at the first bin, qty 2."""
    s = PickingSession(core, "anna", PickingOptions())
    assert s.start().kind == "accept"
    while (card := s.tote_needed()) is not None:
        assert s.verdict(s.scan(ToteCode(f"T-{card.order_id:04d}")), timeout=30).kind == "accept"
    card = s.current()
    assert (card.location_label, card.remaining) == ("A-01-01-1", 2)
    assert s.scan(LocationLabel(card.location_label)).kind == "accept"
    return s


def test_two_items_scanned_before_the_first_is_stored_both_count_and_an_over_pick_is_refused(core, at_first_bin):
    from tests.journalgate import JournalGate

    session, card = at_first_bin, at_first_bin.current()
    gate = JournalGate(core.store.journal)
    first = session.scan(product(card.gtin))
    assert gate.entered.wait(30)  # the writer holds the first pick at the door of its commit
    assert (first.kind, first.message) == ("accept", f"1 of 2 {card.product_name}")
    assert not first.saving.done and confirms_on_disk(core) == []

    # The second item is judged with the first one on its way: it completes the task.
    assert session.current().picked_qty == 1 and session.waiting() == 1
    second = session.scan(product(card.gtin))
    assert (second.kind, second.message) == ("accept", "A-01-01-1 complete. Next: A-01-02-1")
    assert second.screen.task.location_label == "A-01-02-1"
    # No third one: the bin is done, and a count beyond the task's quantity is refused.
    assert session.scan(product(card.gtin)).message == "Scan the location first: go to A-01-02-1"
    undone = session.undo_last()  # the second is taken back (still not stored): one more is needed
    assert undone.kind == "accept" and session.current().task_id == card.task_id
    refused = session.enter_quantity(2)
    assert (refused.kind, refused.message) == ("reject", "Too many: 2 counted, only 1 still needed here.")
    assert refused.saving is None and confirms_on_disk(core) == []

    gate.open()
    assert [session.verdict(o, timeout=30).kind for o in (first, second, undone)] == ["accept"] * 3
    assert [name for _, name in confirms_on_disk(core)] == ["pick.confirm", "pick.confirm"]
    assert [(n, a) for n, a in queued(core)][-3:] == [
        ("pick.confirm", {"task": card.task_id, "location": "A-01-01-1", "qty": 1, "barcode": "0" + card.gtin}),
        ("pick.confirm", {"task": card.task_id, "location": "A-01-01-1", "qty": 1, "barcode": "0" + card.gtin}),
        ("pick.undo", {"task": card.task_id, "confirmation": second.saving.id})]
    assert session.current().picked_qty == 1 and session.waiting() == 0


def test_a_pick_the_journal_cannot_store_is_taken_back_with_what_was_judged_on_it(core, at_first_bin):
    from tests.diskfull import make_room
    from tests.journalgate import JournalGate, fill_to_the_brim

    session, card = at_first_bin, at_first_bin.current()
    gate = JournalGate(core.store.journal)
    first = session.scan(product(card.gtin))
    assert gate.entered.wait(30)
    second = session.scan(product(card.gtin))  # judged on the first: the bin looks complete
    assert session.current().location_label == "A-01-02-1"
    fill_to_the_brim(core.store.journal)
    gate.open()

    said = "Not saved: the disk of this device is full. Nothing was recorded; call IT, then scan again."
    assert (session.verdict(first, timeout=30).kind, session.verdict(first).message) == ("reject", said)
    assert session.verdict(second, timeout=30).message == said  # refused with it, never stored alone
    assert confirms_on_disk(core) == [] and session.waiting() == 0 and session.rollbacks == 1
    # Back as before the first: at the same bin, its label scanned, nothing picked.
    back = session.current()
    assert (back.task_id, back.picked_qty, back.location_confirmed) == (card.task_id, 0, True)

    make_room(core.store.journal)
    again = session.scan(product(card.gtin))  # the same scan, once there is room
    assert session.verdict(again, timeout=30) is again and again.kind == "accept"
    assert len(confirms_on_disk(core)) == 1 and session.current().picked_qty == 1
