"""Packing actions: close an order's parcels, put an order on the hold shelf, open parcels again."""

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.actions import PackConfirm, PackHold, PackRelease, PackReopen
from contract.rejections import Rejection as R
from order_api.feed import publish_order, publish_order_tasks, publish_parcel, publish_parcel_gone
from order_api.models import BoxType, Order, OrderLine, PackingEvent, Parcel, ParcelItem, ParcelUnit
from order_api.mutations.handler import Actor, Rejected, handles


def _order(s: Session, order_id: int) -> Order:
    order = s.get(Order, order_id, with_for_update=True)
    if order is None:
        raise Rejected(R.UNKNOWN_ORDER, f"Order {order_id} does not exist.")
    return order


def _packable(order: Order) -> None:
    """Refuse an order that is not waiting at the packing bench."""
    if order.status == "cancelled":
        raise Rejected(R.ORDER_CANCELLED, f"Order {order.number} was cancelled; do not ship it.")
    if order.status in ("packed", "shipped"):
        raise Rejected(R.ALREADY_PACKED, f"Order {order.number} is already {order.status}.")
    if order.status == "held":
        raise Rejected(R.ORDER_HELD, f"Order {order.number} is on the hold shelf ({order.hold_reason}).")
    if order.status != "picked":
        raise Rejected(R.NOT_PICKED, f"Order {order.number} is still {order.status}; it cannot be packed yet.")


@handles(PackConfirm)
def confirm_pack(s: Session, actor: Actor, a: PackConfirm) -> None:
    """Every picked unit goes into exactly one parcel, each serial once; the order becomes packed."""
    order = _order(s, a.order)
    _packable(order)
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
            if len(item.units) > item.qty:
                raise Rejected(R.PACK_MISMATCH, f"Line {item.line} lists {len(item.units)} units in a parcel "
                                                f"that holds {item.qty} of it.")
            packed[item.line] += item.qty
    wrong = [f"{lines[i].product.sku}: picked {lines[i].picked_qty}, packed {packed[i]}"
             for i in lines if packed[i] != lines[i].picked_qty]
    if wrong:
        raise Rejected(R.PACK_MISMATCH, "Packed items differ from picked items: " + "; ".join(wrong))
    _check_serials(s, a, lines)
    for parcel in a.parcels:
        box = boxes[parcel.box_type]
        expected = box.tare_g + sum(lines[i.line].product.weight_g * i.qty for i in parcel.items)
        row = Parcel(order_id=order.id, box_type_id=box.id, weight_g=parcel.weight_g, ref=parcel.ref,
                     expected_weight_g=expected, packed_by=actor.user.id, created_at=actor.now)
        row.items = [ParcelItem(line_id=i.line, qty=i.qty,
                                units=[ParcelUnit(lot=u.lot, serial=u.serial, manual=u.manual) for u in i.units])
                     for i in parcel.items]
        s.add(row)
        s.flush()
        publish_parcel(s, row, order)
    for line_id, qty in packed.items():
        lines[line_id].packed_qty = qty
    order.status = "packed"
    publish_order(s, order)
    publish_order_tasks(s, order)


def _check_serials(s: Session, a: PackConfirm, lines: dict[int, OrderLine]) -> None:
    """A serial number names one unit: never twice in a pack, never one that already left in another parcel."""
    seen: set[tuple[int, str]] = set()
    for parcel in a.parcels:
        for item in parcel.items:
            product = lines[item.line].product_id
            for unit in item.units:
                if unit.serial is None:
                    continue
                key = (product, unit.serial)
                if key in seen:
                    raise Rejected(R.PACK_MISMATCH, f"Serial {unit.serial} of {lines[item.line].product.sku} "
                                                    "is packed twice.")
                seen.add(key)
    serials = sorted({serial for _, serial in seen})
    if not serials:
        return
    earlier = s.execute(
        select(OrderLine.product_id, ParcelUnit.serial)
        .join(ParcelItem, ParcelItem.id == ParcelUnit.item_id).join(OrderLine, OrderLine.id == ParcelItem.line_id)
        .where(ParcelUnit.serial.in_(serials))
    ).all()
    for product, serial in earlier:
        if (product, serial) in seen:
            raise Rejected(R.PACK_MISMATCH, f"Serial {serial} is already in a packed parcel.")


@handles(PackHold)
def hold_order(s: Session, actor: Actor, a: PackHold) -> None:
    """The order leaves the packing bench for the hold shelf; supervisors see it with the reason."""
    order = _order(s, a.order)
    _packable(order)
    if a.line is not None and a.line not in {line.id for line in order.lines}:
        raise Rejected(R.UNKNOWN_ORDER, f"Line {a.line} is not part of order {order.number}.")
    order.status, order.hold_reason = "held", a.reason
    s.add(PackingEvent(order_id=order.id, kind="hold", reason=a.reason, line_id=a.line, note=a.note,
                       user_id=actor.user.id, device_id=actor.device_id, at=actor.now))
    publish_order(s, order)
    publish_order_tasks(s, order)


@handles(PackRelease)
def release_hold(s: Session, actor: Actor, a: PackRelease) -> None:
    """A held order goes back to the packing bench, waiting as a picked order."""
    order = _order(s, a.order)
    if order.status != "held":
        raise Rejected(R.NOT_HELD, f"Order {order.number} is {order.status}, not on the hold shelf.")
    order.status, order.hold_reason = "picked", None
    s.add(PackingEvent(order_id=order.id, kind="release", reason="released", user_id=actor.user.id,
                       device_id=actor.device_id, at=actor.now))
    publish_order(s, order)
    publish_order_tasks(s, order)


@handles(PackReopen)
def reopen_pack(s: Session, actor: Actor, a: PackReopen) -> None:
    """A packed order goes back to the bench: its parcels (and so their labels) are void. Never once shipped."""
    order = _order(s, a.order)
    if order.status == "shipped":
        raise Rejected(R.ALREADY_SHIPPED, f"Order {order.number} has shipped; its parcels cannot be opened.")
    if order.status != "packed":
        raise Rejected(R.NOT_PACKED, f"Order {order.number} is {order.status}; there is no packed parcel to open.")
    for parcel in s.execute(select(Parcel).where(Parcel.order_id == order.id)).scalars().all():
        publish_parcel_gone(s, parcel.id)
        s.delete(parcel)
    for line in order.lines:
        line.packed_qty = 0
    order.status = "picked"
    s.add(PackingEvent(order_id=order.id, kind="reopen", reason=a.reason, user_id=actor.user.id,
                       device_id=actor.device_id, at=actor.now))
    publish_order(s, order)
    publish_order_tasks(s, order)
