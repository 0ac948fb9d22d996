"""Applying one push: the new mutations of a device in order, each exactly as if alone."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.actions import Args, InvalidArgs, parse_args
from contract.rejections import Rejection
from order_api.changes import pending_changes
from order_api.context import ApiContext, Caller
from order_api.models import DeviceUser, User
from order_api.mutations.handler import Actor, Handler, Rejected
from order_api.mutations.registry import REGISTRY
from order_api.schemas import Mutation, MutationOutcome


def _person(s: Session, device_id: str, username: str) -> tuple[User | None, bool]:
    """The user behind a mutation, and whether they ever signed in on this device."""
    user = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        return None, False
    signed_in_here = s.execute(
        select(DeviceUser.id).where(DeviceUser.device_id == device_id, DeviceUser.user_id == user.id)
    ).first()
    return user, signed_in_here is not None


class PushRun:
    """Applies the new mutations of one push in order, each exactly as if alone.

    Who is who is looked up once per push (the mutations are mostly one person's), and a
    run of floor mutations (pick.confirm) shares one floor, written when the run ends.
    """

    def __init__(self, s: Session, ctx: ApiContext, caller: Caller, mutations: list[Mutation]) -> None:
        self.s, self.ctx, self.caller = s, ctx, caller
        self._mutations = mutations
        self._people: dict = {}
        self._floor = None

    def apply(self, m: Mutation) -> MutationOutcome:
        """Apply one mutation; a rejection leaves nothing of it behind."""
        from order_api.models.base import utcnow

        s = self.s
        if m.user not in self._people:
            self._people[m.user] = _person(s, self.caller.device_id, m.user)
        user, signed_in_here = self._people[m.user]
        if user is None or not user.active:
            return _rejected(m, Rejection.UNKNOWN_USER, f"User {m.user!r} does not exist or is disabled.")
        if not signed_in_here:
            # Only people who opened a session on this (authenticated) device act through it.
            return _rejected(m, Rejection.FORBIDDEN, f"{m.user} has not signed in on this device.")
        handler = REGISTRY.get(m.name)
        if handler is None:
            return _rejected(m, Rejection.UNKNOWN_MUTATION, f"The server does not know the mutation {m.name!r}.")
        if not user.role_set.intersection(handler.roles):
            return _rejected(m, Rejection.FORBIDDEN, f"{m.user} may not do {m.name} (needs {', '.join(handler.roles)}).")
        try:
            args = parse_args(m.name, m.args)
        except InvalidArgs as exc:
            return _rejected(m, Rejection.INVALID_ARGS, f"{m.name}: {exc}")
        actor = Actor(user=user, device_id=self.caller.device_id, mutation_id=m.id, settings=self.ctx.settings,
                      now=utcnow())
        if handler.floor is not None:
            return self._apply_on_floor(handler, actor, args, m)
        self.finish()
        published = pending_changes(s)
        published_before = dict(published)
        savepoint = s.begin_nested()
        try:
            # Handlers check first and write after, so their queries never need their own
            # pending writes; the savepoint's commit flushes once per mutation instead of
            # before every query.
            with s.no_autoflush:
                handler.apply(s, actor, args)
        except Rejected as exc:
            savepoint.rollback()
            # What the rejected mutation published is rolled back with its rows.
            published.clear()
            published.update(published_before)
            return _rejected(m, exc.code, exc.message)
        savepoint.commit()
        return MutationOutcome(id=m.id, status="applied")

    def _apply_on_floor(self, handler: Handler, actor: Actor, args: Args, m: Mutation) -> MutationOutcome:
        """A floor handler checks everything before its first change, so a rejection needs no undo."""
        if not isinstance(self._floor, handler.floor):
            self.finish()
            self.s.flush()  # the floor reads with plain SQL: it must see what the ORM holds
            self._floor = handler.floor(self.s)
            # The rows every mutation of the push will need, in a few statements, not per mutation.
            self._floor.load(x.args.get("task") for x in self._mutations
                             if x.name == m.name and isinstance(x.args, dict))
        floor = self._floor
        writes, changes = floor.writes, len(pending_changes(self.s))
        try:
            handler.apply(floor, actor, args)
        except Rejected as exc:
            if (floor.writes, len(pending_changes(self.s))) != (writes, changes):
                # A handler broke its promise: fail the whole push (rolled back) rather than
                # keep half of a rejected mutation.
                raise RuntimeError(f"{m.name} changed the floor before rejecting with {exc.code}") from exc
            return _rejected(m, exc.code, exc.message)
        return MutationOutcome(id=m.id, status="applied")

    def finish(self) -> None:
        """Write what the open floor changed; call before anything else reads those rows."""
        if self._floor is not None:
            self._floor.close()
            self._floor = None


def _rejected(m: Mutation, code: Rejection, message: str) -> MutationOutcome:
    return MutationOutcome(id=m.id, status="rejected", code=str(code), message=message)
