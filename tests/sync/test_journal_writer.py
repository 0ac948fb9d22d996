"""The journal writer: an action is accepted only once it is on disk, actions that wait together share a
commit, and a process killed in between has accepted nothing it did not store, and stored nothing by halves."""

import queue
import random
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event

from sync.journal_writer import REFUSED, STORED
from sync.outbox import Outbox
from sync.store.database import LocalStore, WriteFailed
from tests.diskfull import make_room
from tests.journalgate import JournalGate, fill_to_the_brim, journal_actions

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 60.0


def test_a_submitted_action_is_accepted_only_once_it_is_on_disk(tmp_path):
    store = LocalStore.open(tmp_path)
    outbox = Outbox(store)
    told = []
    gate = JournalGate(store.journal)
    submission = outbox.submit("anna", "pick.confirm", {"task": 1, "qty": 1})
    submission.when_done(told.append)
    assert gate.entered.wait(WAIT_S)  # the writer has it in hand, at the door of its commit

    assert not submission.done and told == [] and submission.state == "waiting"
    assert journal_actions(store.journal.path) == []

    gate.open()
    stored = submission.result(WAIT_S)
    assert told == [submission] and submission.state == STORED
    assert journal_actions(store.journal.path) == [(1, submission.id, "pick.confirm")]
    assert stored.seq == 1 and stored.args == {"task": 1, "qty": 1}
    assert gate.synchronous == [2]  # the commit was made with synchronous=FULL
    store.close()


def test_actions_that_wait_together_share_one_commit_in_the_order_they_came(tmp_path):
    store = LocalStore.open(tmp_path)
    outbox = Outbox(store)
    commits = []
    event.listen(store.journal.writer, "commit", lambda conn: commits.append(1))
    gate = JournalGate(store.journal)
    first = outbox.submit("anna", "pick.confirm", {"task": 0})
    assert gate.entered.wait(WAIT_S)
    rest = [outbox.submit("anna", "pick.confirm", {"task": n}) for n in range(1, 50)]
    gate.open()
    made = [s.result(WAIT_S) for s in [first, *rest]]

    assert [m.seq for m in made] == list(range(1, 51))
    assert [m.args["task"] for m in made] == list(range(50))
    assert len(commits) == 2  # the first alone (it was at the door), then the 49 that waited behind it
    assert [row[1] for row in journal_actions(store.journal.path)] == [m.id for m in made]
    store.close()


def test_a_refused_action_takes_the_ones_judged_on_it_along_and_the_sequence_has_no_gap(tmp_path):
    store = LocalStore.open(tmp_path)
    outbox = Outbox(store)
    fill_to_the_brim(store.journal)
    first = outbox.submit("anna", "pick.confirm", {"task": 1})
    with pytest.raises(WriteFailed) as failed:
        first.result(WAIT_S)
    assert failed.value.disk_full and first.state == REFUSED

    make_room(store.journal)
    judged_on_it = outbox.submit("anna", "pick.confirm", {"task": 1}, after=first)
    with pytest.raises(WriteFailed):
        judged_on_it.result(WAIT_S)
    assert journal_actions(store.journal.path) == []

    again = outbox.submit("anna", "pick.confirm", {"task": 1})
    assert again.result(WAIT_S).seq == 1
    store.close()


class Child:
    """A tests.sync.submit_worker process; its stdout arrives line by line through a queue."""

    def __init__(self, args: list[str], stderr: Path) -> None:
        with open(stderr, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.sync.submit_worker", *args], cwd=REPO,
                                         stdout=subprocess.PIPE, stderr=err, text=True)
        self.stderr = stderr
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.endswith("\n"):  # a line cut off by SIGKILL announced nothing
                self.lines.append(line.rstrip("\n"))
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, prefix: str, count: int = 1) -> None:
        seen, deadline = 0, time.monotonic() + WAIT_S
        while seen < count:
            line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"the worker ended early: {self.stderr.read_text()[-2000:]}"
            seen += line.startswith(prefix)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(WAIT_S)
        while self._queue.get(timeout=WAIT_S) is not None:  # every whole line written before it died
            pass

    def ids(self, prefix: str) -> set[str]:
        return {line.split()[1] for line in self.lines if line.startswith(prefix)}


def test_kill_9_between_submit_and_commit_accepts_nothing_it_did_not_store(tmp_path):
    rng = random.Random("journal-writer")
    data_dir = tmp_path / "client"
    accepted, held = set(), set()
    for n in range(8):
        hold = n % 2 == 1
        child = Child([str(data_dir), "--bursts", "4", "--burst", "25", *(["--hold-last"] if hold else [])],
                      tmp_path / f"child-{n}.err")
        if hold:
            child.wait_for("AT-THE-DOOR")  # the last burst is handed over and cannot be committed
        else:
            child.wait_for("ACCEPTED", rng.randint(1, 99))  # anywhere: handing over, committing, telling
        child.kill()
        accepted |= child.ids("ACCEPTED")
        if hold:
            last_burst = set(child.ids("SUBMITTED")) - child.ids("ACCEPTED")
            assert len(last_burst) == 25 and not last_burst & child.ids("ACCEPTED")
            held |= last_burst

    with sqlite3.connect(data_dir / "journal.sqlite3") as conn:
        rows = conn.execute("SELECT seq, id FROM outbox ORDER BY seq").fetchall()
        last_seq = int(conn.execute("SELECT value FROM sync_state WHERE key = 'last_seq'").fetchone()[0])
        audited = {row[0] for row in conn.execute("SELECT json_extract(detail, '$.id') FROM audit_log")}
    stored = {mutation_id for _, mutation_id in rows}
    assert [seq for seq, _ in rows] == list(range(1, last_seq + 1)), "a gap or a half-stored group"
    assert accepted <= stored, "an action was accepted that is not in the journal"
    assert not held & stored, "an action killed at the door of its commit was stored"
    assert stored <= audited, "an action is stored without its audit row"
    assert len(held) == 4 * 25
