"""What each entity looks like in the pull feed, and which audiences see it."""

from sqlalchemy.orm import Session

from order_api.changes import publish
from order_api.models import (
    Asset, BoxType, Location, Order, OrderLine, Parcel, PickBatch, PickTask, Product, Sample,
    ShotListItem, Stock, StockCheck,
)

# Held and cancelled orders stay in the packers' feed, so a bench packing one learns why it must stop.
PACKING_STATUSES = ("picked", "held", "packed", "cancelled")


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def product_data(p: Product) -> dict:
    return {
        "id": p.id, "sku": p.sku, "gtin": p.gtin, "name": p.name,
        "length_mm": p.length_mm, "width_mm": p.width_mm, "height_mm": p.height_mm, "weight_g": p.weight_g,
        "shot_angles": p.shot_angles.split(), "min_width_px": p.min_width_px, "min_height_px": p.min_height_px,
    }


def location_data(loc: Location) -> dict:
    return {"id": loc.id, "label": loc.label, "zone": loc.zone, "aisle": loc.aisle, "bay": loc.bay,
            "level": loc.level, "route_key": loc.route_key}


def stock_data(s: Stock) -> dict:
    return {"id": s.id, "location_id": s.location_id, "product_id": s.product_id, "qty": s.qty}


def box_type_data(b: BoxType) -> dict:
    return {"id": b.id, "code": b.code, "name": b.name, "length_mm": b.length_mm, "width_mm": b.width_mm,
            "height_mm": b.height_mm, "tare_g": b.tare_g, "max_weight_g": b.max_weight_g}


def order_data(o: Order) -> dict:
    return {"id": o.id, "number": o.number, "customer": o.customer, "status": o.status, "tote": o.tote,
            "batch_id": o.batch_id, "packing_note": o.packing_note, "hold_reason": o.hold_reason}


def line_data(line: OrderLine) -> dict:
    p = line.product
    return {"id": line.id, "order_id": line.order_id, "product_id": line.product_id, "sku": p.sku,
            "gtin": p.gtin, "name": p.name, "qty": line.qty, "picked_qty": line.picked_qty,
            "short_qty": line.short_qty, "packed_qty": line.packed_qty}


def batch_data(b: PickBatch) -> dict:
    return {"id": b.id, "code": b.code, "status": b.status, "claimed_by": b.claimed_by,
            "lease_expires": _iso(b.lease_expires)}


def task_data(t: PickTask) -> dict:
    line, loc, order = t.line, t.location, t.line.order
    return {
        "id": t.id, "batch_id": t.batch_id, "line_id": t.line_id, "order_id": order.id,
        "order_number": order.number, "order_status": order.status, "tote": order.tote,
        "location_id": loc.id, "location_label": loc.label, "route_key": t.route_key,
        "product_id": line.product_id, "sku": line.product.sku, "gtin": line.product.gtin,
        "product_name": line.product.name, "qty": t.qty, "picked_qty": t.picked_qty,
        "status": t.status, "short_reason": t.short_reason,
    }


def parcel_data(p: Parcel) -> dict:
    return {"id": p.id, "order_id": p.order_id, "box_type": p.box_type.code, "weight_g": p.weight_g,
            "tracking_number": p.tracking_number,
            "items": [{"line_id": i.line_id, "qty": i.qty} for i in p.items],
            "ref": p.ref, "expected_weight_g": p.expected_weight_g}


def shot_data(item: ShotListItem, product: Product) -> dict:
    return {"id": item.id, "product_id": item.product_id, "sku": product.sku, "name": product.name,
            "status": item.status, "qc_comment": item.qc_comment,
            "angles": product.shot_angles.split(),
            "min_width_px": product.min_width_px, "min_height_px": product.min_height_px}


def sample_data(s: Sample) -> dict:
    return {"id": s.id, "product_id": s.product_id, "barcode": s.barcode, "status": s.status,
            "checked_in_at": _iso(s.checked_in_at), "checked_out_at": _iso(s.checked_out_at)}


def asset_data(a: Asset) -> dict:
    return {"id": a.id, "product_id": a.product_id, "object_key": a.object_key, "sha256": a.sha256,
            "size": a.size, "content_type": a.content_type, "angle": a.angle, "width_px": a.width_px,
            "height_px": a.height_px, "status": a.status, "integrity": a.integrity or "unchecked",
            "filename": a.filename, "uploaded_by": a.uploaded_by}


def stock_check_data(c: StockCheck) -> dict:
    return {"id": c.id, "location_id": c.location_id, "product_id": c.product_id, "reason": c.reason,
            "status": c.status}


def publish_product(s: Session, p: Product) -> None:
    publish(s, "product", p.id, product_data(p), ["catalog"])


def publish_location(s: Session, loc: Location) -> None:
    publish(s, "location", loc.id, location_data(loc), ["floor"])


def publish_stock(s: Session, st: Stock) -> None:
    publish(s, "stock", st.id, stock_data(st), ["floor"])


def publish_box_type(s: Session, b: BoxType) -> None:
    publish(s, "box_type", b.id, box_type_data(b), ["packing_ref"])


def order_audiences(o: Order) -> list[str]:
    return ["office", "packing"] if o.status in PACKING_STATUSES else ["office"]


def publish_order(s: Session, o: Order, with_lines: bool = True) -> None:
    audiences = order_audiences(o)
    publish(s, "order", o.id, order_data(o), audiences)
    if with_lines:
        for line in o.lines:
            publish(s, "order_line", line.id, line_data(line), audiences)


def publish_order_tasks(s: Session, o: Order) -> None:
    """Every pick task of the order again: each carries the order's status (a tote is free once it is packed)."""
    line_ids = [line.id for line in o.lines]
    for task in s.query(PickTask).filter(PickTask.line_id.in_(line_ids)):
        publish_task(s, task)


def publish_line(s: Session, line: OrderLine) -> None:
    publish(s, "order_line", line.id, line_data(line), order_audiences(line.order))


def batch_audiences(b: PickBatch) -> list[str]:
    return ["office", f"user:{b.claimed_by}"] if b.claimed_by else ["office"]


def publish_batch(s: Session, b: PickBatch, with_tasks: bool = True) -> None:
    audiences = batch_audiences(b)
    publish(s, "pick_batch", b.id, batch_data(b), audiences)
    if with_tasks:
        for t in b.tasks:
            publish(s, "pick_task", t.id, task_data(t), audiences)


def publish_task(s: Session, t: PickTask) -> None:
    publish(s, "pick_task", t.id, task_data(t), batch_audiences(t.batch))


def publish_parcel(s: Session, p: Parcel, order: Order) -> None:
    publish(s, "parcel", p.id, parcel_data(p), order_audiences(order))


def publish_parcel_gone(s: Session, parcel_id: int) -> None:
    """A parcel opened again (pack.reopen): a tombstone for everyone who had it."""
    publish(s, "parcel", parcel_id, None, ())


def publish_shot(s: Session, item: ShotListItem) -> None:
    product = s.get(Product, item.product_id)
    publish(s, "shot", item.id, shot_data(item, product), ["studio"])


def publish_sample(s: Session, sample: Sample) -> None:
    publish(s, "sample", sample.id, sample_data(sample), ["studio"])


def publish_asset(s: Session, a: Asset) -> None:
    publish(s, "asset", a.id, asset_data(a), ["studio"])


def publish_stock_check(s: Session, c: StockCheck) -> None:
    publish(s, "stock_check", c.id, stock_check_data(c), ["office"])
