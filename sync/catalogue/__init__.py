"""The client's catalogue of actions: for each action of the contract, what it does to the
local view before the server answers, and the words a person sees about it.

One entry per action, in the module of its workflow; CATALOGUE is built from the explicit
list below and must cover every action of the contract (contract.actions.ACTIONS).
"""

from types import ModuleType

from contract.actions import ACTIONS
from sync.catalogue import packing, picking, studio
from sync.catalogue.entry import Effect, Entry

ENTRY_MODULES: tuple[ModuleType, ...] = (picking, packing, studio)


def _build(modules: tuple[ModuleType, ...]) -> dict[str, Entry]:
    found: dict[str, Entry] = {}
    for module in modules:
        for entry in module.ENTRIES:
            if entry.name in found:
                raise RuntimeError(f"{entry.name} is in the catalogue twice")
            found[entry.name] = entry
    missing = sorted(ACTIONS.keys() - found.keys())
    if missing:
        raise RuntimeError(f"no catalogue entry for {', '.join(missing)}")
    return found


CATALOGUE: dict[str, Entry] = _build(ENTRY_MODULES)

__all__ = ["CATALOGUE", "ENTRY_MODULES", "Effect", "Entry"]
