"""The checked-in contract matches the code, and a fuzzer finds no server error in it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from order_api.cli import openapi_document

ROOT = Path(__file__).resolve().parents[2]


def test_docs_openapi_json_matches_the_code():
    checked_in = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert checked_in == openapi_document(), "docs/openapi.json is stale: run `make openapi`"


def test_the_served_document_is_the_checked_in_one(api):
    served = api.client().get("/openapi.json").json()
    assert served == json.loads((ROOT / "docs" / "openapi.json").read_text())


# Generated cases per operation: a few in the default run (about 45 s a database), many with -m slow.
@pytest.mark.parametrize("examples", [10, pytest.param(100, marks=[pytest.mark.slow, pytest.mark.timeout(3600)])])
def test_schemathesis_finds_no_server_error(tmp_path, api, warehouse, examples):
    """Fuzz every operation of the served document, signed in as an admin (who may call all).

    Sign-out is left out: it takes no input, and once called it would end the session the
    rest of the run needs.
    """
    api.add_user("ada", "admin")
    session = api.sign_in("ada")
    (name, value), = api.device_header(session.device_id).items()
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"), "run", f"{api.url}/openapi.json",
        "--checks", "not_a_server_error", "-H", f"Authorization: Bearer {session.token}",
        "-H", f"{name}: {value}", "--exclude-path", "/v1/auth/sign-out",
        # A pull may be held open for up to 30 s (wait) when nothing changes.
        "--max-examples", str(examples), "--seed", "1", "--request-timeout", "40", "--no-color",
        "--phases", "examples,coverage,fuzzing",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=60 * examples, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
