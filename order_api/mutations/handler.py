"""What a mutation handler is: the action of the contract it applies, and how it refuses one."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from contract.actions import ACTIONS, Action, Args
from contract.rejections import Rejection
from order_api.models import User


class Rejected(Exception):
    """A mutation the server refuses for good; the device's seq still advances."""

    def __init__(self, code: Rejection, message: str) -> None:
        super().__init__(message)
        self.code, self.message = Rejection(code), message


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
    """The server's implementation of one action of the contract."""

    action: Action
    # apply(session, actor, args), or apply(floor, actor, args) for a handler that works on
    # a floor: rows of one push read together and written together (see mutations/floor.py).
    apply: Callable[..., None]
    floor: type | None = None

    @property
    def name(self) -> str:
        return self.action.name

    @property
    def roles(self) -> tuple[str, ...]:
        return self.action.roles + ("admin",)


def handles(args: type[Args], *, floor: type | None = None):
    """Mark a function as the handler of the action whose arguments are `args` (see Handler.floor).

    Nothing is registered here: order_api/mutations/registry.py lists the handler modules.
    """

    def mark(fn):
        fn.handler = Handler(ACTIONS[args.NAME], fn, floor)
        return fn

    return mark
