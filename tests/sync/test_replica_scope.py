"""The replica holds exactly the signed-in person's scope: audience masks, per-audience cursors, scope switches.

Pages are built as the server sends them (order_api/routes/sync.py `_read_page`, with each
change's `audience` and the page's `audiences`) and decoded by sync.feed.decode_page.
"""

import orjson
import pytest

from contract.entities import ENTITIES
from sync.feed import FeedError, PullPage, decode_page
from sync.store import replica
from sync.store.database import LocalStore
from sync.store.replica import BadRow, PullPlan, ScopeChange, StalePlan
from tests.sync.rows import complete

PICKER_ANNA = ["catalog", "floor", "user:3"]
SUPERVISOR_SAM = ["catalog", "floor", "office", "packing_ref", "studio", "user:7"]
PICKER_PIA = ["catalog", "floor", "user:4"]


@pytest.fixture
def store(tmp_path):
    opened = LocalStore.open(tmp_path)
    yield opened
    opened.close()


def up(entity: str, row_id: int, audience: str, version: int = 1, **fields) -> dict:
    return {"entity": entity, "id": str(row_id), "op": "upsert", "version": version, "audience": audience,
            "data": complete(entity, id=row_id, **fields) if entity in ENTITIES else {"id": row_id, **fields}}


def tomb(entity: str, row_id: int, audience: str, version: int = 1) -> dict:
    return {"entity": entity, "id": str(row_id), "op": "delete", "version": version, "audience": audience,
            "data": None}


def page(changes: list[dict], cursor: int, audiences, has_more: bool = False, reset: bool = False) -> PullPage:
    body = {"changes": changes, "cursor": cursor, "has_more": has_more, "reset": reset, "audiences": list(audiences)}
    return decode_page(orjson.dumps(body))


def sign_in(store, audiences) -> ScopeChange:
    with store.replica.write() as conn:
        return replica.set_scope(conn, audiences)


def pull(store, changes: list[dict], cursor: int, has_more: bool = False) -> PullPlan:
    """One page as the server answers the current plan: it serves exactly the plan's audiences."""
    with store.replica.write() as conn:
        plan = replica.pull_plan(conn)
        replica.store_page(conn, plan, page(changes, cursor, plan.audiences, has_more))
    return plan


def shown(store, entity: str, **where) -> list[dict]:
    with store.replica.read() as conn:
        return replica.load(conn, entity, **where)


def ids_in_file(store, table: str) -> list[int]:
    """Everything the file holds, shown or not."""
    with store.replica.read() as conn:
        return [r[0] for r in conn.exec_driver_sql(f"SELECT id FROM {table} ORDER BY id")]


def masks(store, table: str) -> dict[int, set[str]]:
    """The audiences each row of table arrived through, by row id."""
    with store.replica.read() as conn:
        bits = {bit: name for name, bit in conn.exec_driver_sql("SELECT name, bit FROM replica_audiences")}
        rows = conn.exec_driver_sql(f"SELECT id, mask FROM {table}").all()
    return {row_id: {name for bit, name in bits.items() if mask >> bit & 1} for row_id, mask in rows}


def state(store) -> tuple[int, dict[str, int], list[str]]:
    with store.replica.read() as conn:
        return replica.cursor(conn), replica.cursors(conn), replica.scope(conn)


# --- masks and tombstones ---------------------------------------------------------------------

def test_an_upsert_sets_its_audiences_bit_and_the_last_tombstone_deletes_the_row(store):
    sign_in(store, PICKER_ANNA)
    pull(store, [up("product", 1, "catalog", sku="MUG-1"), up("pick_task", 7, "user:3", batch_id=2),
                 up("pick_task", 7, "floor", batch_id=2), up("stock", 5, "floor", location_id=1)], cursor=10)
    assert masks(store, "r_pick_task") == {7: {"floor", "user:3"}}
    assert masks(store, "r_product") == {1: {"catalog"}}

    pull(store, [tomb("product", 1, "catalog", 11), tomb("pick_task", 7, "floor", 12)], cursor=12)
    assert ids_in_file(store, "r_product") == []  # its last bit went: the row is gone from the file
    assert masks(store, "r_pick_task") == {7: {"user:3"}}  # user:3 still holds it
    assert [t["id"] for t in shown(store, "pick_task")] == [7]

    pull(store, [tomb("pick_task", 7, "user:3", 13)], cursor=13)
    assert ids_in_file(store, "r_pick_task") == [] and shown(store, "pick_task") == []
    assert state(store)[:2] == (13, {"catalog": 13, "floor": 13, "user:3": 13})


def test_within_a_page_a_later_change_of_the_same_row_wins(store):
    sign_in(store, PICKER_ANNA)
    pull(store, [up("pick_task", 1, "floor", route_key="A"), up("pick_task", 1, "floor", 2, route_key="B"),
                 # the server writes tombstones before upserts: leaving one audience, entering another
                 tomb("pick_task", 2, "floor"), up("pick_task", 2, "user:3", 2, route_key="C"),
                 up("pick_task", 3, "floor", route_key="D"), tomb("pick_task", 3, "floor", 2),
                 up("stock_check", 4, "floor"), tomb("stock_check", 4, "floor", 2), up("stock_check", 4, "floor", 3)],
         cursor=5)
    assert [(t["id"], t["route_key"]) for t in shown(store, "pick_task")] == [(1, "B"), (2, "C")]
    assert ids_in_file(store, "r_pick_task") == [1, 2]  # 3 was upserted and tombstoned: gone at the page's end
    assert masks(store, "r_pick_task")[2] == {"user:3"}
    assert [r["id"] for r in shown(store, "stock_check")] == [4]


def test_the_latest_upsert_replaces_the_data_whatever_the_audience(store):
    sign_in(store, SUPERVISOR_SAM)
    pull(store, [up("order", 9, "office", number="SO-9", status="released")], cursor=3)
    pull(store, [up("order", 9, "office", 4, number="SO-9", status="packed"),
                 up("order", 9, "packing_ref", 5, number="SO-9", status="packed")], cursor=5)
    assert [(o["id"], o["number"]) for o in shown(store, "order", status="packed")] == [(9, "SO-9")]
    assert shown(store, "order", status="released") == []
    assert masks(store, "r_order") == {9: {"office", "packing_ref"}}


def test_entities_this_version_does_not_know_are_kept_with_their_audiences(store):
    sign_in(store, PICKER_ANNA)
    pull(store, [up("tote", 1, "floor", code="T1"), up("tote", 1, "user:3", code="T1")], cursor=2)
    pull(store, [tomb("tote", 1, "floor", 3)], cursor=3)
    with store.replica.read() as conn:
        assert conn.exec_driver_sql("SELECT entity, id FROM r_other").all() == [("tote", "1")]
    pull(store, [tomb("tote", 1, "user:3", 4)], cursor=4)
    with store.replica.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM r_other").scalar() == 0


def test_a_change_through_an_audience_the_page_does_not_serve_stores_nothing(store):
    sign_in(store, PICKER_ANNA)
    with pytest.raises(BadRow, match="audience 'office'"):
        with store.replica.write() as conn:
            plan = replica.pull_plan(conn)
            replica.store_page(conn, plan, page([up("product", 1, "catalog"), up("order", 2, "office")], 9,
                                                plan.audiences))
    assert ids_in_file(store, "r_product") == [] and state(store)[0] == 0


def test_a_row_that_does_not_fit_stores_nothing(store):
    sign_in(store, PICKER_ANNA)
    for bad in (up("pick_task", 5, "floor", batch_id={"nested": 1}), {**up("pick_task", 6, "floor"), "id": "six"}):
        with pytest.raises(BadRow, match="cannot be stored"):
            with store.replica.write() as conn:
                plan = replica.pull_plan(conn)
                replica.store_page(conn, plan, page([up("pick_task", 4, "floor"), bad], 9, plan.audiences))
    assert ids_in_file(store, "r_pick_task") == [] and state(store)[0] == 0


def test_a_page_asked_for_before_a_scope_switch_is_refused(store):
    """Anna's page arriving after she signed out must never land under the next person."""
    sign_in(store, PICKER_ANNA)
    with store.replica.read() as conn:
        plan = replica.pull_plan(conn)
    late = page([up("pick_task", 1, "user:3")], 8, plan.audiences)
    sign_in(store, PICKER_PIA)
    with pytest.raises(StalePlan, match="user:3"):
        with store.replica.write() as conn:
            replica.store_page(conn, plan, late)
    assert ids_in_file(store, "r_pick_task") == []


def test_a_page_asked_for_from_a_cursor_another_pull_has_passed_is_refused(store):
    sign_in(store, PICKER_ANNA)
    with store.replica.read() as conn:
        plan = replica.pull_plan(conn)
    pull(store, [up("pick_task", 1, "floor", route_key="new")], cursor=20)
    with pytest.raises(StalePlan):
        with store.replica.write() as conn:
            replica.store_page(conn, plan, page([up("pick_task", 1, "floor", route_key="old")], 10, plan.audiences))
    assert [t["route_key"] for t in shown(store, "pick_task")] == ["new"]


# --- scope -------------------------------------------------------------------------------------

def test_set_scope_gives_new_audiences_a_bit_purges_personal_ones_and_hides_role_ones(store):
    assert sign_in(store, ["floor", "catalog", "user:3", "floor"]) == ScopeChange(PICKER_ANNA, [], [])
    pull(store, [up("pick_task", 1, "user:3"), up("pick_task", 2, "floor")], cursor=10)

    change = sign_in(store, ["catalog", "office", "user:7"])
    assert change == ScopeChange(added=["office", "user:7"], purged=["user:3"], hidden=["floor"])
    cursor, cursors, scope = state(store)
    assert scope == ["catalog", "office", "user:7"]
    assert cursors == {"catalog": 10, "floor": 10, "office": 0, "user:7": 0}  # user:3 and its cursor forgotten
    assert cursor == 0  # office and user:7 were never pulled
    assert ids_in_file(store, "r_pick_task") == [2]  # floor's row stays, hidden
    assert shown(store, "pick_task") == []


def test_setting_the_same_scope_again_changes_nothing(store):
    sign_in(store, PICKER_ANNA)
    pull(store, [up("pick_task", 1, "user:3"), up("product", 2, "catalog")], cursor=10)
    before = (state(store), masks(store, "r_pick_task"), masks(store, "r_product"))
    assert sign_in(store, list(reversed(PICKER_ANNA))) == ScopeChange([], [], [])
    assert (state(store), masks(store, "r_pick_task"), masks(store, "r_product")) == before


def test_an_empty_scope_shows_nothing_and_keeps_nobodys_own_work(store):
    """Signing out: personal audiences purged, role audiences hidden, nothing to pull."""
    sign_in(store, PICKER_ANNA)
    pull(store, [up("pick_task", 1, "user:3"), up("product", 2, "catalog")], cursor=10)
    assert sign_in(store, []) == ScopeChange([], ["user:3"], ["catalog", "floor"])
    assert shown(store, "product") == [] and ids_in_file(store, "r_pick_task") == []
    with store.replica.read() as conn:
        assert replica.pull_plan(conn) is None and replica.cursor(conn) == 0
        assert replica.cursors(conn) == {"catalog": 10, "floor": 10}


def test_when_every_bit_is_taken_the_hidden_audiences_furthest_behind_make_room(store):
    many = [f"zone-{i:02d}" for i in range(62)]
    sign_in(store, many)
    with store.replica.write() as conn:
        conn.exec_driver_sql("UPDATE replica_audiences SET cursor = 50")
        conn.exec_driver_sql("UPDATE replica_audiences SET cursor = 7 WHERE name IN ('zone-40', 'zone-41')")
        conn.exec_driver_sql("INSERT INTO r_product (id, version, data, mask) VALUES (1, 1, '{}', "
                             "(SELECT 1 << bit FROM replica_audiences WHERE name = 'zone-40'))")
    change = sign_in(store, ["catalog", "floor"])
    assert change.added == ["catalog", "floor"] and change.purged == ["zone-40", "zone-41"]
    assert len(change.hidden) == 60 and ids_in_file(store, "r_product") == []
    with pytest.raises(ValueError, match="does not fit"):
        sign_in(store, [f"zone-{i:02d}" for i in range(63)])
    with pytest.raises(ValueError, match="1 to 48 characters"):
        sign_in(store, ["x" * 49])


def test_nothing_is_shown_and_nothing_is_pulled_before_anyone_signed_in(store):
    with store.replica.read() as conn:
        assert replica.scope(conn) == [] and replica.pull_plan(conn) is None
        assert replica.cursor(conn) == 0 and replica.load(conn, "product") == []


def test_picker_then_supervisor_then_picker_on_one_replica(store):
    sign_in(store, PICKER_ANNA)
    pull(store, [up("product", 1, "catalog", sku="MUG-1"), up("pick_task", 31, "user:3", batch_id=3),
                 up("pick_task", 31, "floor", batch_id=3), up("pick_batch", 3, "user:3", claimed_by=3),
                 up("pick_batch", 3, "floor", claimed_by=3), up("pick_task", 40, "floor", batch_id=4)], cursor=100)
    assert [t["id"] for t in shown(store, "pick_task")] == [31, 40]

    # Sam, the supervisor: catalog and floor continue from 100, his wider audiences start at 0.
    change = sign_in(store, SUPERVISOR_SAM)
    assert change.purged == ["user:3"] and change.hidden == []
    assert masks(store, "r_pick_batch") == {3: {"floor"}}  # anna's own bit went with her
    with store.replica.read() as conn:
        assert replica.pull_plan(conn) == PullPlan(("office", "packing_ref", "studio", "user:7"), 0, True)
        assert replica.cursor(conn) == 0
    pull(store, [up("order", 9, "office", number="SO-9", status="released")], cursor=60, has_more=True)
    assert state(store)[1]["office"] == 60 and state(store)[1]["catalog"] == 100
    pull(store, [up("order", 10, "office", number="SO-10", status="released"), up("shot", 5, "studio")],
         cursor=105)
    # The group that was behind caught up; all of the scope continues from the lowest cursor.
    cursor, cursors, _ = state(store)
    assert cursor == 100 and set(cursors.values()) == {100}
    with store.replica.read() as conn:
        assert replica.pull_plan(conn) == PullPlan(tuple(SUPERVISOR_SAM), 100, False)
    pull(store, [up("order", 10, "office", 106, number="SO-10", status="picked"), up("pick_task", 40, "floor", 107,
                                                                                     batch_id=4, route_key="B")],
         cursor=107)
    assert [o["number"] for o in shown(store, "order")] == ["SO-9", "SO-10"]

    # Anna again: none of sam's office rows is shown, but they and office's cursor stay, hidden.
    change = sign_in(store, PICKER_ANNA)
    assert change == ScopeChange(added=["user:3"], purged=["user:7"], hidden=["office", "packing_ref", "studio"])
    assert shown(store, "order") == [] and shown(store, "shot") == []
    assert ids_in_file(store, "r_order") == [9, 10]
    assert state(store)[1]["office"] == 107
    with store.replica.read() as conn:
        assert replica.pull_plan(conn) == PullPlan(("user:3",), 0, True)
    pull(store, [up("pick_task", 31, "user:3", 108, batch_id=3), up("pick_batch", 3, "user:3", 108, claimed_by=3),
                 up("pick_batch", 8, "user:3", 109, claimed_by=3)], cursor=110)
    assert state(store)[0] == 107 and [t["id"] for t in shown(store, "pick_task")] == [31, 40]
    assert [b["id"] for b in shown(store, "pick_batch")] == [3, 8]

    # Pia, another picker: nothing of anna's own work, which is gone from the file.
    change = sign_in(store, PICKER_PIA)
    assert change.purged == ["user:3"] and change.added == ["user:4"]
    assert ids_in_file(store, "r_pick_batch") == [3]  # 8 was anna's alone
    assert masks(store, "r_pick_batch") == {3: {"floor"}}
    assert masks(store, "r_pick_task") == {31: {"floor"}, 40: {"floor"}}
    assert "user:3" not in state(store)[1]
    assert [b["id"] for b in shown(store, "pick_batch")] == [3]  # the floor still shows the batch itself

    # Sam comes back: his office rows show again and office continues from where it was.
    sign_in(store, SUPERVISOR_SAM)
    assert [o["status"] for o in shown(store, "order")] == ["released", "picked"]
    assert state(store)[1]["office"] == 107


def test_a_personal_only_row_leaves_the_file_with_its_person(store):
    sign_in(store, PICKER_ANNA)
    pull(store, [up("pick_batch", 3, "user:3", claimed_by=3)], cursor=10)
    sign_in(store, PICKER_PIA)
    assert ids_in_file(store, "r_pick_batch") == [] and shown(store, "pick_batch") == []


# --- pulling plan, reset, wipe ------------------------------------------------------------------

def test_pull_plan_takes_the_group_furthest_behind_and_merges_at_its_last_page(store):
    sign_in(store, ["catalog", "floor"])
    pull(store, [up("product", 1, "catalog")], cursor=50)
    sign_in(store, ["catalog", "floor", "office", "studio"])
    with store.replica.write() as conn:
        conn.exec_driver_sql("UPDATE replica_audiences SET cursor = 30 WHERE name = 'studio'")  # held before
        assert replica.pull_plan(conn) == PullPlan(("office",), 0, True)
    pull(store, [up("order", 1, "office")], cursor=40, has_more=True)
    with store.replica.read() as conn:  # 30 < 40 < 50: studio is furthest behind now
        assert replica.pull_plan(conn) == PullPlan(("studio",), 30, True)
    plan = pull(store, [], cursor=55)
    assert plan.behind
    # studio's last page merged everything down to the lowest cursor of the scope: office's 40.
    assert state(store)[1] == {"catalog": 40, "floor": 40, "office": 40, "studio": 40}
    with store.replica.read() as conn:
        assert replica.pull_plan(conn) == PullPlan(("catalog", "floor", "office", "studio"), 40, False)


def test_a_page_moves_only_the_audiences_it_served(store):
    sign_in(store, ["catalog", "floor"])
    with store.replica.write() as conn:
        plan = replica.pull_plan(conn)
        replica.store_page(conn, plan, page([up("product", 1, "catalog")], 30, ["catalog", "office"]))
        assert replica.cursors(conn) == {"catalog": 30, "floor": 0}
        assert replica.cursor(conn) == 0


def test_a_reset_wipes_the_audiences_pulled_and_no_others(store):
    sign_in(store, SUPERVISOR_SAM)
    pull(store, [up("order", 1, "office"), up("order", 1, "packing_ref"), up("order", 2, "office"),
                 up("product", 3, "catalog")], cursor=20)
    with store.replica.write() as conn:
        replica.wipe(conn, ["office", "studio", "unknown"])
        assert replica.cursors(conn) == {"catalog": 20, "floor": 20, "office": 0, "packing_ref": 20,
                                         "studio": 0, "user:7": 20}
    assert ids_in_file(store, "r_order") == [1] and masks(store, "r_order") == {1: {"packing_ref"}}
    assert [p["id"] for p in shown(store, "product")] == [3]

    # The server's reset answer to a pull of the group behind wipes that group the same way.
    with store.replica.write() as conn:
        plan = replica.pull_plan(conn)
        assert plan == PullPlan(("office", "studio"), 0, True)
        conn.exec_driver_sql("UPDATE replica_audiences SET cursor = 5 WHERE name IN ('office', 'studio')")
        plan = replica.pull_plan(conn)
        assert replica.store_page(conn, plan, page([], 0, plan.audiences, has_more=True, reset=True)) == 0
        assert replica.cursors(conn)["office"] == 0 and replica.cursors(conn)["catalog"] == 20


def test_wiping_everything_empties_every_table_and_cursor_and_keeps_the_scope(store):
    sign_in(store, PICKER_ANNA)
    pull(store, [up("product", 1, "catalog"), up("tote", 2, "floor"), up("pick_task", 3, "user:3")], cursor=9)
    with store.replica.write() as conn:
        replica.wipe(conn)
        assert replica.cursors(conn) == {"catalog": 0, "floor": 0, "user:3": 0}
        assert replica.scope(conn) == PICKER_ANNA
        assert replica.pull_plan(conn) == PullPlan(tuple(PICKER_ANNA), 0, False)
        assert sum(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() for t in
                   ("r_product", "r_other", "r_pick_task")) == 0


def test_load_filters_on_indexed_columns_and_orders_by_id(store):
    sign_in(store, PICKER_ANNA)
    pull(store, [up("pick_task", 9, "floor", batch_id=1), up("pick_task", 2, "floor", batch_id=1),
                 up("pick_task", 5, "floor", batch_id=2)], cursor=3)
    assert [t["id"] for t in shown(store, "pick_task", batch_id=1)] == [2, 9]
    assert [t["id"] for t in shown(store, "pick_task", id=5)] == [5]


# --- the feed's new fields ----------------------------------------------------------------------

def test_decode_page_keeps_each_changes_audience_and_the_pages_audiences():
    got = page([up("product", 1, "catalog"), tomb("pick_task", 2, "user:3")], 7, ["catalog", "user:3"])
    assert got.audiences == ["catalog", "user:3"]
    assert [(c.entity, c.audience) for c in got.changes] == [("product", "catalog"), ("pick_task", "user:3")]


@pytest.mark.parametrize(("body", "message"), [
    ({"changes": [], "cursor": 1, "has_more": False, "reset": False}, "audiences is missing"),
    ({"changes": [], "cursor": 1, "has_more": False, "reset": False, "audiences": "floor"}, "audiences is not a list"),
    ({"changes": [], "cursor": 1, "has_more": False, "reset": False, "audiences": ["floor", 3]},
     "audiences[1] is not a string"),
    ({"changes": [up("product", 1, "catalog")] * 3 + [{k: v for k, v in up("product", 2, "x").items()
                                                        if k != "audience"}],
      "cursor": 1, "has_more": False, "reset": False, "audiences": ["catalog"]}, "changes[3].audience is missing"),
    ({"changes": [{**up("product", 1, "catalog"), "audience": None}], "cursor": 1, "has_more": False, "reset": False,
      "audiences": ["catalog"]}, "changes[0].audience is not a string"),
])
def test_a_page_without_audiences_is_refused_with_the_reason(body, message):
    with pytest.raises(FeedError) as caught:
        decode_page(orjson.dumps(body))
    assert str(caught.value) == message
