"""Packing on the server: per-unit lots and serials, the hold shelf, reopening before shipping, labels by ref."""

from sqlalchemy import select

from order_api.models import PackingEvent, Parcel, ParcelUnit
from tests.order_api.harness import claim, pick_args

REF_1, REF_2 = "7d7a5f0e-0c4b-4a43-9b8e-6f3d2c1b0a01", "7d7a5f0e-0c4b-4a43-9b8e-6f3d2c1b0a02"


def _picked(staff) -> dict:
    """The first task of anna's batch picked in full: its order (one line of 2) waits at the bench."""
    task = claim(staff["anna"])["tasks"][0]
    assert staff["anna"].do("pick.confirm", **pick_args(task))["status"] == "applied"
    return task


def _two_parcels(task: dict, serials=("SN-1", "SN-2")) -> dict:
    return {"order": task["order_id"], "parcels": [
        {"ref": REF_1, "box_type": "M", "weight_g": 950, "items": [
            {"line": task["line_id"], "qty": 1, "units": [{"lot": "LOT7", "serial": serials[0]}]}]},
        {"ref": REF_2, "box_type": "M", "weight_g": 940, "items": [
            {"line": task["line_id"], "qty": 1, "units": [{"serial": serials[1]}]}]},
    ]}


def test_units_are_stored_with_lot_and_serial_and_a_serial_goes_out_once(api, warehouse, staff):
    ben = staff["ben"]
    task = _picked(staff)
    twice = ben.do("pack.confirm", **_two_parcels(task, serials=("SN-1", "SN-1")))
    assert twice["code"] == "pack_mismatch" and "SN-1" in twice["message"]
    manual_too_many = _two_parcels(task)
    manual_too_many["parcels"][0]["items"][0]["units"].append({"manual": "no_barcode"})
    assert ben.do("pack.confirm", **manual_too_many)["code"] == "pack_mismatch"
    assert ben.do("pack.confirm", **_two_parcels(task))["status"] == "applied"
    with api.db.read() as s:
        parcels = s.execute(select(Parcel).where(Parcel.order_id == task["order_id"]).order_by(Parcel.id)).scalars()
        parcels = list(parcels)
        assert [p.ref for p in parcels] == [REF_1, REF_2]
        # 2 x 600 g jackets or 250 g bottles, one a parcel, and the box's 300 g.
        assert all(p.expected_weight_g == 300 + p.items[0].qty * (600 if task["gtin"] == "4006381333931" else 250)
                   for p in parcels)
        units = s.execute(select(ParcelUnit.serial, ParcelUnit.lot).order_by(ParcelUnit.serial)).all()
        assert [tuple(u) for u in units] == [("SN-1", "LOT7"), ("SN-2", None)]
    # The same serial in another order: that unit has already left in a parcel.
    other = next(t for t in _all_tasks(staff) if t["gtin"] == task["gtin"] and t["order_id"] != task["order_id"])
    assert staff["anna"].do("pick.confirm", **pick_args(other))["status"] == "applied"
    again = ben.do("pack.confirm", **{**_two_parcels(other, serials=("SN-2", "SN-9")),
                                      "parcels": [dict(p, ref=None) for p in _two_parcels(other, ("SN-2", "SN-9"))
                                                  ["parcels"]]})
    assert again["code"] == "pack_mismatch" and "already in a packed parcel" in again["message"]


def test_the_label_of_a_parcel_packed_offline_is_fetched_by_its_ref(api, warehouse, staff):
    ben = staff["ben"]
    task = _picked(staff)
    early = ben.http.post(f"/v1/parcels/by-ref/{REF_1}/label", params={"format": "zpl"})
    assert early.status_code == 404  # the pack has not reached the server yet: ask again later
    assert ben.do("pack.confirm", **_two_parcels(task))["status"] == "applied"
    first = ben.http.post(f"/v1/parcels/by-ref/{REF_1}/label", params={"format": "zpl"})
    second = ben.http.post(f"/v1/parcels/by-ref/{REF_2}/label")
    assert first.status_code == 200 and first.text.startswith("^XA")
    assert second.status_code == 200 and second.json()["tracking_number"] not in first.text
    assert "1/2" in first.text or "1 of 2" in first.text
    assert staff["anna"].http.post(f"/v1/parcels/by-ref/{REF_1}/label").status_code == 403  # a picker prints none
    assert ben.http.post("/v1/parcels/by-ref/not a ref/label").status_code == 422


def test_hold_shelf_and_reopen_before_but_never_after_shipping(api, warehouse, staff):
    ben, anna, sam = staff["ben"], staff["anna"], staff["sam"]
    task = _picked(staff)
    order = task["order_id"]
    assert anna.do("pack.hold", order=order, reason="item_missing")["code"] == "forbidden"
    assert ben.do("pack.reopen", order=order, reason="wrong_box")["code"] == "not_packed"
    held = ben.do("pack.hold", order=order, reason="item_damaged", line=task["line_id"], note="crushed lid")
    assert held["status"] == "applied"
    assert sam.http.get(f"/v1/orders/{order}").json()["status"] == "held"
    assert ben.do("pack.confirm", **_two_parcels(task))["code"] == "order_held"
    assert ben.do("pack.hold", order=order, reason="other")["code"] == "order_held"
    # Supervisors and packers see it on the shelf, with the reason.
    supervisors, _ = sam.pull_all()
    packers, _ = ben.pull_all()
    assert supervisors[("order", str(order))]["hold_reason"] == "item_damaged"
    assert packers[("order", str(order))]["status"] == "held"
    assert ben.do("pack.release", order=order)["code"] == "forbidden"  # a supervisor decides
    assert sam.do("pack.release", order=order)["status"] == "applied"
    assert sam.do("pack.release", order=order)["code"] == "not_held"
    assert sam.http.get(f"/v1/orders/{order}").json()["status"] == "picked"

    # A second order: packed, reopened (recorded), packed again, shipped, never reopened.
    other = _picked_second(staff, task)
    assert ben.do("pack.confirm", **_two_parcels(other, ("A", "B")))["status"] == "applied"
    assert ben.do("pack.reopen", order=other["order_id"], reason="wrong_box")["status"] == "applied"
    assert ben.http.post(f"/v1/parcels/by-ref/{REF_1}/label").status_code == 404  # void with its parcel
    assert sam.http.get(f"/v1/orders/{other['order_id']}").json()["status"] == "picked"
    assert ben.do("pack.confirm", **_two_parcels(other, ("A", "B")))["status"] == "applied"
    assert ben.http.post(f"/v1/orders/{other['order_id']}/ship").status_code == 200
    assert ben.do("pack.reopen", order=other["order_id"], reason="damaged")["code"] == "already_shipped"
    with api.db.read() as s:
        events = s.execute(select(PackingEvent.kind, PackingEvent.reason, PackingEvent.note)
                           .order_by(PackingEvent.id)).all()
    assert [tuple(e) for e in events] == [("hold", "item_damaged", "crushed lid"), ("release", "released", ""),
                                          ("reopen", "wrong_box", "")]


def _all_tasks(staff) -> list[dict]:
    """The tasks of anna's batch in progress and of one more she claims ahead."""
    r = staff["anna"].http.post("/v1/pick-batches/claim", json={"ahead": 1})
    assert r.status_code == 200, r.text
    return [t for b in r.json()["batches"] for t in b["tasks"]]


def _picked_second(staff, first: dict) -> dict:
    task = next(t for t in _all_tasks(staff) if t["order_id"] != first["order_id"])
    assert staff["anna"].do("pick.confirm", **pick_args(task))["status"] == "applied"
    return task
