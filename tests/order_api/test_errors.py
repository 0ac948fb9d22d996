"""Bad requests get the one JSON error shape and a 4xx, never a 500."""

import pytest


@pytest.fixture
def anna(api, warehouse):
    api.add_user("anna", "picker")
    return api.sign_in("anna")


def _error(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_malformed_json(anna):
    r = anna.http.post("/v1/sync/push", content=b"{not json", headers={"content-type": "application/json"})
    assert _error(r, 422)["code"] == "invalid_request"


def test_unknown_fields_are_refused(api, anna):
    r = anna.http.post("/v1/sync/push", json={"device_id": anna.device_id, "schema_version": 1, "mutations": [],
                                              "extra": 1})
    assert _error(r, 422)["code"] == "invalid_request"
    r = api.client().post("/v1/auth/token", json={"username": "anna", "pin": "1234", "device_id": "d", "role": "admin"})
    _error(r, 422)


def test_wrong_types(anna):
    r = anna.http.get("/v1/sync/pull", params={"cursor": "abc"})
    _error(r, 422)
    r = anna.http.post("/v1/sync/push", json={"device_id": anna.device_id, "schema_version": "one", "mutations": {}})
    _error(r, 422)


def test_oversized_body(anna):
    big = b'{"device_id": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    r = anna.http.post("/v1/sync/push", content=big, headers={"content-type": "application/json"})
    assert _error(r, 413)["code"] == "payload_too_large"


def test_oversized_chunked_body_without_length(anna):
    def chunks():
        for _ in range(40):
            yield b"x" * 100_000
    r = anna.http.post("/v1/sync/push", content=chunks(), headers={"content-type": "application/json"})
    _error(r, 413)


def test_unknown_route_and_method(anna):
    assert _error(anna.http.get("/v1/nope"), 404)["code"] == "not_found"
    assert _error(anna.http.delete("/v1/sync/pull"), 405)["code"] == "method_not_allowed"


def test_wrong_schema_version(anna):
    r = anna.http.post("/v1/sync/push", json={"device_id": anna.device_id, "schema_version": 99, "mutations": []})
    assert _error(r, 409)["code"] == "unsupported_schema"
