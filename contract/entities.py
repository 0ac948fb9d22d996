"""What each entity of the pull feed carries: the fields a client may rely on.

The server publishes these rows (order_api/feed.py); the client checks every row against
them when it stores a page (sync/store/replica.py), so a field an integrator's server leaves out or
sends with the wrong type is the sync error of that page, never a crash in a screen.
Extra fields are allowed: a newer server may add some, an older client ignores them.
Statuses are plain strings here: a server may add a state an older client shows as is.
"""

import msgspec


class Entity(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One row of the feed; `id` is its primary key."""

    ENTITY = ""
    id: int


ENTITIES: dict[str, type[Entity]] = {}


def entity(name: str):
    """Register a struct as the feed entity `name`."""

    def register(cls: type[Entity]) -> type[Entity]:
        cls.ENTITY = name
        ENTITIES[name] = cls
        return cls

    return register


@entity("product")
class Product(Entity):
    """A product of the catalogue, with what packing and the studio need of it."""

    sku: str
    gtin: str
    name: str
    length_mm: int
    width_mm: int
    height_mm: int
    weight_g: int
    shot_angles: list[str]
    min_width_px: int
    min_height_px: int


@entity("location")
class Location(Entity):
    """A bin; pick walks follow route_key."""

    label: str
    zone: str
    aisle: int
    bay: int
    level: int
    route_key: str


@entity("stock")
class Stock(Entity):
    """How many units of a product a bin holds."""

    location_id: int
    product_id: int
    qty: int


@entity("stock_check")
class StockCheck(Entity):
    """A bin to count again after a short pick."""

    location_id: int
    product_id: int
    reason: str
    status: str


@entity("box_type")
class BoxType(Entity):
    """A box a packer may choose, with its inner size and empty weight."""

    code: str
    name: str
    length_mm: int
    width_mm: int
    height_mm: int
    tare_g: int
    max_weight_g: int | None = None  # contents and box together; None: no limit known


@entity("order")
class Order(Entity):
    """A customer order and where it is in the flow."""

    number: str
    customer: str
    status: str  # released, picking, picked, held, packed, shipped, cancelled
    tote: str | None
    batch_id: int | None
    packing_note: str | None = None  # what the packer must do (gift wrap, fragile); shown in large type
    hold_reason: str | None = None  # why a held order waits on the hold shelf (contract.actions.HOLD_REASONS)


@entity("order_line")
class OrderLine(Entity):
    """One product of an order, with how much is picked, short and packed."""

    order_id: int
    product_id: int
    sku: str
    gtin: str
    name: str
    qty: int
    picked_qty: int
    short_qty: int
    packed_qty: int


@entity("pick_batch")
class PickBatch(Entity):
    """Orders picked in one walk, claimed by one picker with a lease."""

    code: str
    status: str  # open, claimed, done
    claimed_by: int | None
    lease_expires: str | None  # ISO 8601


@entity("pick_task")
class PickTask(Entity):
    """Take qty of one product from one bin for one order line."""

    batch_id: int
    line_id: int
    order_id: int
    order_number: str
    order_status: str
    tote: str | None
    location_id: int
    location_label: str
    route_key: str
    product_id: int
    sku: str
    gtin: str
    product_name: str
    qty: int
    picked_qty: int
    status: str  # open, done, short
    short_reason: str | None


class ParcelLine(msgspec.Struct, frozen=True, kw_only=True):
    """Units of one order line in a parcel."""

    line_id: int
    qty: int


@entity("parcel")
class Parcel(Entity):
    """A closed parcel of an order."""

    order_id: int
    box_type: str
    weight_g: int
    tracking_number: str | None
    items: list[ParcelLine]
    ref: str | None = None  # the packing device's id for the parcel (pack.confirm), by which its label is fetched
    expected_weight_g: int | None = None  # the items' and the box's weight as the catalogue has them


@entity("shot")
class Shot(Entity):
    """A SKU on the shot list, with the angles it needs and its review."""

    product_id: int
    sku: str
    name: str
    status: str  # open, shot, approved, rejected
    qc_comment: str | None
    angles: list[str]
    min_width_px: int
    min_height_px: int


@entity("sample")
class Sample(Entity):
    """A physical sample of a product, in the studio or returned."""

    product_id: int
    barcode: str
    status: str
    checked_in_at: str | None
    checked_out_at: str | None


@entity("asset")
class Asset(Entity):
    """An uploaded image of a product, and the angle it was assigned to."""

    product_id: int
    object_key: str
    sha256: str
    size: int
    content_type: str
    angle: str | None
    width_px: int | None
    height_px: int | None
    status: str
    integrity: str = "unchecked"  # unchecked, verified or corrupt: what the server's scrub found reading it back
    filename: str | None = None  # the photographer's file name
    uploaded_by: str | None = None  # who uploaded it (display name)
