"""A packing station for the print spool kill tests: a client core, its print spool and a TCP label printer.

    python -m tests.reliability.spool_worker --data-dir D --server URL --user NAME --printer-port P

Signs in online (the PIN comes from FLOORHAND_PIN), starts the sync engine and the spool as
the app's bench does (desktop_app/bench.py, desktop_app/app.py _wire_spool), then takes
commands on stdin, one a line:

    PACK <json>                 pack orders: [{order, number, parcels: [{ref, box_type, weight_g,
                                items: [{line, qty}]}]}], each as desktop_app/workflows/packing.py
                                _finish does it: the parcels' label jobs first, then the pack.confirm
    DECIDE <job> printed|not    a person's word on a label that may have printed
    QUIT                        stop the spool and the engine, close the data folder, exit

Every line on stdout is flushed at once, so the test reading it knows exactly what had
happened when it sends SIGKILL:

    READY                       signed in, engine and spool running (a job left `sending` is `uncertain` now)
    PACKED <order> <job>...     the order's label jobs and its pack.confirm are durable
    SEND <n>                    the n-th label of this process goes to the printer: its job is `sending` (synced)
    SENT <n>                    the printer took it
    FAILED <n> <kind>           the printer did not take it (kind: the problem code the spool records)
    DECIDED <job>
    BYE                         stopped cleanly
"""

import argparse
import json
import os
import sys

from contract.actions import PackConfirm, ParcelItem, ParcelSpec
from peripherals.printers import RawTcpPrinter
from sync.client import ClientCore
from sync.engine import EngineOptions
from sync.labels import label_fetcher
from sync.print_spool import PrintSpool
from sync.retry import Backoff, RetryPolicy
from tests.reliability.client_worker import NO_KEYRING, say

# Retries in fractions of a second, so the tests wait for events and not for backoff.
FAST = Backoff(base=0.05, cap=0.2)


class AnnouncedPrinter:
    """The station's printer, saying on stdout when a label goes to it and how that ended."""

    def __init__(self, printer: RawTcpPrinter) -> None:
        self._printer = printer
        self._sends = 0

    @property
    def name(self) -> str:
        return self._printer.name

    def send(self, data: bytes) -> None:
        self._sends += 1
        number = self._sends
        say("SEND", number)
        try:
            self._printer.send(data)
        except Exception as exc:
            say("FAILED", number, getattr(exc, "kind", type(exc).__name__))
            raise  # the spool reads kind and maybe_sent from the printer's own exception
        say("SENT", number)


def pack(core: ClientCore, spool: PrintSpool, user: str, user_id: str, order: dict) -> None:
    """One packed order: its pack.confirm, then a label job per parcel (the order of packing.py _finish)."""
    args = PackConfirm(order=order["order"], parcels=[
        ParcelSpec(box_type=p["box_type"], weight_g=p["weight_g"], ref=p["ref"],
                   items=[ParcelItem(line=i["line"], qty=i["qty"]) for i in p["items"]])
        for p in order["parcels"]])
    wire = args.checked()
    core.outbox.append(user, PackConfirm.NAME, wire)
    jobs = [spool.add_label(parcel.ref, order["number"], n, user_id) for n, parcel in enumerate(args.parcels, 1)]
    say("PACKED", order["order"], *jobs)


def serve(core: ClientCore, spool: PrintSpool, user: str, user_id: str) -> None:
    """Carry out the test's commands until QUIT (or until the test closes stdin)."""
    for line in sys.stdin:
        command, _, rest = line.strip().partition(" ")
        if command == "PACK":
            for order in json.loads(rest):
                pack(core, spool, user, user_id, order)
        elif command == "DECIDE":
            job, word = rest.split()
            spool.decide(int(job), printed=word == "printed", user_id=user_id)
            say("DECIDED", job)
        elif command == "QUIT":
            return
        else:
            raise SystemExit(f"unknown command {line!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--printer-port", type=int, required=True)
    args = parser.parse_args(argv)
    options = EngineOptions(long_poll_s=2.0, backoff=FAST)
    core = ClientCore.open(args.data_dir, args.server, keyring=NO_KEYRING, options=options,
                           retry=RetryPolicy(attempts=2, backoff=FAST))
    spool: PrintSpool | None = None
    try:
        person = core.signin.online(username=args.user, pin=os.environ["FLOORHAND_PIN"])
        core.engine.signed_in()
        printer = AnnouncedPrinter(RawTcpPrinter("127.0.0.1", args.printer_port, timeout=2.0))
        spool = PrintSpool(core.store.journal, printer, label_fetcher(core.api, core.store.journal), backoff=FAST)
        # As the app does: a push that emptied the queue may have made labels fetchable.
        core.engine.subscribe(lambda status: spool.wake() if status.pending == 0 else None)
        spool.start()
        core.engine.start()
        say("READY")
        serve(core, spool, args.user, str(person.user_id))
    finally:
        if spool is not None and not spool.stop():
            raise SystemExit("the print spool did not stop")
        core.close()
    say("BYE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
