"""Every code a server may answer a pushed action with, and what it means.

A rejection is final: the device's sequence advances, the client keeps the action with
its code and message and shows it to a supervisor (ARCHITECTURE.md §2).
"""

from enum import StrEnum


class Rejection(StrEnum):
    """Why the server refused an action for good."""

    # Any action
    UNKNOWN_MUTATION = "unknown_mutation"
    UNKNOWN_USER = "unknown_user"
    FORBIDDEN = "forbidden"
    INVALID_ARGS = "invalid_args"
    # Picking
    UNKNOWN_TASK = "unknown_task"
    UNKNOWN_BATCH = "unknown_batch"
    LEASE_LOST = "lease_lost"
    ORDER_CANCELLED = "order_cancelled"
    ORDER_CLOSED = "order_closed"
    ORDER_NOT_IN_BATCH = "order_not_in_batch"
    WRONG_LOCATION = "wrong_location"
    WRONG_PRODUCT = "wrong_product"
    OVER_PICK = "over_pick"
    TASK_CLOSED = "task_closed"
    NOTHING_TO_UNDO = "nothing_to_undo"
    TOTE_IN_USE = "tote_in_use"
    # Packing
    UNKNOWN_ORDER = "unknown_order"
    ALREADY_PACKED = "already_packed"
    NOT_PICKED = "not_picked"
    UNKNOWN_BOX_TYPE = "unknown_box_type"
    PACK_MISMATCH = "pack_mismatch"
    ORDER_HELD = "order_held"
    NOT_PACKED = "not_packed"
    NOT_HELD = "not_held"
    ALREADY_SHIPPED = "already_shipped"
    # Studio
    UNKNOWN_SKU = "unknown_sku"
    UNKNOWN_SAMPLE = "unknown_sample"
    SAMPLE_MISMATCH = "sample_mismatch"
    ALREADY_CHECKED_IN = "already_checked_in"
    NOT_CHECKED_IN = "not_checked_in"
    UNKNOWN_SHOT = "unknown_shot"
    COMMENT_REQUIRED = "comment_required"
    UNKNOWN_ASSET = "unknown_asset"
    UNKNOWN_ANGLE = "unknown_angle"
    RESOLUTION_TOO_LOW = "resolution_too_low"


MEANINGS: dict[Rejection, str] = {
    Rejection.UNKNOWN_MUTATION: "the server does not know an action of this name",
    Rejection.UNKNOWN_USER: "the action's user does not exist or is disabled",
    Rejection.FORBIDDEN: "the user never signed in on this device, or their roles do not allow the action",
    Rejection.INVALID_ARGS: "an argument is missing, of the wrong type, out of range or not allowed",
    Rejection.UNKNOWN_TASK: "no pick task has this id",
    Rejection.UNKNOWN_BATCH: "no pick batch has this id",
    Rejection.LEASE_LOST: "the batch is no longer claimed by this user (expired and taken, or reassigned)",
    Rejection.ORDER_CANCELLED: "the order was cancelled; the items go back",
    Rejection.ORDER_CLOSED: "the order is already packed or shipped",
    Rejection.ORDER_NOT_IN_BATCH: "the order is not part of the batch",
    Rejection.WRONG_LOCATION: "the scanned location is not the task's bin",
    Rejection.WRONG_PRODUCT: "the scanned barcode is not the task's product",
    Rejection.OVER_PICK: "more units than the task still needs",
    Rejection.TASK_CLOSED: "the task is already done or short",
    Rejection.NOTHING_TO_UNDO: "the task has no confirmed pick left to take back",
    Rejection.TOTE_IN_USE: "the tote holds another order still being picked or packed",
    Rejection.UNKNOWN_ORDER: "no order has this id",
    Rejection.ALREADY_PACKED: "the order is already packed or shipped",
    Rejection.NOT_PICKED: "the order is not completely picked yet",
    Rejection.UNKNOWN_BOX_TYPE: "a parcel names a box type the server does not have",
    Rejection.PACK_MISMATCH: "the parcels do not hold exactly the picked units of the order's lines, or a "
                             "serial number appears twice",
    Rejection.ORDER_HELD: "the order is on the hold shelf waiting for a supervisor",
    Rejection.NOT_PACKED: "the order has no packed parcels to reopen",
    Rejection.NOT_HELD: "the order is not on the hold shelf",
    Rejection.ALREADY_SHIPPED: "the order has left the building; its parcels can no longer be opened",
    Rejection.UNKNOWN_SKU: "no product has this SKU",
    Rejection.UNKNOWN_SAMPLE: "no sample has this barcode",
    Rejection.SAMPLE_MISMATCH: "the sample belongs to another SKU",
    Rejection.ALREADY_CHECKED_IN: "the sample is already in the studio",
    Rejection.NOT_CHECKED_IN: "the sample is not in the studio",
    Rejection.UNKNOWN_SHOT: "no shot list item has this id",
    Rejection.COMMENT_REQUIRED: "a rejected shot needs a comment saying what to redo",
    Rejection.UNKNOWN_ASSET: "no uploaded asset has this id",
    Rejection.UNKNOWN_ANGLE: "the product does not need this angle",
    Rejection.RESOLUTION_TOO_LOW: "the image is smaller than the product's minimum size",
}

# Every action may meet these, whatever it is.
ANY_ACTION = (Rejection.UNKNOWN_MUTATION, Rejection.UNKNOWN_USER, Rejection.FORBIDDEN, Rejection.INVALID_ARGS)
