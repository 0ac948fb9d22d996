"""The local view: server state from the replica plus the effects of queued mutations.

Effects are the client's prediction of what the server will do with a mutation; the
server stays authoritative. When the server's answer arrives through the pull feed the
mutation leaves the outbox and the replica shows the real outcome, which is also how a
rejection undoes a prediction.
"""

from collections.abc import Callable, Sequence
from typing import NamedTuple

from sync.journal_writer import Submission
from sync.outbox import Mutation, Outbox
from sync.store import replica
from sync.store.database import LocalStore

Rows = dict[int, dict]


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


class Effect(NamedTuple):
    """What a mutation does to one entity: the rows whose `field` equals its argument `arg`, changed by `apply`."""

    field: str
    arg: str
    apply: Callable[[Mutation, Rows], None] | None  # None: worked out in LocalView (pick.undo)


EFFECTS: dict[str, dict[str, Effect]] = {
    "pick.confirm": {"pick_task": Effect("id", "task", _pick_confirm)},
    "pick.short": {"pick_task": Effect("id", "task", _pick_short)},
    "pick.undo": {"pick_task": Effect("id", "task", None)},  # needs the confirmation it takes back
    "tote.assign": {"order": Effect("id", "order", _tote_on_order),
                    "pick_task": Effect("order_id", "order", _tote_on_tasks)},
    "pack.confirm": {"order": Effect("id", "order", _packed)},
    "shot.qc": {"shot": Effect("id", "shot", _shot_reviewed)},
}

# The row fields of each entity that some mutation's effect is matched on.
_FIELDS: dict[str, tuple[str, ...]] = {}
for _by_entity in EFFECTS.values():
    for _entity, _effect in _by_entity.items():
        if _effect.field not in _FIELDS.setdefault(_entity, ()):
            _FIELDS[_entity] += (_effect.field,)


def touched(m: Mutation) -> list[tuple[str, str, object]]:
    """The rows a mutation's effects touch, as (entity, field, value): the keys of the outbox's index."""
    return [(entity, e.field, m.args.get(e.arg)) for entity, e in EFFECTS.get(m.name, {}).items()]


def apply_effects(entity: str, found: Rows, queued: Sequence[Mutation], confirmations: dict[str, Mutation]) -> None:
    """Lay queued mutations over rows of one entity (by id), in the order given.

    confirmations: the pick.confirm mutations that pick.undo ones in `queued` take back, by id.
    """
    for m in queued:
        effect = EFFECTS.get(m.name, {}).get(entity)
        if effect is None:
            continue
        if m.name == "pick.undo":
            _pick_undo(m, found, confirmations)
        else:
            effect.apply(m, found)


class LocalView:
    """Read entities as the user should see them: replica rows with queued effects applied."""

    def __init__(self, store: LocalStore, outbox: Outbox) -> None:
        self._store = store
        self._outbox = outbox
        # A mutation never changes once made: confirmations that undone picks refer to, once read.
        self._confirmations: dict[str, Mutation] = {}
        outbox.track(touched)

    def rows(self, entity: str, *, submitted: Sequence[Submission] = (), **where) -> list[dict]:
        """Rows of one entity (filtered on indexed columns), with the queue's effects.

        Only the signed-in person's scope: replica.load leaves out rows held for audiences
        of someone else (hidden until they sign in again). Acknowledged actions are laid over
        the rows until the feed shown reaches their push (replica.shown_cursor says why that
        is the scope's highest cursor, not its lowest). `submitted`: actions handed to the
        journal writer; those still waiting for their commit are laid over last (a screen judges
        the next scan with them), stored ones are in the queue already.

        The queue is not read from the journal: the outbox's in-memory index gives only the
        actions touching these rows (Outbox.touching).
        """
        with self._store.replica.read() as conn:  # one snapshot: the rows and how far they are complete
            found = {row["id"]: row for row in replica.load(conn, entity, **where)}
            cursor = replica.shown_cursor(conn)
        fields = _FIELDS.get(entity)
        if not fields or not found:
            return list(found.values())
        keys = {(entity, field, row.get(field)) for row in found.values() for field in fields}
        # Acked mutations whose effects these rows already hold are not applied again.
        queued = self._outbox.touching(keys, cursor, submitted)
        apply_effects(entity, found, queued, self._confirmations_of(queued))
        return list(found.values())

    def _confirmations_of(self, queued: list[Mutation]) -> dict[str, Mutation]:
        wanted = {m.args.get("confirmation") for m in queued if m.name == "pick.undo"} - {None}
        if not wanted:
            return {}
        known = {m.id: m for m in queued if m.id in wanted}
        missing = [w for w in wanted if w not in known and w not in self._confirmations]
        if missing:
            # Settled confirmations: read once, they never change. One the journal no longer has
            # (refused by the server) undoes nothing, now as later: an undo is stored after its pick.
            found = self._outbox.find(missing)
            self._confirmations.update({w: found.get(w) for w in missing})
        cached = {w: self._confirmations[w] for w in wanted if self._confirmations.get(w) is not None}
        return {**cached, **known}

    def row(self, entity: str, row_id: int) -> dict | None:
        found = self.rows(entity, id=row_id)
        return found[0] if found else None
