"""Fixtures of the contract tests: the API on a fresh database with a tiny warehouse."""

import pytest

from tests.order_api import harness, scenario


@pytest.fixture
def api(tmp_path, db_url):
    h = harness.start(tmp_path, db_url)
    yield h
    h.stop()


@pytest.fixture
def warehouse(api):
    return scenario.build(api.db)


@pytest.fixture
def staff(api):
    """One user per role, signed in on their own device."""
    for name, roles in (("anna", "picker"), ("ben", "packer"), ("chloe", "photographer"),
                        ("sam", "supervisor"), ("ada", "admin")):
        api.add_user(name, roles)
    return {name: api.sign_in(name) for name in ("anna", "ben", "chloe", "sam", "ada")}
