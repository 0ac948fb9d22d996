"""The photo studio through the real app and the real API: the shot list, scans, samples, filters and review."""

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from order_api.feed import publish_product, publish_sample, publish_shot
from order_api.models import Product, Sample, ShotListItem
from tests.desktop_app.appdriver import PERSON_KEY_MS

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

BOTTLE = "4012345678901"  # tests/order_api/scenario.py: SKU-2
REDO = "Too dark: shoot the front again"


@pytest.fixture
def studio_server(server):
    """The scenario plus a shot list (one SKU rejected, one open, two shot), two samples and chloe, a photographer."""
    server.add_user("chloe", "photographer", pin="3333", badge="U0003")
    jacket, bottle = server.warehouse.products
    with server.db.write() as s:
        extra = [Product(sku=f"SKU-{n}", gtin=gtin, name=name, length_mm=100, width_mm=100, height_mm=100,
                         weight_g=100, shot_angles="front back")
                 for n, gtin, name in ((3, "4000000000031", "Desk Lamp, Brass"), (4, "4000000000048", "Wool Scarf"))]
        s.add_all(extra)
        s.flush()
        shots = [ShotListItem(product_id=jacket, status="rejected", qc_comment=REDO),
                 ShotListItem(product_id=bottle, status="open"),
                 ShotListItem(product_id=extra[0].id, status="shot"),
                 ShotListItem(product_id=extra[1].id, status="shot")]
        samples = [Sample(product_id=jacket, barcode="SMP-000001", status="in_studio",
                          checked_in_at=datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=3)),
                   Sample(product_id=bottle, barcode="SMP-000002", status="returned")]
        s.add_all(shots + samples)
        s.flush()
        for p in extra:
            publish_product(s, p)
        for shot in shots:
            publish_shot(s, shot)
        for sample in samples:
            publish_sample(s, sample)
    return server


def studio_of(d):
    return d.app.station.section("studio")


def wait_idle(d) -> None:
    """Until the studio has answered every scan and key on screen (its work runs on a worker, in order)."""
    d.qtbot.waitUntil(lambda: not studio_of(d).verdicts_waiting, timeout=15_000)


def shown_skus(d) -> list[str]:
    return [line.sku for line in studio_of(d).view.shots.shown_lines()]


def type_words(d, text: str) -> None:
    """A person typing, key by key at a person's pace (the wedge filter lets it through)."""
    for ch in text:
        d.clock.now += PERSON_KEY_MS
        QTest.keyClick(d.focus(), ch)
        d.qtbot.waitUntil(lambda: not d.app.wedge.holding, timeout=2_000)


def key(d, k: Qt.Key) -> None:
    d.press(k)
    wait_idle(d)


def test_a_photographer_works_the_shot_list_and_a_supervisor_reviews_it(drive, studio_server):
    d = drive()
    d.sign_in("chloe", pin="3333")
    assert [n for n, b in d.window.nav_buttons.items() if b.isVisible()] == ["studio", "exceptions"]
    d.window.nav_buttons["studio"].click()
    studio = studio_of(d)
    view = studio.view
    assert d.app.station.current_section() == "studio"
    assert view.active.sku.text() == "Scan a sample or a product to start"
    d.qtbot.waitUntil(lambda: shown_skus(d) == ["SKU-1", "SKU-2", "SKU-3", "SKU-4"], timeout=15_000)
    rejected = view.shots.rows[0]
    assert rejected.comment.isVisible() and REDO in rejected.comment.text()
    assert "Rejected" in rejected.status.text() and "0 of 4 angles" in rejected.status.text()
    assert "0 of 2 angles" in view.shots.rows[2].status.text()
    assert view.shots.heading.text() == "Shot list: all (4)"
    assert "F1 all" in view.keys.text() and "F6" not in view.keys.text()  # chloe does not review
    d.qtbot.waitUntil(lambda: any("SMP-000001" in t for t in view.samples.samples_texts()), timeout=5_000)
    assert "here 3 h" in view.samples.samples_texts()[0]

    # A product's GTIN makes it the active SKU, with the name its next capture gets.
    d.scan(BOTTLE)
    wait_idle(d)
    assert d.banner()[0] == "accept" and "next angle front" in d.banner()[1]
    assert view.active.sku.text() == "SKU-2" and view.active.name.text() == "Water Bottle 750 ml"
    assert view.active.needed.text() == "Still needed: front, back, side, detail"
    assert view.active.next_name.text() == "Next capture: SKU-2_front_01.jpg"

    # A sample's barcode checks it in; it shows among the samples in the studio.
    d.scan("SMP-000002")
    wait_idle(d)
    assert d.banner()[0] == "accept" and "Sample SMP-000002 checked in" in d.banner()[1]
    assert ("sample.check_in", {"barcode": "SMP-000002", "sku": "SKU-2"}) in d.outbox()
    assert any("SMP-000002" in t for t in view.samples.samples_texts())
    assert view.samples.heading.text() == "Samples in the studio: 2"

    # An unknown code is refused, and the banner says which code it was.
    d.scan("XYZ-NOT-A-CODE-123")
    wait_idle(d)
    assert d.banner()[0] == "reject" and "XYZ-NOT-A-CODE-123" in d.banner()[1]
    assert view.active.sku.text() == "SKU-2"  # the active SKU stays

    # The filter keys.
    key(d, Qt.Key.Key_F2)
    assert shown_skus(d) == ["SKU-2"] and view.shots.heading.text() == "Shot list: open (1)"
    key(d, Qt.Key.Key_F3)
    assert shown_skus(d) == ["SKU-1"]
    key(d, Qt.Key.Key_F4)
    assert shown_skus(d) == ["SKU-3", "SKU-4"]
    key(d, Qt.Key.Key_F5)
    assert shown_skus(d) == [] and view.shots.empty.isVisible()
    key(d, Qt.Key.Key_F1)
    assert shown_skus(d) == ["SKU-1", "SKU-2", "SKU-3", "SKU-4"]
    key(d, Qt.Key.Key_F6)
    assert d.banner() == ("reject", "Only a supervisor reviews shots.") and not view.reviewing
    actions = len(d.outbox())

    # The supervisor reviews: approve one, take back a comment with Esc, reject one with a comment.
    d.app.station.sign_out()
    d.sign_in("sam")
    d.window.nav_buttons["studio"].click()
    assert studio.session.user == "sam" and view.active.sku.text() == "Scan a sample or a product to start"
    d.qtbot.waitUntil(lambda: len(shown_skus(d)) == 4, timeout=15_000)
    assert "F6 review" in view.keys.text()
    key(d, Qt.Key.Key_F6)
    assert view.reviewing and shown_skus(d) == ["SKU-3", "SKU-4"]
    assert view.shots.heading.text() == "Waiting for review (2)" and "A approve" in view.keys.text()
    shots = {line.sku: line.shot_id for line in view.screen.review}
    key(d, Qt.Key.Key_A)
    assert d.banner() == ("accept", "SKU-3 approved.")
    assert d.outbox()[actions] == ("shot.qc", {"shot": shots["SKU-3"], "decision": "approve", "comment": ""})
    assert shown_skus(d) == ["SKU-4"] and view.chosen_line().sku == "SKU-4"

    key(d, Qt.Key.Key_R)
    assert view.comment.isVisible() and d.focus() is view.comment.edit
    assert view.comment.question.text() == "Reject SKU-4: what is to be shot again?"
    type_words(d, "no")
    d.press(Qt.Key.Key_Escape)
    assert not view.comment.isVisible() and view.comment.edit.text() == "" and d.focus() is view
    assert len(d.outbox()) == actions + 1  # nothing was sent

    key(d, Qt.Key.Key_R)
    type_words(d, "Label blurred")
    d.press(Qt.Key.Key_Return)
    wait_idle(d)
    assert d.banner() == ("accept", "SKU-4 rejected: the photographer sees your comment.")
    assert d.outbox()[actions + 1] == ("shot.qc", {"shot": shots["SKU-4"], "decision": "reject",
                                                   "comment": "Label blurred"})
    assert not view.comment.isVisible() and d.focus() is view
    assert shown_skus(d) == [] and view.shots.empty.isVisible()
    key(d, Qt.Key.Key_Escape)
    assert not view.reviewing and shown_skus(d)[:2] == ["SKU-1", "SKU-4"]  # both rejected now, first
    d.qtbot.waitUntil(lambda: any(r.line is not None and r.line.sku == "SKU-4" and "Label blurred" in r.comment.text()
                                  for r in view.shots.rows), timeout=5_000)

    # A picker after them: no Studio, and nothing of the studio screen is left.
    d.scan("SKU-2")  # sam makes SKU-2 active before he goes
    wait_idle(d)
    assert view.active.sku.text() == "SKU-2"
    d.app.station.sign_out()
    d.sign_in("anna")
    assert not d.window.nav_buttons["studio"].isVisible()
    assert studio.session is None and not studio.on_screen
    assert view.active.sku.text() == "Scan a sample or a product to start" and not view.active.name.isVisible()
    assert shown_skus(d) == [] and view.samples.samples_texts() == [] and not view.reviewing
    assert not view.comment.isVisible()


@pytest.mark.parametrize("language", ["en", "pseudo"])
@pytest.mark.parametrize("layout, size", [("handheld", (480, 800)), ("desktop", (1280, 800))])
def test_every_studio_screen_fits(drive, studio_server, layout, size, language):
    """In English and in the pseudo-locale (every text 40% longer): nothing clipped, the window keeps its size."""
    from tests.desktop_app.test_app_layout import layout_problems, settle

    d = drive(**{"ui.layout": layout, "ui.language": language})
    d.window.resize(*size)
    d.sign_in("sam")
    d.window.nav_buttons["studio"].click()
    d.qtbot.waitUntil(lambda: len(shown_skus(d)) == 4, timeout=15_000)
    screens = {}
    settle(d)
    screens["shot list"] = layout_problems(d.window)
    d.scan(BOTTLE)
    wait_idle(d)
    settle(d)
    screens["active SKU"] = layout_problems(d.window)
    key(d, Qt.Key.Key_F6)
    settle(d)
    screens["review"] = layout_problems(d.window)
    key(d, Qt.Key.Key_R)
    settle(d)
    screens["comment"] = layout_problems(d.window)

    assert d.window.size().width() == size[0] and d.window.size().height() == size[1]
    assert {k: v for k, v in screens.items() if v} == {}
