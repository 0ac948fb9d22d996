"""What the packing session is and says: its options, its stages, its verdicts, and what it needs of the app."""

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from sqlalchemy import Connection

from desktop_app.workflows.packing_fit import Gate
from sync.outbox import Outbox
from sync.view import LocalView


class LabelSpool(Protocol):
    """sync.print_spool.PrintSpool, as packing uses it."""

    def labels_of(self, parcels: list[tuple[str, str | None, int | None]],
                  user_id: str) -> Callable[[Connection], list[int]]: ...

    def labels_added(self) -> None: ...

    def jobs(self, limit: int = 100) -> list: ...

    def cancel_parcel(self, parcel_ref: str, reason: str, user_id: str | None = None) -> int: ...

    def add_document(self, kind: str, name: str, data: bytes, user_id: str) -> int: ...


class PackingCore(Protocol):
    """The parts of sync.client.ClientCore that packing needs."""

    outbox: Outbox
    view: LocalView


@dataclass(frozen=True)
class PackingOptions:
    """Settings of the bench (desktop_app/settings.py, packing.*)."""

    auto_close: bool = True  # the last unit of the order closes its parcel (and so the order)
    weight_gate: Gate = Gate.WARN
    tolerance_pct: float = 10.0
    tolerance_min_g: int = 50
    has_scale: bool = True  # False: the packer types the weight


class Stage(str, Enum):
    """What the bench is waiting for."""

    IDLE = "idle"  # a tote, an order number or an item
    CHOOSE_ORDER = "choose_order"  # the item is in several waiting orders: which one
    PACKING = "packing"  # units of the open order
    WEIGH = "weigh"  # the parcel on the scale (or its weight typed in)
    COUNT = "count"  # how many of the current item are in the box
    MANUAL = "manual"  # why the current item cannot be scanned
    HOLD = "hold"  # why the order goes to the hold shelf
    REOPEN = "reopen"  # why a packed order is opened again


@dataclass(frozen=True)
class Verdict:
    """What a scan or key led to: the view plays the sound, flashes the colour and shows the words."""

    kind: str  # desktop_app.feedback.KINDS
    message: str
