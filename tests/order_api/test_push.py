"""Push: seq order, gaps, idempotent replay and every server-side rejection."""

from order_api.models import Order, PickTask, Stock, StockCheck
from tests.order_api.harness import claim, pick_args


def test_replay_of_a_whole_batch_applies_nothing_twice(api, warehouse, staff):
    anna = staff["anna"]
    batch = claim(anna)
    muts = [anna.mutation("pick.confirm", pick_args(t, 1)) for t in batch["tasks"]]
    first = anna.push(*muts)
    assert [r["status"] for r in first["results"]] == ["applied"] * len(muts)
    again = anna.push(*muts)
    assert [r["status"] for r in again["results"]] == ["duplicate"] * len(muts)
    assert [r["original_status"] for r in again["results"]] == ["applied"] * len(muts)
    assert again["last_seq"] == first["last_seq"] == len(muts)
    with api.db.read() as s:
        assert [s.get(PickTask, t["id"]).picked_qty for t in batch["tasks"]] == [1] * len(muts)


def test_a_gap_in_seq_is_refused_and_nothing_is_applied(api, warehouse, staff):
    anna = staff["anna"]
    task = claim(anna)["tasks"][0]
    m1 = anna.mutation("pick.confirm", pick_args(task, 1))
    m2 = anna.mutation("pick.confirm", pick_args(task, 1))
    body = anna.push(m2, expect=409)
    assert body["error"]["code"] == "seq_gap"
    assert body["error"]["details"]["expected_seq"] == 1
    out = anna.push(m1, m2)
    assert [r["status"] for r in out["results"]] == ["applied", "applied"]
    reused = dict(anna.mutation("pick.undo", {"task": task["id"]}), seq=2)
    assert anna.push(reused, expect=409)["error"]["code"] == "seq_conflict"


def test_mutations_apply_in_seq_order_within_a_batch(api, warehouse, staff):
    anna = staff["anna"]
    task = claim(anna)["tasks"][0]
    confirm = anna.mutation("pick.confirm", pick_args(task, 2))
    undo = anna.mutation("pick.undo", {"task": task["id"]})
    again = anna.mutation("pick.confirm", pick_args(task, 2))
    out = anna.push(confirm, undo, again)
    assert [r["status"] for r in out["results"]] == ["applied", "applied", "applied"]
    with api.db.read() as s:
        assert s.get(PickTask, task["id"]).picked_qty == 2


def test_picking_a_cancelled_order_is_rejected_and_the_seq_advances(api, warehouse, staff):
    anna, sam = staff["anna"], staff["sam"]
    task = claim(anna)["tasks"][0]
    assert sam.http.post(f"/v1/orders/{task['order_id']}/cancel").status_code == 200
    result = anna.push(anna.mutation("pick.confirm", pick_args(task)))
    assert result["results"][0]["status"] == "rejected"
    assert result["results"][0]["code"] == "order_cancelled"
    assert result["last_seq"] == 1


def test_rejections_change_nothing(api, warehouse, staff):
    anna = staff["anna"]
    task = claim(anna)["tasks"][0]
    cases = [
        ("over_pick", pick_args(task, task["qty"] + 1)),
        ("wrong_location", {**pick_args(task), "location": "Z-99-99-9"}),
        ("wrong_product", {**pick_args(task), "barcode": "0000000000000"}),
        ("unknown_task", {**pick_args(task), "task": 999999}),
        # The contract is strict (contract.fields): no quantity from a string, a boolean or a float,
        # no control characters in a code, no unknown argument.
        ("invalid_args", {**pick_args(task), "qty": "many"}),
        ("invalid_args", {**pick_args(task), "qty": "1"}),
        ("invalid_args", {**pick_args(task), "qty": True}),
        ("invalid_args", {**pick_args(task), "qty": 1.0}),
        ("invalid_args", {**pick_args(task), "barcode": "4006381\x00333931"}),
        ("invalid_args", {**pick_args(task), "note": "extra"}),
    ]
    for code, args in cases:
        result = anna.do("pick.confirm", **args)
        assert (result["status"], result["code"]) == ("rejected", code), (code, args)
    with api.db.read() as s:
        assert s.get(PickTask, task["id"]).picked_qty == 0
        assert s.get(Order, task["order_id"]).status == "released"


def test_a_tote_code_with_a_control_character_is_refused_and_not_stored(api, warehouse, staff):
    anna = staff["anna"]
    batch = claim(anna)
    order_id = batch["tasks"][0]["order_id"]
    result = anna.do("tote.assign", batch=batch["batch"]["id"], order=order_id, tote="T-00\x001")
    assert (result["status"], result["code"]) == ("rejected", "invalid_args")
    assert "tote" in result["message"]
    with api.db.read() as s:
        assert s.get(Order, order_id).tote is None


def test_an_action_the_role_may_not_do_is_rejected_forbidden(api, warehouse, staff):
    ben = staff["ben"]
    result = ben.do("pick.confirm", task=1, location="A-01-01-1", qty=1, barcode="4006381333931")
    assert (result["status"], result["code"]) == ("rejected", "forbidden")
    chloe = staff["chloe"]
    assert chloe.do("shot.qc", shot=1, decision="approve")["code"] == "forbidden"
    assert chloe.do("no.such.thing")["code"] == "unknown_mutation"


def test_a_mutation_of_a_user_who_never_signed_in_on_the_device_is_refused(api, warehouse, staff):
    anna = staff["anna"]
    result = anna.push(anna.mutation("pick.undo", {"task": 1}, user="sam"))["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "forbidden")


def test_a_device_may_push_for_every_user_who_signed_in_on_it(api, warehouse, staff):
    api.add_user("pia", "picker")
    pia = api.sign_in("pia", device_id="dev-anna")
    anna = staff["anna"]
    task = claim(anna)["tasks"][0]
    out = pia.push({**anna.mutation("pick.confirm", pick_args(task, 1))})
    assert out["results"][0]["status"] == "applied"


def test_a_pick_on_a_batch_another_user_now_holds_is_lease_lost(api, warehouse, staff):
    anna, sam = staff["anna"], staff["sam"]
    api.add_user("piet", "picker")
    batch = claim(anna)
    r = sam.http.post(f"/v1/pick-batches/{batch['batch']['id']}/reassign", json={"username": "piet"})
    assert r.status_code == 200, r.text
    result = anna.do("pick.confirm", **pick_args(batch["tasks"][0]))
    assert (result["status"], result["code"]) == ("rejected", "lease_lost")


def test_short_pick_raises_a_stock_check_and_reallocates_from_another_bin(api, warehouse, staff):
    anna = staff["anna"]
    batch = claim(anna)
    task = next(t for t in batch["tasks"] if t["sku"] == "SKU-2")
    assert anna.do("pick.short", task=task["id"], reason="not_found")["status"] == "applied"
    with api.db.read() as s:
        tasks = s.query(PickTask).filter(PickTask.line_id == task["line_id"]).order_by(PickTask.id).all()
        assert [(t.status, t.location.label, t.qty) for t in tasks] == [
            ("short", "A-01-02-1", 2), ("open", "B-02-01-1", 2)]
        assert s.query(StockCheck).filter(StockCheck.location_id == task["location_id"]).count() == 1
    replica, _ = anna.pull_all()
    moved = [d for (e, _), d in replica.items() if e == "pick_task" and d["location_label"] == "B-02-01-1"]
    assert len(moved) == 1


def test_short_pick_without_stock_elsewhere_shorts_the_line(api, warehouse, staff):
    anna = staff["anna"]
    batch = claim(anna)
    task = next(t for t in batch["tasks"] if t["sku"] == "SKU-1")
    assert anna.do("pick.short", task=task["id"], reason="damaged")["status"] == "applied"
    with api.db.read() as s:
        order = s.get(Order, task["order_id"])
        assert order.lines[0].short_qty == 2
        assert order.status == "picked"


def test_undo_puts_the_items_back(api, warehouse, staff):
    anna = staff["anna"]
    task = claim(anna)["tasks"][0]
    with api.db.read() as s:
        before = s.query(Stock).filter_by(location_id=task["location_id"], product_id=task["product_id"]).one().qty
    assert anna.do("pick.confirm", **pick_args(task))["status"] == "applied"
    assert anna.do("pick.undo", task=task["id"])["status"] == "applied"
    assert anna.do("pick.undo", task=task["id"])["code"] == "nothing_to_undo"
    with api.db.read() as s:
        assert s.get(PickTask, task["id"]).picked_qty == 0
        assert s.query(Stock).filter_by(location_id=task["location_id"], product_id=task["product_id"]).one().qty == before


def test_tote_assign_refuses_a_tote_holding_another_open_order(api, warehouse, staff):
    anna = staff["anna"]
    batch = claim(anna)
    first, second = batch["orders"][0]["id"], batch["orders"][1]["id"]
    bid = batch["batch"]["id"]
    assert anna.do("tote.assign", batch=bid, order=first, tote="T-0001")["status"] == "applied"
    # Nothing picked yet: the tote is already that order's.
    assert anna.do("tote.assign", batch=bid, order=second, tote="T-0001")["code"] == "tote_in_use"
    task = next(t for t in batch["tasks"] if t["order_id"] == first)
    assert anna.do("pick.confirm", **pick_args(task, 1))["status"] == "applied"
    assert anna.do("tote.assign", batch=bid, order=second, tote="T-0001")["code"] == "tote_in_use"
    assert anna.do("tote.assign", batch=bid, order=999, tote="T-0002")["code"] == "order_not_in_batch"


def test_pack_confirm_checks_items_against_the_pick(api, warehouse, staff):
    anna, ben = staff["anna"], staff["ben"]
    batch = claim(anna)
    task = batch["tasks"][0]
    assert ben.do("pack.confirm", order=task["order_id"],
                  parcels=[{"box_type": "M", "weight_g": 900, "items": [{"line": task["line_id"], "qty": 2}]}]
                  )["code"] == "not_picked"
    assert anna.do("pick.confirm", **pick_args(task))["status"] == "applied"
    wrong = ben.do("pack.confirm", order=task["order_id"],
                   parcels=[{"box_type": "M", "weight_g": 900, "items": [{"line": task["line_id"], "qty": 1}]}])
    assert wrong["code"] == "pack_mismatch"
    assert ben.do("pack.confirm", order=task["order_id"],
                  parcels=[{"box_type": "XXL", "weight_g": 900, "items": [{"line": task["line_id"], "qty": 2}]}]
                  )["code"] == "unknown_box_type"
    ok = ben.do("pack.confirm", order=task["order_id"],
                parcels=[{"box_type": "M", "weight_g": 900, "items": [{"line": task["line_id"], "qty": 2}]}])
    assert ok["status"] == "applied"
    assert ben.http.get(f"/v1/orders/{task['order_id']}").json()["status"] == "packed"
    again = ben.do("pack.confirm", order=task["order_id"],
                   parcels=[{"box_type": "M", "weight_g": 900, "items": [{"line": task["line_id"], "qty": 2}]}])
    assert again["code"] == "already_packed"


def test_push_for_another_device_is_refused(api, warehouse, staff):
    anna = staff["anna"]
    r = anna.http.post("/v1/sync/push", json={"device_id": "someone-else", "schema_version": 1, "mutations": []})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "device_mismatch"


def test_rejections_between_applied_picks_of_one_push_leave_exactly_the_applied_ones(api, warehouse, staff):
    anna = staff["anna"]
    task = claim(anna)["tasks"][0]
    wrong_bin = dict(pick_args(task, 1), location="Z-99-99-9")
    out = anna.push(anna.mutation("pick.confirm", pick_args(task, 1)),
                    anna.mutation("pick.confirm", wrong_bin),
                    anna.mutation("pick.confirm", pick_args(task, 1)),
                    anna.mutation("pick.confirm", pick_args(task, task["qty"])))  # more than is left
    assert [r["status"] for r in out["results"]] == ["applied", "rejected", "applied", "rejected"]
    assert [r["code"] for r in out["results"] if r["status"] == "rejected"] == ["wrong_location", "over_pick"]
    with api.db.read() as s:
        assert s.get(PickTask, task["id"]).picked_qty == 2


def test_a_floor_handler_that_changes_the_floor_before_rejecting_fails_the_whole_push(api, warehouse, staff,
                                                                                       monkeypatch):
    from dataclasses import replace

    from contract.rejections import Rejection
    from order_api.mutations.handler import Rejected
    from order_api.mutations.registry import REGISTRY

    def careless(floor, actor, a):
        floor.stock_of(floor.task(a.task)).qty -= 1
        floor.record_pick(floor.task(a.task), actor.user.id, actor.device_id, actor.mutation_id, 1, actor.now)  # a write...
        raise Rejected(Rejection.WRONG_LOCATION, "...then a rejection")

    monkeypatch.setitem(REGISTRY, "pick.confirm", replace(REGISTRY["pick.confirm"], apply=careless))
    anna = staff["anna"]
    task = claim(anna)["tasks"][0]
    with api.db.read() as s:
        before = s.query(Stock).filter_by(location_id=task["location_id"]).one().qty
    anna.push(anna.mutation("pick.confirm", pick_args(task, 1)), expect=500)
    with api.db.read() as s:
        assert s.query(Stock).filter_by(location_id=task["location_id"]).one().qty == before


def test_after_a_mixed_push_the_feed_shows_exactly_what_the_database_holds(api, warehouse, staff):
    """Picks go through the push's pick floor, undo and tote through the ORM: both must agree."""
    from order_api.feed import batch_data, line_data, order_data, stock_data, task_data
    from order_api.models import OrderLine, PickBatch

    anna, sam = staff["anna"], staff["sam"]
    batch = claim(anna)
    tasks, batch_id = batch["tasks"], batch["batch"]["id"]
    first = tasks[0]
    out = anna.push(
        anna.mutation("pick.confirm", pick_args(first, 1)),
        anna.mutation("tote.assign", {"batch": batch_id, "order": first["order_id"], "tote": "T-7001"}),
        anna.mutation("pick.undo", {"task": first["id"]}),
        *[anna.mutation("pick.confirm", pick_args(t)) for t in tasks],  # the whole batch
    )
    assert {r["status"] for r in out["results"]} == {"applied"}, out["results"]
    replica, _ = sam.pull_all()  # the supervisor sees orders, lines, batches and tasks
    floor, _ = anna.pull_all()   # the picker sees stock
    with api.db.read() as s:
        expected = {("pick_batch", str(batch_id)): batch_data(s.get(PickBatch, batch_id))}
        for t in tasks:
            task = s.get(PickTask, t["id"])
            expected[("pick_task", str(task.id))] = task_data(task)
            expected[("order_line", str(task.line_id))] = line_data(s.get(OrderLine, task.line_id))
            expected[("order", str(task.line.order_id))] = order_data(s.get(Order, task.line.order_id))
        stock = {("stock", str(st.id)): stock_data(st) for st in s.query(Stock)
                 if any(st.location_id == t["location_id"] for t in tasks)}
    assert {key: replica.get(key) for key in expected} == expected
    assert {key: floor.get(key) for key in stock} == stock
    assert expected[("pick_batch", str(batch_id))]["status"] == "done"
    assert {d["status"] for k, d in expected.items() if k[0] == "order"} == {"picked"}
    assert expected[("order", str(first["order_id"]))]["tote"] == "T-7001"


def test_two_pickers_pushing_at_once_on_shared_bins_lose_no_stock_update(api, staff):
    """Both batches take from the same two bins; on PostgreSQL the floor's row locks keep
    concurrent pushes from overwriting each other's stock counts."""
    import threading

    from tests.order_api import scenario

    floor = scenario.build(api.db, batches=2, orders_per_batch=10)
    api.add_user("pia", "picker")
    pickers = [staff["anna"], api.sign_in("pia")]
    claimed = [claim(p) for p in pickers]
    assert {c["batch"]["id"] for c in claimed} == set(floor.batches)
    with api.db.read() as s:
        bin_a = s.query(Stock).filter_by(location_id=floor.location_ids[0]).one()
        before, wanted = bin_a.qty, 0
    answers: list = []

    def work(picker, batch):
        for task in batch["tasks"]:
            answers.append(picker.push(picker.mutation("pick.confirm", pick_args(task, 1)),
                                       picker.mutation("pick.confirm", pick_args(task, 1))))

    for batch in claimed:
        wanted += sum(t["qty"] for t in batch["tasks"] if t["location_id"] == floor.location_ids[0])
    threads = [threading.Thread(target=work, args=pair) for pair in zip(pickers, claimed)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == 20 and {r["status"] for a in answers for r in a["results"]} == {"applied"}
    with api.db.read() as s:
        assert s.query(Stock).filter_by(location_id=floor.location_ids[0]).one().qty == before - wanted
        assert {s.get(PickTask, t["id"]).status for b in claimed for t in b["tasks"]} == {"done"}
