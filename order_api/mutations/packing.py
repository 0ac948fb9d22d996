"""pack.confirm: close the parcels of a picked order."""

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.actions import PackConfirm
from contract.rejections import Rejection as R
from order_api.feed import publish_order, publish_order_tasks, publish_parcel
from order_api.models import BoxType, Order, Parcel, ParcelItem
from order_api.mutations.handler import Actor, Rejected, handles


@handles(PackConfirm)
def confirm_pack(s: Session, actor: Actor, a: PackConfirm) -> None:
    """Every picked item goes into exactly one parcel; the order becomes packed."""
    order = s.get(Order, a.order, with_for_update=True)
    if order is None:
        raise Rejected(R.UNKNOWN_ORDER, f"Order {a.order} does not exist.")
    if order.status == "cancelled":
        raise Rejected(R.ORDER_CANCELLED, f"Order {order.number} was cancelled; do not ship it.")
    if order.status in ("packed", "shipped"):
        raise Rejected(R.ALREADY_PACKED, f"Order {order.number} is already {order.status}.")
    if order.status != "picked":
        raise Rejected(R.NOT_PICKED, f"Order {order.number} is still {order.status}; it cannot be packed yet.")
    lines = {line.id: line for line in order.lines}
    codes = {p.box_type for p in a.parcels}
    boxes = {b.code: b for b in s.execute(select(BoxType).where(BoxType.code.in_(codes))).scalars()}
    unknown = sorted(codes - boxes.keys())
    if unknown:
        raise Rejected(R.UNKNOWN_BOX_TYPE, f"Unknown box type {', '.join(unknown)}.")
    packed: Counter[int] = Counter()
    for parcel in a.parcels:
        for item in parcel.items:
            if item.line not in lines:
                raise Rejected(R.PACK_MISMATCH, f"Line {item.line} is not part of order {order.number}.")
            packed[item.line] += item.qty
    wrong = [f"{lines[i].product.sku}: picked {lines[i].picked_qty}, packed {packed[i]}"
             for i in lines if packed[i] != lines[i].picked_qty]
    if wrong:
        raise Rejected(R.PACK_MISMATCH, "Packed items differ from picked items: " + "; ".join(wrong))
    for parcel in a.parcels:
        row = Parcel(order_id=order.id, box_type_id=boxes[parcel.box_type].id, weight_g=parcel.weight_g,
                     packed_by=actor.user.id, created_at=actor.now)
        row.items = [ParcelItem(line_id=i.line, qty=i.qty) for i in parcel.items]
        s.add(row)
        s.flush()
        publish_parcel(s, row, order)
    for line_id, qty in packed.items():
        lines[line_id].packed_qty = qty
    order.status = "packed"
    publish_order(s, order)
    publish_order_tasks(s, order)
