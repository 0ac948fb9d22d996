"""Which box a parcel's items fit in, and whether a weighed parcel weighs what it should.

The fit rule, simple on purpose (a packer checks it at a glance, and it never suggests a
box that is obviously too small):

1. every item fits in the box on its own: its sides, sorted, are each at most the box's
   inner sides, sorted;
2. the items' volumes add up to at most FILL of the box's inner volume (room for fill
   material and for shapes that do not stack without gaps);
3. the items' weight and the empty box's weight together are at most the box's limit.

The suggestion is the smallest box (by inner volume) that passes all three. When none
does, the parcel is too big for one box and the packer is told to split it.
"""

from dataclasses import dataclass
from enum import Enum

FILL = 0.8


@dataclass(frozen=True)
class Item:
    """Units of one product going into a parcel, with the catalogue's size and weight of one unit."""

    length_mm: int
    width_mm: int
    height_mm: int
    weight_g: int
    qty: int

    @property
    def volume(self) -> int:
        return self.length_mm * self.width_mm * self.height_mm * self.qty


@dataclass(frozen=True)
class Box:
    """A box type of the feed (contract.entities.BoxType)."""

    code: str
    name: str
    length_mm: int
    width_mm: int
    height_mm: int
    tare_g: int
    max_weight_g: int | None = None

    @property
    def volume(self) -> int:
        return self.length_mm * self.width_mm * self.height_mm


def fits(box: Box, items: list[Item]) -> bool:
    """The three rules of this module's docstring."""
    inner = sorted((box.length_mm, box.width_mm, box.height_mm))
    for item in items:
        if any(side > room for side, room in zip(sorted((item.length_mm, item.width_mm, item.height_mm)), inner)):
            return False
    if sum(i.volume for i in items) > FILL * box.volume:
        return False
    weight = box.tare_g + sum(i.weight_g * i.qty for i in items)
    return box.max_weight_g is None or weight <= box.max_weight_g


def smallest_fitting(boxes: list[Box], items: list[Item]) -> Box | None:
    """The box to suggest: the smallest that fits; None when no box holds all of them."""
    for box in sorted(boxes, key=lambda b: (b.volume, b.code)):
        if fits(box, items):
            return box
    return None


class Gate(str, Enum):
    """What a weight outside the tolerance does (setting packing.weight_gate)."""

    OFF = "off"  # weights are recorded, never compared
    WARN = "warn"  # the packer is told and may close the parcel anyway
    BLOCK = "block"  # the parcel cannot close until it weighs what it should


@dataclass(frozen=True)
class WeightCheck:
    """A weighed parcel against what its items and box should weigh."""

    expected_g: int
    weighed_g: int
    tolerance_g: int

    @property
    def difference_g(self) -> int:
        return self.weighed_g - self.expected_g

    @property
    def within(self) -> bool:
        return abs(self.difference_g) <= self.tolerance_g


def check_weight(expected_g: int, weighed_g: int, tolerance_pct: float, tolerance_min_g: int) -> WeightCheck:
    """Tolerance: a share of the expected weight, never less than tolerance_min_g (a light parcel's scale noise)."""
    tolerance = max(tolerance_min_g, round(expected_g * tolerance_pct / 100))
    return WeightCheck(expected_g, weighed_g, tolerance)
