"""Packing actions: pack.confirm, pack.hold, pack.reopen."""

from contract.actions import PackConfirm, PackHold, PackRelease, PackReopen
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


def _describe_pack(a: dict) -> list[Words]:
    parts = [Words(QT_TRANSLATE_NOOP(WORDS, "order {order}"))] if "order" in a else []
    parcels = a.get("parcels") if isinstance(a.get("parcels"), list) else []
    if parcels:
        items = sum(i.get("qty", 0) for p in parcels for i in p.get("items") or [])
        parts += [Words(QT_TRANSLATE_NOOP(WORDS, "%n parcel(s)"), len(parcels)),
                  Words(QT_TRANSLATE_NOOP(WORDS, "%n item(s)"), items)]
    return parts


def _held(a: PackHold, orders: Rows, _: Earlier) -> None:
    order = orders.get(a.order)
    if order is not None:
        order["status"], order["hold_reason"] = "held", a.reason


def _released(a: PackRelease, orders: Rows, _: Earlier) -> None:
    order = orders.get(a.order)
    if order is not None and order.get("status") == "held":
        order["status"], order["hold_reason"] = "picked", None


def _reopened(a: PackReopen, orders: Rows, _: Earlier) -> None:
    order = orders.get(a.order)
    if order is not None and order.get("status") == "packed":
        order["status"] = "picked"


def _unpacked_lines(a: PackReopen, lines: Rows, _: Earlier) -> None:
    for line in lines.values():
        if line.get("order_id") == a.order:
            line["packed_qty"] = 0


def _parcels_gone(a: PackReopen, parcels: Rows, _: Earlier) -> None:
    for parcel_id in [i for i, p in parcels.items() if p.get("order_id") == a.order]:
        del parcels[parcel_id]


# Words for the reasons of contract.actions.HOLD_REASONS and REOPEN_REASONS, as the packer picks them.
HOLD_WORDS = {
    "item_missing": QT_TRANSLATE_NOOP(WORDS, "An item is missing"),
    "item_damaged": QT_TRANSLATE_NOOP(WORDS, "An item is damaged"),
    "wrong_item": QT_TRANSLATE_NOOP(WORDS, "A wrong item is in the tote"),
    "other": QT_TRANSLATE_NOOP(WORDS, "Another problem"),
}
REOPEN_WORDS = {
    "wrong_item": QT_TRANSLATE_NOOP(WORDS, "A wrong item is in a parcel"),
    "wrong_box": QT_TRANSLATE_NOOP(WORDS, "The box is wrong"),
    "damaged": QT_TRANSLATE_NOOP(WORDS, "Something got damaged"),
    "label_problem": QT_TRANSLATE_NOOP(WORDS, "The label is wrong"),
    "other": QT_TRANSLATE_NOOP(WORDS, "Another reason"),
}


def _describe_order(a: dict) -> list[Words]:
    return [Words(QT_TRANSLATE_NOOP(WORDS, "order {order}"))] if "order" in a else []


ENTRIES = (
    Entry(PackConfirm, QT_TRANSLATE_NOOP(WORDS, "Parcel packed"),
          {"order": Effect("id", "order", _packed), "order_line": Effect("order_id", "order", _packed_lines)},
          _describe_pack,
          {R.ORDER_CANCELLED: QT_TRANSLATE_NOOP(WORDS, "Do not ship this parcel: the order was cancelled. "
                                                       "Unpack it and return the items to stock."),
           R.ORDER_HELD: QT_TRANSLATE_NOOP(WORDS, "The order was put on the hold shelf meanwhile: take the parcel "
                                                  "off the outgoing shelf and decide with the packer.")}),
    Entry(PackHold, QT_TRANSLATE_NOOP(WORDS, "Order put on the hold shelf"),
          {"order": Effect("id", "order", _held)}, _describe_order),
    Entry(PackRelease, QT_TRANSLATE_NOOP(WORDS, "Order back from the hold shelf"),
          {"order": Effect("id", "order", _released)}, _describe_order),
    Entry(PackReopen, QT_TRANSLATE_NOOP(WORDS, "Packed parcels opened again"),
          {"order": Effect("id", "order", _reopened), "order_line": Effect("order_id", "order", _unpacked_lines),
           "parcel": Effect("order_id", "order", _parcels_gone)},
          _describe_order),
)
