"""Every action of the catalogue, done on the real server and predicted by the local view: the same rows.

The local view lays queued actions over server state (sync/view.py); a prediction that
differs from what the server does shows a person something for a few seconds that then
changes under them. Each case below brings the warehouse to where the action makes sense,
queues it, reads the prediction, syncs, and reads the server's answer through the feed.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from contract.actions import (
    ACTIONS, Args, AssetRegister, PackConfirm, PackedUnit, PackHold, PackRelease, PackReopen, ParcelItem, ParcelSpec,
    PickConfirm, PickShort, PickUndo, SampleCheckIn, SampleCheckOut, ShotQc, ToteAssign,
)
from order_api.feed import publish_asset, publish_shot
from order_api.models import Asset, ShotListItem
from sync.catalogue import CATALOGUE
from tests.sync.test_engine import FAST


@dataclass
class Floor:
    """The client of one supervisor (who may do every action) on the test warehouse."""

    core: object
    batch: dict
    product_id: int
    asset_id: int
    shot_id: int

    def do(self, args: Args) -> str:
        """Queue an action and sync it; the server must apply it."""
        m = self.core.outbox.append("sam", args.NAME, args.wire())
        status = self.core.engine.sync_once()
        assert status.pending == 0 and status.last_error is None, status
        assert not [r for r in self.core.outbox.rejected() if r.mutation.id == m.id]
        return m.id

    def task(self, n: int = 0) -> dict:
        return sorted(self.core.view.rows("pick_task", batch_id=self.batch["batch"]["id"]), key=lambda t: t["id"])[n]


def _pick(f: Floor, task: dict, qty: int) -> PickConfirm:
    return PickConfirm(task=task["id"], location=task["location_label"], qty=qty, barcode=task["gtin"])


def _picked_order(f: Floor) -> int:
    """Pick every unit of the batch's first order, so it waits to be packed."""
    task = f.task(0)
    f.do(_pick(f, task, task["qty"]))
    return task["order_id"]


def _pack(f: Floor) -> PackConfirm:
    order = _picked_order(f)
    lines = f.core.view.rows("order_line", order_id=order)
    return PackConfirm(order=order, parcels=[ParcelSpec(box_type="M", weight_g=900, items=[
        ParcelItem(line=line["id"], qty=line["picked_qty"]) for line in lines])])


def _pack_two_parcels(f: Floor) -> PackConfirm:
    """The order's one line (2 units) in two boxes: one unit with its lot and serial, one confirmed by hand."""
    order = _picked_order(f)
    [line] = f.core.view.rows("order_line", order_id=order)
    assert line["picked_qty"] == 2
    return PackConfirm(order=order, parcels=[
        ParcelSpec(box_type="M", weight_g=400, ref="0b7c4a53-5d5e-4d3c-8f0e-6c1d2a3b4c5d",
                   items=[ParcelItem(line=line["id"], qty=1, units=[PackedUnit(lot="L1", serial="S-0001")])]),
        ParcelSpec(box_type="M", weight_g=420, ref="9f1e2d3c-4b5a-4697-8877-665544332211",
                   items=[ParcelItem(line=line["id"], qty=1, units=[PackedUnit(manual="label_damaged")])]),
    ])


def _held(f: Floor) -> int:
    order = _picked_order(f)
    f.do(PackHold(order=order, reason="item_missing"))
    return order


def _reopen(f: Floor) -> PackReopen:
    pack = _pack(f)
    f.do(pack)
    return PackReopen(order=pack.order, reason="wrong_box")


def _undo(f: Floor) -> PickUndo:
    task = f.task(1)
    confirmation = f.do(_pick(f, task, 1))
    return PickUndo(task=task["id"], confirmation=confirmation)


def _check_out(f: Floor) -> SampleCheckOut:
    f.do(SampleCheckIn(barcode="SMP-0002", sku="SKU-1"))
    return SampleCheckOut(barcode="SMP-0002")


# Each action: how to get from a fresh warehouse to a valid instance of it.
CASES: dict[str, Callable[[Floor], Args]] = {
    "pick.confirm": lambda f: _pick(f, f.task(0), 1),
    "pick.short": lambda f: PickShort(task=f.task(0)["id"], reason="damaged"),
    "pick.undo": _undo,
    "tote.assign": lambda f: ToteAssign(batch=f.batch["batch"]["id"], order=f.task(0)["order_id"], tote="T-9001"),
    "pack.confirm": _pack_two_parcels,
    "pack.hold": lambda f: PackHold(order=_picked_order(f), reason="item_damaged", note="box crushed"),
    "pack.reopen": _reopen,
    "pack.release": lambda f: PackRelease(order=_held(f)),
    "sample.check_in": lambda f: SampleCheckIn(barcode="SMP-0001", sku="SKU-1"),
    "sample.check_out": _check_out,
    "shot.qc": lambda f: ShotQc(shot=f.shot_id, decision="reject", comment="  Label not readable  "),
    "asset.register": lambda f: AssetRegister(asset=f.asset_id, angle="front", width_px=2400, height_px=2400),
}


def test_every_action_of_the_contract_has_a_case_and_a_catalogue_entry():
    assert CASES.keys() == ACTIONS.keys() == CATALOGUE.keys()


@pytest.fixture
def floor(server, open_core):
    with server.db.write() as s:
        product_id = server.warehouse.products[0]
        shot = ShotListItem(product_id=product_id, status="open")
        asset = Asset(product_id=product_id, object_key=f"assets/{product_id}/a.jpg", sha256="0" * 64, size=1000,
                      content_type="image/jpeg", status="uploaded")
        s.add_all([shot, asset])
        s.flush()
        publish_shot(s, shot)
        publish_asset(s, asset)
        ids = shot.id, asset.id
    core = open_core(server.url, options=FAST)
    core.signin.online(username="sam", pin="1111")
    core.engine.signed_in()
    batch = core.api.claim_batches()[0]
    core.engine.sync_once()
    return Floor(core, batch, product_id, ids[1], ids[0])


def _rows(core, entry) -> dict[str, dict[int, dict]]:
    return {entity: {row["id"]: row for row in core.view.rows(entity)} for entity in entry.effects}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_local_view_predicts_what_the_server_does(floor, name):
    entry = CATALOGUE[name]
    args = CASES[name](floor)
    before = _rows(floor.core, entry)
    floor.core.outbox.append("sam", args.NAME, args.wire())
    predicted = _rows(floor.core, entry)
    status = floor.core.engine.sync_once()
    assert status.pending == 0 and status.last_error is None
    assert floor.core.outbox.rejected() == [], "the server refused the case's action"
    served = _rows(floor.core, entry)
    changed = {(entity, row_id, field): value
               for entity, rows in predicted.items() for row_id, row in rows.items()
               for field, value in row.items() if before[entity].get(row_id, {}).get(field) != value}
    if entry.effects:
        assert changed, f"{name} declares effects but predicts no change"
    else:
        assert predicted == before
    wrong = {key: (value, served[key[0]].get(key[1], {}).get(key[2])) for key, value in changed.items()
             if served[key[0]].get(key[1], {}).get(key[2]) != value}
    assert wrong == {}, f"{name}: (entity, id, field): (predicted, served)"


def test_every_catalogue_module_is_listed():
    import importlib
    import pkgutil

    import sync.catalogue as catalogue

    with_entries = {f"sync.catalogue.{info.name}" for info in pkgutil.iter_modules(catalogue.__path__)
                    if hasattr(importlib.import_module(f"sync.catalogue.{info.name}"), "ENTRIES")}
    assert with_entries == {m.__name__ for m in catalogue.ENTRY_MODULES}


def test_a_packed_order_frees_its_tote_on_the_pickers_device(floor):
    """The tasks carry their order's status; a picker's device judges a tote busy by them."""
    pack = _pack(floor)
    floor.do(pack)
    tasks = [t for t in floor.core.view.rows("pick_task") if t["order_id"] == pack.order]
    assert tasks and {t["order_status"] for t in tasks} == {"packed"}
