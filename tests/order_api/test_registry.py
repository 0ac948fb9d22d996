"""Handlers are registered by an explicit list, and a module left out of it fails here, not on a device."""

import importlib
import pkgutil

import pytest

import order_api.mutations
from contract.actions import ACTIONS
from order_api.mutations import registry


def _handler_modules() -> set[str]:
    found = set()
    for info in pkgutil.iter_modules(order_api.mutations.__path__):
        module = importlib.import_module(f"order_api.mutations.{info.name}")
        if registry.handlers_in(module):
            found.add(module.__name__)
    return found


def test_every_module_with_handlers_is_registered():
    assert _handler_modules() == {m.__name__ for m in registry.HANDLER_MODULES}


def test_every_action_of_the_contract_has_exactly_one_handler():
    assert registry.REGISTRY.keys() == ACTIONS.keys()
    for name, handler in registry.REGISTRY.items():
        assert handler.action is ACTIONS[name]


def test_a_forgotten_module_fails_the_build_with_the_actions_it_would_have_handled():
    without_studio = tuple(m for m in registry.HANDLER_MODULES if not m.__name__.endswith(".studio"))
    with pytest.raises(RuntimeError, match="no handler for asset.register, sample.check_in, sample.check_out, shot.qc"):
        registry.build(without_studio)
