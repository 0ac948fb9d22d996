"""A feed row that does not match its entity (contract.entities) is the sync error of its page.

An integrator's server that leaves a field out or sends it with the wrong type must never
crash a screen: the page is not stored, the cursor stays, the status says what is wrong,
and once the server sends the row right the next pull stores it.
"""

import pytest

from order_api.changes import publish
from order_api.feed import line_data
from order_api.models import OrderLine
from sync.connectivity import SyncState


def _republish(server, line_id: int, change) -> None:
    with server.db.write() as s:
        data = line_data(s.get(OrderLine, line_id))
        change(data)
        publish(s, "order_line", line_id, data, ["office"])


@pytest.mark.parametrize("change, problem", [
    (lambda d: d.pop("picked_qty"), "Object missing required field `picked_qty`"),
    (lambda d: d.update(qty="3"), "Expected `int`, got `str` - at `$.qty`"),
    (lambda d: d.update(sku=None), "Expected `str`, got `null` - at `$.sku`"),
])
def test_a_row_with_a_missing_or_mistyped_field_stops_its_page_with_a_clear_error(server, sam, change, problem):
    line = sam.view.rows("order_line")[0]
    cursor = sam.engine.sync_once().cursor
    _republish(server, line["id"], lambda d: (change(d), d.update(name="Renamed")))
    status = sam.engine.sync_once()
    assert status.last_error is not None
    assert f"order_line '{line['id']}'" in status.last_error and problem in status.last_error
    assert status.cursor == cursor  # nothing of the page was stored
    assert sam.view.row("order_line", line["id"])["name"] == line["name"]
    _republish(server, line["id"], lambda d: d.update(name="Renamed"))  # the server is fixed
    status = sam.engine.sync_once()
    assert status.last_error is None and status.cursor > cursor
    assert sam.view.row("order_line", line["id"])["name"] == "Renamed"


def test_a_row_read_on_the_long_poll_thread_is_checked_the_same_way(server, sam):
    # A page that comes by long poll (or is asked for ahead) has its rows read and checked on the
    # thread that fetched it (sync.store.replica.with_keys): the same error, raised when it is stored.
    line = sam.view.rows("order_line")[0]
    cursor = sam.engine.sync_once().cursor
    sam.engine.start()
    sam.engine.wait_for(lambda s: s.state is SyncState.IDLE, 30)
    _republish(server, line["id"], lambda d: (d.pop("picked_qty"), d.update(name="Renamed")))
    status = sam.engine.wait_for(lambda s: s.last_error is not None, 30)
    assert "Object missing required field `picked_qty`" in status.last_error
    assert f"order_line '{line['id']}'" in status.last_error and status.cursor == cursor
    _republish(server, line["id"], lambda d: d.update(name="Renamed"))  # the server is fixed
    sam.engine.wait_for(lambda s: (sam.view.row("order_line", line["id"]) or {}).get("name") == "Renamed", 30)
    assert sam.view.row("order_line", line["id"])["name"] == "Renamed"
