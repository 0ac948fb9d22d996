"""Sign-in, refresh, rate limiting, and a bearer token on every route."""

import re

import pytest
from fastapi.routing import APIRoute

from order_api.models import AuthSession
from tests.order_api import harness

# Routes that must answer without a bearer token: signing in (the token, its renewal and
# an offline ticket take the device credential instead), recovering a device with a
# supervisor's code, and the part URLs of the file store, which carry their own HMAC
# signature instead.
PUBLIC = {("POST", "/v1/auth/token"), ("POST", "/v1/auth/refresh"), ("POST", "/v1/auth/ticket"),
          ("POST", "/v1/devices/{device_id}/recover")}
SIGNED_PREFIX = "/v1/blobs/"
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _api_routes(app):
    """Every (method, path) the app serves, found by walking its routers."""
    found = []

    def walk(routes):
        for route in routes:
            if hasattr(route, "original_router"):
                walk(route.original_router.routes)
            elif isinstance(route, APIRoute):
                found.extend((m, route.path) for m in route.methods)
    walk(app.routes)
    return found


def test_every_route_without_a_token_answers_401(api):
    routes = _api_routes(api.server.app)
    assert len(routes) >= 12
    http = api.client()
    checked = 0
    for method, path in routes:
        if (method, path) in PUBLIC or path in DOCS or path.startswith(SIGNED_PREFIX):
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        r = http.request(method, url, json={})
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "unauthorized"
        checked += 1
    assert checked >= 10


def test_a_signed_route_without_a_signature_is_refused(api):
    signed = [(m, p) for m, p in _api_routes(api.server.app) if p.startswith(SIGNED_PREFIX)]
    assert signed
    for method, path in signed:
        r = api.client().request(method, re.sub(r"\{[^}]+\}", "1", path), content=b"x")
        assert r.status_code in (401, 403), (method, path, r.text)


def test_sign_in_by_username_or_badge(api):
    api.add_user("anna", "picker", pin="1111", badge="BADGE-ANNA")
    for body in ({"username": "anna", "pin": "1111"}, {"badge": "BADGE-ANNA", "pin": "1111"}):
        r = api.token("hh-01", **body, device_name="Handheld 1")
        assert r.status_code == 200, r.text
        tokens = r.json()
        assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0
        me = api.client(tokens["access_token"], "hh-01").get("/v1/me").json()
        assert me["user"]["username"] == "anna" and me["device_id"] == "hh-01"
        assert me["device"] == {"id": "hh-01", "name": "Handheld 1"}


def test_tokens_are_stored_only_as_hashes(api):
    api.add_user("anna", "picker")
    session = api.sign_in("anna")
    with api.db.read() as s:
        row = s.query(AuthSession).one()
        assert session.token not in (row.access_hash, row.refresh_hash)


def test_wrong_pin_is_401_and_repeated_failures_are_rate_limited(api):
    api.add_user("anna", "picker", pin="1111")
    http = api.client()
    codes = [http.post("/v1/auth/token", json={"username": "anna", "pin": "0000", "device_id": "d"}).status_code
             for _ in range(5)]
    assert codes == [401] * 5
    r = http.post("/v1/auth/token", json={"username": "anna", "pin": "1111", "device_id": "d"})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert r.json()["error"]["code"] == "rate_limited"


def test_refresh_rotates_and_the_old_refresh_token_dies(api):
    api.add_user("anna", "picker")
    first = api.token("d", username="anna", pin="1234").json()
    device = api.client(device_id="d")
    second = device.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json()["device_secret"] is None and second.json()["offline_ticket"] is None
    assert api.client(second.json()["access_token"], "d").get("/v1/me").status_code == 200
    reuse = device.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401


def test_an_expired_access_token_is_401_until_refreshed(tmp_path, db_url):
    h = harness.start(tmp_path, db_url, access_ttl_s=0)
    try:
        h.add_user("anna", "picker")
        tokens = h.token("d", username="anna", pin="1234").json()
        r = h.client(tokens["access_token"], "d").get("/v1/me")
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    finally:
        h.stop()


@pytest.mark.parametrize("role,method,path,body,allowed", [
    ("picker", "POST", "/v1/pick-batches/claim", {}, True),
    ("packer", "POST", "/v1/pick-batches/claim", {}, False),
    ("photographer", "POST", "/v1/pick-batches/claim", {}, False),
    ("picker", "POST", "/v1/orders/1/cancel", None, False),
    ("packer", "POST", "/v1/orders/1/cancel", None, False),
    ("supervisor", "POST", "/v1/orders/1/cancel", None, True),
    ("picker", "GET", "/v1/orders/1", None, False),
    ("supervisor", "GET", "/v1/orders/1", None, True),  # a packer's reads keep to packing (test_scope.py)
    ("supervisor", "GET", "/v1/users", None, True),
    ("picker", "GET", "/v1/users", None, False),
    ("supervisor", "POST", "/v1/users", {"username": "x", "display_name": "X", "roles": ["picker"], "pin": "1234"}, False),
    ("admin", "POST", "/v1/users", {"username": "x", "display_name": "X", "roles": ["picker"], "pin": "1234"}, True),
    ("picker", "POST", "/v1/pick-batches/1/reassign", {"username": "someone"}, False),
])
def test_role_matrix(api, warehouse, role, method, path, body, allowed):
    api.add_user("who", role)
    r = api.sign_in("who").http.request(method, path, json=body)
    if allowed:
        assert r.status_code < 400, r.text
    else:
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
