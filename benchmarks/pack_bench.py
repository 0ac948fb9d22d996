"""What benchmarks/pack_latency.py packs and prints to: the orders a packer scans, and a label printer on loopback."""

import re
import socket
import threading
import time
from dataclasses import dataclass

from desktop_app.workflows.packing_fit import Box, Item, smallest_fitting

WRONG_EVERY = 5  # every 5th order gets a wrong item scanned after its tote

# The ~HS answer of a ready Zebra printer: three framed strings (ZPL II Programming Guide, ~HS;
# peripherals/zebra_status.py reads them). No flag raised: paper in, not paused, head closed.
READY_STATUS = b"".join(b"\x02" + s + b"\x03\r\n" for s in (
    b"030,0,0,1245,000,0,0,0,000,0,0,0", b"001,0,0,0,1,2,6,0,00000000,1,000", b"1234,0"))
HOST_STATUS_QUERY = b"~HS"
_ORDER_ON_LABEL = re.compile(rb"\^FDOrder (SO-\d+)\^FS")  # order_api/labels.py: zpl()
_PARCEL_ON_LABEL = re.compile(rb"\^FDParcel (\d+) of (\d+)\^FS")


@dataclass(frozen=True)
class PlannedOrder:
    """One picked order as the packer will scan it: the tote, every unit's GTIN, and maybe a wrong item first."""

    order_id: int
    number: str
    tote: str
    units: list[str]
    wrong: str | None  # a GTIN of the catalogue that is not in this order


def plan_orders(view, count: int) -> tuple[list[PlannedOrder], int]:
    """The first `count` picked orders (lowest id first) whose units fit one box, and how many were passed over.

    An order that fits no box on its own would need F5 and a second parcel; the benchmark
    packs one parcel per order so that every order gives exactly one label.
    """
    boxes = [Box(r["code"], r["name"], r["length_mm"], r["width_mm"], r["height_mm"], r["tare_g"],
                 r.get("max_weight_g")) for r in view.rows("box_type")]
    waiting = sorted((o for o in view.rows("order", status="picked") if o.get("tote")), key=lambda o: o["id"])
    chosen: list[tuple[dict, list[str]]] = []
    skipped = 0
    for order in waiting:
        if len(chosen) >= count:
            break
        items, units = [], []
        for line in sorted(view.rows("order_line", order_id=order["id"]), key=lambda r: r["id"]):
            qty = line.get("picked_qty", 0)
            if qty <= 0:
                continue
            products = view.rows("product", gtin=line["gtin"]) or view.rows("product", sku=line["sku"])
            p = products[0] if products else {}
            items.append(Item(p.get("length_mm", 0), p.get("width_mm", 0), p.get("height_mm", 0),
                              p.get("weight_g", 0), qty))
            units += [line["gtin"]] * qty
        if not units or smallest_fitting(boxes, items) is None:
            skipped += 1
            continue
        chosen.append((order, units))
    plans = []
    for n, (order, units) in enumerate(chosen):
        wrong = None
        if n % WRONG_EVERY == WRONG_EVERY - 1:  # an item of another order, so the catalogue knows what it is
            wrong = next((g for _, other in chosen[n + 1:] + chosen[:n] for g in other if g not in units), None)
        plans.append(PlannedOrder(order["id"], order["number"], order["tote"], units, wrong))
    return plans, skipped


@dataclass(frozen=True)
class ArrivedLabel:
    """One label as it reached the printer: when its last byte came (perf_counter), and whose it is."""

    at: float
    order_number: str | None
    parcel_no: int | None
    parcel_count: int | None
    size: int


class LoopbackZebra:
    """A ZPL printer on 127.0.0.1 that is always ready: answers ~HS, keeps every label with its arrival time.

    Each connection is served on its own thread; what follows the ~HS queries on it, up to the
    client's end of the connection, is one label (peripherals.printers.RawTcpPrinter sends one
    label per connection and then waits for the printer to close, so this one closes at once).
    """

    def __init__(self) -> None:
        self.labels: list[ArrivedLabel] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, name="bench-printer", daemon=True).start()

    @property
    def setting(self) -> str:
        """The printer.label setting that reaches it."""
        return f"tcp://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), name="bench-printer-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        received, last = b"", 0.0
        with conn:
            conn.settimeout(30)
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return  # the client went away in the middle: no label
                if not chunk:
                    break
                received, last = received + chunk, time.perf_counter()
                while received.startswith(HOST_STATUS_QUERY):
                    received = received[len(HOST_STATUS_QUERY):]
                    conn.sendall(READY_STATUS)
        if not received:
            return  # a status check (RawTcpPrinter.check), not a label
        order = _ORDER_ON_LABEL.search(received)
        parcel = _PARCEL_ON_LABEL.search(received)
        label = ArrivedLabel(last, order.group(1).decode() if order else None,
                             int(parcel.group(1)) if parcel else None, int(parcel.group(2)) if parcel else None,
                             len(received))
        with self._lock:
            self.labels.append(label)
