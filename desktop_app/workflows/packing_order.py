"""One order on the bench while it is packed: its lines, the parcels so far and every verified unit.

Nothing here is stored until the order closes: the draft becomes one `pack.confirm`
(contract.actions.PackConfirm) with every parcel, its box, its weight and the units that
carry a lot, a serial or a manual confirmation.
"""

import uuid
from dataclasses import dataclass, field

from contract.actions import PackConfirm, PackedUnit, ParcelItem, ParcelSpec
from desktop_app.workflows.packing_fit import Item


@dataclass(frozen=True)
class PackLine:
    """An order line as the packer verifies it, with the catalogue's size and weight of one unit."""

    id: int
    product_id: int
    sku: str
    gtin: str  # GTIN-14, as scans are classified
    name: str
    qty: int  # units to pack: what was picked
    length_mm: int = 0
    width_mm: int = 0
    height_mm: int = 0
    weight_g: int = 0


@dataclass(frozen=True)
class Unit:
    """One verified unit: scanned (with a lot or serial when the barcode had one) or confirmed by hand."""

    line_id: int
    lot: str | None = None
    serial: str | None = None
    manual: str | None = None  # contract.actions.MANUAL_REASONS

    @property
    def noted(self) -> bool:
        """Whether the unit has something the server keeps (plain scanned units are only counted)."""
        return bool(self.lot or self.serial or self.manual)


@dataclass
class DraftParcel:
    """A box being filled, or closed with its box type and weight."""

    ref: str = field(default_factory=lambda: str(uuid.uuid4()))
    units: list[Unit] = field(default_factory=list)
    box: str | None = None
    weight_g: int | None = None

    def count(self, line_id: int) -> int:
        return sum(1 for u in self.units if u.line_id == line_id)


@dataclass
class OrderDraft:
    """The order being packed: lines to verify and the parcels they go into (the last one is open)."""

    order_id: int
    number: str
    tote: str | None
    note: str | None
    lines: list[PackLine]
    parcels: list[DraftParcel] = field(default_factory=lambda: [DraftParcel()])

    @property
    def parcel(self) -> DraftParcel:
        """The open parcel: the one scans go into."""
        return self.parcels[-1]

    def line(self, line_id: int) -> PackLine:
        return next(line for line in self.lines if line.id == line_id)

    def verified(self, line_id: int) -> int:
        return sum(p.count(line_id) for p in self.parcels)

    def remaining(self, line_id: int) -> int:
        return self.line(line_id).qty - self.verified(line_id)

    @property
    def complete(self) -> bool:
        return all(self.remaining(line.id) == 0 for line in self.lines)

    @property
    def units_total(self) -> int:
        return sum(line.qty for line in self.lines)

    @property
    def units_verified(self) -> int:
        return sum(len(p.units) for p in self.parcels)

    def serials(self, product_id: int) -> set[str]:
        ids = {line.id for line in self.lines if line.product_id == product_id}
        return {u.serial for p in self.parcels for u in p.units if u.line_id in ids and u.serial}

    def items_of(self, parcel: DraftParcel) -> list[Item]:
        """The open parcel's contents for the fit rule (desktop_app/workflows/packing_fit.py)."""
        return [Item(line.length_mm, line.width_mm, line.height_mm, line.weight_g, parcel.count(line.id))
                for line in self.lines if parcel.count(line.id)]

    def contents_weight(self, parcel: DraftParcel) -> int:
        return sum(line.weight_g * parcel.count(line.id) for line in self.lines)

    def action(self) -> PackConfirm:
        """The whole order as one pack.confirm: every closed parcel with its units."""
        parcels = []
        for parcel in self.parcels:
            items = []
            for line in self.lines:
                units = [u for u in parcel.units if u.line_id == line.id]
                if units:
                    noted = [PackedUnit(lot=u.lot, serial=u.serial, manual=u.manual) for u in units if u.noted]
                    items.append(ParcelItem(line=line.id, qty=len(units), units=noted))
            parcels.append(ParcelSpec(box_type=parcel.box, weight_g=parcel.weight_g, items=items, ref=parcel.ref))
        return PackConfirm(order=self.order_id, parcels=parcels)
