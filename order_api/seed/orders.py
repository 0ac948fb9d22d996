"""Customer orders of a seed, grouped into pick batches whose tasks run in walking order.

Order numbers read "SO-100001", pick batch codes "PB-00001", tote codes "T-0001". The
customer column holds "Name, Street No, Postcode Town": the shipping label prints each
comma-separated part on its own line.

Released orders sit in released (unclaimed) batches: one PickTask per order line, from a
bin that holds enough of the product that no other released task has reserved (the bin is
topped up when none does, so every seeded task can be picked in full). Picked orders have
been through a finished batch: lines and tasks fully picked, each order in its own tote,
waiting at the packing stations.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from order_api.seed.vocabulary import FIRST_NAMES, LAST_NAMES, PACKING_NOTES, STREETS, TOWNS


@dataclass(frozen=True)
class OrderMix:
    """How many orders of each kind, how they are batched and how many lines they have."""

    released: int
    picked: int
    batch_size: int
    line_weights: tuple[int, ...] = (45, 25, 15, 10, 5)  # relative share of 1, 2, 3... lines


@dataclass
class OrderBook:
    """Rows of orders, order lines, pick batches and pick tasks, ids assigned."""

    orders: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    batches: list[dict] = field(default_factory=list)
    tasks: list[dict] = field(default_factory=list)


def customer(rng: random.Random) -> str:
    postcode, town = rng.choice(TOWNS)
    return (f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}, "
            f"{rng.choice(STREETS)} {rng.randint(1, 140)}, {postcode} {town}")


class _Bins:
    """Where each product is stocked, in walking order, and how much is already promised."""

    def __init__(self, stock: list[dict], locations: list[dict]) -> None:
        self.route = {loc["id"]: loc["route_key"] for loc in locations}
        self.by_product: dict[int, list[dict]] = {}
        for row in stock:
            self.by_product.setdefault(row["product_id"], []).append(row)
        for rows in self.by_product.values():
            rows.sort(key=lambda r: self.route[r["location_id"]])
        self.reserved: dict[int, int] = {}

    def reserve(self, product_id: int, qty: int) -> dict:
        """The first bin on the walk that can still give qty; tops up the first bin otherwise."""
        rows = self.by_product[product_id]
        for row in rows:
            if row["qty"] - self.reserved.get(row["id"], 0) >= qty:
                break
        else:
            row = rows[0]
            row["qty"] = self.reserved.get(row["id"], 0) + qty
        self.reserved[row["id"]] = self.reserved.get(row["id"], 0) + qty
        return row


def order_book(rng: random.Random, mix: OrderMix, products: list[dict], stock: list[dict],
               locations: list[dict], picker_id: int, now: datetime) -> OrderBook:
    """Picked orders first (they came in earlier), then released ones; may raise stock qty."""
    bins = _Bins(stock, locations)
    book = OrderBook()
    total = mix.picked + mix.released
    for done, order_ids in _batches(mix):
        batch_id = len(book.batches) + 1
        book.batches.append({
            "id": batch_id, "code": f"PB-{batch_id:05d}", "status": "done" if done else "released",
            "claimed_by": picker_id if done else None,
            "lease_expires": now - timedelta(hours=1) if done else None,
        })
        walk = []
        for order_id in order_ids:
            order = {
                "id": order_id, "number": f"SO-{100000 + order_id}", "customer": customer(rng),
                "status": "picked" if done else "released",
                "tote": f"T-{order_id:04d}" if done else None, "batch_id": batch_id,
                # From the order id, not the random stream, so every other seeded value stays as it was.
                "packing_note": PACKING_NOTES[order_id % len(PACKING_NOTES)], "hold_reason": None,
                "created_at": now - timedelta(minutes=3 * (total - order_id) + rng.randint(0, 2)),
            }
            book.orders.append(order)
            for line in _lines(rng, mix, products, order_id, first_id=len(book.lines) + 1, picked=done):
                book.lines.append(line)
                row = rng.choice(bins.by_product[line["product_id"]]) if done else bins.reserve(
                    line["product_id"], line["qty"])
                walk.append((bins.route[row["location_id"]], order_id, line["id"], row["location_id"], line["qty"]))
        for route, _order_id, line_id, location_id, qty in sorted(walk):
            book.tasks.append({
                "id": len(book.tasks) + 1, "batch_id": batch_id, "line_id": line_id,
                "location_id": location_id, "route_key": route, "qty": qty,
                "picked_qty": qty if done else 0, "status": "done" if done else "open",
                "short_reason": None,
            })
    return book


def _batches(mix: OrderMix):
    """(finished?, order ids) of each batch: picked orders' batches first, then released ones."""
    for first, count, done in ((1, mix.picked, True), (mix.picked + 1, mix.released, False)):
        for offset in range(0, count, mix.batch_size):
            yield done, range(first + offset, first + min(offset + mix.batch_size, count))


def _lines(rng: random.Random, mix: OrderMix, products: list[dict], order_id: int, first_id: int,
           picked: bool) -> list[dict]:
    count = rng.choices(range(1, len(mix.line_weights) + 1), mix.line_weights)[0]
    chosen: list[int] = []
    while len(chosen) < min(count, len(products)):
        # a few products sell far more than the rest
        product = products[int(len(products) * rng.random() ** 2)]
        if product["id"] not in chosen:
            chosen.append(product["id"])
    lines = []
    for n, product_id in enumerate(chosen):
        qty = rng.choices((1, 2, 3), (80, 15, 5))[0]
        lines.append({
            "id": first_id + n, "order_id": order_id, "product_id": product_id, "qty": qty,
            "picked_qty": qty if picked else 0, "short_qty": 0, "packed_qty": 0,
        })
    return lines
