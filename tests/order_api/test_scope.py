"""Direct routes and pushes keep to the caller's scope and device."""

from sqlalchemy import select

from order_api.models import MutationResult, Parcel, PickEvent
from tests.order_api.harness import claim, pick_args


def _status(r, code: str | None = None) -> int:
    if code is not None:
        assert r.json()["error"]["code"] == code, r.text
    return r.status_code


def test_a_packer_reads_ships_and_labels_only_orders_at_the_packing_station(api, warehouse, staff):
    anna, ben, sam = staff["anna"], staff["ben"], staff["sam"]
    batch = claim(anna)
    task = batch["tasks"][0]
    order = task["order_id"]
    released = next(o for o in warehouse.orders if o not in {t["order_id"] for t in batch["tasks"]})
    # Released and picking orders are not the packer's: they answer as if absent.
    for order_id in (released, order):
        assert _status(ben.http.get(f"/v1/orders/{order_id}"), "not_found") == 404
        assert _status(ben.http.post(f"/v1/orders/{order_id}/ship"), "not_found") == 404
    assert sam.http.get(f"/v1/orders/{released}").status_code == 200
    assert anna.do("pick.confirm", **pick_args(task))["status"] == "applied"
    picked = ben.http.get(f"/v1/orders/{order}")
    assert picked.status_code == 200 and picked.json()["status"] == "picked"
    assert _status(ben.http.post(f"/v1/orders/{order}/ship"), "not_packed") == 409
    parcels = [{"box_type": "M", "weight_g": 900, "items": [{"line": task["line_id"], "qty": task["qty"]}]}]
    assert ben.do("pack.confirm", order=order, parcels=parcels)["status"] == "applied"
    with api.db.read() as s:
        parcel = s.scalars(select(Parcel.id).where(Parcel.order_id == order)).one()
    assert ben.http.post(f"/v1/parcels/{parcel}/label").status_code == 200
    assert ben.http.post(f"/v1/orders/{order}/ship").status_code == 200
    # Shipped: gone from the packing station, still the office's.
    assert _status(ben.http.post(f"/v1/parcels/{parcel}/label"), "not_found") == 404
    assert _status(ben.http.get(f"/v1/orders/{order}"), "not_found") == 404
    assert sam.http.post(f"/v1/parcels/{parcel}/label").status_code == 200
    assert sam.http.get(f"/v1/orders/{order}").json()["status"] == "shipped"


def test_a_mutation_id_another_device_used_is_applied_on_its_own(api, warehouse, staff):
    anna = staff["anna"]
    api.add_user("pia", "picker")
    pia = api.sign_in("pia")
    mine, hers = claim(anna)["tasks"][0], claim(pia)["tasks"][0]
    first = anna.mutation("pick.confirm", pick_args(mine, 1))
    assert anna.push(first)["results"][0]["status"] == "applied"
    same_id = {**pia.mutation("pick.confirm", pick_args(hers, 1)), "id": first["id"]}
    result = pia.push(same_id)["results"][0]
    assert result == {"id": first["id"], "status": "applied", "code": None, "message": None, "original_status": None}
    assert anna.push(first)["results"][0]["status"] == "duplicate"  # each device's replay is its own
    assert pia.push(same_id)["results"][0]["original_status"] == "applied"
    undo = pia.do("pick.undo", task=hers["id"], confirmation=first["id"])
    assert undo["status"] == "applied"  # undoes pia's pick, not anna's
    with api.db.read() as s:
        results = s.scalars(select(MutationResult).where(MutationResult.id == first["id"])).all()
        assert {(r.device_id, r.status) for r in results} == {(anna.device_id, "applied"), (pia.device_id, "applied")}
        events = {e.device_id: e.undone for e in s.scalars(select(PickEvent).where(PickEvent.mutation_id == first["id"]))}
        assert events == {anna.device_id: False, pia.device_id: True}
