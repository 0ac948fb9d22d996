"""The exceptions screen: empty state, one card per refused action, resolve requests, a narrow handheld."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from desktop_app.views.exceptions import ExceptionsView
from desktop_app.workflows.exceptions import ExceptionCard

# The offscreen platform plugin warns that it cannot resize windows to their size hints.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def card(n: int, **changes) -> ExceptionCard:
    values = dict(
        mutation_id=f"m-{n}", seq=n, action="Pick confirmed", who="anna", when="2024-06-03T09:16:00+00:00",
        when_short="today 09:16", what=f"task {n} at A-01-03-{n}, 2 items", code="order_cancelled",
        reason=f"Order SO-100{n} was cancelled; put the items back.",
        next_step=f"Put the picked items back at A-01-03-{n} and scan the tote empty; "
                  "the order was cancelled after picking started.")
    values.update(changes)
    return ExceptionCard(**values)


@pytest.fixture
def view(qtbot):
    v = ExceptionsView()
    qtbot.addWidget(v)
    v.resize(900, 700)
    v.show()
    qtbot.waitExposed(v)
    return v


def texts(view: ExceptionsView) -> list[str]:
    return [label.text() for label in view.findChildren(QLabel) if label.isVisible()]


def resolve_buttons(view: ExceptionsView) -> list[QPushButton]:
    return [b for b in view.findChildren(QPushButton) if b.objectName().startswith("resolve:")]


def test_empty_state(view):
    shown = texts(view)
    assert "Exceptions — 0 waiting" in shown
    assert ("Nothing needs a supervisor. Refused actions appear here with the reason and what to do." in shown)
    assert not view.scroll.isVisible()
    assert resolve_buttons(view) == []


def test_cards_show_the_reason_and_the_next_step(view):
    view.show_cards([card(1), card(2), card(3)], can_resolve=True)
    shown = texts(view)
    assert "Exceptions — 3 waiting" in shown
    assert not view.empty.isVisible()
    for n in (1, 2, 3):
        assert f"Pick confirmed: task {n} at A-01-03-{n}, 2 items" in shown
        assert f"Order SO-100{n} was cancelled; put the items back." in shown
        assert any(t.startswith("What to do: Put the picked items back at A-01-03-" + str(n)) for t in shown)
    assert "anna · today 09:16" in shown
    assert len(view.cards) == 3
    assert "A supervisor marks these as dealt with." not in shown
    reason = view.cards[0].reason
    assert reason.palette().color(reason.foregroundRole()).name() == "#b71c1c"


def test_showing_new_cards_replaces_the_old_ones(view):
    view.show_cards([card(1), card(2)], can_resolve=True)
    view.show_cards([card(2)], can_resolve=True)
    assert [b.objectName() for b in resolve_buttons(view)] == ["resolve:m-2"]
    assert "Exceptions — 1 waiting" in texts(view)
    view.show_cards([], can_resolve=True)
    assert view.empty.isVisible() and resolve_buttons(view) == []


def test_clicking_resolve_asks_for_that_card(view, qtbot):
    view.show_cards([card(1), card(2)], can_resolve=True)
    button = view.findChild(QPushButton, "resolve:m-2")
    assert button.text() == "Mark dealt with"
    assert button.minimumHeight() >= 48 and button.height() >= 48
    assert button.focusPolicy() == Qt.FocusPolicy.NoFocus
    with qtbot.waitSignal(view.resolve_requested) as asked:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert asked.args == ["m-2"]
    # A second tap before the list is rebuilt asks nothing more.
    assert not button.isEnabled()
    with qtbot.assertNotEmitted(view.resolve_requested):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_no_resolve_buttons_without_permission(view):
    view.show_cards([card(1), card(2)], can_resolve=False)
    assert resolve_buttons(view) == []
    assert "A supervisor marks these as dealt with." in texts(view)


def test_refresh_asks_the_app(view, qtbot):
    assert view.refresh.focusPolicy() == Qt.FocusPolicy.NoFocus
    with qtbot.waitSignal(view.refresh_requested):
        qtbot.mouseClick(view.refresh, Qt.MouseButton.LeftButton)


def test_showing_the_view_asks_for_fresh_cards(qtbot):
    v = ExceptionsView()
    qtbot.addWidget(v)
    with qtbot.waitSignal(v.refresh_requested):
        v.show()


def test_nothing_is_clipped_on_a_480_px_handheld(qtbot):
    v = ExceptionsView()
    qtbot.addWidget(v)
    v.resize(480, 800)
    v.show()
    qtbot.waitExposed(v)
    long_words = card(2, what="task 9 at A-01-03-2, 1 item, barcode " + "0400638133393" * 4,
                      reason="Scanned location 'ZONE-NORTH-MEZZANINE-A-01-03-2'; the task is at A-01-03-3. " * 3)
    v.show_cards([card(1), long_words, card(3)], can_resolve=True)
    qtbot.waitUntil(lambda: v.scroll.widget().width() > 0)
    viewport = v.scroll.viewport().width()
    assert v.width() <= 480
    assert v.scroll.widget().width() <= viewport
    for frame in v.cards:
        assert frame.width() <= viewport
        for label in frame.findChildren(QLabel):
            assert label.wordWrap()
            assert label.geometry().right() <= frame.width()
            # Its longest unbreakable piece fits too, so no text is cut inside the label.
            assert label.minimumSizeHint().width() <= label.width()
    for button in resolve_buttons(v):
        assert button.geometry().right() <= button.parentWidget().width()
