"""Every screen in the pseudo-locale: no text left untranslated, none clipped when it grows by 40%.

The pseudo-locale (desktop_app/i18n.py) shows each translated text as ⟦àççéñţéð~~~~⟧. A text on
screen with words outside the brackets never went through translate(); a label that needs
more room than it has would clip a longer language too. Data is not translated: order
numbers, product names, bins, codes and people's names are taken out before looking.
"""

import re

import pytest
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QWidget

from desktop_app.i18n import CLOSE, OPEN
from desktop_app.views.settings_dialog import SettingsDialog
from PySide6.QtCore import Qt

from tests.desktop_app.appdriver import assign_totes, start_batch
from tests.desktop_app.test_app_packing import picked_orders
from tests.desktop_app.test_app_layout import layout_problems, settle

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

BRACKETED = re.compile(f"{OPEN}[^{CLOSE}]*{CLOSE}")
CODE_LIKE = re.compile(r"\b[A-Z]{1,3}-[\w-]+|\b\d[\d:.,×x/%-]*\b")  # T-0001, SO-00001, A-01-01-1, 14:32, 2×3
WORD = re.compile(r"[^\W\d_]{2,}")


def _data_of(d) -> list[str]:
    """What the screens show as data: names of products, people, devices; longest first."""
    view = d.app.core.view
    names = {row.get(key) for entity, keys in (("product", ("name", "sku")), ("order", ("customer",)),
                                                 ("pick_task", ("product_name", "sku")))
             for row in view.rows(entity) for key in keys}
    person = d.app.station.person
    if person is not None:
        names |= {person.display_name, person.username, *person.roles}
    names |= {"anna", "Anna", "sam", "Sam", str(d.app.settings["device_name"]), "Floorhand"}
    return sorted((n for n in names if n), key=len, reverse=True)


def _texts(window: QWidget) -> list[str]:
    found = [window.windowTitle()]
    for w in window.findChildren(QWidget):
        if not w.isVisibleTo(window):
            continue
        if isinstance(w, (QLabel, QAbstractButton)):
            found.append(w.text())
        if isinstance(w, QLineEdit):
            found.append(w.placeholderText())
        found.append(w.toolTip())
    return [t for t in found if t]


def untranslated(window: QWidget, data: list[str]) -> list[str]:
    """The visible texts with words outside the pseudo-locale's brackets once data is taken out."""
    left = []
    for text in _texts(window):
        rest = BRACKETED.sub(" ", re.sub(r"<[^>]*>", " ", text))
        for value in data:
            rest = rest.replace(value, " ")
        rest = CODE_LIKE.sub(" ", rest)
        if WORD.search(rest):
            left.append(text)
    return left


@pytest.mark.parametrize("layout, size", [("handheld", (480, 800)), ("desktop", (1280, 800))])
def test_every_screen_is_translated_and_fits_in_the_pseudo_locale(drive, server, layout, size):
    d = drive(**{"ui.layout": layout, "ui.language": "pseudo"})
    d.window.resize(*size)
    seen: dict[str, tuple[list[str], list[str]]] = {}

    def look(name: str) -> None:
        settle(d)
        problems = layout_problems(d.window)
        if (d.window.width(), d.window.height()) != size:  # a text that pushed the window wider than the screen
            problems.append(f"the window is {d.window.width()} x {d.window.height()}, not {size[0]} x {size[1]}")
        seen[name] = (untranslated(d.window, _data_of(d)), problems)

    look("sign-in")
    d.sign_in()
    look("pick: start")
    start_batch(d)
    look("pick: totes")
    assign_totes(d)
    card = d.picking.session.current()
    d.scan(card.location_label)
    look("pick: at the bin")
    d.scan("4012345678901" if card.gtin != "4012345678901" else "4006381333931")  # a wrong product
    look("pick: wrong product")
    d.scan("XYZ-NOT-A-CODE-123")
    look("pick: unknown code")
    d.app.station.sign_out()
    d.sign_in("sam")
    for key in ("pick", "pack", "studio", "exceptions", "devices"):
        d.app.station.show_section(key)
        look(key)
    [order] = picked_orders(server, 1, picker="sam")
    d.app.station.show_section("pack")
    packing = d.app.packing.view
    d.qtbot.waitUntil(lambda: packing.session.bench.waiting() == 2, timeout=15_000)
    d.scan(order["tote"])
    d.scan(order["gtin"])
    look("pack: an order open")
    for key, name in ((Qt.Key.Key_F3, "pack: why no barcode"), (Qt.Key.Key_F2, "pack: count"),
                      (Qt.Key.Key_F6, "pack: labels")):
        d.press(key)
        look(name)
        d.press(Qt.Key.Key_Escape)
    d.scan(order["gtin"])  # the last unit: no scale here, so the weight is typed
    look("pack: type the weight")
    dialog = SettingsDialog(d.app.settings, d.window)
    dialog.resize(*size)
    dialog.show()
    settle(d)
    seen["settings"] = (untranslated(dialog, _data_of(d)), [])
    dialog.close()

    assert {name: words for name, (words, _) in seen.items() if words} == {}
    assert {name: problems for name, (_, problems) in seen.items() if problems} == {}


def test_outside_the_pseudo_locale_the_screens_speak_english(drive):
    d = drive()
    assert OPEN not in d.window.signin.sign_in.text()
    assert untranslated(d.window, []) != []  # the check above finds English words
