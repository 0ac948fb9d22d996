"""Server-side handlers of pushed mutations: a registry of named, role-checked intents."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from order_api.changes import pending_changes
from order_api.context import ApiContext, Caller
from order_api.models import DeviceUser, User
from order_api.schemas import Mutation, MutationOutcome


class Rejected(Exception):
    """A mutation the server refuses for good; the device's seq still advances."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Actor:
    """Who did the action (the mutation's user) and where, as handlers see it."""

    user: User
    device_id: str
    mutation_id: str
    settings: object
    now: datetime

    @property
    def roles(self) -> frozenset[str]:
        return self.user.role_set


@dataclass(frozen=True)
class Handler:
    name: str
    roles: tuple[str, ...]
    args: type[BaseModel]
    apply: Callable[[Session, Actor, BaseModel], None]
    # The handler raises Rejected only before its first write, so a rejection leaves nothing
    # to undo and the mutation needs no savepoint: its writes are flushed with the whole push.
    checks_first: bool = False


REGISTRY: dict[str, Handler] = {}


def mutation(name: str, roles: tuple[str, ...], args: type[BaseModel], *, checks_first: bool = False):
    """Register a handler for mutations called `name`, allowed to `roles` (see Handler.checks_first)."""

    def register(fn):
        REGISTRY[name] = Handler(name, roles + ("admin",), args, fn, checks_first)
        return fn

    return register


def _person(s: Session, device_id: str, username: str) -> tuple[User | None, bool]:
    """The user behind a mutation, and whether they ever signed in on this device."""
    user = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        return None, False
    signed_in_here = s.execute(
        select(DeviceUser.id).where(DeviceUser.device_id == device_id, DeviceUser.user_id == user.id)
    ).first()
    return user, signed_in_here is not None


def apply_mutation(s: Session, ctx: ApiContext, caller: Caller, m: Mutation, people: dict | None = None
                   ) -> MutationOutcome:
    """Apply one mutation inside a savepoint; a rejection rolls back only its own writes.

    `people` caches who is who across the mutations of one push (they are mostly one person's).
    """
    from order_api.models.base import utcnow

    people = {} if people is None else people
    if m.user not in people:
        people[m.user] = _person(s, caller.device_id, m.user)
    user, signed_in_here = people[m.user]
    if user is None or not user.active:
        return _rejected(m, "unknown_user", f"User {m.user!r} does not exist or is disabled.")
    if not signed_in_here:
        return _rejected(m, "forbidden", f"User {m.user!r} never signed in on device {caller.device_id!r}.")
    handler = REGISTRY.get(m.name)
    if handler is None:
        return _rejected(m, "unknown_mutation", f"The server does not know the mutation {m.name!r}.")
    if not user.role_set.intersection(handler.roles):
        return _rejected(m, "forbidden", f"{m.user} may not do {m.name} (needs {', '.join(handler.roles)}).")
    try:
        args = handler.args.model_validate(m.args)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "args"
        return _rejected(m, "invalid_args", f"{m.name}: {where}: {first.get('msg')}")
    actor = Actor(user=user, device_id=caller.device_id, mutation_id=m.id, settings=ctx.settings, now=utcnow())
    published = pending_changes(s)
    if handler.checks_first:
        return _apply_checked_first(s, handler, actor, args, m, published)
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


def _rejected(m: Mutation, code: str, message: str) -> MutationOutcome:
    return MutationOutcome(id=m.id, status="rejected", code=code, message=message)


# Importing the handler modules registers them.
from order_api.mutations import packing, picking, studio  # noqa: E402,F401


def _apply_checked_first(s: Session, handler: Handler, actor: Actor, args: BaseModel, m: Mutation,
                         published: dict) -> MutationOutcome:
    """Apply a checks-first handler without a savepoint: one flush for the whole push, not one each."""
    new, changes = len(s.new), len(published)  # cheap signs of a write (s.dirty scans the session)
    try:
        with s.no_autoflush:
            handler.apply(s, actor, args)
    except Rejected as exc:
        if (len(s.new), len(published)) != (new, changes):
            # A handler broke its promise: fail the whole push (rolled back) rather than keep
            # half of a rejected mutation.
            raise RuntimeError(f"{m.name} wrote before rejecting with {exc.code}") from exc
        return _rejected(m, exc.code, exc.message)
    return MutationOutcome(id=m.id, status="applied")

