"""The local view with a large queue: the same rows as laying the whole queue over the replica, without
reading the queue from the journal on every call, and each action on its way counted exactly once."""

import random

import pytest
from sqlalchemy import event

from sync.outbox import Mutation
from sync.store import replica
from contract.actions import PickConfirm
from sync.view import apply_effects
from tests.sync.pushresults import Result

BACKLOG = 5000


@pytest.fixture
def core(server, open_core):
    """A client core of the picker anna holding all three batches in her replica; the engine is not running."""
    c = open_core(server.url)
    c.signin.online(username="anna", pin="1111")
    c.engine.signed_in()
    c.api.claim_batches(2)
    c.engine.pull_now()
    return c


def recomputed(core, entity: str, **where) -> list[dict]:
    """The view as it was before the index: the whole queue from the journal, laid over the replica rows."""
    with core.store.replica.read() as conn:
        found = {row["id"]: row for row in replica.load(conn, entity, **where)}
        cursor = replica.shown_cursor(conn)
    queued = core.outbox.in_view(cursor)
    confirmations = core.outbox.find([m.args["confirmation"] for m in queued if m.name == "pick.undo"])
    apply_effects(entity, found, queued, confirmations)
    return list(found.values())


def offline_backlog(core, count: int, rng: random.Random) -> list[Mutation]:
    """count actions of an offline picker over the batches' tasks: picks, undos of them, shorts, totes."""
    tasks = core.view.rows("pick_task")
    confirms: list[Mutation] = []
    submissions = []
    for n in range(count):
        task = rng.choice(tasks)
        roll = rng.random()
        if roll < 0.15 and confirms:
            taken_back = confirms.pop(rng.randrange(len(confirms)))
            args = ("pick.undo", {"task": taken_back.args["task"], "confirmation": taken_back.id})
        elif roll < 0.2:
            args = ("pick.short", {"task": task["id"], "reason": "item_damaged"})
        elif roll < 0.3:
            args = ("tote.assign", {"batch": task["batch_id"], "order": task["order_id"], "tote": f"T-{n:05d}"})
        else:
            args = ("pick.confirm", {"task": task["id"], "location": task["location_label"], "qty": 1,
                                     "barcode": task["gtin"]})
        submission = core.outbox.submit("anna", *args)
        submissions.append(submission)
        if args[0] == "pick.confirm":
            confirms.append(submission.draft)
    return [s.result(60) for s in submissions]


def journal_statements(core) -> list[str]:
    """Every SQL statement run on the journal from now on (both engines: the writer and the readers)."""
    seen: list[str] = []
    for engine in (core.store.journal.writer, core.store.journal.reader):
        event.listen(engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: seen.append(statement))
    return seen


def assert_same_rows(core, batches: list[int]) -> None:
    assert core.view.rows("pick_task") == recomputed(core, "pick_task")
    for batch_id in batches:
        assert core.view.rows("pick_task", batch_id=batch_id) == recomputed(core, "pick_task", batch_id=batch_id)
    assert_counts_match_rows(core)
    # What the pusher and the status bar read from memory is what the journal holds.
    with core.store.journal.read() as conn:
        pending = conn.exec_driver_sql("SELECT id, at FROM outbox WHERE state = 'pending' ORDER BY seq").all()
    assert [m.id for m in core.outbox.pending(limit=BACKLOG)] == [mutation_id for mutation_id, _ in pending]
    assert [m.id for m in core.outbox.pending(limit=250)] == [mutation_id for mutation_id, _ in pending[:250]]
    assert core.outbox.counts()[::2] == (len(pending), min((at for _, at in pending), default=None))


def assert_counts_match_rows(core) -> None:
    """count() says how many rows show these values once the queue is laid over, for filters the queue's
    actions change and ones they do not."""
    orders = core.view.rows("order")
    totes = sorted({o["tote"] for o in orders if o.get("tote")})
    wheres = [{}, *({"status": s} for s in sorted({o["status"] for o in orders}) + ["held"]),
              *({"tote": t} for t in totes[:5] + totes[-5:])]
    for where in wheres:
        shown = [o for o in orders if all(o.get(column) == value for column, value in where.items())]
        assert core.view.count("order", **where) == len(shown), where
    for batch in sorted({t["batch_id"] for t in core.view.rows("pick_task")}):
        assert core.view.count("pick_task", batch_id=batch) == len(core.view.rows("pick_task", batch_id=batch))


def test_a_count_lays_queued_actions_over_the_rows_they_touch_and_reads_no_other(server, open_core):
    core = open_core(server.url)
    core.signin.online(username="sam", pin="1111")  # a supervisor sees every order
    core.engine.signed_in()
    core.engine.pull_now()
    orders = core.view.rows("order")
    status = orders[0]["status"]
    before = core.view.count("order", status=status)
    assert before == len([o for o in orders if o["status"] == status]) >= 2
    core.outbox.append("sam", "pack.hold", {"order": orders[0]["id"], "reason": "item_damaged"})
    core.outbox.append("sam", "tote.assign", {"batch": 1, "order": orders[1]["id"], "tote": "T-COUNTED"})
    assert core.view.count("order", status=status) == before - 1
    assert core.view.count("order", status="held") == 1
    assert core.view.count("order", tote="T-COUNTED") == 1
    assert_counts_match_rows(core)
    with core.store.replica.read() as conn:  # the replica itself is as the server sent it
        assert len(replica.load(conn, "order", status=status)) == before


def test_a_backlog_of_5000_shows_the_same_rows_as_the_whole_queue_laid_over_without_reading_it(server, core,
                                                                                                open_core):
    rng = random.Random("backlog")
    batches = sorted({t["batch_id"] for t in core.view.rows("pick_task")})
    assert len(batches) == 3
    made = offline_backlog(core, BACKLOG, rng)
    assert core.outbox.pending_count() == BACKLOG
    assert_same_rows(core, batches)
    assert any(t["picked_qty"] > 0 for t in core.view.rows("pick_task"))  # the backlog shows

    statements = journal_statements(core)
    for _ in range(20):
        for batch_id in batches:
            core.view.rows("pick_task", batch_id=batch_id)
    assert statements == [], "the view read the journal"

    # Pushes answered: some applied (shown from a cursor the replica has not reached), some refused,
    # some already in the replica; then pulls settle them.
    with core.store.replica.read() as conn:
        at = replica.shown_cursor(conn)
    rng.shuffle(sent := made[:3000])
    core.outbox.record_results(sent[:1000], [Result(m.id, "applied") for m in sent[:1000]], push_cursor=at + 10)
    core.outbox.record_results(sent[1000:1500], [Result(m.id, "rejected", "over_pick", "too many")
                                                 for m in sent[1000:1500]], push_cursor=at + 11)
    core.outbox.record_results(sent[1500:2000], [Result(m.id, "duplicate", original_status="applied")
                                                 for m in sent[1500:2000]], push_cursor=at)
    assert_same_rows(core, batches)
    core.outbox.settle(at)
    assert_same_rows(core, batches)
    del statements[:]
    for batch_id in batches * 10:
        core.view.rows("pick_task", batch_id=batch_id)
    # Undos of confirmations that left the queue (settled, refused) read them once, then never again.
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) <= len(batches) and all("outbox.id IN" in s for s in reads), statements
    del statements[:]
    for batch_id in batches * 10:
        core.view.rows("pick_task", batch_id=batch_id)
    assert statements == [], "the view read the journal"
    assert core.outbox.pending_count() == BACKLOG - 2000

    # A pull settles up to a cursor this replica has not stored (its reader is behind): the index
    # no longer holds what the older rows need, and the view reads the journal instead.
    core.outbox.settle(at + 10)
    del statements[:]
    assert_same_rows(core, batches)
    assert statements, "a replica older than the settled actions needs the journal"

    # A new start loads the same queue into memory.
    core.close()
    again = open_core(server.url)
    assert again.outbox.pending_count() == BACKLOG - 2000
    assert_same_rows(again, batches)


def test_an_action_on_its_way_is_counted_exactly_once_while_the_writer_stores_it(core):
    task = core.view.rows("pick_task")[0]
    before = task["picked_qty"]
    args = PickConfirm(task=task["id"], location=task["location_label"], qty=1, barcode=task["gtin"]).wire()
    submitted = [core.outbox.submit("anna", PickConfirm.NAME, args) for _ in range(300)]
    seen = set()
    # The test thread reads while the writer thread stores: a draft while waiting, from the queue once stored.
    while not all(s.done for s in submitted):
        [row] = core.view.rows("pick_task", id=task["id"], submitted=submitted)
        seen.add(row["picked_qty"])
    [row] = core.view.rows("pick_task", id=task["id"], submitted=submitted)
    seen.add(row["picked_qty"])
    assert seen == {before + 300}
    assert core.view.row("pick_task", task["id"])["picked_qty"] == before + 300
