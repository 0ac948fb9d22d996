"""The walk through a batch: work the server adds after a short pick is told and goes to the end of the walk."""

import pytest

from desktop_app.workflows.picking import PickingOptions, PickingState
from desktop_app.workflows.picking_walk import Walk
from order_api.models import Location, Product, Stock
from scanners.codes import LocationLabel
from tests.desktop_app.workflows.picking_steps import StoredSession, assign_totes, pick_current, product


def task(task_id: int, route: str, line: int, status: str = "open") -> dict:
    return {"id": task_id, "route_key": route, "location_label": route, "line_id": line, "status": status,
            "order_status": "released"}


def test_a_task_for_a_shorted_line_joins_the_end_of_the_walk_and_is_news_once():
    walk = Walk()
    tasks = [task(1, "A-01", line=10, status="short"), task(2, "C-01", line=11)]
    walk.see(tasks)  # the batch as claimed
    assert walk.take_news() == []

    tasks.append(task(3, "B-01", line=10))  # by route it would come before C-01
    walk.see(tasks)

    assert [t["id"] for t in walk.queue(tasks)] == [2, 3]
    assert walk.take_news() == ["B-01"] and walk.take_news() == []


def test_tasks_of_other_lines_keep_their_place_by_route_and_are_no_news():
    walk = Walk()
    tasks = [task(1, "A-01", line=10), task(2, "C-01", line=11)]
    walk.see(tasks)
    tasks.append(task(3, "B-01", line=12))  # a line added to the batch, nothing shorted
    walk.see(tasks)
    assert [t["id"] for t in walk.queue(tasks)] == [1, 3, 2]
    assert walk.take_news() == []


def test_skipped_tasks_stay_behind_added_ones_and_the_bin_scanned_stays_current():
    walk = Walk()
    tasks = [task(1, "A-01", line=10), task(2, "B-01", line=11, status="short"), task(3, "C-01", line=12)]
    walk.see(tasks)
    walk.skipped.append(1)
    walk.at_location = 3
    tasks.append(task(4, "A-02", line=11))
    walk.see(tasks)
    assert [t["id"] for t in walk.queue(tasks)] == [3, 4, 1]


@pytest.fixture
def spare_bin(server):
    """Rain jackets in A-01-01-2 as well: on the route between the first bin (A-01-01-1) and the second."""
    with server.db.write() as s:
        jacket = s.query(Product).filter_by(sku="SKU-1").one()
        spare = Location(label="A-01-01-2", zone="A", aisle=1, bay=1, level=2, route_key="A-01-01-2")
        s.add(spare)
        s.flush()
        s.add(Stock(location_id=spare.id, product_id=jacket.id, qty=10))
    return "A-01-01-2"


def test_the_rest_of_a_short_pick_found_in_another_bin_is_told_and_picked_last(core, spare_bin):
    spare = spare_bin
    session = StoredSession(core, "anna", PickingOptions())
    assert session.start().kind == "accept"
    assign_totes(session)
    shorted = session.current()
    assert shorted.location_label == "A-01-01-1"
    assert session.scan(LocationLabel(shorted.location_label)).kind == "accept"
    assert session.scan(product(shorted.gtin)).kind == "accept"  # one of two is there
    assert session.short("not_found").message == "Short at A-01-01-1. Next: A-01-02-1"

    core.engine.sync_once()  # the server books the short and adds a task for the missing one at A-01-01-2

    card = session.current()
    assert card.location_label == "A-01-02-1" and card.lines_total == 3  # not a step back to A-01-01-2
    news = session.arrivals()
    assert (news.kind, news.message) == ("info", f"Also at {spare}: added to the end of the walk")
    assert session.arrivals() is None
    pick_current(session)
    last = session.current()
    assert (last.location_label, last.gtin, last.remaining) == (spare, shorted.gtin, 1)
    assert pick_current(session).kind == "done"
    assert session.state is PickingState.BATCH_DONE
