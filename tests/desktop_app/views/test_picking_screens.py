"""What the picking pages put first: the thing to scan next is the largest text, and Esc steps back from the totes."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from tests.desktop_app.appdriver import assign_totes, start_batch

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def sizes(page) -> dict[str, int]:
    """Pixel size of every visible text on a page, by its text."""
    return {label.text(): label.fontInfo().pixelSize() for label in page.findChildren(QLabel)
            if label.isVisible() and label.text()}


def largest(page) -> str:
    shown = sizes(page)
    return max(shown, key=shown.get)


@pytest.mark.parametrize("layout", ["desktop", "handheld"])
def test_the_tote_screen_asks_for_a_tote_above_all(drive, layout):
    d = drive(**{"ui.layout": layout})
    d.sign_in()
    start_batch(d)
    card = d.picking.session.tote_needed()
    page = d.picking.tote_page

    shown = sizes(page)
    assert largest(page) == "Scan an empty tote"
    assert shown[f"for order {card.order_number}"] < shown["Scan an empty tote"]
    assert "0 of 2 orders have a tote" in shown


@pytest.mark.parametrize("layout", ["desktop", "handheld"])
def test_at_the_bin_the_product_is_the_largest_text_and_the_count_says_how_many_are_left(drive, layout):
    d = drive(**{"ui.layout": layout})
    d.sign_in()
    start_batch(d)
    assign_totes(d)
    card = d.picking.session.current()
    page = d.picking.task_page
    assert largest(page) == card.location_label  # walking to the bin: its label comes first
    assert page.qty.text() == f"{card.qty} of {card.qty} still to pick"

    d.scan(card.location_label)

    assert largest(page) == card.product_name
    assert page.step.text() == "SCAN THE PRODUCT"
    d.scan(card.gtin)
    assert page.qty.text() == f"{card.qty - 1} of {card.qty} still to pick"
    assert largest(page) == card.product_name


def test_esc_on_the_tote_screen_goes_back_to_the_start_and_enter_takes_the_batch_up_again(drive):
    d = drive()
    d.sign_in()
    start_batch(d)
    batch_id = d.picking.session.batch_id
    d.scan("T-0001")
    before = d.outbox()

    d.press(Qt.Key.Key_Escape)

    assert d.picking.pages.currentWidget() is d.picking.start_page
    assert d.banner()[0] == "info" and "press Enter" in d.banner()[1]
    assert d.outbox() == before  # nothing undone, nothing queued

    start_batch(d)
    assert d.picking.session.batch_id == batch_id
    assert d.picking.session.tote_needed().orders_ready == 1  # T-0001 is still on its order


def test_the_back_button_of_the_tote_screen_does_what_esc_does(drive):
    d = drive(**{"ui.layout": "handheld"})
    d.sign_in()
    start_batch(d)
    [back] = [b for b in d.picking.tote_page.findChildren(QPushButton) if b.property("action") == "back"]
    assert back.text() == "Back  Esc"
    back.click()
    d.wait_for_verdicts()
    assert d.picking.pages.currentWidget() is d.picking.start_page
    assert d.picking.session.tote_needed() is None
