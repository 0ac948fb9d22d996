"""Packing actions: pack.confirm."""

from contract.actions import PackConfirm
from contract.rejections import Rejection as R
from sync.catalogue.entry import QT_TRANSLATE_NOOP, WORDS, Earlier, Effect, Entry, Rows, Words


def _packed(a: PackConfirm, orders: Rows, _: Earlier) -> None:
    order = orders.get(a.order)
    if order is not None:
        order["status"] = "packed"


def _packed_lines(a: PackConfirm, lines: Rows, _: Earlier) -> None:
    for parcel in a.parcels:
        for item in parcel.items:
            line = lines.get(item.line)
            if line is not None:
                line["packed_qty"] = line.get("packed_qty", 0) + item.qty


def _describe(a: dict) -> list[Words]:
    parts = [Words(QT_TRANSLATE_NOOP(WORDS, "order {order}"))] if "order" in a else []
    parcels = a.get("parcels") if isinstance(a.get("parcels"), list) else []
    if parcels:
        items = sum(i.get("qty", 0) for p in parcels for i in p.get("items") or [])
        parts += [Words(QT_TRANSLATE_NOOP(WORDS, "%n parcel(s)"), len(parcels)),
                  Words(QT_TRANSLATE_NOOP(WORDS, "%n item(s)"), items)]
    return parts


ENTRIES = (
    Entry(PackConfirm, QT_TRANSLATE_NOOP(WORDS, "Parcel packed"),
          {"order": Effect("id", "order", _packed), "order_line": Effect("order_id", "order", _packed_lines)},
          _describe, {R.ORDER_CANCELLED: QT_TRANSLATE_NOOP(WORDS, "Do not ship this parcel: the order was cancelled. "
                                                                  "Unpack it and return the items to stock.")}),
)
