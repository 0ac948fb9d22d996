"""The pull step of the sync engine (sync/pull.py) against the real reference API and a real replica: a page the
replica refuses is the sync error of that page, never a crash, and it goes in once it can."""

import pytest

from sync.connectivity import SyncState
from sync.store import replica


class RowRefused(ValueError):
    """What a check of a feed row raises when the row does not hold what its entity needs."""


@pytest.fixture
def refusing(monkeypatch):
    """The replica's page-apply call raises RowRefused after it has written the page, while `on` holds."""
    real = replica.store_page
    state = {"on": False, "refused": 0}

    def store_page(conn, plan, page):
        count = real(conn, plan, page)  # the rows are in the transaction: the refusal must roll them back
        if state["on"] and page.changes:
            state["refused"] += 1
            raise RowRefused(f"{page.changes[0].entity} {page.changes[0].id!r} fails the check")
        return count

    monkeypatch.setattr(replica, "store_page", store_page)
    return state


def _cancel_an_order(server) -> int:
    order_id = server.warehouse.orders[0]
    office = server.sign_in("sam", pin="1111", device_id="office")
    assert office.http.post(f"/v1/orders/{order_id}/cancel").status_code == 200
    return order_id


def test_a_value_error_from_storing_a_page_is_that_pages_sync_error_and_the_page_comes_again(server, sam, refusing):
    cursor = sam.engine.cursor()
    order_id = _cancel_an_order(server)
    refusing["on"] = True
    status = sam.engine.pull_now()  # would raise here if the refusal escaped the pull
    assert refusing["refused"] == 1
    assert status.state is SyncState.ERROR
    assert status.last_error.startswith("pull: order") and "fails the check" in status.last_error
    assert "unexpected problem" not in status.last_error  # a sync error, not a crash of the worker
    assert status.cursor == cursor == sam.engine.cursor()  # the cursor did not move
    assert sam.view.row("order", order_id)["status"] != "cancelled"  # nothing of the page was kept

    refusing["on"] = False
    status = sam.engine.pull_now()  # the same page, asked for again
    assert status.last_error is None and status.state is not SyncState.ERROR
    assert status.cursor > cursor
    assert sam.view.row("order", order_id)["status"] == "cancelled"


def test_the_pull_worker_shows_a_refused_page_and_pulls_it_again_after_the_backoff(server, sam, refusing):
    sam.engine.start()
    sam.engine.wait_for(lambda s: s.state is SyncState.IDLE, 30)
    cursor = sam.engine.cursor()
    refusing["on"] = True
    order_id = _cancel_an_order(server)  # reaches the worker through its long poll
    status = sam.engine.wait_for(lambda s: "fails the check" in (s.last_error or ""), 30)
    assert "fails the check" in status.last_error and status.cursor == cursor
    # The worker lives on: it keeps asking for the page after each backoff, and keeps saying why.
    refused = refusing["refused"]
    status = sam.engine.wait_for(lambda s: refusing["refused"] > refused, 30)
    assert refusing["refused"] > refused and "fails the check" in status.last_error
    assert sam.view.row("order", order_id)["status"] != "cancelled"

    refusing["on"] = False
    status = sam.engine.wait_for(lambda s: s.last_error is None and s.cursor > cursor, 30)
    assert status.last_error is None and status.cursor > cursor
    assert sam.view.row("order", order_id)["status"] == "cancelled"
