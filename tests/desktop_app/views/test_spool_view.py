"""The bench's label spool screen: Y/N on labels that may have printed, R and a reason for a reprint, Up/Down, Esc.

A real spool on a real journal file, started with no printer: nothing prints during a test,
so every job stays where the keys put it. The jobs are rows as an earlier run of the bench
left them; the two "sending" ones become "may have printed" when the spool starts, as after
a crash.
"""

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import insert

from desktop_app.views.packing.spool_view import SpoolView
from desktop_app.views.shell.style import Layout
from sync.print_spool import PRINTED, READY, UNCERTAIN, LabelNotReady, PrintSpool
from sync.signin import SignedIn
from sync.store.database import LocalStore
from sync.store.schema import print_jobs

# The offscreen platform plugin warns that it cannot resize windows to their size hints.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

ANNA = SignedIn(username="anna", display_name="Anna", roles=["packer"], user_id=7, online=True)
BEN = SignedIn(username="ben", display_name="Ben", roles=["packer"], user_id=9, online=True)
# Job ids in the order the rows are stored; the screen lists them newest first.
PRINTED_1, UNSURE_2, UNSURE_3, READY_4 = 1, 2, 3, 4
KEYS_HINT = "Up/Down choose · Y it printed · N print it again · R reprint · Esc back"
NOT_IN_DOUBT = "Only a label that may have printed needs this."


def earlier_run(n: int, state: str, order: str, parcel_no: int) -> dict:
    return dict(printer="", kind="label", parcel_ref=f"P-{n}", order_number=order, parcel_no=parcel_no, user_id="3",
                state=state, data=f"^XA^FDP-{n}^FS^XZ".encode(), attempts=0,
                created_at=f"2026-11-30T08:0{n}:00+00:00", printed_at=None if state != PRINTED else
                f"2026-11-30T08:0{n}:30+00:00")


def no_label_fetched(parcel_ref: str) -> bytes:
    """Every job here already has its label; a fetch would be a surprise."""
    raise LabelNotReady(parcel_ref)


class Said:
    """Records what the screen tells the person, as the app's Feedback would show it."""

    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []

    def show(self, kind: str, text: str) -> None:
        self.said.append((kind, text))


@pytest.fixture
def spool(tmp_path):
    store = LocalStore.open(tmp_path / "bench")
    with store.journal.write() as conn:
        conn.execute(insert(print_jobs), [earlier_run(1, PRINTED, "SO-1001", 1),
                                          earlier_run(2, "sending", "SO-1001", 2),
                                          earlier_run(3, "sending", "SO-1002", 1),
                                          earlier_run(4, READY, "SO-1002", 2)])
    spool = PrintSpool(store.journal, None, no_label_fetched)
    spool.start()  # the labels left on the wire now wait for a person's word
    yield spool
    assert spool.stop()
    store.close()


@pytest.fixture
def say():
    return Said()


@pytest.fixture
def view(qtbot, spool, say):
    v = SpoolView(spool, say, Layout(handheld=False))
    qtbot.addWidget(v)
    v.set_person(ANNA)
    v.refresh()
    v.resize(900, 700)
    v.show()
    qtbot.waitExposed(v)
    return v


def press(qtbot, view: SpoolView, *keys: Qt.Key) -> None:
    for key in keys:
        qtbot.keyClick(view, key)


def rows(view: SpoolView) -> list[str]:
    return [view.list.item(i).text() for i in range(view.list.count())]


def states(spool: PrintSpool) -> dict[int, str]:
    return {job.id: job.state for job in spool.jobs()}


def test_the_list_shows_the_jobs_newest_first_with_their_state(view, spool):
    assert states(spool) == {PRINTED_1: PRINTED, UNSURE_2: UNCERTAIN, UNSURE_3: UNCERTAIN, READY_4: READY}
    may_have = "MAY HAVE PRINTED: check the printer, then Y (it did) or N (print it)"
    assert rows(view) == ["SO-1002 parcel 2: waiting for the printer", f"SO-1002 parcel 1: {may_have}",
                          f"SO-1001 parcel 2: {may_have}", "SO-1001 parcel 1: printed"]
    assert view.list.currentRow() == 0
    assert view.hint.text() == KEYS_HINT


def test_y_records_it_printed_and_n_prints_it_again_in_the_persons_name(qtbot, view, spool, say):
    press(qtbot, view, Qt.Key.Key_Down)  # SO-1002 parcel 1
    press(qtbot, view, Qt.Key.Key_Y)
    printed = spool.job(UNSURE_3)
    assert (printed.state, printed.decided_by, printed.problem) == (PRINTED, "7", None)
    assert printed.printed_at is not None
    assert say.said == [("accept", "Recorded: it printed.")]
    assert rows(view)[1] == "SO-1002 parcel 1: printed"

    press(qtbot, view, Qt.Key.Key_Down)  # SO-1001 parcel 2
    press(qtbot, view, Qt.Key.Key_N)
    again = spool.job(UNSURE_2)
    assert (again.state, again.decided_by, again.attempts, again.problem, again.printed_at) == (
        READY, "7", 0, None, None)
    assert say.said[1:] == [("accept", "It prints again now.")]
    assert rows(view)[2] == "SO-1001 parcel 2: waiting for the printer"
    assert spool.counts().uncertain == 0
    assert [j.id for j in spool.jobs()] == [PRINTED_1, UNSURE_2, UNSURE_3, READY_4]  # decided in place, no new job


def test_y_or_n_on_a_label_not_in_doubt_is_refused_and_changes_nothing(qtbot, view, spool, say):
    before = spool.jobs()
    press(qtbot, view, Qt.Key.Key_Y, Qt.Key.Key_N)  # waiting for the printer
    press(qtbot, view, Qt.Key.Key_Up)  # round to the printed one
    assert view.list.currentRow() == 3
    press(qtbot, view, Qt.Key.Key_Y, Qt.Key.Key_N)
    assert say.said == [("reject", NOT_IN_DOUBT)] * 4
    assert spool.jobs() == before


def test_r_on_a_printed_label_asks_for_the_reason_and_1_queues_the_reprint(qtbot, view, spool, say):
    press(qtbot, view, Qt.Key.Key_Up)  # round to SO-1001 parcel 1, printed
    press(qtbot, view, Qt.Key.Key_R)
    assert view.asking_reason
    assert view.hint.text() == ("Choose the reason: 1 Label damaged or unreadable · 2 Printer jammed · "
                                "3 Parcel needs a new label · 4 Another reason")
    assert say.said == [] and len(spool.jobs()) == 4  # only asked so far

    press(qtbot, view, Qt.Key.Key_1)
    assert say.said == [("accept", "Reprint of SO-1001 parcel 1 queued.")]
    (reprint,) = [job for job in spool.jobs() if job.reprint_of is not None]
    assert (reprint.reprint_of, reprint.reason, reprint.user_id, reprint.decided_by) == (
        PRINTED_1, "label_damaged", "7", "7")
    assert (reprint.parcel_ref, reprint.order_number, reprint.parcel_no, reprint.state) == (
        "P-1", "SO-1001", 1, READY)
    assert spool.job(PRINTED_1).state == PRINTED  # the original stays as it was
    assert not view.asking_reason and view.hint.text() == KEYS_HINT
    assert rows(view)[0] == "SO-1001 parcel 1: waiting for the printer · reprint"  # the newest, on top
    # The label chosen stays chosen although a row came on top: a Y now would not land on another.
    assert view.list.currentRow() == 4 and rows(view)[4] == "SO-1001 parcel 1: printed"


def test_choosing_another_label_while_asked_for_a_reason_drops_the_question(qtbot, view, spool, say):
    press(qtbot, view, Qt.Key.Key_Up, Qt.Key.Key_R)  # the printed one: which reason?
    press(qtbot, view, Qt.Key.Key_Down)  # another label chosen: the answer would reprint that one
    assert not view.asking_reason and view.hint.text() == KEYS_HINT
    press(qtbot, view, Qt.Key.Key_1)
    assert say.said == [] and len(spool.jobs()) == 4


def test_r_on_a_label_not_printed_is_refused_and_asks_nothing(qtbot, view, spool, say):
    press(qtbot, view, Qt.Key.Key_R)  # waiting for the printer
    press(qtbot, view, Qt.Key.Key_Down, Qt.Key.Key_R)  # may have printed: decided on, not reprinted
    assert say.said == [("reject", "Only a printed label can be reprinted.")] * 2
    assert not view.asking_reason and view.hint.text() == KEYS_HINT
    press(qtbot, view, Qt.Key.Key_1)
    assert len(say.said) == 2 and len(spool.jobs()) == 4


def test_esc_while_asking_for_the_reason_cancels_the_question_and_then_goes_back(qtbot, view, spool, say):
    press(qtbot, view, Qt.Key.Key_Up, Qt.Key.Key_R)
    assert view.asking_reason
    with qtbot.assertNotEmitted(view.closed):
        press(qtbot, view, Qt.Key.Key_Escape)
    assert not view.asking_reason and view.hint.text() == KEYS_HINT
    press(qtbot, view, Qt.Key.Key_1)  # the question is gone: a number does nothing
    assert say.said == [] and len(spool.jobs()) == 4

    with qtbot.waitSignal(view.closed, timeout=1000):
        press(qtbot, view, Qt.Key.Key_Escape)
    with qtbot.waitSignal(view.closed, timeout=1000):
        press(qtbot, view, Qt.Key.Key_F6)


def test_up_and_down_choose_wrapping_round_and_the_key_acts_on_the_chosen_job(qtbot, view, spool, say):
    press(qtbot, view, Qt.Key.Key_Up)
    assert view.list.currentRow() == 3  # from the top round to the oldest
    press(qtbot, view, Qt.Key.Key_Down)
    assert view.list.currentRow() == 0  # from the oldest round to the top
    press(qtbot, view, Qt.Key.Key_Down, Qt.Key.Key_Down)
    assert rows(view)[view.list.currentRow()].startswith("SO-1001 parcel 2: ")
    press(qtbot, view, Qt.Key.Key_Y)
    assert states(spool) == {PRINTED_1: PRINTED, UNSURE_2: PRINTED, UNSURE_3: UNCERTAIN, READY_4: READY}
    press(qtbot, view, Qt.Key.Key_Up, Qt.Key.Key_N)  # SO-1002 parcel 1
    assert states(spool) == {PRINTED_1: PRINTED, UNSURE_2: PRINTED, UNSURE_3: READY, READY_4: READY}
    assert say.said == [("accept", "Recorded: it printed."), ("accept", "It prints again now.")]


def test_a_new_person_finds_no_question_half_asked(qtbot, view, spool, say):
    press(qtbot, view, Qt.Key.Key_Up, Qt.Key.Key_R)  # Anna asks for a reprint and walks away
    assert view.asking_reason
    view.set_person(BEN)
    assert not view.asking_reason and view.hint.text() == KEYS_HINT  # nothing of Anna's question on screen
    press(qtbot, view, Qt.Key.Key_2)  # Ben's 2 is no answer to Anna's question
    assert say.said == [] and len(spool.jobs()) == 4
    press(qtbot, view, Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_Y)  # SO-1002 parcel 1
    assert (spool.job(UNSURE_3).state, spool.job(UNSURE_3).decided_by) == (PRINTED, "9")
    press(qtbot, view, Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_R, Qt.Key.Key_3)  # round to parcel 1, printed
    (reprint,) = [job for job in spool.jobs() if job.reprint_of == PRINTED_1]
    assert (reprint.reason, reprint.user_id, reprint.decided_by) == ("parcel_relabelled", "9", "9")
