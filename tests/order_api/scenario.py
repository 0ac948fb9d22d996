"""A tiny warehouse built directly in the database, so contract tests know every row."""

from dataclasses import dataclass

from order_api.feed import (
    publish_batch, publish_box_type, publish_location, publish_order, publish_product, publish_stock,
)
from order_api.models import BoxType, Location, Order, OrderLine, PickBatch, PickTask, Product, Stock


@dataclass
class Warehouse:
    products: list[int]
    gtins: list[str]
    locations: list[str]
    location_ids: list[int]
    batches: list[int]
    orders: list[int]
    tasks: dict[int, list[int]]


def build(db, batches: int = 2, orders_per_batch: int = 2) -> Warehouse:
    """Two products, four bins (the second product in two bins), batches of one-line orders."""
    with db.write() as s:
        products = [
            Product(sku="SKU-1", gtin="4006381333931", name="Rain Jacket, Olive, L", length_mm=300, width_mm=200,
                    height_mm=50, weight_g=600),
            Product(sku="SKU-2", gtin="4012345678901", name="Water Bottle 750 ml", length_mm=80, width_mm=80,
                    height_mm=260, weight_g=250),
        ]
        s.add_all(products)
        labels = ["A-01-01-1", "A-01-02-1", "B-02-01-1", "C-01-01-2"]
        locations = [Location(label=lbl, zone=lbl[0], aisle=int(lbl[2:4]), bay=int(lbl[5:7]), level=int(lbl[8]),
                              route_key=lbl) for lbl in labels]
        s.add_all(locations)
        s.add(BoxType(code="M", name="Medium", length_mm=400, width_mm=300, height_mm=200, tare_g=300))
        s.flush()
        stock = [Stock(location_id=locations[0].id, product_id=products[0].id, qty=100),
                 Stock(location_id=locations[1].id, product_id=products[1].id, qty=3),
                 Stock(location_id=locations[2].id, product_id=products[1].id, qty=50)]
        s.add_all(stock)
        batch_ids, order_ids, task_ids = [], [], {}
        n = 0
        for b in range(batches):
            batch = PickBatch(code=f"B{b + 1:04d}", status="released")
            s.add(batch)
            s.flush()
            batch_ids.append(batch.id)
            task_ids[batch.id] = []
            for _ in range(orders_per_batch):
                n += 1
                product = products[n % 2]
                order = Order(number=f"SO-{n:05d}", customer=f"Customer {n}", status="released", batch_id=batch.id)
                order.lines = [OrderLine(product_id=product.id, qty=2)]
                s.add(order)
                s.flush()
                order_ids.append(order.id)
                location = locations[0] if product is products[0] else locations[1]
                task = PickTask(batch_id=batch.id, line_id=order.lines[0].id, location_id=location.id,
                                route_key=location.route_key, qty=2)
                s.add(task)
                s.flush()
                task_ids[batch.id].append(task.id)
        s.flush()
        for p in products:
            publish_product(s, p)
        for loc in locations:
            publish_location(s, loc)
        for st in stock:
            publish_stock(s, st)
        publish_box_type(s, s.query(BoxType).one())
        for o in s.query(Order):
            publish_order(s, o)
        for b in s.query(PickBatch):
            s.refresh(b)
            publish_batch(s, b)
        return Warehouse([p.id for p in products], [p.gtin for p in products], labels,
                         [loc.id for loc in locations], batch_ids, order_ids, task_ids)
