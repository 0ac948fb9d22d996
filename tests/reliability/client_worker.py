"""A client process for the kill tests: queues picks while the engine pushes, or runs an initial sync.

    python -m tests.reliability.client_worker push --data-dir D --server URL --user NAME \
        --tasks JSON --count N --seed S [--max-pending M]
    python -m tests.reliability.client_worker pull --data-dir D --server URL --user NAME --pull-limit L

The PIN comes from FLOORHAND_PIN. Every line on stdout is flushed at once, so the test
reading it knows exactly what had happened when it sends SIGKILL:

    READY                      signed in, engine running (push)
    ACK <id> <name>            the mutation was durably appended (push)
    PUSHED <pending>           a push was answered and its results filed (push)
    START <cursor>             the replica's cursor before pulling (pull)
    PAGE <cursor>              a page and its cursor were committed (pull)
    DONE <cursor> <pending>    finished without being killed
"""

import argparse
import json
import os
import random
import sys
import threading
import time
from datetime import datetime

from sync.client import ClientCore
from sync.engine import EngineOptions, SyncStatus
from sync.retry import Backoff

# The keyring of the OS is not there for a child process in CI: the device's secrets go to
# its data folder's file, so a restarted worker is the same device; every run signs in with the PIN.
NO_KEYRING = "none"


_stdout_lock = threading.Lock()


def say(*words: object) -> None:
    """One whole line on stdout, flushed: print() writes the words one by one, so threads would mix them."""
    line = " ".join(str(w) for w in words) + "\n"
    with _stdout_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def announce_pushes(core: ClientCore) -> None:
    """Print PUSHED whenever the engine reports a push newer than the last one announced."""
    lock = threading.Lock()
    announced: datetime | None = None

    def status_changed(status: SyncStatus) -> None:
        nonlocal announced
        with lock:  # listeners run on the pusher, the puller and the appending thread
            if status.last_push_at is not None and status.last_push_at != announced:
                announced = status.last_push_at
                say("PUSHED", status.pending)

    core.engine.subscribe(status_changed)


def queue_picks(core: ClientCore, user: str, tasks: list[dict], count: int, max_pending: int,
                rng: random.Random) -> None:
    """Append `count` picks one by one; about one in four takes back a pick made earlier in this run.

    Like a picker, who cannot scan hundreds of items in a second, the loop waits while
    max_pending mutations are queued, so that pushes and appends interleave.
    """
    announce_pushes(core)
    core.engine.start()
    say("READY")
    undoable: dict[int, list[str]] = {task["id"]: [] for task in tasks}
    for _ in range(count):
        task = rng.choice(tasks)
        # Only confirmations of this run are undone: their ids are known here, and seq order
        # puts each undo after the pick it takes back.
        if undoable[task["id"]] and rng.random() < 0.25:
            m = core.outbox.append(user, "pick.undo", {"task": task["id"],
                                                      "confirmation": undoable[task["id"]].pop()})
        else:
            m = core.outbox.append(user, "pick.confirm", {"task": task["id"], "location": task["location"],
                                                         "qty": 1, "barcode": task["barcode"]})
            undoable[task["id"]].append(m.id)
        say("ACK", m.id, m.name)
        core.engine.wait_for(lambda status: status.pending < max_pending, timeout=60)
    status = core.engine.wait_for(lambda s: s.pending == 0, timeout=60)
    say("DONE", status.cursor, status.pending)


def initial_sync(core: ClientCore) -> None:
    """Pull to the end of the feed in this thread, announcing every committed page."""
    last = core.engine.cursor()
    say("START", last)

    def page_committed(status: SyncStatus) -> None:
        nonlocal last
        # The engine also reports when the pull ends; only a moved cursor is a new page.
        if status.cursor != last:
            last = status.cursor
            say("PAGE", status.cursor)

    core.engine.subscribe(page_committed)
    status = core.engine.pull_now()
    if status.last_error:
        raise SystemExit(f"pull failed: {status.last_error}")
    say("DONE", status.cursor, status.pending)


def slow_filing(core: ClientCore, longest_s: float, rng: random.Random) -> None:
    """Filing a push's answer waits a moment first, as it would on a slow disk.

    Filing is quick, so the moment between the server's commit and the client noting it
    is short; this widens it so that the test's kills land there, too.
    """
    record_results = core.outbox.record_results

    def slowly(*args, **kwargs):
        time.sleep(rng.uniform(0, longest_s))
        return record_results(*args, **kwargs)

    core.outbox.record_results = slowly


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("push", "pull"))
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--tasks", default="[]", help="JSON list of {id, location, barcode}")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-pending", type=int, default=16)
    parser.add_argument("--push-batch", type=int, default=8)
    parser.add_argument("--pull-limit", type=int, default=2000)
    parser.add_argument("--filing-delay-ms", type=float, default=0,
                        help="wait up to this long before filing a push's answer, as on a slow disk")
    args = parser.parse_args(argv)
    options = EngineOptions(push_batch=args.push_batch, pull_limit=args.pull_limit, long_poll_s=2.0,
                            backoff=Backoff(base=0.05, cap=0.2))
    core = ClientCore.open(args.data_dir, args.server, keyring=NO_KEYRING, options=options)
    try:
        core.signin.online(username=args.user, pin=os.environ["FLOORHAND_PIN"])
        core.engine.signed_in()
        if args.filing_delay_ms:
            slow_filing(core, args.filing_delay_ms / 1000, random.Random(args.seed))
        if args.mode == "push":
            queue_picks(core, args.user, json.loads(args.tasks), args.count, args.max_pending,
                        random.Random(args.seed))
        else:
            initial_sync(core)
    finally:
        core.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
