"""What the picking screen shows: the picker's step, the cards of a task, a tote and a batch, and verdicts."""

from dataclasses import dataclass
from enum import Enum
from typing import Literal

from sync.journal_writer import Submission


class PickingState(Enum):
    """Where the picker is in a batch."""

    NO_BATCH = "no_batch"
    NEED_TOTES = "need_totes"
    NEED_LOCATION = "need_location"
    NEED_PRODUCT = "need_product"
    BATCH_DONE = "batch_done"


@dataclass(frozen=True)
class PickingOptions:
    """How strict picking is on this site, and how much work to claim for dead zones."""

    location_scan_required: bool = True
    claim_ahead: int = 0


@dataclass(frozen=True)
class Outcome:
    """What a scan or action led to; the view turns it into a sound, a colour and big text.

    "info" is news the picker did not ask for (work added to the walk) or a step back: no sound.
    """

    kind: Literal["accept", "reject", "done", "switch_user", "info"]
    message: str
    badge: str | None = None  # the scanned badge, for kind "switch_user"
    # The action this verdict stands for: show it only once stored (PickingSession.verdict).
    saving: Submission | None = None
    # What the screen shows with this outcome, worked out with it; None: read it again.
    screen: "Screen | None" = None


def reject(message: str) -> Outcome:
    """A refusal: the reject sound, a red flash and the reason; nothing changed."""
    return Outcome("reject", message)


@dataclass(frozen=True)
class TaskCard:
    """The current task as the picker sees it."""

    task_id: int
    order_number: str
    tote: str | None
    location_label: str
    product_name: str
    sku: str
    gtin: str
    qty: int
    picked_qty: int
    remaining: int
    location_confirmed: bool
    lines_done: int
    lines_total: int


@dataclass(frozen=True)
class ToteCard:
    """The order that needs a tote before picking starts."""

    order_id: int
    order_number: str
    orders_ready: int
    orders_total: int


@dataclass(frozen=True)
class BatchSummary:
    """How a batch went, for the end screen."""

    batch_id: int
    code: str
    lines_total: int
    lines_picked: int
    lines_short: int
    qty_picked: int
    queued_actions: int


@dataclass(frozen=True)
class Screen:
    """Everything the picking screen shows, read at one moment."""

    state: PickingState
    task: TaskCard | None
    tote: ToteCard | None
    summary: BatchSummary | None
