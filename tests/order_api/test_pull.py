"""Pull: paging from the change log, role scope, tombstones, reset and long-poll."""

import threading
import time

from order_api.retention import purge_tombstones


def test_paging_yields_the_same_replica_as_one_big_page(api, warehouse, staff):
    sam = staff["sam"]
    whole, cursor = sam.pull_all(limit=5000)
    paged, paged_cursor = sam.pull_all(limit=3)
    assert paged == whole
    assert paged_cursor == cursor
    entities = {e for e, _ in whole}
    assert {"product", "location", "stock", "order", "order_line", "pick_batch", "pick_task", "box_type"} <= entities


def test_an_empty_page_keeps_the_cursor(api, warehouse, staff):
    anna = staff["anna"]
    _, cursor = anna.pull_all()
    page = anna.http.get("/v1/sync/pull", params={"cursor": cursor}).json()
    scope = anna.http.get("/v1/me").json()["scope"]
    assert page == {"changes": [], "cursor": cursor, "has_more": False, "reset": False, "audiences": scope}


def test_each_role_sees_its_scope_only(api, warehouse, staff):
    seen = {name: {e for e, _ in staff[name].pull_all()[0]} for name in ("anna", "ben", "chloe")}
    assert seen["anna"] == {"product", "location", "stock"}
    assert seen["ben"] == {"product", "box_type"}
    assert seen["chloe"] == {"product"}
    me = staff["anna"].http.get("/v1/me").json()
    assert me["roles"] == ["picker"]
    assert "floor" in me["scope"] and "office" not in me["scope"]


def test_a_claimed_batch_enters_the_pickers_scope_and_leaves_it_as_tombstones(api, warehouse, staff):
    anna, sam = staff["anna"], staff["sam"]
    api.add_user("piet", "picker")
    piet = api.sign_in("piet")
    batch = anna.http.post("/v1/pick-batches/claim", json={}).json()["batches"][0]
    replica, cursor = anna.pull_all()
    task_ids = {str(t["id"]) for t in batch["tasks"]}
    assert {i for e, i in replica if e == "pick_task"} == task_ids
    sam.http.post(f"/v1/pick-batches/{batch['batch']['id']}/reassign", json={"username": "piet"})
    page = anna.http.get("/v1/sync/pull", params={"cursor": cursor}).json()
    tombstones = {(c["entity"], c["id"]) for c in page["changes"] if c["op"] == "delete"}
    assert tombstones == {("pick_task", i) for i in task_ids} | {("pick_batch", str(batch["batch"]["id"]))}
    assert {i for e, i in piet.pull_all()[0] if e == "pick_task"} == task_ids
    supervisor_view, _ = sam.pull_all()
    assert {i for e, i in supervisor_view if e == "pick_task"} >= task_ids


def test_a_shipped_order_leaves_the_packing_scope(api, warehouse, staff):
    anna, ben = staff["anna"], staff["ben"]
    batch = anna.http.post("/v1/pick-batches/claim", json={}).json()["batches"][0]
    task = batch["tasks"][0]
    anna.do("pick.confirm", task=task["id"], location=task["location_label"], qty=task["qty"], barcode=task["gtin"])
    replica, cursor = ben.pull_all()
    assert ("order", str(task["order_id"])) in replica
    ben.do("pack.confirm", order=task["order_id"],
           parcels=[{"box_type": "M", "weight_g": 900, "items": [{"line": task["line_id"], "qty": task["qty"]}]}])
    assert ben.http.post(f"/v1/orders/{task['order_id']}/ship").status_code == 200
    replica, _ = ben.pull_all(cursor)
    page = ben.http.get("/v1/sync/pull", params={"cursor": cursor}).json()
    ops = {(c["entity"], c["id"]): c["op"] for c in page["changes"]}
    assert ops[("order", str(task["order_id"]))] == "delete"
    assert ops[("order_line", str(task["line_id"]))] == "delete"


def test_a_cursor_older_than_retention_gets_reset(api, warehouse, staff):
    anna, sam = staff["anna"], staff["sam"]
    api.add_user("piet", "picker")
    batch = anna.http.post("/v1/pick-batches/claim", json={}).json()["batches"][0]
    _, old_cursor = anna.pull_all()
    sam.http.post(f"/v1/pick-batches/{batch['batch']['id']}/reassign", json={"username": "piet"})
    assert purge_tombstones(api.db, older_than_s=0) > 0
    page = anna.http.get("/v1/sync/pull", params={"cursor": old_cursor}).json()
    assert page["reset"] is True and page["cursor"] == 0
    fresh, _ = anna.pull_all(0)
    assert not any(e == "pick_task" for e, _ in fresh)


def test_a_cursor_from_another_database_gets_reset(api, warehouse, staff):
    page = staff["anna"].http.get("/v1/sync/pull", params={"cursor": 10**9}).json()
    assert page["reset"] is True


def test_long_poll_returns_when_a_change_commits(api, warehouse, staff):
    anna, sam = staff["anna"], staff["sam"]
    _, cursor = sam.pull_all()
    answer: dict = {}

    def poll():
        started = time.monotonic()
        answer["page"] = sam.http.get("/v1/sync/pull", params={"cursor": cursor, "wait": 25}).json()
        answer["elapsed"] = time.monotonic() - started

    poller = threading.Thread(target=poll)
    poller.start()
    anna.http.post("/v1/pick-batches/claim", json={})
    poller.join(30)
    # An answer with changes before the 25 s wait ran out can only come from the wake-up.
    assert answer["page"]["changes"], answer
    assert answer["elapsed"] < 25


def test_a_stopping_server_answers_its_open_long_polls_at_once(api, warehouse, staff):
    sam = staff["sam"]
    _, cursor = sam.pull_all()
    scope = sam.http.get("/v1/me").json()["scope"]
    answer: dict = {}

    def poll():
        answer["page"] = sam.http.get("/v1/sync/pull", params={"cursor": cursor, "wait": 30}).json()

    poller = threading.Thread(target=poll)
    poller.start()
    assert api.ctx.notifier.wait_for_waiters(1, 10), "the long poll never reached the server"
    api.server.stop()  # waits at most 15 s for the server thread
    poller.join(5)
    # Answered (not cut off) with nothing new, long before the 30 s wait would have ended.
    assert answer.get("page") == {"changes": [], "cursor": cursor, "has_more": False, "reset": False,
                                  "audiences": scope}


def test_long_poll_with_nothing_new_answers_empty_after_the_wait(api, warehouse, staff):
    _, cursor = staff["chloe"].pull_all()
    page = staff["chloe"].http.get("/v1/sync/pull", params={"cursor": cursor, "wait": 0.2}).json()
    assert page["changes"] == [] and page["cursor"] == cursor


def test_a_tombstone_survives_later_changes_of_the_same_row(api, warehouse, staff):
    anna, sam = staff["anna"], staff["sam"]
    api.add_user("piet", "picker")
    piet = api.sign_in("piet")
    batch = anna.http.post("/v1/pick-batches/claim", json={}).json()["batches"][0]
    _, cursor = anna.pull_all()
    sam.http.post(f"/v1/pick-batches/{batch['batch']['id']}/reassign", json={"username": "piet"})
    task = batch["tasks"][0]
    assert piet.do("pick.confirm", task=task["id"], location=task["location_label"], qty=1,
                   barcode=task["gtin"])["status"] == "applied"
    page = anna.http.get("/v1/sync/pull", params={"cursor": cursor}).json()
    assert ("pick_task", str(task["id"]), "delete") in {(c["entity"], c["id"], c["op"]) for c in page["changes"]}


def test_pull_reads_only_the_audiences_asked_for(api, warehouse, staff):
    sam, anna = staff["sam"], staff["anna"]
    page = sam.http.get("/v1/sync/pull", params={"cursor": 0, "limit": 5000, "audiences": "catalog,floor"}).json()
    assert page["audiences"] == ["catalog", "floor"]
    assert page["changes"] and {c["audience"] for c in page["changes"]} == {"catalog", "floor"}
    assert {c["entity"] for c in page["changes"]} == {"product", "location", "stock"}
    # Audiences the caller may not read are left out: "packing" is folded into a supervisor's "office".
    user_id = anna.http.get("/v1/me").json()["user"]["id"]
    page = sam.http.get("/v1/sync/pull", params={"audiences": f"catalog, packing,user:{user_id}"}).json()
    assert page["audiences"] == ["catalog"] and {c["audience"] for c in page["changes"]} == {"catalog"}
    page = anna.http.get("/v1/sync/pull", params={"audiences": "office"}).json()
    assert (page["audiences"], page["changes"], page["has_more"]) == ([], [], False)


def test_every_entry_names_its_audience_and_per_audience_pulls_add_up_to_the_whole(api, warehouse, staff):
    sam = staff["sam"]
    sam.http.post("/v1/pick-batches/claim", json={})  # something in sam's own audience too
    whole = sam.http.get("/v1/sync/pull", params={"cursor": 0, "limit": 5000}).json()
    scope = sam.http.get("/v1/me").json()["scope"]
    assert whole["audiences"] == scope
    assert {c["audience"] for c in whole["changes"]} <= set(scope)
    parts = []
    for audience in scope:
        replica, cursor = sam.pull_all(audiences=audience)
        assert cursor == whole["cursor"]
        parts.append(replica)
    merged = {k: v for part in parts for k, v in part.items()}
    replica, _ = sam.pull_all()
    assert merged == replica
