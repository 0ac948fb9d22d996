"""Every action a device may push: its name, who may do it, its typed arguments and the codes it may meet.

An action describes intent, never new values (ARCHITECTURE.md §2). Its arguments are a
frozen msgspec struct: the client builds one (`PickConfirm(task=7, ...)`), the server
validates what arrives with `parse_args` (strict types, unknown fields refused) and the
published contract (docs/openapi.json) is exported from the same classes.
"""

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta

from contract.fields import Grams, Id, Pixels, Qty, code, text
from contract.rejections import ANY_ACTION, Rejection as R


class Args(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The arguments of one action; each subclass is registered with `@action`."""

    NAME: ClassVar[str]

    def wire(self) -> dict[str, Any]:
        """The arguments as they travel in a push (plain JSON values)."""
        return msgspec.to_builtins(self)

    def checked(self) -> dict[str, Any]:
        """wire(), once the values meet their constraints (building a struct does not check them).

        Raises InvalidArgs, so a device never queues what the server is bound to refuse.
        """
        wire = self.wire()
        parse_args(self.NAME, wire)
        return wire


class Part(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A nested value inside an action's arguments (a parcel, an item)."""


@dataclass(frozen=True)
class Action:
    """One action of the contract."""

    name: str
    args: type[Args]
    roles: tuple[str, ...]  # besides admin, who may do everything
    rejections: tuple[R, ...]  # besides ANY_ACTION
    summary: str

    @property
    def codes(self) -> tuple[R, ...]:
        return ANY_ACTION + self.rejections


ACTIONS: dict[str, Action] = {}


def action(name: str, *, roles: tuple[str, ...], rejections: tuple[R, ...]):
    """Register an argument class as the action `name`; its docstring is the action's summary."""

    def register(cls: type[Args]) -> type[Args]:
        if name in ACTIONS:
            raise ValueError(f"action {name} declared twice")
        cls.NAME = name
        ACTIONS[name] = Action(name, cls, roles, rejections, (cls.__doc__ or "").strip())
        return cls

    return register


class InvalidArgs(ValueError):
    """Arguments that do not match their action's declaration; the message says where."""


def parse_args(name: str, args: object) -> Args:
    """The typed arguments of the action `name`; InvalidArgs if they do not match (KeyError: unknown name)."""
    try:
        return msgspec.convert(args, ACTIONS[name].args, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidArgs(str(exc)) from None


PICKING = ("picker", "supervisor")
PACKING = ("packer", "supervisor")
STUDIO = ("photographer", "supervisor")

ShortReason = Literal["not_found", "damaged", "qty_wrong"]
SHORT_REASONS: tuple[str, ...] = ShortReason.__args__
# Why a packer confirmed a unit without scanning it.
ManualReason = Literal["label_damaged", "no_barcode", "scanner_fault"]
MANUAL_REASONS: tuple[str, ...] = ManualReason.__args__
# Why an order goes to the hold shelf instead of into a box.
HoldReason = Literal["item_missing", "item_damaged", "wrong_item", "other"]
HOLD_REASONS: tuple[str, ...] = HoldReason.__args__
# Why packed parcels are opened again before they ship.
ReopenReason = Literal["wrong_item", "wrong_box", "damaged", "label_problem", "other"]
REOPEN_REASONS: tuple[str, ...] = ReopenReason.__args__


# --- picking ---------------------------------------------------------------------------

@action("pick.confirm", roles=PICKING, rejections=(R.UNKNOWN_TASK, R.LEASE_LOST, R.ORDER_CANCELLED, R.ORDER_CLOSED,
                                                  R.WRONG_LOCATION, R.WRONG_PRODUCT, R.OVER_PICK))
class PickConfirm(Args):
    """The picker took qty units of the task's product from the task's bin."""

    task: Id
    location: code(64, "label of the bin the picker scanned")
    qty: Qty
    barcode: code(128, "the product barcode as scanned (GTIN, GS1 element string or SKU)")


@action("pick.short", roles=PICKING, rejections=(R.UNKNOWN_TASK, R.LEASE_LOST, R.ORDER_CANCELLED, R.ORDER_CLOSED,
                                                R.TASK_CLOSED))
class PickShort(Args):
    """The rest of a task cannot be picked from its bin; the server counts the bin and looks elsewhere."""

    task: Id
    reason: ShortReason


@action("pick.undo", roles=PICKING, rejections=(R.UNKNOWN_TASK, R.LEASE_LOST, R.ORDER_CLOSED, R.NOTHING_TO_UNDO))
class PickUndo(Args):
    """Take back a confirmed pick: the units go back into the bin."""

    task: Id
    confirmation: code(36, "id of the pick.confirm to take back; default the task's last one") | None = None


@action("tote.assign", roles=PICKING, rejections=(R.UNKNOWN_BATCH, R.LEASE_LOST, R.ORDER_NOT_IN_BATCH,
                                                 R.ORDER_CANCELLED, R.ORDER_CLOSED, R.TOTE_IN_USE))
class ToteAssign(Args):
    """Put an order of the batch into a tote that holds no other open order."""

    batch: Id
    order: Id
    tote: code(32, "the tote's label")


# --- packing ---------------------------------------------------------------------------

class PackedUnit(Part):
    """One unit of a line as it went into the box: its lot or serial when the barcode carried one, or
    why it was confirmed without a scan."""

    lot: code(20, "GS1 AI 10, batch or lot number, as scanned") | None = None
    serial: code(20, "GS1 AI 21, serial number, as scanned") | None = None
    manual: ManualReason | None = None


class ParcelItem(Part):
    """Units of one order line in a parcel."""

    line: Id
    qty: Qty
    # Only the units with something to record: a lot, a serial, or a manual confirmation.
    units: Annotated[list[PackedUnit], Meta(max_length=10_000)] = []


class ParcelSpec(Part):
    """One closed parcel: its box, its weight and what is in it."""

    box_type: code(16, "code of a box type from the feed")
    weight_g: Grams
    items: Annotated[list[ParcelItem], Meta(min_length=1, max_length=500)]
    ref: code(36, "the device's own id for this parcel (a UUID): its label is fetched by it") | None = None


@action("pack.confirm", roles=PACKING, rejections=(R.UNKNOWN_ORDER, R.ORDER_CANCELLED, R.ALREADY_PACKED,
                                                  R.NOT_PICKED, R.ORDER_HELD, R.UNKNOWN_BOX_TYPE, R.PACK_MISMATCH))
class PackConfirm(Args):
    """Every picked unit of the order went into exactly one parcel; the order is packed."""

    order: Id
    parcels: Annotated[list[ParcelSpec], Meta(min_length=1, max_length=50)]


@action("pack.hold", roles=PACKING, rejections=(R.UNKNOWN_ORDER, R.ORDER_CANCELLED, R.ALREADY_PACKED, R.NOT_PICKED,
                                               R.ORDER_HELD))
class PackHold(Args):
    """The order cannot be packed as picked: it goes to the hold shelf, where a supervisor sees it."""

    order: Id
    reason: HoldReason
    line: Id | None = None  # the line concerned, when it is one
    note: text(200, "what the packer saw") = ""


@action("pack.release", roles=("supervisor",), rejections=(R.UNKNOWN_ORDER, R.NOT_HELD))
class PackRelease(Args):
    """A supervisor sorted out a held order (the missing item found, a damaged one replaced): back to packing."""

    order: Id


@action("pack.reopen", roles=PACKING, rejections=(R.UNKNOWN_ORDER, R.NOT_PACKED, R.ALREADY_SHIPPED))
class PackReopen(Args):
    """Open a packed order's parcels again before it ships: the parcels and their labels are void."""

    order: Id
    reason: ReopenReason


# --- studio ----------------------------------------------------------------------------

@action("sample.check_in", roles=STUDIO, rejections=(R.UNKNOWN_SKU, R.SAMPLE_MISMATCH, R.ALREADY_CHECKED_IN))
class SampleCheckIn(Args):
    """A physical sample of a product arrived in the studio."""

    barcode: code(48, "the sample's own barcode")
    sku: code(32, "the product's SKU")


@action("sample.check_out", roles=STUDIO, rejections=(R.UNKNOWN_SAMPLE, R.NOT_CHECKED_IN))
class SampleCheckOut(Args):
    """A sample left the studio."""

    barcode: code(48, "the sample's own barcode")


@action("shot.qc", roles=("supervisor",), rejections=(R.UNKNOWN_SHOT, R.COMMENT_REQUIRED))
class ShotQc(Args):
    """Approve a SKU's shots, or reject them with a comment saying what to redo."""

    shot: Id
    decision: Literal["approve", "reject"]
    comment: text(500, "what to redo; required when rejecting") = ""


@action("asset.register", roles=STUDIO, rejections=(R.UNKNOWN_ASSET, R.UNKNOWN_ANGLE, R.RESOLUTION_TOO_LOW))
class AssetRegister(Args):
    """Assign an uploaded image to one required angle of its SKU."""

    asset: Id
    angle: code(32, "one of the product's shot angles")
    width_px: Pixels
    height_px: Pixels
