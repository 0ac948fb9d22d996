"""The real app at a packing bench on a real X server: a packer types his way in and packs an order with a barcode gun.

The same set-up as tests/integration/test_xvfb_scanning.py (Xvfb, `floorhand-api serve --seed
demo` and `floorhand` on Qt's xcb platform, each its own process, keys through XTEST), with a
bench: a simulated scale, which weighs the parcel by itself once its last unit is scanned
(desktop_app/views/packing/section.py, `_weighing_wanted`), and a folder label printer. The
test watches only what a support engineer could: the app's journal, the server's database,
the label files and, when something fails, the screen.
"""

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.test_xvfb_scanning import (  # noqa: F401 - display and order_api are fixtures used here
    PERSON_PAUSE_S,
    Child,
    Floor,
    display,
    order_api,
    query,
    script,
)

PACKER, PIN = "ben", "2222"  # the demo seed's packer
TOTE = "T-0001"  # the demo's picked orders wait to be packed in T-0001..T-0020


@pytest.fixture
def bench(tmp_path, display, order_api):  # noqa: F811 - the imported fixtures
    """`floorhand` as in the scanning test's `floor`, at a bench with a simulated scale and a folder printer."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORHAND_")}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", XDG_RUNTIME_DIR=str(runtime),
               FLOORHAND_MACHINE_CONFIG=str(tmp_path / "machine.toml"),
               FLOORHAND_USER_CONFIG=str(tmp_path / "user.toml"), FLOORHAND_LOG_DIR=str(tmp_path / "log"))
    data_dir = tmp_path / "client"
    app = Child.start("floorhand", [script("floorhand"), "--server", order_api.url, "--data-dir", str(data_dir),
                                    "--set", "keyring=none", "--set", "scale.port=simulated",
                                    "--set", f"printer.label=folder:{tmp_path / 'labels'}",
                                    "--set", "packing.weight_gate=warn"], tmp_path / "floorhand.log", env=env)
    try:
        yield Floor(display, app, order_api, data_dir, tmp_path)
    finally:
        app.stop()


def labels(folder: Path) -> list[Path]:
    """The finished label files of the folder printer (a file being written is a dot file until it is whole)."""
    return sorted(folder.glob("*.zpl")) if folder.is_dir() else []


def test_a_packer_signs_in_by_keyboard_and_packs_an_order_with_a_scanner(bench, tmp_path):
    server = bench.server.db
    [(order, number)] = query(server, "SELECT id, number FROM orders WHERE tote = ? AND status = 'picked'", TOTE)
    lines = query(server, "SELECT l.id, l.picked_qty, p.gtin FROM order_lines l JOIN products p ON p.id = l.product_id "
                          "WHERE l.order_id = ? AND l.picked_qty > 0 ORDER BY l.id", order)
    assert lines, f"order {number} in {TOTE} has nothing picked"
    units = [gtin for _, picked, gtin in lines for _ in range(picked)]
    # A scan taken twice (a retry below) must not open another order: no other waiting order has these items.
    assert query(server, "SELECT o.number FROM orders o JOIN order_lines l ON l.order_id = o.id "
                         "JOIN products p ON p.id = l.product_id WHERE o.status = 'picked' AND o.id != ? "
                         f"AND p.gtin IN ({', '.join('?' * len(lines))})", order, *{g for _, _, g in lines}) == []
    # The wrong item: a product of the catalogue that is in no order at all.
    [(wrong,)] = query(server, "SELECT gtin FROM products WHERE id NOT IN (SELECT product_id FROM order_lines) "
                               "ORDER BY id LIMIT 1")

    bench.focus_window()
    bench.type_as_person(PACKER)
    bench.press_enter()
    bench.type_as_person(PIN)
    bench.press_enter()
    verifier = bench.wait_for(f"online sign-in of {PACKER} (signin_verifiers row in journal.sqlite3)",
                              lambda: bench.journal("SELECT user FROM signin_verifiers WHERE username = ?", PACKER))
    assert "packer" in json.loads(verifier[0][0])["roles"]
    # What the bench needs to open the order: the order with its lines, its products, the box types.
    bench.wait_for(f"order {number}, its lines, products and the box types in replica.sqlite3", lambda: (
        bench.replica("SELECT id FROM r_order WHERE id = ?", order)
        and len(bench.replica(f"SELECT id FROM r_order_line WHERE id IN ({', '.join('?' * len(lines))})",
                              *(line for line, _, _ in lines))) == len(lines)
        and len(bench.replica(f"SELECT id FROM r_product WHERE gtin IN ({', '.join('?' * len(lines))})",
                              *(g for _, _, g in lines))) == len({g for _, _, g in lines})
        and bench.replica("SELECT id FROM r_box_type")))

    # No key chooses a section: the Pack section must be the one on screen after a packer's
    # sign-in, with the keyboard, or nothing below takes the scans (the station gives a scan
    # only to the section on screen) and no pack.confirm is ever queued.
    def pack(again: bool = False) -> None:
        if again:  # like a packer whose bench did not react: Esc twice back to the start, and again
            bench.xdotool("sleep", PERSON_PAUSE_S, "key", "Escape", "sleep", PERSON_PAUSE_S, "key", "Escape")
        print(f"scanning {TOTE} {wrong} {' '.join(units)}")  # pytest shows it when the test fails
        bench.scan(TOTE)
        bench.scan(wrong)  # refused as the wrong item; must change and queue nothing
        for gtin in units:
            bench.scan(gtin)

    pack()
    queued = bench.wait_for(f"pack.confirm of order {number} in the outbox",
                            lambda: bench.outbox("pack.confirm", order=order), again=lambda: pack(again=True))

    # The outbox: this one pack.confirm and nothing else, every picked unit in it. Qt handles X key
    # events in order, so the wrong item, scanned before the units, was handled by now: it queued nothing.
    assert [name for (name,) in bench.journal("SELECT name FROM outbox ORDER BY seq")] == ["pack.confirm"]
    assert bench.journal("SELECT user FROM outbox") == [(PACKER,)]
    [confirm] = queued
    packed = Counter()
    for parcel in confirm["parcels"]:
        assert parcel["weight_g"] > 0 and parcel["box_type"] and parcel["ref"], parcel
        for item in parcel["items"]:
            packed[item["line"]] += item["qty"]
            assert item.get("units", []) == [], item  # plain EAN-13 scans: no lot, serial or manual confirmation
    assert packed == {line: picked for line, picked, _ in lines}
    refs = [parcel["ref"] for parcel in confirm["parcels"]]

    # The server: the order is packed, every picked unit in the parcels the device made.
    bench.wait_for(f"order {number} packed in the server's database",
                   lambda: query(server, "SELECT id FROM orders WHERE id = ? AND status = 'packed'", order))
    assert query(server, "SELECT id, packed_qty FROM order_lines WHERE order_id = ? AND picked_qty > 0 ORDER BY id",
                 order) == [(line, picked) for line, picked, _ in lines]
    assert sorted(ref for (ref,) in query(server, "SELECT ref FROM parcels WHERE order_id = ?", order)) == sorted(refs)
    bench.wait_for("the server's acknowledgement of the pack in the outbox", lambda: bench.journal(
        "SELECT seq FROM outbox WHERE name = 'pack.confirm' AND state IN ('acked', 'done')"))
    assert bench.journal("SELECT name, code, message FROM rejected") == []

    # The labels: one file per parcel in the printer's folder, fetched by the spool once the pack got through.
    folder = tmp_path / "labels"
    files = bench.wait_for(f"{len(refs)} label file(s) in {folder}", lambda: (
        found if len(found := labels(folder)) >= len(refs) else None))
    bench.wait_for("the print jobs of the parcels marked printed in journal.sqlite3", lambda: sorted(
        ref for (ref,) in bench.journal("SELECT parcel_ref FROM print_jobs WHERE state = 'printed' AND order_number = ?",
                                        number)) == sorted(refs))
    assert len(bench.journal("SELECT id FROM print_jobs")) == len(refs)
    assert len(labels(folder)) == len(refs)  # no parcel's label twice
    texts = [f.read_text(encoding="utf-8") for f in files]
    for text in texts:
        assert text.startswith("^XA") and f"Order {number}" in text and text.rstrip().endswith("^XZ"), text[:300]
    # The server gives a parcel its tracking number when its label is first asked for.
    tracking = [t for (t,) in query(server, "SELECT tracking_number FROM parcels WHERE order_id = ?", order)]
    assert len(tracking) == len(refs) and all(tracking), tracking
    # Each file is one parcel's label: it carries that parcel's tracking number and no other's.
    assert sorted(tuple(t for t in tracking if t in text) for text in texts) == sorted((t,) for t in tracking)
