"""Feed rows for tests: the fields a test cares about, the rest of the entity's fields filled in blank."""

import types
from typing import Union, get_args, get_origin

import msgspec

from contract.entities import ENTITIES


def _blank(kind):
    if get_origin(kind) in (Union, types.UnionType) and type(None) in get_args(kind):
        return None
    if get_origin(kind) is list:
        return []
    return {int: 1, str: "", bool: False}.get(kind, None)


def complete(entity: str, **fields) -> dict:
    """A row of `entity` as the contract declares it (contract.entities), with `fields` set."""
    row = {f.name: _blank(f.type) for f in msgspec.structs.fields(ENTITIES[entity])}
    return row | fields
