"""A feed row that does not match its entity (contract.entities) is the sync error of its page.

An integrator's server that leaves a field out or sends it with the wrong type must never
crash a screen: the page is not stored, the cursor stays, the status says what is wrong,
and once the server sends the row right the next pull stores it.
"""

import pytest

from order_api.changes import publish
from order_api.feed import line_data
from order_api.models import OrderLine


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
