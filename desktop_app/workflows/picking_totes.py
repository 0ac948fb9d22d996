"""Totes at batch start: which orders still need one, and which order a scanned tote already holds."""

from collections.abc import Sequence

from desktop_app.workflows.picking_walk import live
from sync.journal_writer import Submission
from sync.view import LocalView

# An order in one of these has left its tote, or never filled it: the tote can take another order.
TOTE_FREED = ("packed", "shipped", "cancelled")


def orders_without_tote(tasks: list[dict]) -> list[dict]:
    """One task per order of the batch that has no tote yet, in order id order."""
    found: dict[int, dict] = {}
    for t in live(tasks):
        if not t.get("tote"):
            found.setdefault(t["order_id"], t)
    return [found[k] for k in sorted(found)]


class TotesInUse:
    """The totes holding orders of other batches, as the local view has them when a batch is taken up.

    Pick tasks carry their order's tote and status: the picker's batches, those claimed ahead and
    those finished (their orders wait in their totes for packing). An order holds its tote until
    it is packed, shipped or cancelled. Where the device also holds the orders themselves (office
    scope) they decide: the server republishes an order's tasks when it is cancelled, not when it
    is packed. Read once per batch, with start() off the UI thread: a device may hold thousands
    of finished tasks, too many to read at every tote scan. A tote freed meanwhile (an order
    cancelled) is taken at the next start; Esc and Enter on the tote screen are one.
    """

    def __init__(self, held: dict[str, tuple[int, str]]) -> None:
        self._held = held  # tote -> (order id, order number)

    @classmethod
    def read(cls, view: LocalView, batch_id: int, submitted: Sequence[Submission] = ()) -> "TotesInUse":
        freed = {o["id"] for status in TOTE_FREED for o in view.rows("order", status=status)}
        held: dict[str, tuple[int, str]] = {}
        for t in sorted(view.rows("pick_task", submitted=submitted), key=lambda t: t["order_id"]):
            if (t.get("tote") and t["batch_id"] != batch_id and t.get("order_status") not in TOTE_FREED
                    and t["order_id"] not in freed):
                held.setdefault(t["tote"], (t["order_id"], t["order_number"]))
        return cls(held)

    def holder(self, tote: str, order_id: int, batch_tasks: list[dict]) -> str | None:
        """The number of another order in this tote, or None when the device knows of none.

        batch_tasks: the batch's tasks as read for this scan, with the totes just given in it.
        """
        for t in live(batch_tasks):
            if t.get("tote") == tote and t["order_id"] != order_id:
                return t["order_number"]
        other = self._held.get(tote)
        return None if other is None or other[0] == order_id else other[1]
