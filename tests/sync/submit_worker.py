"""A child process for the kill tests of the journal writer: hands actions over and says when each is accepted.

    python -m tests.sync.submit_worker DATA_DIR --bursts B --burst N [--hold-last]

Every line on stdout is whole and flushed, so the test that reads it knows what had happened
when it sends SIGKILL:

    SUBMITTED <id>        handed to the writer (Outbox.submit returned)
    ACCEPTED <id> <seq>   the writer said it is stored (what the screen turns into the accept sound)
    AT-THE-DOOR           --hold-last: the last burst is handed over and the writer holds it at the
                          door of its commit, which never opens (tests/journalgate.py)

Each burst is handed over at once (the writer stores what waits together in one commit),
then the worker waits for it before the next.
"""

import argparse
import sys
import threading

from sync.outbox import Outbox
from sync.store.database import LocalStore
from tests.journalgate import JournalGate

_lock = threading.Lock()


def say(*words: object) -> None:
    with _lock:
        sys.stdout.write(" ".join(str(w) for w in words) + "\n")
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("--bursts", type=int, required=True)
    parser.add_argument("--burst", type=int, required=True)
    parser.add_argument("--hold-last", action="store_true")
    args = parser.parse_args()
    store = LocalStore.open(args.data_dir)
    outbox = Outbox(store)
    for n in range(args.bursts):
        last = n == args.bursts - 1
        gate = JournalGate(store.journal) if last and args.hold_last else None
        burst = []
        for k in range(args.burst):
            draft_args = {"task": n * 1000 + k, "qty": 1}
            submission = outbox.submit("anna", "pick.confirm", draft_args)
            say("SUBMITTED", submission.id)
            submission.when_done(lambda s: s.state == "stored" and say("ACCEPTED", s.id, s.mutation.seq))
            burst.append(submission)
        if gate is not None:
            gate.entered.wait(60)
            say("AT-THE-DOOR")
            threading.Event().wait()  # killed here
        for submission in burst:
            submission.result(60)


if __name__ == "__main__":
    main()
