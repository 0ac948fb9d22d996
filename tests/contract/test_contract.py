"""The contract module: strict arguments, a meaning for every code, and feed rows exactly as declared."""

import msgspec
import pytest
from sqlalchemy import select

from contract.actions import ACTIONS, InvalidArgs, PickConfirm, ToteAssign, parse_args
from contract.entities import ENTITIES
from contract.rejections import ANY_ACTION, MEANINGS, Rejection
from order_api.db import Database
from order_api.models import Change
from order_api.seed import load_seed


def test_every_rejection_code_has_a_meaning_and_every_action_a_summary():
    assert set(MEANINGS) == set(Rejection)
    for action in ACTIONS.values():
        assert action.summary, action.name
        assert set(ANY_ACTION) <= set(action.codes)


@pytest.mark.parametrize("args, where", [
    ({"task": 1, "location": "A", "qty": "1", "barcode": "1"}, "qty"),
    ({"task": 1, "location": "A", "qty": True, "barcode": "1"}, "qty"),
    ({"task": 1, "location": "A", "qty": 0, "barcode": "1"}, "qty"),
    ({"task": 2**31, "location": "A", "qty": 1, "barcode": "1"}, "task"),
    ({"task": 1, "location": "A", "qty": 1, "barcode": "40063\x0081"}, "barcode"),
    ({"task": 1, "location": "", "qty": 1, "barcode": "1"}, "location"),
    ({"task": 1, "location": "A", "qty": 1}, "barcode"),
    ({"task": 1, "location": "A", "qty": 1, "barcode": "1", "bin": "A"}, "bin"),
])
def test_arguments_are_strict_and_the_error_says_where(args, where):
    with pytest.raises(InvalidArgs, match=where):
        parse_args("pick.confirm", args)


def test_a_built_action_travels_as_plain_json_and_parses_back_to_itself():
    built = ToteAssign(batch=3, order=7, tote="T-0001")
    assert built.wire() == {"batch": 3, "order": 7, "tote": "T-0001"}
    assert parse_args(ToteAssign.NAME, built.wire()) == built
    assert ACTIONS["pick.confirm"].args is PickConfirm and PickConfirm.NAME == "pick.confirm"


def test_a_row_may_carry_fields_it_does_not_know_but_not_lack_or_mistype_one():
    order = msgspec.json.Decoder(ENTITIES["order"])
    good = b'{"id": 4, "number": "SO-1", "customer": "C", "status": "picked", "tote": null, "batch_id": 2}'
    assert order.decode(good.replace(b'"id": 4', b'"id": 4, "priority": 1')).number == "SO-1"  # a newer server
    with pytest.raises(msgspec.ValidationError, match="missing required field `customer`"):
        order.decode(good.replace(b'"customer": "C", ', b""))
    with pytest.raises(msgspec.ValidationError, match=r"Expected `str \| null`, got `int` - at `\$.tote`"):
        order.decode(good.replace(b'"tote": null', b'"tote": 17'))


def test_every_row_the_server_publishes_has_exactly_the_fields_of_its_entity(tmp_path):
    """The other direction of the drift check: the reference server adds no field the contract does not name."""
    db = Database(f"sqlite:///{tmp_path}/orders.db")
    db.create_schema()
    load_seed(db, "demo")
    seen = set()
    with db.read() as s:
        for entity, data in s.execute(select(Change.entity, Change.data).where(Change.op == "upsert")):
            cls = ENTITIES[entity]
            assert set(data) == set(cls.__struct_fields__), entity
            msgspec.convert(data, cls, strict=True)
            seen.add(entity)
    db.dispose()
    # The demo publishes every entity but those that only actions create (tests/sync/test_catalogue.py).
    assert seen >= set(ENTITIES) - {"parcel", "stock_check", "asset"}, set(ENTITIES) - seen
