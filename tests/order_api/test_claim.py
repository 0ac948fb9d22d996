"""Claiming pick batches: leases, claim-ahead, and many pickers claiming at once."""

from concurrent.futures import ThreadPoolExecutor

from tests.order_api import scenario


def test_claim_returns_the_batch_in_progress_again(api, warehouse, staff):
    anna = staff["anna"]
    first = anna.http.post("/v1/pick-batches/claim", json={}).json()["batches"]
    again = anna.http.post("/v1/pick-batches/claim", json={}).json()["batches"]
    assert [b["batch"]["id"] for b in first] == [b["batch"]["id"] for b in again]
    assert len(first) == 1 and first[0]["batch"]["claimed_by"] is not None


def test_claim_ahead_takes_more_batches(api, warehouse, staff):
    batches = staff["anna"].http.post("/v1/pick-batches/claim", json={"ahead": 1}).json()["batches"]
    assert len(batches) == 2
    assert all(b["tasks"] for b in batches)


def test_tasks_come_in_route_order(api, warehouse, staff):
    batch = staff["anna"].http.post("/v1/pick-batches/claim", json={}).json()["batches"][0]
    keys = [t["route_key"] for t in batch["tasks"]]
    assert keys == sorted(keys)


def test_renew_is_for_the_holder_only(api, warehouse, staff):
    anna, sam = staff["anna"], staff["sam"]
    batch = anna.http.post("/v1/pick-batches/claim", json={}).json()["batches"][0]
    assert anna.http.post(f"/v1/pick-batches/{batch['batch']['id']}/renew").status_code == 200
    r = sam.http.post(f"/v1/pick-batches/{batch['batch']['id']}/renew")
    assert r.status_code == 409 and r.json()["error"]["code"] == "lease_lost"


def test_an_expired_lease_can_be_claimed_by_another_picker(tmp_path, db_url):
    from tests.order_api import harness

    h = harness.start(tmp_path, db_url, lease_s=-1)
    try:
        scenario.build(h.db, batches=1)
        h.add_user("anna", "picker")
        h.add_user("piet", "picker")
        a = h.sign_in("anna").http.post("/v1/pick-batches/claim", json={}).json()["batches"]
        p = h.sign_in("piet").http.post("/v1/pick-batches/claim", json={}).json()["batches"]
        assert a[0]["batch"]["id"] == p[0]["batch"]["id"]
        assert p[0]["batch"]["claimed_by"] != a[0]["batch"]["claimed_by"]
    finally:
        h.stop()


def test_fifty_pickers_claiming_at_once_never_share_a_batch(api, staff):
    scenario.build(api.db, batches=60, orders_per_batch=1)
    names = [f"picker{i:02d}" for i in range(50)]
    for name in names:
        api.add_user(name, "picker")  # one PIN hash for all: scrypt is slow on purpose
    sessions = [api.sign_in(name) for name in names]

    def claim(session):
        r = session.http.post("/v1/pick-batches/claim", json={})
        assert r.status_code == 200, r.text
        return session.username, [b["batch"]["id"] for b in r.json()["batches"]]

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(claim, sessions))
    claimed = [bid for _, ids in results for bid in ids]
    assert all(len(ids) == 1 for _, ids in results)
    assert len(claimed) == 50 == len(set(claimed))
    owners = {b["batch"]["id"]: b["batch"]["claimed_by"] for b in
              staff["sam"].http.post("/v1/pick-batches/claim", json={"ahead": 0}).json()["batches"]}
    assert not set(owners) & set(claimed)
