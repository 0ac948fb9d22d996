"""Fixtures of the workflow tests: a client core signed in against the real reference API."""

import pytest

from sync.client import ClientCore
from tests.desktop_app.conftest import FAST, KEYRING, NO_RETRY


@pytest.fixture
def core(server, tmp_path):
    """A client core in tmp_path, signed in online as the picker anna."""
    c = ClientCore.open(tmp_path / "client", server.url, keyring=KEYRING, options=FAST, retry=NO_RETRY)
    c.signin.online(username="anna", pin="1111")
    c.engine.signed_in()
    yield c
    c.close()
