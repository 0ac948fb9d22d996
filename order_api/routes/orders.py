"""Office actions on orders: read one, cancel, mark shipped.

Each route keeps to the caller's feed scope: an order outside it (a released order for a
packer) answers 404 as if it did not exist.
"""

from fastapi import APIRouter, Depends

from order_api.context import ApiContext, Caller
from order_api.deps import get_ctx, require_in_scope, require_roles
from order_api.errors import ApiError
from order_api.feed import line_data, order_audiences, order_data, publish_order, publish_order_tasks
from order_api.models import Order
from order_api.schemas import RowId

router = APIRouter(prefix="/v1/orders", tags=["orders"])


@router.get("/{order_id}")
def get_order(order_id: RowId, caller: Caller = Depends(require_roles("packer", "supervisor", "admin")),
              ctx: ApiContext = Depends(get_ctx)) -> dict:
    """An order with its lines, as the feed shows it."""
    with ctx.db.read() as s:
        order = _get(s, caller, order_id)
        return {**order_data(order), "lines": [line_data(line) for line in order.lines]}


@router.post("/{order_id}/cancel")
def cancel(order_id: RowId, caller: Caller = Depends(require_roles("supervisor", "admin")),
           ctx: ApiContext = Depends(get_ctx)) -> dict:
    """Cancel an order that has not shipped; picks for it are rejected from now on."""
    with ctx.write() as s:
        order = _get(s, caller, order_id, lock=True)
        if order.status == "shipped":
            raise ApiError(409, "already_shipped", f"Order {order.number} has shipped; it cannot be cancelled.")
        if order.status != "cancelled":
            order.status = "cancelled"
            publish_order(s, order)
            publish_order_tasks(s, order)
        return order_data(order)


@router.post("/{order_id}/ship")
def ship(order_id: RowId, caller: Caller = Depends(require_roles("packer", "supervisor", "admin")),
         ctx: ApiContext = Depends(get_ctx)) -> dict:
    """The carrier took the parcels; the order leaves the packing station's scope."""
    with ctx.write() as s:
        order = _get(s, caller, order_id, lock=True)
        if order.status != "packed":
            raise ApiError(409, "not_packed", f"Order {order.number} is {order.status}, not packed.")
        order.status = "shipped"
        publish_order(s, order)
        publish_order_tasks(s, order)
        return order_data(order)


def _get(s, caller: Caller, order_id: int, lock: bool = False) -> Order:
    """The order, if it exists and is in the caller's scope; else 404."""
    order = s.get(Order, order_id, with_for_update=lock)
    missing = f"Order {order_id} does not exist."
    if order is None:
        raise ApiError(404, "not_found", missing)
    require_in_scope(caller, order_audiences(order), missing)
    return order
