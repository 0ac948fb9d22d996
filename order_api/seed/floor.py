"""The warehouse floor of a seed: bin locations in walking order, stock, carton sizes.

A location's route key and its label are both "A-01-03-2": zone letter, aisle, bay and
level, zero-padded so that sorting route keys gives the walking order (zone by zone, aisle
by aisle, bay by bay up the aisle, bottom level first). The label is the same text, as it
is printed on the shelf sign and scanned by the picker; the two columns stay separate
because a real site may renumber its walk without relabelling its shelves.
"""

import random
import string
from dataclasses import dataclass

# Cartons of a typical parcel carrier's size classes: inner size in mm, empty weight in g.
# code, name, inner length, width, height (mm), empty weight, most it carries (g)
BOX_TYPES = (
    ("S", "Small carton", 250, 175, 100, 120, 5_000),
    ("M", "Medium carton", 350, 250, 150, 220, 10_000),
    ("L", "Large carton", 450, 350, 250, 380, 20_000),
    ("XL", "Extra large carton", 600, 400, 400, 650, 31_500),
)


@dataclass(frozen=True)
class FloorPlan:
    """How many zones, aisles per zone, bays per aisle and levels per bay the site has."""

    zones: int
    aisles: int
    bays: int
    levels: int

    @property
    def size(self) -> int:
        return self.zones * self.aisles * self.bays * self.levels


def route_key(zone: str, aisle: int, bay: int, level: int) -> str:
    return f"{zone}-{aisle:02d}-{bay:02d}-{level}"


def locations(plan: FloorPlan, count: int | None = None) -> list[dict]:
    """Location rows in walking order; count < plan.size spreads them evenly over the plan."""
    grid = [
        (zone, aisle, bay, level)
        for zone in string.ascii_uppercase[:plan.zones]
        for aisle in range(1, plan.aisles + 1)
        for bay in range(1, plan.bays + 1)
        for level in range(1, plan.levels + 1)
    ]
    count = plan.size if count is None else count
    if not 0 < count <= len(grid):
        raise ValueError(f"a floor plan of {len(grid)} bins cannot hold {count} locations")
    picked = [grid[i * len(grid) // count] for i in range(count)]
    return [
        {"id": n, "label": route_key(*cell), "zone": cell[0], "aisle": cell[1], "bay": cell[2],
         "level": cell[3], "route_key": route_key(*cell)}
        for n, cell in enumerate(picked, start=1)
    ]


def stock(rng: random.Random, products: list[dict], locations: list[dict]) -> list[dict]:
    """Each product in 1-3 distinct bins with 6-60 pieces; rows ordered by product."""
    rows: list[dict] = []
    location_ids = [loc["id"] for loc in locations]
    for product in products:
        spread = min(rng.choices((1, 2, 3), (5, 3, 2))[0], len(location_ids))
        for location_id in sorted(rng.sample(location_ids, spread)):
            rows.append({"id": len(rows) + 1, "location_id": location_id, "product_id": product["id"],
                         "qty": rng.randint(6, 60)})
    return rows


def box_types() -> list[dict]:
    return [
        {"id": n, "code": code, "name": name, "length_mm": length, "width_mm": width,
         "height_mm": height, "tare_g": tare, "max_weight_g": limit}
        for n, (code, name, length, width, height, tare, limit) in enumerate(BOX_TYPES, start=1)
    ]
