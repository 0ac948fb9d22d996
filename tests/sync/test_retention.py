"""The journal stays bounded: settled actions, local audit rows and dealt-with rejections go after the retention
period; work not yet sent never does."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from sync.answers import MutationResult
from sync.engine import EngineOptions
from sync.outbox import Outbox
from sync.retry import Backoff
from sync.store.database import LocalStore
from sync.store.schema import audit_log, outbox, rejected
from tests.sync.conftest import wait_until

NOW = datetime.now(timezone.utc)  # the engine trims on the real clock
LONG_AGO = NOW - timedelta(days=40)


def _rows(store: LocalStore) -> dict[str, int]:
    with store.journal.read() as conn:
        return {
            "pending": conn.execute(select(func.count()).select_from(outbox).where(outbox.c.state == "pending"))
            .scalar_one(),
            "done": conn.execute(select(func.count()).select_from(outbox).where(outbox.c.state == "done")).scalar_one(),
            "audit": conn.execute(select(func.count()).select_from(audit_log)).scalar_one(),
            "rejected": conn.execute(select(func.count()).select_from(rejected)).scalar_one(),
        }


def _journal_of_a_long_shift(store: LocalStore) -> Outbox:
    """Old settled work, an old rejection dealt with, one open, an old action still waiting, and today's."""
    old = Outbox(store, clock=lambda: LONG_AGO)
    sent = [old.append("anna", "pick.confirm", {"task": n, "qty": 1}) for n in range(3)]
    refused = [old.append("anna", "pick.confirm", {"task": 10 + n, "qty": 1}) for n in range(2)]
    old.append("anna", "pick.confirm", {"task": 20, "qty": 1})  # never sent: stays whatever its age
    answers = [MutationResult(m.id, "applied", None, None, None) for m in sent]
    answers += [MutationResult(m.id, "rejected", "order_cancelled", "Cancelled.", None) for m in refused]
    old.record_results(sent + refused, answers, push_cursor=5)
    old.settle(10)
    old.resolve(refused[0].id, by="sam")
    Outbox(store, clock=lambda: NOW).append("anna", "pick.confirm", {"task": 30, "qty": 1})
    return Outbox(store, clock=lambda: NOW)


def test_trim_drops_only_what_served_its_purpose_before_the_cutoff(tmp_path):
    store = LocalStore.open(tmp_path)
    try:
        box = _journal_of_a_long_shift(store)
        assert _rows(store) == {"pending": 2, "done": 3, "audit": 7, "rejected": 2}
        dropped = box.trim(NOW - timedelta(days=30))
        assert dropped == {"settled actions": 3, "audit rows": 6, "dealt-with rejections": 1}
        assert _rows(store) == {"pending": 2, "done": 0, "audit": 1, "rejected": 1}
        assert [m.args["task"] for m in box.pending()] == [20, 30]
        assert [r.mutation.args["task"] for r in box.rejected()] == [11]  # the open one stays
        assert box.trim(NOW - timedelta(days=30)) == {"settled actions": 0, "audit rows": 0,
                                                      "dealt-with rejections": 0}
    finally:
        store.close()


def test_the_engine_trims_by_the_retention_setting(server, open_core, tmp_path):
    core = open_core(server.url, options=EngineOptions(retention_days=30, backoff=Backoff(0.05, 0.2)))
    _journal_of_a_long_shift(core.store)
    core.engine.start()  # nobody signed in: the pusher trims, then waits for a person
    wait_until(lambda: _rows(core.store)["done"] == 0, "the engine's trim")
    assert _rows(core.store) == {"pending": 2, "done": 0, "audit": 1, "rejected": 1}
