"""The bench seed: a warehouse at full size, to measure sync and API speed against.

At scale 1: 100,000 SKUs; 2,000 bins (zones A-D, 10 aisles x 10 bays x 5 levels); stock of
every product in 1-3 bins; 20,000 orders of 1-5 lines, 90% released in unclaimed batches of
10 and 10% picked in finished batches; cartons S, M, L, XL; a shot list of 1,000 SKUs with
20 samples; the users of seed/staff.py. A smaller scale shrinks every count but the users.
"""

import random
from datetime import datetime

from order_api.seed import catalog, floor, orders, staff, studio
from order_api.seed.writer import SeedRows

PLAN = floor.FloorPlan(zones=4, aisles=10, bays=10, levels=5)


def build(now: datetime, scale: float = 1.0) -> SeedRows:
    """The bench rows at this scale (0 < scale <= 1); deterministic but for timestamps and hashes."""
    if not 0 < scale <= 1:
        raise ValueError(f"bench scale must be in (0, 1], not {scale}")

    def scaled(n: int) -> int:
        return max(1, round(n * scale))

    total_orders = scaled(20_000)
    picked = total_orders // 10
    mix = orders.OrderMix(released=total_orders - picked, picked=picked, batch_size=10)
    products = catalog.products(random.Random("bench/catalog"), scaled(100_000))
    locations = floor.locations(PLAN, scaled(PLAN.size))
    stock = floor.stock(random.Random("bench/stock"), products, locations)
    book = orders.order_book(random.Random("bench/orders"), mix, products, stock, locations,
                             picker_id=staff.user_id("anna"), now=now)
    shots = studio.shot_list(random.Random("bench/studio"), products, scaled(1_000))
    return SeedRows(
        users=staff.users(), products=products, locations=locations, stock=stock,
        box_types=floor.box_types(), batches=book.batches, orders=book.orders, lines=book.lines,
        tasks=book.tasks, shots=shots,
        samples=studio.samples(shots, scaled(20), photographer_id=staff.user_id("chloe"), now=now),
    )
