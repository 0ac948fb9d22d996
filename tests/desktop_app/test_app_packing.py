"""Packing through the real app, the real API, a scale on a real tty pair and a label printer on loopback TCP."""

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from desktop_app.views.exceptions.exceptions_view import HeldOrderFrame
from order_api.models import Order, Parcel
from tests.desktop_app.appdriver import make_driver
from tests.order_api.harness import claim, pick_args
from tests.peripherals.label_printer import LoopbackLabelPrinter
from tests.peripherals.wired_scale import MtSicsScale

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

JACKET, BOTTLE = "4006381333931", "4012345678901"  # tests/order_api/scenario.py: 600 g and 250 g; box M 300 g


def picked_orders(server, count: int, picker: str = "anna") -> list[dict]:
    """`count` orders picked in full through the API (by anna), each in tote T-00nn: [{id, number, tote, gtin}]."""
    anna = server.sign_in(picker, pin="1111")
    done: list[dict] = []
    while len(done) < count:
        r = anna.http.post("/v1/pick-batches/claim", json={})
        assert r.status_code == 200, r.text
        batch = r.json()["batches"][0]
        for order in batch["orders"]:
            tote = f"T-{90 + order['id']:04d}"
            assert anna.do("tote.assign", batch=batch["batch"]["id"], order=order["id"], tote=tote)["status"] == \
                "applied"
        for task in batch["tasks"]:
            assert anna.do("pick.confirm", **pick_args(task))["status"] == "applied"
            done.append({"id": task["order_id"], "number": task["order_number"], "tote": f"T-{90 + task['order_id']:04d}",
                         "gtin": task["gtin"], "line": task["line_id"]})
    return done[:count]


@pytest.fixture
def bench(qtbot, server, tmp_path):
    """A packer's station: ben signed in, an MT-SICS scale on a tty pair behind a stable path, a TCP printer."""
    server.add_user("ben", "packer", pin="2222", badge="U0002")
    scale = MtSicsScale(0)
    port = tmp_path / "usb-Bench_Scale-if00"
    port.symlink_to(scale.name)
    printer = LoopbackLabelPrinter()
    drivers = []

    def make(**overrides):
        settings = {"scale.port": str(port), "printer.label": printer.setting, "packing.weight_gate": "block",
                    **overrides}
        d = make_driver(qtbot, tmp_path, server.url, name=f"bench{len(drivers)}", **settings)
        drivers.append(d)
        return d

    make.scale, make.printer = scale, printer
    yield make
    for d in drivers:
        d.app.close()
    if scale._thread.is_alive():
        scale.unplug()
    printer.switch_off()


def _pack_section(d, waiting: int):
    """The Pack section on screen, once the first pull has brought the `waiting` picked orders."""
    d.app.station.show_section("pack")
    d.qtbot.waitUntil(lambda: d.app.packing.on_screen, timeout=5_000)
    view = d.app.packing.view
    d.qtbot.waitUntil(lambda: view.session.bench.waiting() == waiting, timeout=15_000)
    return view


def _weigh(d, scale, grams: int) -> None:
    """The parcel goes on the scale: a few moving answers, then stable."""
    said = len(d.said)
    scale.place(grams)
    d.qtbot.waitUntil(lambda: any(kind in ("done", "reject") for kind, _ in d.said[said:]), timeout=10_000)


def _label_of(server, ref: str) -> bytes:
    sam = server.sign_in("sam", pin="1111")
    r = sam.http.post(f"/v1/parcels/by-ref/{ref}/label", params={"format": "zpl"})
    assert r.status_code == 200, r.text
    return r.content


def test_an_order_packed_by_scans_into_two_parcels_weighed_and_labelled(bench, server):
    [order] = picked_orders(server, 1)
    d = bench()
    d.sign_in("ben", "2222")
    view = _pack_section(d, 2)  # the other order of anna's batch is picked too
    other = BOTTLE if order["gtin"] == JACKET else JACKET
    unit_g = 600 if order["gtin"] == JACKET else 250

    d.press(Qt.Key.Key_F9)  # tare: the scale's packing mat counts as nothing
    d.qtbot.waitUntil(lambda: b"T" in bench.scale.received, timeout=5_000)
    assert d.banner() == ("info", "Scale tared.")

    d.scan(order["tote"])
    assert d.banner()[0] == "accept" and order["number"] in d.banner()[1]
    session = view.session
    assert session.draft.number == order["number"] and view.pages.currentWidget() is view.order_page
    before = d.outbox()
    d.scan(other)  # a wrong item: refused with what was expected and what this is
    assert d.banner()[0] == "reject" and d.banner()[1].startswith("Wrong item: expected")
    assert d.app.feedback.banner.background == "#c62828"
    assert session.draft.units_verified == 0 and d.outbox() == before

    d.scan(order["gtin"])
    assert d.banner()[0] == "accept" and session.draft.units_verified == 1
    d.press(Qt.Key.Key_F5)  # close this parcel, start the next: it asks for the weight
    assert "scale" in d.banner()[1]
    _weigh(d, bench.scale, 300 + unit_g)
    assert d.banner()[0] == "done" and "Parcel 1 closed" in d.banner()[1], d.said[-3:]

    d.scan(order["gtin"])  # the last unit: the parcel closes by itself once weighed
    _weigh(d, bench.scale, 305 + unit_g)
    assert d.banner()[0] == "done" and order["number"] in d.banner()[1], d.said[-3:]
    d.scan(order["gtin"])  # the order is gone from the bench: nothing waits with this item now
    assert d.banner()[0] == "reject"

    name, args = d.outbox()[-1]
    assert name == "pack.confirm" and args["order"] == order["id"]
    assert [(p["box_type"], p["weight_g"], [(i["line"], i["qty"]) for i in p["items"]]) for p in args["parcels"]] == [
        ("M", 300 + unit_g, [(order["line"], 1)]), ("M", 305 + unit_g, [(order["line"], 1)])]
    labels = bench.printer.wait_for_labels(2)
    assert labels == [_label_of(server, p["ref"]) for p in args["parcels"]]
    with server.db.read() as s:
        assert s.get(Order, order["id"]).status == "packed"
        assert len(s.execute(select(Parcel).where(Parcel.order_id == order["id"])).all()) == 2


def test_over_scan_blocked_weight_and_a_manual_confirmation(bench, server):
    [order] = picked_orders(server, 1)
    d = bench()
    d.sign_in("ben", "2222")
    view = _pack_section(d, 2)  # the other order of anna's batch is picked too
    unit_g = 600 if order["gtin"] == JACKET else 250

    d.press(Qt.Key.Key_F7)  # the bench's command sheet: a barcode per box and command, on the label printer
    [sheet] = bench.printer.wait_for_labels(1)
    assert b"^BCN" in sheet and b"FH:BOX:M" in sheet and b"FH:PARCEL" in sheet

    d.scan(order["gtin"])  # an item opens the only waiting order that has it, and counts
    assert view.session.draft is not None and view.session.draft.units_verified == 1
    d.scan("FH:BOX:M")  # the box, scanned from the sheet
    assert d.banner()[0] == "accept" and view.session.box_choice == "M"
    d.press(Qt.Key.Key_F3)  # the second unit's label is unreadable: confirmed by hand, with a reason
    assert view.pages.currentWidget() is view.choice_page
    d.press(Qt.Key.Key_1)
    assert view.session.draft.units_verified == 2
    assert "scale" in d.banner()[1]  # all verified: closing, waiting for the weight
    before = d.outbox()
    d.scan(order["gtin"])  # one too many: its own sound and words, nothing changes
    assert d.banner()[0] == "overscan" and "One too many" in d.banner()[1]
    assert view.session.draft.units_verified == 2

    _weigh(d, bench.scale, 300 + 2 * unit_g + 900)  # far too heavy: gate=block keeps the parcel open
    assert d.banner()[0] == "reject" and "should weigh" in d.banner()[1]
    assert d.outbox() == before and view.session.draft is not None
    d.press(Qt.Key.Key_Return)  # block: Enter does not close it anyway
    assert d.outbox() == before
    _weigh(d, bench.scale, 300 + 2 * unit_g + 10)
    assert d.banner()[0] == "done", d.said[-3:]
    name, args = d.outbox()[-1]
    assert name == "pack.confirm"
    [parcel] = args["parcels"]
    assert parcel["items"][0]["units"] == [{"lot": None, "serial": None, "manual": "label_damaged"}]
    assert bench.printer.wait_for_labels(2)[1] == _label_of(server, parcel["ref"])


def test_an_unplugged_scale_is_shown_and_the_weight_is_typed_meanwhile(bench, server):
    [order] = picked_orders(server, 1)
    d = bench()
    d.sign_in("ben", "2222")
    view = _pack_section(d, 2)
    d.qtbot.waitUntil(lambda: view.scale_ready is True, timeout=10_000)
    bench.scale.unplug()
    d.qtbot.waitUntil(lambda: view.scale_ready is False, timeout=15_000)
    assert "unplugged" in view.scale_words or "not found" in view.scale_words
    d.scan(order["tote"])
    d.scan(order["gtin"])
    d.scan(order["gtin"])
    assert view.pages.currentWidget() is view.entry_page and "weight" in d.banner()[1]
    for key in (Qt.Key.Key_1, Qt.Key.Key_5, Qt.Key.Key_0, Qt.Key.Key_0):
        d.press(key)
    d.press(Qt.Key.Key_Return)
    assert d.banner()[0] == "done", d.said[-3:]
    name, args = d.outbox()[-1]
    assert name == "pack.confirm" and args["parcels"][0]["weight_g"] == 1500


def test_hold_shelf_reopen_and_a_cancellation_under_the_packer(bench, server):
    first, second, third = picked_orders(server, 3)
    d = bench(**{"packing.weight_gate": "off"})
    d.sign_in("ben", "2222")
    view = _pack_section(d, 4)

    d.scan(first["number"])  # by order number
    d.press(Qt.Key.Key_F4)
    d.press(Qt.Key.Key_2)  # an item is damaged
    assert d.outbox()[-1] == ("pack.hold", {"order": first["id"], "reason": "item_damaged", "line": None, "note": ""})
    assert view.session.draft is None and "hold shelf" in d.banner()[1]
    d.qtbot.waitUntil(lambda: d.app.core.outbox.counts()[0] == 0, timeout=15_000)
    with server.db.read() as s:
        assert s.get(Order, first["id"]).status == "held"
    sam = server.sign_in("sam", pin="1111")

    # A supervisor at this bench sees it on the hold shelf under Exceptions and sends it back to packing.
    d.app.station.sign_out()
    d.sign_in("sam", "1111")
    d.app.station.show_section("exceptions")
    shelf = d.app.station.section("exceptions").view
    d.qtbot.waitUntil(lambda: any(getattr(c, "held", None) and c.held.order_id == first["id"]
                                  for c in shelf.findChildren(HeldOrderFrame)), timeout=15_000)
    [card] = [c for c in shelf.findChildren(HeldOrderFrame) if c.held.order_id == first["id"]]
    assert "damaged" in card.reason.text()
    card.release.click()

    def released() -> bool:  # the release stored, sent and applied (the queue's count alone can lag its commit)
        with server.db.read() as s:
            return d.outbox()[-1][0] == "pack.release" and s.get(Order, first["id"]).status == "picked"

    d.qtbot.waitUntil(released, timeout=15_000)
    with server.db.read() as s:
        assert s.get(Order, first["id"]).status == "picked"
    d.app.station.sign_out()
    d.sign_in("ben", "2222")
    d.app.station.show_section("pack")
    view = d.app.packing.view

    # Packed, then opened again before it ships: its labels are void.
    d.scan(second["tote"])
    d.scan(second["gtin"])
    d.scan(second["gtin"])
    _weigh(d, bench.scale, 1234)
    assert d.outbox()[-1][0] == "pack.confirm"
    d.press(Qt.Key.Key_F8)
    d.press(Qt.Key.Key_2)  # wrong box
    assert d.outbox()[-1] == ("pack.reopen", {"order": second["id"], "reason": "wrong_box"})
    d.qtbot.waitUntil(lambda: d.app.core.outbox.counts()[0] == 0, timeout=15_000)
    with server.db.read() as s:
        assert s.get(Order, second["id"]).status == "picked"

    # Cancelled in the office while the packer has it open: the bench stops them.
    d.scan(third["tote"])
    d.scan(third["gtin"])
    assert sam.http.post(f"/v1/orders/{third['id']}/cancel").status_code == 200
    d.qtbot.waitUntil(lambda: any("was cancelled" in m for _, m in d.said), timeout=15_000)
    assert view.session.draft is None
    assert [n for n, _ in d.outbox()].count("pack.confirm") == 1


def test_an_order_held_at_another_bench_appears_on_the_shelf_a_supervisor_is_looking_at(bench, server):
    [order] = picked_orders(server, 1)
    d = bench()
    d.sign_in("sam", "1111")
    d.app.station.show_section("exceptions")
    shelf = d.app.station.section("exceptions").view
    d.qtbot.waitUntil(lambda: "0 waiting" in shelf.header.text() and bool(d.app.core.view.row("order", order["id"])),
                      timeout=15_000)  # read, and the order is in the replica: nothing on the shelf yet
    assert not shelf.findChildren(HeldOrderFrame)

    ben = server.sign_in("ben", pin="2222")  # another bench
    assert ben.do("pack.hold", order=order["id"], reason="item_missing", line=None, note="")["status"] == "applied"
    d.qtbot.waitUntil(lambda: [c.held.order_id for c in shelf.findChildren(HeldOrderFrame)] == [order["id"]],
                      timeout=15_000)  # brought by a pull, no Refresh tapped
    [card] = shelf.findChildren(HeldOrderFrame)
    assert "missing" in card.reason.text() and card.release is not None


def test_a_picker_has_no_pack_section(drive, server):
    d = drive()
    d.sign_in("anna", "1111")
    assert not d.app.packing.opens_for(d.app.station.person.roles)
    d.scan("T-0001")
    assert "Pack" not in d.banner()[1]


def test_labels_of_orders_packed_offline_print_once_in_packing_order_when_the_server_is_back(
        bench, server, restart_server):
    orders = picked_orders(server, 5)
    stop, start = restart_server
    d = bench(**{"packing.weight_gate": "off"})
    d.sign_in("ben", "2222")
    _pack_section(d, 6)
    stop()
    weight = 700
    for order in orders:
        d.scan(order["tote"])
        d.scan(order["gtin"])
        d.scan(order["gtin"])
        weight += 1
        _weigh(d, bench.scale, weight)
        assert d.banner()[0] == "done", d.said[-3:]
    packs = [args for name, args in d.outbox() if name == "pack.confirm"]
    assert len(packs) == 5 and not bench.printer.labels
    assert "pending" in d.app.packing.view.spool_words
    start()
    labels = bench.printer.wait_for_labels(5, timeout=60)
    refs = [p["parcels"][0]["ref"] for p in packs]
    assert labels == [_label_of(server, ref) for ref in refs]  # in packing order, each once


def test_an_item_in_several_waiting_orders_asks_which_and_a_tote_beats_it(bench, server):
    orders = picked_orders(server, 4)
    d = bench(**{"packing.weight_gate": "off"})
    d.sign_in("ben", "2222")
    view = _pack_section(d, 4)
    gtin = orders[0]["gtin"]
    sharing = sorted((o for o in orders if o["gtin"] == gtin), key=lambda o: o["id"])
    assert len(sharing) == 2
    d.scan(gtin)
    assert view.pages.currentWidget() is view.choice_page and view.session.draft is None
    assert [o.number for o in view.session.choices] == [o["number"] for o in sharing]  # oldest first
    d.press(Qt.Key.Key_2)
    assert view.session.draft.order_id == sharing[1]["id"] and view.session.draft.units_verified == 1
    d.press(Qt.Key.Key_Escape)  # put aside: nothing of it is kept
    assert view.session.draft is None and "put aside" in d.banner()[1]
    d.scan(sharing[0]["tote"])  # the tote says which order, whatever else holds the same item
    assert view.session.draft.order_id == sharing[0]["id"] and view.session.draft.units_verified == 0


def _sam_comes_over_an_order_ben_left_open(bench, server):
    """Ben opens an order and verifies one unit; sam's badge comes over it and sam signs in."""
    [order] = picked_orders(server, 1)
    d = bench()
    d.sign_in("ben", "2222")
    view = _pack_section(d, 2)
    d.scan(order["tote"])
    d.scan(order["gtin"])  # one unit verified, the parcel still open
    assert view.session.draft.units_verified == 1
    before = d.outbox()
    d.scan("U0004")  # sam's badge over ben's open order
    d.window.signin.pin.setText("1111")
    d.press(Qt.Key.Key_Return)
    d.qtbot.waitUntil(lambda: d.app.station.person.username == "sam", timeout=15_000)
    return d, view, order, before


def test_an_order_left_open_at_a_switch_of_person_is_told_to_the_next_person_and_saved_nowhere(bench, server):
    d, view, order, before = _sam_comes_over_an_order_ben_left_open(bench, server)
    d.window.nav_buttons["pack"].click()
    assert view.session.user == "sam" and view.session.draft is None
    assert view.pages.currentWidget() is view.idle_page
    assert view.idle_page.left.text() == (f"{order['number']} was left open when the person changed: nothing of "
                                          f"it is saved. Scan tote {order['tote']} to pack it.")
    assert d.outbox() == before  # nothing of ben's half-packed order was queued

    # Sam's first sign-in on this bench: his scope's orders arrive with his first pull.
    d.qtbot.waitUntil(lambda: view.session.bench.by_tote(order["tote"]) is not None, timeout=15_000)
    d.scan(order["tote"])  # sam takes it up from the start
    assert view.idle_page.left.text() == "" and view.session.draft.number == order["number"]
    assert view.session.draft.units_verified == 0


def test_an_order_left_open_is_still_told_after_someone_who_did_not_pack_here(bench, server):
    # Sam's badge comes over ben's open order, sam does what he came for elsewhere and signs out;
    # ben comes back to the bench: the order he left is told to him, until a scan at the bench.
    d, view, order, _ = _sam_comes_over_an_order_ben_left_open(bench, server)
    d.app.station.show_section("exceptions")  # never at the bench
    d.app.station.sign_out()
    d.sign_in("ben", "2222")
    d.qtbot.waitUntil(lambda: d.app.station.current_section() == "pack", timeout=15_000)
    told = f"{order['number']} was left open when the person changed"
    assert view.session.user == "ben" and told in view.idle_page.left.text()
    d.scan(order["tote"])  # taken up again: the notice has done its work
    assert view.idle_page.left.text() == "" and view.session.draft.number == order["number"]
    assert view._left == ""
