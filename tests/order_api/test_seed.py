"""The demo and bench seeds: counts, valid GTINs, walkable batches, change log, determinism."""

import re
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select

from order_api.app import create_app
from order_api.db import Database
from order_api.models import (
    BoxType, Change, Location, Order, OrderLine, PickBatch, PickTask, Product, Sample, ShotListItem, Stock, User,
)
from order_api.models.base import utcnow
from order_api.security import verify_secret
from order_api.seed import bench, load_rows, load_seed
from order_api.seed.catalog import gs1_check_digit, is_valid_gtin
from order_api.server import start_in_thread
from order_api.settings import ServerSettings
from tests.order_api.harness import DeviceKeys

DEMO_USERS = {"anna": ("picker", "1111"), "ben": ("packer", "2222"), "chloe": ("photographer", "3333"),
              "sam": ("supervisor", "4444"), "ada": ("admin", "9999")}
# columns that hold the time of seeding or a salted hash, which differ between two loads
VOLATILE = {"created_at", "lease_expires", "checked_in_at", "pin_hash", "password_hash"}


@pytest.fixture
def demo(db_url):
    db = Database(db_url)
    db.create_schema()
    load_seed(db, "demo")
    yield db
    db.dispose()


def _rows(s, model) -> list[dict]:
    table = model.__table__
    columns = [c for c in table.columns if c.name not in VOLATILE]
    return [dict(r._mapping) for r in s.execute(select(*columns).order_by(*table.primary_key.columns))]


def _count(s, model) -> int:
    return len(s.execute(select(model.__table__.primary_key.columns[0])).all())


def test_demo_has_the_documented_size(demo):
    with demo.read() as s:
        assert _count(s, Product) == 500
        assert _count(s, Location) == 200
        assert _count(s, BoxType) == 4
        assert _count(s, ShotListItem) == 40
        assert 1 <= _count(s, Sample) <= 10
        assert {u.username: u.roles for u in s.execute(select(User)).scalars()} == {
            name: roles for name, (roles, _pin) in DEMO_USERS.items()}
        orders = s.execute(select(Order)).scalars().all()
        assert Counter(o.status for o in orders) == {"released": 60, "picked": 20}
        batches = s.execute(select(PickBatch)).scalars().all()
        assert Counter(b.status for b in batches) == {"released": 12, "done": 4}
        per_batch = Counter(o.batch_id for o in orders if o.status == "released")
        assert sorted(per_batch.values()) == [5] * 12
        zones = {loc.zone for loc in s.execute(select(Location)).scalars()}
        assert zones == {"A", "B", "C", "D"}


def test_every_product_is_stocked_in_one_to_three_bins(demo):
    with demo.read() as s:
        bins = Counter(s.execute(select(Stock.product_id)).scalars())
        assert set(bins) == set(s.execute(select(Product.id)).scalars())
        assert set(bins.values()) <= {1, 2, 3}


def test_gtins_have_valid_check_digits_and_are_unique(demo):
    with demo.read() as s:
        gtins = s.execute(select(Product.gtin)).scalars().all()
    assert all(len(g) == 13 and is_valid_gtin(g) for g in gtins)
    assert all(400 <= int(g[:3]) <= 440 for g in gtins)
    assert len(set(gtins)) == len(gtins)


def test_gs1_check_digit_matches_a_printed_ean13():
    # the EAN-13 on a STABILO pen, a common worked example of the mod-10 rule
    assert gs1_check_digit("400638133393") == "1"
    assert is_valid_gtin("4006381333931")
    assert not is_valid_gtin("4006381333932")
    assert not is_valid_gtin("40063813339A1")


def test_product_names_read_like_a_shop(demo):
    with demo.read() as s:
        names = s.execute(select(Product.name)).scalars().all()
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[A-Z][\w&' .,/-]+", n) for n in names), names[:5]
    assert any(re.search(r", (XS|S|M|L|XL|XXL)$", n) for n in names)  # garments come in sizes


def test_batches_walk_in_route_order_from_bins_that_hold_the_stock(demo):
    with demo.read() as s:
        stock = {(st.location_id, st.product_id): st.qty for st in s.execute(select(Stock)).scalars()}
        route = dict(s.execute(select(Location.id, Location.route_key)).all())
        promised: Counter = Counter()
        for batch in s.execute(select(PickBatch)).scalars():
            tasks = s.execute(
                select(PickTask).where(PickTask.batch_id == batch.id).order_by(PickTask.id)).scalars().all()
            assert tasks, batch.code
            keys = [t.route_key for t in tasks]
            assert keys == sorted(keys), batch.code
            for t in tasks:
                assert t.route_key == route[t.location_id]
                assert (t.location_id, t.line.product_id) in stock
                assert t.qty == t.line.qty
                assert t.line.order.batch_id == batch.id
                if t.status == "open":
                    promised[(t.location_id, t.line.product_id)] += t.qty
        assert all(qty <= stock[key] for key, qty in promised.items())
        lines = s.execute(select(OrderLine.id)).scalars().all()
        tasked = s.execute(select(PickTask.line_id)).scalars().all()
        assert sorted(tasked) == sorted(lines)  # one task per order line


def test_picked_orders_wait_in_their_own_totes(demo):
    with demo.read() as s:
        picked = s.execute(select(Order).where(Order.status == "picked")).scalars().all()
        totes = [o.tote for o in picked]
        assert all(re.fullmatch(r"T-\d{4}", t) for t in totes)
        assert len(set(totes)) == len(totes)
        assert all(line.picked_qty == line.qty and line.packed_qty == 0 for o in picked for line in o.lines)
        assert all(s.get(PickBatch, o.batch_id).status == "done" for o in picked)


def test_change_log_holds_every_row_for_its_audiences(demo):
    with demo.read() as s:
        changes = s.execute(select(Change)).scalars().all()
        published = defaultdict(set)
        for c in changes:
            assert c.op == "upsert"
            published[(c.entity, c.entity_id)].add(c.audience)
        for entity, model, audience in (("product", Product, "catalog"), ("location", Location, "floor"),
                                        ("stock", Stock, "floor"), ("box_type", BoxType, "packing_ref"),
                                        ("shot", ShotListItem, "studio"), ("sample", Sample, "studio")):
            for row_id in s.execute(select(model.id)).scalars():
                assert published[(entity, str(row_id))] == {audience}, (entity, row_id)
        for order in s.execute(select(Order)).scalars():
            expected = {"office", "packing"} if order.status == "picked" else {"office"}
            assert published[("order", str(order.id))] == expected
            for line in order.lines:
                assert published[("order_line", str(line.id))] == expected
        anna = s.execute(select(User.id).where(User.username == "anna")).scalar_one()
        for batch in s.execute(select(PickBatch)).scalars():
            expected = {"office", f"user:{anna}"} if batch.status == "done" else {"office"}
            assert published[("pick_batch", str(batch.id))] == expected
            for task in batch.tasks:
                assert published[("pick_task", str(task.id))] == expected
        seqs = sorted(c.seq for c in changes)
        assert seqs == list(range(1, len(changes) + 1))


def test_the_api_numbers_new_rows_after_the_seeded_ones(demo):
    with demo.write() as s:
        # prefix 2: in-store numbers, which the seeds never use
        gtin = "200000000001" + gs1_check_digit("200000000001")
        product = Product(sku="NEW-1", gtin=gtin, name="Sample Mug", length_mm=1, width_mm=1, height_mm=1,
                          weight_g=1)
        s.add(product)
        s.flush()
        assert product.id == 501


def test_demo_is_the_same_on_every_load(tmp_path):
    dumps = []
    for name in ("one", "two"):
        db = Database(f"sqlite:///{tmp_path}/{name}.db")
        db.create_schema()
        load_seed(db, "demo")
        with db.read() as s:
            dumps.append({m.__tablename__: _rows(s, m) for m in (
                User, Product, Location, Stock, BoxType, PickBatch, Order, OrderLine, PickTask,
                ShotListItem, Sample)})
            dumps[-1]["changes"] = [
                (c.seq, c.entity, c.entity_id, c.audience, {k: v for k, v in c.data.items() if k not in VOLATILE})
                for c in s.execute(select(Change).order_by(Change.seq)).scalars()]
        db.dispose()
    assert dumps[0] == dumps[1]


def test_a_seed_loads_once_and_only_into_an_empty_database(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/x.db")
    db.create_schema()
    try:
        with db.write() as s:
            s.add(User(username="zoe", display_name="Zoe", roles="admin"))
        with pytest.raises(ValueError, match="already holds data"):
            load_seed(db, "demo")
        with pytest.raises(ValueError, match="unknown seed"):
            load_seed(db, "tiny")
        with db.write() as s:
            s.delete(s.execute(select(User)).scalar_one())
        first = load_seed(db, "demo")
        assert "500 products" in first
        again = load_seed(db, "demo")
        assert "loaded before" in again
        with db.read() as s:
            assert _count(s, Product) == 500
        with pytest.raises(ValueError, match="already holds data"):
            load_seed(db, "bench")
    finally:
        db.dispose()


def test_demo_users_sign_in_over_http(tmp_path):
    url = f"sqlite:///{tmp_path}/api.db"
    settings = ServerSettings(db_url=url, blob_store=f"fs:{tmp_path}/blobs")
    db = Database(url)
    db.create_schema()
    load_seed(db, "demo")
    with db.read() as s:
        badges = dict(s.execute(select(User.username, User.badge)).all())
        ada = s.execute(select(User).where(User.username == "ada")).scalar_one()
        assert verify_secret("floorhand-admin", ada.password_hash)
    assert all(re.fullmatch(r"U\d{4}", b) for b in badges.values())
    server = start_in_thread(settings, app=create_app(settings, db=db))
    try:
        devices = DeviceKeys()
        for name, (roles, pin) in DEMO_USERS.items():
            with devices.signed_in(server.url, {"username": name, "pin": pin, "device_id": f"dev-{name}"}) as http:
                assert http.get("/v1/me").json()["roles"] == [roles]
        r = devices.token(server.url, {"badge": badges["ben"], "pin": "2222", "device_id": "pack-1"})
        assert r.status_code == 200, r.text
        r = devices.token(server.url, {"username": "ada", "password": "floorhand-admin", "device_id": "office-1"})
        assert r.status_code == 200, r.text
        r = devices.token(server.url, {"username": "anna", "pin": "2222", "device_id": "dev-anna"})
        assert r.status_code == 401
    finally:
        server.stop()


def test_bench_at_one_percent_scale_is_consistent(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/bench.db")
    db.create_schema()
    try:
        summary = load_rows(db, "bench", lambda: bench.build(utcnow(), scale=0.01))
        assert "1000 products" in summary
        with db.read() as s:
            assert _count(s, Product) == 1000
            assert _count(s, Location) == 20
            orders = s.execute(select(Order)).scalars().all()
            assert Counter(o.status for o in orders) == {"released": 180, "picked": 20}
            assert all(1 <= len(o.lines) <= 5 for o in orders)
            # the change log names exactly the rows in the tables
            for entity, model in (("product", Product), ("order", Order), ("pick_task", PickTask),
                                  ("stock", Stock), ("order_line", OrderLine)):
                logged = set(s.execute(select(Change.entity_id).where(Change.entity == entity,
                                                                      Change.audience != "packing")).scalars())
                assert logged == {str(i) for i in s.execute(select(model.id)).scalars()}, entity
            for batch in s.execute(select(PickBatch)).scalars():
                keys = [t.route_key for t in sorted(batch.tasks, key=lambda t: t.id)]
                assert keys == sorted(keys)
    finally:
        db.dispose()
