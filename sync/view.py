"""The local view: server state from the replica plus the effects of queued mutations.

Effects are the client's prediction of what the server will do with a mutation; the
server stays authoritative. When the server's answer arrives through the pull feed the
mutation leaves the outbox and the replica shows the real outcome, which is also how a
rejection undoes a prediction.
"""

from collections.abc import Sequence

from sync.catalogue import CATALOGUE
from sync.catalogue.entry import Earlier, Rows
from sync.journal_writer import Submission
from sync.outbox import Mutation, Outbox
from sync.store import replica
from sync.store.database import LocalStore

# The row fields of each entity that some action's effect is matched on.
_FIELDS: dict[str, tuple[str, ...]] = {}
for _entry in CATALOGUE.values():
    for _entity, _effect in _entry.effects.items():
        if _effect.field not in _FIELDS.setdefault(_entity, ()):
            _FIELDS[_entity] += (_effect.field,)


def touched(m: Mutation) -> list[tuple[str, str, object]]:
    """The rows a mutation's effects touch, as (entity, field, value): the keys of the outbox's index."""
    entry = CATALOGUE.get(m.name)
    if entry is None:
        return []
    return [(entity, e.field, m.args.get(e.arg)) for entity, e in entry.effects.items()]


def apply_effects(entity: str, found: Rows, queued: Sequence[Mutation], earlier: Earlier) -> None:
    """Lay queued mutations over rows of one entity (by id), in the order given.

    earlier: the mutations that queued ones refer to (the pick.confirm a pick.undo takes back), by id.
    """
    for m in queued:
        entry = CATALOGUE.get(m.name)
        effect = entry.effects.get(entity) if entry is not None else None
        if effect is None:
            continue
        args = entry.typed(m.args)
        if args is not None:
            effect.apply(args, found, earlier)


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

    def count(self, entity: str, **where) -> int:
        """How many rows show these values (indexed columns) once the queue is laid over, without reading
        the data of every row: the rows of the replica with them are counted by id; only the rows
        that queued actions touch are read, laid over and counted by what they show (a queued
        pack moves its order out of "picked", a hold into "held").

        Unlike rows(), which filters on the server's values (the replica's columns), a row a
        queued action moved into the filter counts. Entities whose actions are matched on
        something else than a row's id are read whole.
        """
        fields = _FIELDS.get(entity, ())
        if fields not in ((), ("id",)):
            return sum(all(row.get(c) == v for c, v in where.items()) for row in self.rows(entity))
        touched = {key[2] for key in self._outbox.queued_keys(lambda key: key[0] == entity)} if fields else set()
        with self._store.replica.read() as conn:
            found = replica.ids(conn, entity, **where)
            if not touched:
                return len(found)
            rows = {row["id"]: row for row in replica.load_ids(conn, entity, touched)}
            cursor = replica.shown_cursor(conn)
        queued = self._outbox.touching({(entity, "id", row_id) for row_id in rows}, cursor)
        apply_effects(entity, rows, queued, self._confirmations_of(queued))
        shown = sum(all(row.get(column) == value for column, value in where.items()) for row in rows.values())
        return len(found - rows.keys()) + shown

    def _confirmations_of(self, queued: list[Mutation]) -> dict[str, Mutation]:
        wanted = {m.args.get(CATALOGUE[m.name].refers_to) for m in queued
                  if m.name in CATALOGUE and CATALOGUE[m.name].refers_to} - {None}
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
