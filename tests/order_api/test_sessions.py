"""Sessions: refresh-token reuse, offline tickets and sign-out."""

import pytest
from sqlalchemy import select

from order_api.models import AuthSession, User
from order_api.security import hash_secret, token_digest
from tests.order_api import harness


def _refresh(api, device_id: str, refresh_token: str):
    return api.client(device_id=device_id).post("/v1/auth/refresh", json={"refresh_token": refresh_token})


def _me(api, device_id: str, access_token: str) -> int:
    return api.client(access_token, device_id).get("/v1/me").status_code


def test_a_reused_refresh_token_ends_every_session_of_its_sign_in(api, caplog):
    api.add_user("anna", "picker")
    first = api.sign_in("anna")
    other = api.sign_in("anna")  # a second sign-in on the same device: another family
    second = _refresh(api, first.device_id, first.answer["refresh_token"]).json()
    third = _refresh(api, first.device_id, second["refresh_token"]).json()
    assert _me(api, first.device_id, third["access_token"]) == 200
    reuse = _refresh(api, first.device_id, first.answer["refresh_token"])
    assert reuse.status_code == 401
    assert reuse.json()["error"] == {
        "code": "invalid_refresh_token", "details": None,
        "message": "This sign-in was already renewed; every session of it is ended. Sign in again."}
    assert _me(api, first.device_id, third["access_token"]) == 401  # the newest session ended too
    assert _refresh(api, first.device_id, third["refresh_token"]).status_code == 401
    assert other.http.get("/v1/me").status_code == 200  # another sign-in is not touched
    warning = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "refresh token" in r.getMessage()]
    assert warning and "anna" in warning[0] and first.device_id in warning[0]
    assert first.answer["refresh_token"] not in caplog.text
    with api.db.read() as s:
        family = s.scalars(select(AuthSession.family).where(AuthSession.access_hash == token_digest(first.token))).one()
        rows = s.scalars(select(AuthSession)).all()
        assert sorted(r.revoked_reason for r in rows if r.family == family) == ["reuse", "rotated", "rotated"]
        assert [r.revoked for r in rows if r.family != family] == [False]
        assert {r.kind for r in rows} == {"pin"}


def test_refresh_needs_the_device_credential_of_its_session(api, staff):
    anna, ben = staff["anna"], staff["ben"]
    token = anna.answer["refresh_token"]
    for http in (api.client(), api.client(device_id=ben.device_id)):
        r = http.post("/v1/auth/refresh", json={"refresh_token": token})
        assert r.status_code == 403 and r.json()["error"]["code"] == "device_unknown"
    assert _refresh(api, anna.device_id, "no-such-token").json()["error"]["code"] == "invalid_refresh_token"
    assert _refresh(api, anna.device_id, token).status_code == 200  # nothing above counted as a use


def test_a_pin_sign_in_gets_an_offline_ticket_that_only_its_device_redeems(api, staff):
    anna, ben = staff["anna"], staff["ben"]
    ticket = anna.answer["offline_ticket"]
    assert ticket and anna.answer["offline_ticket_expires_in"] == 14 * 24 * 3600
    r = api.client(device_id=anna.device_id).post("/v1/auth/ticket", json={"ticket": ticket})
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["device_secret"] is None and tokens["offline_ticket"] is None
    me = api.client(tokens["access_token"], anna.device_id).get("/v1/me").json()
    assert me["user"]["username"] == "anna"
    with api.db.read() as s:
        assert s.scalars(select(AuthSession.kind).order_by(AuthSession.id.desc())).first() == "ticket"
    # Not without the device's credential, not from another device.
    r = api.client().post("/v1/auth/ticket", json={"ticket": ticket})
    assert r.status_code == 403 and r.json()["error"]["code"] == "device_unknown"
    r = api.client(device_id=ben.device_id).post("/v1/auth/ticket", json={"ticket": ticket})
    assert r.status_code == 401
    assert r.json()["error"] == {"code": "invalid_ticket", "details": None,
                                 "message": "The offline sign-in of this device is no longer valid; sign in online."}


def test_a_new_pin_sign_in_replaces_the_ticket_of_that_person_and_device(api, staff):
    anna = staff["anna"]
    old = anna.answer["offline_ticket"]
    new = api.sign_in("anna").answer["offline_ticket"]
    device = api.client(device_id=anna.device_id)
    assert device.post("/v1/auth/ticket", json={"ticket": old}).status_code == 401
    assert device.post("/v1/auth/ticket", json={"ticket": new}).status_code == 200


def test_a_ticket_dies_with_a_revoked_device_even_after_recovery(api, staff):
    anna, sam = staff["anna"], staff["sam"]
    assert sam.http.post(f"/v1/devices/{anna.device_id}/revoke").status_code == 200
    code = sam.http.post(f"/v1/devices/{anna.device_id}/recovery-code").json()["code"]
    secret = api.client().post(f"/v1/devices/{anna.device_id}/recover", json={"code": code}).json()["device_secret"]
    api.devices.remember(api.url, anna.device_id, secret)
    r = api.client(device_id=anna.device_id).post("/v1/auth/ticket", json={"ticket": anna.answer["offline_ticket"]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_ticket"


def test_an_expired_ticket_is_refused(tmp_path, db_url):
    h = harness.start(tmp_path, db_url, offline_ticket_ttl_s=0)
    try:
        h.add_user("anna", "picker")
        anna = h.sign_in("anna")
        assert anna.answer["offline_ticket_expires_in"] == 0
        r = h.client(device_id=anna.device_id).post("/v1/auth/ticket", json={"ticket": anna.answer["offline_ticket"]})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_ticket"
    finally:
        h.stop()


def test_a_password_sign_in_gets_no_offline_ticket(api):
    with api.db.write() as s:
        s.add(User(username="ada", display_name="Ada", roles="admin", password_hash=hash_secret("long-password")))
    r = api.token("office-1", username="ada", password="long-password")
    assert r.status_code == 200, r.text
    assert r.json()["offline_ticket"] is None and r.json()["offline_ticket_expires_in"] is None
    with api.db.read() as s:
        assert s.scalars(select(AuthSession.kind)).one() == "password"


@pytest.mark.parametrize("renewed", [False, True])
def test_sign_out_ends_the_sign_in_and_keeps_the_offline_ticket(api, staff, renewed):
    anna = staff["anna"]
    other = api.sign_in("anna")
    access = anna.token
    if renewed:
        access = _refresh(api, anna.device_id, anna.answer["refresh_token"]).json()["access_token"]
    r = api.client(access, anna.device_id).post("/v1/auth/sign-out")
    assert r.status_code == 204, r.text
    assert _me(api, anna.device_id, access) == 401
    assert anna.http.get("/v1/me").status_code == 401
    assert other.http.get("/v1/me").status_code == 200
    with api.db.read() as s:
        ended = s.scalars(select(AuthSession).where(AuthSession.revoked_reason == "signed_out")).all()
        assert len(ended) == 1  # the live session of the family; a renewed one was already "rotated"
    r = api.client(device_id=anna.device_id).post("/v1/auth/ticket", json={"ticket": other.answer["offline_ticket"]})
    assert r.status_code == 200
