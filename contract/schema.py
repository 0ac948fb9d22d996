"""The contract as JSON Schema, for the published OpenAPI document (docs/openapi.json).

A push's `args` are tied to its `name` (one branch per action) and a feed entry's `data`
to its `entity` (one branch per entity), so an integrator reads every action, argument,
rejection code and entity field in one document.
"""

import msgspec

from contract.actions import ACTIONS
from contract.entities import ENTITIES
from contract.rejections import MEANINGS, Rejection

REF = "#/components/schemas/{name}"


def components() -> dict[str, dict]:
    """The schemas of every action's arguments, every feed entity and the rejection codes, by name."""
    types = [a.args for a in ACTIONS.values()] + list(ENTITIES.values())
    _, schemas = msgspec.json.schema_components(types, ref_template=REF)
    for a in ACTIONS.values():
        schemas[a.args.__name__].update({
            "x-action": a.name, "x-roles": [*a.roles, "admin"], "x-rejections": [str(c) for c in a.codes],
        })
    for name, cls in ENTITIES.items():
        schemas[cls.__name__]["x-entity"] = name
    schemas["Rejection"] = {
        "title": "Rejection", "type": "string",
        "description": "Why the server refused an action for good; the device's seq still advances.",
        "oneOf": [{"const": str(code), "description": MEANINGS[code]} for code in Rejection],
    }
    return schemas


def args_by_name() -> list[dict]:
    """`oneOf` branches for the Mutation schema: the args of each action name."""
    return [{"properties": {"name": {"const": name}, "args": {"$ref": REF.format(name=a.args.__name__)}},
             "required": ["name", "args"]}
            for name, a in sorted(ACTIONS.items())]


def data_by_entity() -> list[dict]:
    """`anyOf` branches for a feed entry: a tombstone, or the data of an upsert of each entity."""
    tombstone = {"properties": {"op": {"const": "delete"}}, "required": ["op"]}
    return [tombstone] + [{"properties": {"entity": {"const": name}, "op": {"const": "upsert"},
                                          "data": {"$ref": REF.format(name=cls.__name__)}},
                           "required": ["entity", "op", "data"]}
                          for name, cls in sorted(ENTITIES.items())]
