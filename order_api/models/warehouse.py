"""Catalogue, floor, orders, picking and parcels."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from order_api.models.base import Base, utcnow

ORDER_STATUSES = ("released", "picking", "picked", "held", "packed", "shipped", "cancelled")


class Product(Base):
    """A SKU with its GTIN, physical data and studio shot requirements."""

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    gtin: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    length_mm: Mapped[int]
    width_mm: Mapped[int]
    height_mm: Mapped[int]
    weight_g: Mapped[int]
    shot_angles: Mapped[str] = mapped_column(String(200), default="front back side detail")
    min_width_px: Mapped[int] = mapped_column(default=2000)
    min_height_px: Mapped[int] = mapped_column(default=2000)


class Location(Base):
    """A bin on the floor: route key zone-aisle-bay-level, and its scannable label."""

    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(32), unique=True)
    zone: Mapped[str] = mapped_column(String(8))
    aisle: Mapped[int]
    bay: Mapped[int]
    level: Mapped[int]
    route_key: Mapped[str] = mapped_column(String(32), index=True)


class Stock(Base):
    """Quantity of one product in one location."""

    __tablename__ = "stock"
    __table_args__ = (UniqueConstraint("location_id", "product_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    qty: Mapped[int]


class StockCheck(Base):
    """A request to count a bin, raised by a short pick."""

    __tablename__ = "stock_checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    reason: Mapped[str] = mapped_column(String(32))
    raised_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Base):
    """A customer order moving through released, picking, picked, packed, shipped."""

    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), index=True, default="released")
    tote: Mapped[str | None] = mapped_column(String(32))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("pick_batches.id"), index=True)
    packing_note: Mapped[str | None] = mapped_column(String(200))
    hold_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", order_by="OrderLine.id")


class OrderLine(Base):
    """One product and quantity of an order, with what was picked and packed."""

    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    qty: Mapped[int]
    picked_qty: Mapped[int] = mapped_column(default=0)
    short_qty: Mapped[int] = mapped_column(default=0)
    packed_qty: Mapped[int] = mapped_column(default=0)
    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined", innerjoin=True)


class PickBatch(Base):
    """Lines of several orders picked in one walk, one tote per order, under a lease."""

    __tablename__ = "pick_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="released")
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lease_expires: Mapped[datetime | None]
    tasks: Mapped[list["PickTask"]] = relationship(back_populates="batch", order_by="PickTask.route_key")


class PickTask(Base):
    """Pick qty of one order line from one location; tasks run in route order."""

    __tablename__ = "pick_tasks"
    __table_args__ = (Index("ix_pick_tasks_batch_route", "batch_id", "route_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("pick_batches.id"))
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    route_key: Mapped[str] = mapped_column(String(40))
    qty: Mapped[int]
    picked_qty: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")
    short_reason: Mapped[str | None] = mapped_column(String(32))
    batch: Mapped[PickBatch] = relationship(back_populates="tasks")
    line: Mapped[OrderLine] = relationship(lazy="joined", innerjoin=True)
    location: Mapped[Location] = relationship(lazy="joined", innerjoin=True)


class PickEvent(Base):
    """One confirmed pick, kept so that it can be undone exactly."""

    __tablename__ = "pick_events"
    # A mutation id is unique within one device's queue only (see MutationResult).
    __table_args__ = (UniqueConstraint("device_id", "mutation_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("pick_tasks.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    mutation_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    qty: Mapped[int]
    undone: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class BoxType(Base):
    """A carton size the packing station can use."""

    __tablename__ = "box_types"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    length_mm: Mapped[int]
    width_mm: Mapped[int]
    height_mm: Mapped[int]
    tare_g: Mapped[int]
    max_weight_g: Mapped[int | None]  # what the carton carries, contents included; None: not limited


class Parcel(Base):
    """A closed box of an order, with its weight and, once labelled, a tracking number."""

    __tablename__ = "parcels"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    box_type_id: Mapped[int] = mapped_column(ForeignKey("box_types.id"))
    weight_g: Mapped[int]
    tracking_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    ref: Mapped[str | None] = mapped_column(String(36), unique=True)
    expected_weight_g: Mapped[int | None]
    packed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    items: Mapped[list["ParcelItem"]] = relationship(order_by="ParcelItem.id", cascade="all, delete-orphan")
    box_type: Mapped[BoxType] = relationship(lazy="joined", innerjoin=True)


class ParcelItem(Base):
    """Quantity of one order line inside a parcel."""

    __tablename__ = "parcel_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    qty: Mapped[int]
    units: Mapped[list["ParcelUnit"]] = relationship(order_by="ParcelUnit.id", cascade="all, delete-orphan")


class ParcelUnit(Base):
    """One unit in a parcel with something to remember: its lot, its serial, or why it was not scanned."""

    __tablename__ = "parcel_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("parcel_items.id"), index=True)
    lot: Mapped[str | None] = mapped_column(String(20))
    serial: Mapped[str | None] = mapped_column(String(20), index=True)
    manual: Mapped[str | None] = mapped_column(String(32))


class PackingEvent(Base):
    """An order put on the hold shelf or reopened after packing: who, on which device, when and why."""

    __tablename__ = "packing_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # hold, release, reopen
    reason: Mapped[str] = mapped_column(String(32))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
