"""The demo seed: a small warehouse a person can click through in a few minutes.

500 SKUs; 200 bins in zones A-D (5 aisles x 5 bays x 2 levels each); stock of every product
in 1-3 bins; 60 released orders in 12 unclaimed pick batches of 5; 20 picked orders in 4
finished batches, in totes T-0001..T-0020, waiting to be packed; cartons S, M, L, XL; a shot
list of 40 SKUs with 6 samples in the studio; and the users of seed/staff.py.
"""

import random
from datetime import datetime

from order_api.seed import catalog, floor, orders, staff, studio
from order_api.seed.writer import SeedRows

PLAN = floor.FloorPlan(zones=4, aisles=5, bays=5, levels=2)
MIX = orders.OrderMix(released=60, picked=20, batch_size=5, line_weights=(50, 30, 15, 5))


def build(now: datetime) -> SeedRows:
    """The demo rows; everything but timestamps and secret hashes is the same on every call."""
    products = catalog.products(random.Random("demo/catalog"), 500)
    locations = floor.locations(PLAN)
    stock = floor.stock(random.Random("demo/stock"), products, locations)
    book = orders.order_book(random.Random("demo/orders"), MIX, products, stock, locations,
                             picker_id=staff.user_id("anna"), now=now)
    shots = studio.shot_list(random.Random("demo/studio"), products, 40)
    return SeedRows(
        users=staff.users(), products=products, locations=locations, stock=stock,
        box_types=floor.box_types(), batches=book.batches, orders=book.orders, lines=book.lines,
        tasks=book.tasks, shots=shots,
        samples=studio.samples(shots, 6, photographer_id=staff.user_id("chloe"), now=now),
    )
