"""The handler of every action, from an explicit list of handler modules.

A handler module left out of HANDLER_MODULES, or an action of the contract without a
handler, fails at import (and in tests/order_api/test_registry.py), never silently as
`unknown_mutation` on a device.
"""

from types import ModuleType

from contract.actions import ACTIONS
from order_api.mutations import packing, picking, studio
from order_api.mutations.handler import Handler

HANDLER_MODULES: tuple[ModuleType, ...] = (picking, packing, studio)


def handlers_in(module: ModuleType) -> list[Handler]:
    """The handlers a module defines (functions marked with @handles)."""
    return [v.handler for v in vars(module).values() if isinstance(getattr(v, "handler", None), Handler)]


def build(modules: tuple[ModuleType, ...] = HANDLER_MODULES) -> dict[str, Handler]:
    """Action name -> handler; every action of the contract must have exactly one."""
    found: dict[str, Handler] = {}
    for module in modules:
        for handler in handlers_in(module):
            if handler.name in found:
                raise RuntimeError(f"{handler.name} has two handlers ({module.__name__})")
            found[handler.name] = handler
    missing = sorted(ACTIONS.keys() - found.keys())
    if missing:
        raise RuntimeError(f"no handler for {', '.join(missing)}: add its module to HANDLER_MODULES")
    return found


REGISTRY: dict[str, Handler] = build()
