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

    def count(self, entity: str, **where) -> int: ...


@dataclass(frozen=True)
class BenchOrder:
    """An order at the bench, as the packer identifies it."""

    id: int
    number: str
    tote: str | None
    status: str  # picked (waiting) or packed
    note: str | None


PRODUCTS_KEPT = 5_000  # a shift's products and then some; past it the cache starts again


def _gtin_forms(gtin14: str) -> list[str]:
    """The forms a catalogue may store a GTIN-14 in, the likeliest first: the EAN-13 it pads (what most
    catalogues keep), as is, then the UPC-A or EAN-8 it pads. Each form tried is a read of the local view."""
    shorter = [gtin14[-n:] for n in (13, 12, 8) if gtin14[:-n].strip("0") == ""]
    return shorter[:1] + [gtin14] + shorter[1:]


class Bench:
    """Answers the scans of the bench with indexed reads of the local view (tote, order number, GTIN).

    The bench of a busy warehouse has thousands of orders waiting: nothing here reads them all;
    `waiting` (the idle screen's count, on a worker) counts them without reading them. Each read
    of the local view costs about a millisecond, so what hardly changes during a shift is kept:
    the box types until the view moves, the products (size, weight, name) for the packer's session.
    """

    def __init__(self, view: View) -> None:
        self._view = view
        self._boxes: list[Box] | None = None
        self._products: dict[str, dict | None] = {}  # by GTIN as scanned (14 digits); None: not in the catalogue

    def changed(self) -> None:
        """The local view moved: the box types are read again when next asked for."""
        self._boxes = None

    @staticmethod
    def _order(row: dict) -> BenchOrder | None:
        # The status column is the server's; an action still queued here (a pack, a hold) has
        # changed the status in the row the view returns, which is the one that counts.
        if row["status"] not in ("picked", "packed"):
            return None
        return BenchOrder(row["id"], row["number"], row.get("tote"), row["status"], row.get("packing_note"))

    def _orders(self, **where) -> list[BenchOrder]:
        found = (self._order(row) for row in self._view.rows("order", **where))
        return sorted((o for o in found if o is not None), key=lambda o: (o.status != "picked", o.id))

    def waiting(self) -> int:
        """How many orders wait to be packed (counted, not read: thousands in a busy warehouse)."""
        return self._view.count("order", status="picked")

    def by_tote(self, tote: str) -> BenchOrder | None:
        """The order in the tote: the one waiting, else the last packed one (to open it again)."""
        found = self._orders(tote=tote.upper()) or self._orders(tote=tote)
        return found[0] if found else None

    def by_number(self, number: str) -> BenchOrder | None:
        found = self._orders(number=number.upper()) or self._orders(number=number)
        return found[0] if found else None

    def by_item(self, gtin14: str) -> list[BenchOrder]:
        """Waiting orders with this item picked, oldest first."""
        ids = sorted({line["order_id"] for gtin in _gtin_forms(gtin14)
                      for line in self._view.rows("order_line", gtin=gtin) if line.get("picked_qty", 0) > 0})
        orders = (self.order(i) for i in ids)
        return [o for o in orders if o is not None and o.status == "picked"]

    def order(self, order_id: int) -> BenchOrder | None:
        row = self._view.row("order", order_id)
        return self._order(row) if row is not None else None

    def draft(self, order: BenchOrder) -> OrderDraft:
        """A fresh draft of the order: its lines with what was picked, and the catalogue's size and weight."""
        lines = []
        for row in sorted(self._view.rows("order_line", order_id=order.id), key=lambda r: r["id"]):
            if row.get("picked_qty", 0) <= 0:
                continue  # short picked to nothing: nothing to pack
            p = self.product(row["gtin"].zfill(14)) or {}
            lines.append(PackLine(row["id"], row["product_id"], row["sku"], row["gtin"].zfill(14), row["name"],
                                  row["picked_qty"], p.get("length_mm", 0), p.get("width_mm", 0),
                                  p.get("height_mm", 0), p.get("weight_g", 0)))
        return OrderDraft(order.id, order.number, order.tote, order.note, lines)

    def product(self, gtin14: str) -> dict | None:
        """The catalogue's row of a product by its GTIN-14 (read once a session), None when unknown."""
        if gtin14 not in self._products:
            if len(self._products) > PRODUCTS_KEPT:
                self._products.clear()
            found = next((rows[0] for gtin in _gtin_forms(gtin14) if (rows := self._view.rows("product", gtin=gtin))),
                         None)
            self._products[gtin14] = found
        return self._products[gtin14]

    def product_name(self, gtin14: str) -> str | None:
        """What an item not in the order is, when the catalogue knows it (for "expected …, this is …")."""
        found = self.product(gtin14)
        return found["name"] if found else None

    def lines_of(self, order_id: int) -> list[tuple[int, int]]:
        """(line id, units picked) of an order's lines that have something to pack: is a draft still right?"""
        return sorted((r["id"], r["picked_qty"]) for r in self._view.rows("order_line", order_id=order_id)
                      if r.get("picked_qty", 0) > 0)

    def boxes(self) -> list[Box]:
        """The box types of the feed, smallest first: keys 1-9 choose them in this order."""
        if self._boxes is None:
            boxes = [Box(r["code"], r["name"], r["length_mm"], r["width_mm"], r["height_mm"], r["tare_g"],
                         r.get("max_weight_g")) for r in self._view.rows("box_type")]
            self._boxes = sorted(boxes, key=lambda b: (b.volume, b.code))
        return self._boxes
