"""The local view: server state from the replica plus the effects of queued mutations.

Effects are the client's prediction of what the server will do with a mutation; the
server stays authoritative. When the server's answer arrives through the pull feed the
mutation leaves the outbox and the replica shows the real outcome, which is also how a
rejection undoes a prediction.
"""

from collections.abc import Callable

from sync.outbox import Mutation, Outbox
from sync.store import replica
from sync.store.database import LocalStore

Rows = dict[int, dict]
Effect = Callable[[Mutation, Rows], None]


def _pick_confirm(m: Mutation, tasks: Rows) -> None:
    task = tasks.get(m.args.get("task"))
    if task is not None:
        task["picked_qty"] = task.get("picked_qty", 0) + m.args.get("qty", 0)
        if task["picked_qty"] >= task.get("qty", 0):
            task["status"] = "done"


def _pick_short(m: Mutation, tasks: Rows) -> None:
    task = tasks.get(m.args.get("task"))
    if task is not None:
        task["status"], task["short_reason"] = "short", m.args.get("reason")


def _pick_undo(m: Mutation, tasks: Rows, confirmations: dict[str, Mutation]) -> None:
    task = tasks.get(m.args.get("task"))
    confirmation = confirmations.get(m.args.get("confirmation") or "")
    undone = confirmation.args.get("qty", 0) if confirmation else 0
    if task is not None and undone:
        task["picked_qty"] = max(0, task.get("picked_qty", 0) - undone)
        task["status"] = "open"


def _tote_on_order(m: Mutation, orders: Rows) -> None:
    order = orders.get(m.args.get("order"))
    if order is not None:
        order["tote"] = m.args.get("tote")


def _tote_on_tasks(m: Mutation, tasks: Rows) -> None:
    for task in tasks.values():
        if task.get("order_id") == m.args.get("order"):
            task["tote"] = m.args.get("tote")


def _packed(m: Mutation, orders: Rows) -> None:
    order = orders.get(m.args.get("order"))
    if order is not None:
        order["status"] = "packed"


def _shot_reviewed(m: Mutation, shots: Rows) -> None:
    shot = shots.get(m.args.get("shot"))
    if shot is not None:
        shot["status"] = "approved" if m.args.get("decision") == "approve" else "rejected"
        shot["qc_comment"] = m.args.get("comment") or None


EFFECTS: dict[str, dict[str, Effect]] = {
    "pick.confirm": {"pick_task": _pick_confirm},
    "pick.short": {"pick_task": _pick_short},
    "pick.undo": {"pick_task": None},  # needs the confirmation it takes back, see LocalView.rows
    "tote.assign": {"order": _tote_on_order, "pick_task": _tote_on_tasks},
    "pack.confirm": {"order": _packed},
    "shot.qc": {"shot": _shot_reviewed},
}


class LocalView:
    """Read entities as the user should see them: replica rows with queued effects applied."""

    def __init__(self, store: LocalStore, outbox: Outbox) -> None:
        self._store = store
        self._outbox = outbox

    def rows(self, entity: str, **where) -> list[dict]:
        """Rows of one entity (filtered on indexed columns), with the queue's effects."""
        with self._store.replica.read() as conn:
            found = {row["id"]: row for row in replica.load(conn, entity, **where)}
            cursor = replica.cursor(conn)
        # Acked mutations whose effects these rows already hold are not applied again.
        queued = self._outbox.in_view(cursor)
        confirmations = {}
        if entity == "pick_task":
            wanted = [m.args.get("confirmation") for m in queued if m.name == "pick.undo"]
            confirmations = self._outbox.find([w for w in wanted if w])
        for m in queued:
            if m.name == "pick.undo" and entity == "pick_task":
                _pick_undo(m, found, confirmations)
                continue
            effect = EFFECTS.get(m.name, {}).get(entity)
            if effect is not None:
                effect(m, found)
        return list(found.values())

    def row(self, entity: str, row_id: int) -> dict | None:
        found = self.rows(entity, id=row_id)
        return found[0] if found else None
