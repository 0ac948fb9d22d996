"""The orders at the packing bench, and which one a scan opens.

Resolution order, when a scan could open several things (README: Packing):

1. a tote opens the order waiting in it; a tote always beats an item, even when the
   item also sits in other orders;
2. an order number opens that order;
3. an item opens the waiting order it belongs to, and counts as its first verified
   unit; an item in several waiting orders opens none: the packer picks one of them
   (keys 1-9), the oldest first.

"Waiting" means picked and not yet packed. A packed order is found too, so that it can be
opened again before it ships (pack.reopen).
"""

from dataclasses import dataclass
from typing import Protocol

from desktop_app.workflows.packing_fit import Box
from desktop_app.workflows.packing_order import OrderDraft, PackLine


class View(Protocol):
    """sync.view.LocalView: rows of the replica with the queued actions laid over them."""

    def rows(self, entity: str, **where) -> list[dict]: ...


@dataclass(frozen=True)
class BenchOrder:
    """An order at the bench, as the packer identifies it."""

    id: int
    number: str
    tote: str | None
    status: str  # picked (waiting) or packed
    note: str | None


class Bench:
    """Reads the waiting orders from the local view once per data change, and answers scans from memory."""

    def __init__(self, view: View) -> None:
        self._view = view
        self._stale = True
        self._orders: dict[int, BenchOrder] = {}
        self._by_tote: dict[str, int] = {}
        self._by_number: dict[str, int] = {}
        self._by_gtin: dict[str, list[int]] = {}
        self._lines: dict[int, list[dict]] = {}

    def changed(self) -> None:
        """The local view moved (a pull, a queued action): read again at the next question."""
        self._stale = True

    def _read(self) -> None:
        if not self._stale:
            return
        self._stale = False
        self._orders, self._by_tote, self._by_number, self._by_gtin, self._lines = {}, {}, {}, {}, {}
        # Not filtered on the status column: that is the server's, and an action still queued here
        # (a pack, a hold) has changed it in the rows the view returns.
        rows = sorted(self._view.rows("order"), key=lambda r: r["status"] != "picked")
        for row in rows:
            status = row["status"]
            if status not in ("picked", "packed"):
                continue
            order = BenchOrder(row["id"], row["number"], row.get("tote"), status, row.get("packing_note"))
            self._orders[order.id] = order
            self._by_number[order.number.upper()] = order.id
            if order.tote and order.tote.upper() not in self._by_tote:  # a waiting order's tote first
                self._by_tote[order.tote.upper()] = order.id
        for line in self._view.rows("order_line"):
            order = self._orders.get(line["order_id"])
            if order is None:
                continue
            self._lines.setdefault(order.id, []).append(line)
            if order.status == "picked" and line.get("picked_qty", 0) > 0:
                ids = self._by_gtin.setdefault(line["gtin"].zfill(14), [])
                if order.id not in ids:
                    ids.append(order.id)

    @property
    def waiting(self) -> list[BenchOrder]:
        """Orders waiting to be packed, oldest (lowest id) first."""
        self._read()
        return sorted((o for o in self._orders.values() if o.status == "picked"), key=lambda o: o.id)

    def by_tote(self, tote: str) -> BenchOrder | None:
        self._read()
        found = self._by_tote.get(tote.upper())
        return self._orders.get(found) if found is not None else None

    def by_number(self, number: str) -> BenchOrder | None:
        self._read()
        found = self._by_number.get(number.upper())
        return self._orders.get(found) if found is not None else None

    def by_item(self, gtin14: str) -> list[BenchOrder]:
        """Waiting orders with this item picked, oldest first."""
        self._read()
        return sorted((self._orders[i] for i in self._by_gtin.get(gtin14, [])), key=lambda o: o.id)

    def order(self, order_id: int) -> BenchOrder | None:
        self._read()
        return self._orders.get(order_id)

    def draft(self, order: BenchOrder) -> OrderDraft:
        """A fresh draft of the order: its lines with what was picked, and the catalogue's size and weight."""
        self._read()
        lines = []
        for row in sorted(self._lines.get(order.id, []), key=lambda r: r["id"]):
            if row.get("picked_qty", 0) <= 0:
                continue  # short picked to nothing: nothing to pack
            products = self._view.rows("product", gtin=row["gtin"]) or self._view.rows("product", sku=row["sku"])
            p = products[0] if products else {}
            lines.append(PackLine(row["id"], row["product_id"], row["sku"], row["gtin"].zfill(14), row["name"],
                                  row["picked_qty"], p.get("length_mm", 0), p.get("width_mm", 0),
                                  p.get("height_mm", 0), p.get("weight_g", 0)))
        return OrderDraft(order.id, order.number, order.tote, order.note, lines)

    def product_name(self, gtin14: str) -> str | None:
        """What an item not in the order is, when the catalogue knows it (for "expected …, this is …")."""
        for gtin in (gtin14, gtin14.lstrip("0").zfill(13)):
            rows = self._view.rows("product", gtin=gtin)
            if rows:
                return rows[0]["name"]
        return None

    def boxes(self) -> list[Box]:
        """The box types of the feed, smallest first: keys 1-9 choose them in this order."""
        boxes = [Box(r["code"], r["name"], r["length_mm"], r["width_mm"], r["height_mm"], r["tare_g"],
                     r.get("max_weight_g")) for r in self._view.rows("box_type")]
        return sorted(boxes, key=lambda b: (b.volume, b.code))
