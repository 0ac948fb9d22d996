"""Device identity: registration, the device credential on every call, and what supervisors do with devices."""

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from order_api.deps import DEVICE_HEADER
from order_api.models import AuthSession, Device, OfflineTicket
from order_api.models.base import aware, utcnow
from tests.order_api.test_auth import DOCS, PUBLIC, SIGNED_PREFIX, _api_routes

CODE = re.compile(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")


def _error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    return r.json()["error"]


def test_the_first_sign_in_registers_the_device_and_returns_its_secret_once(api):
    api.add_user("anna", "picker")
    first = api.token("hh-01", username="anna", pin="1234", device_name="Handheld 1", app_version="0.2.0")
    assert first.status_code == 200, first.text
    secret = first.json()["device_secret"]
    assert secret and len(secret) >= 32
    again = api.token("hh-01", username="anna", pin="1234")  # sends the credential it got
    assert again.status_code == 200, again.text
    assert again.json()["device_secret"] is None
    with api.db.read() as s:
        device = s.get(Device, "hh-01")
        assert (device.name, device.app_version) == ("Handheld 1", "0.2.0")
        assert device.secret_hash and secret not in device.secret_hash


def test_a_known_device_without_its_credential_is_refused_before_any_pin_check(api, monkeypatch):
    import hashlib

    api.add_user("anna", "picker")
    api.sign_in("anna", device_id="hh-01")
    body = {"username": "anna", "pin": "1234", "device_id": "hh-01"}
    checks = []
    real = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: checks.append(1) or real(*a, **k))
    http = api.client()
    for headers in ({}, {DEVICE_HEADER: "hh-01 not-the-secret"}, {DEVICE_HEADER: "garbage"},
                    {DEVICE_HEADER: api.device_header("hh-01")[DEVICE_HEADER].replace("hh-01", "hh-02")}):
        r = http.post("/v1/auth/token", json=body, headers=headers)
        assert _error(r, 403)["code"] == "device_unknown", headers
    assert checks == []
    # ... and none of it counted as a failed sign-in.
    assert api.token("hh-01", **{k: v for k, v in body.items() if k != "device_id"}).status_code == 200


def test_a_device_row_from_before_credentials_cannot_be_taken_over(api):
    api.add_user("anna", "picker")
    with api.db.write() as s:
        s.add(Device(id="old-01"))
    r = api.token("old-01", username="anna", pin="1234")
    assert _error(r, 403)["code"] == "device_unknown"


def test_impersonating_the_supervisors_device_or_the_supervisor_fails(api, warehouse, staff):
    anna, sam = staff["anna"], staff["sam"]
    # A picker naming the supervisor's device, without its credential, is refused.
    r = api.client().post("/v1/auth/token", json={"username": "anna", "pin": "1234", "device_id": sam.device_id})
    assert _error(r, 403)["code"] == "device_unknown"
    # From his own device he cannot act as the supervisor.
    result = anna.push(anna.mutation("shot.qc", {"shot": 1, "decision": "approve"}, user="sam"))["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "forbidden")
    assert result["message"] == "sam has not signed in on this device."
    # The supervisor's device still continues its own sequence.
    out = sam.push(sam.mutation("pick.undo", {"task": 1}))
    assert out["last_seq"] == 1 and out["results"][0]["status"] in ("applied", "rejected")


def test_every_authenticated_route_needs_the_callers_own_device_credential(api, warehouse, staff):
    ada, anna = staff["ada"], staff["anna"]
    bare = api.client(ada.token)
    borrowed = api.client(ada.token, anna.device_id)  # ada's token with anna's device credential
    checked = 0
    for method, path in _api_routes(api.server.app):
        if (method, path) in PUBLIC or path in DOCS or path.startswith(SIGNED_PREFIX):
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        for http in (bare, borrowed):
            r = http.request(method, url, json={})
            assert r.status_code == 403 and r.json()["error"]["code"] == "device_unknown", (method, path, r.text)
        checked += 1
    assert checked >= 14
    assert ada.http.get("/v1/me").status_code == 200


def test_last_seen_is_written_at_most_once_a_minute(api, staff):
    anna = staff["anna"]
    with api.db.write() as s:
        s.get(Device, anna.device_id).last_seen = utcnow() - timedelta(minutes=5)
    assert anna.http.get("/v1/me").status_code == 200
    with api.db.read() as s:
        seen = aware(s.get(Device, anna.device_id).last_seen)
    assert seen > utcnow() - timedelta(minutes=1)
    assert anna.http.get("/v1/me").status_code == 200
    with api.db.read() as s:
        assert aware(s.get(Device, anna.device_id).last_seen) == seen


def test_supervisors_list_devices_most_recently_seen_first(api, staff):
    sam, anna = staff["sam"], staff["anna"]
    api.add_user("pia", "picker")
    api.sign_in("pia", device_id=anna.device_id)  # pia signed in last on anna's handheld
    r = sam.http.get("/v1/devices")
    assert r.status_code == 200, r.text
    devices = r.json()
    assert devices[0]["id"] == anna.device_id
    seen = [datetime.fromisoformat(d["last_seen"]) for d in devices]
    assert seen == sorted(seen, reverse=True)
    handheld = devices[0]
    assert set(handheld) == {"id", "name", "app_version", "registered_at", "last_seen", "revoked_at", "revoked_by",
                             "last_user", "last_seq"}
    assert (handheld["last_user"], handheld["revoked_at"], handheld["last_seq"]) == ("pia", None, 0)
    assert {d["id"] for d in devices} == {f"dev-{n}" for n in ("anna", "ben", "chloe", "sam", "ada")}
    assert _error(anna.http.get("/v1/devices"), 403)["code"] == "forbidden"


def test_a_revoked_device_is_refused_everywhere_and_its_sessions_and_ticket_end(api, warehouse, staff):
    sam, anna = staff["sam"], staff["anna"]
    ticket = anna.answer["offline_ticket"]
    r = sam.http.post(f"/v1/devices/{anna.device_id}/revoke")
    assert r.status_code == 200, r.text
    revoked = r.json()
    assert revoked["revoked_by"] == "sam" and revoked["revoked_at"]
    assert sam.http.post(f"/v1/devices/{anna.device_id}/revoke").json() == revoked  # twice is fine
    device = api.client(device_id=anna.device_id)
    for r in (anna.http.get("/v1/me"), anna.http.post("/v1/pick-batches/claim", json={}),
              device.post("/v1/auth/refresh", json={"refresh_token": anna.answer["refresh_token"]}),
              device.post("/v1/auth/ticket", json={"ticket": ticket}),
              api.token(anna.device_id, username="anna", pin="1234")):
        error = _error(r, 403)
        assert error["code"] == "device_revoked"
        assert error["message"].startswith("This device was taken out of service by Sam on ")
        assert datetime.fromisoformat(error["details"]["revoked_at"]) == datetime.fromisoformat(revoked["revoked_at"])
    with api.db.read() as s:
        sessions = s.scalars(select(AuthSession).where(AuthSession.device_id == anna.device_id)).all()
        assert {(x.revoked, x.revoked_reason) for x in sessions} == {(True, "device_revoked")}
        assert {t.revoked for t in s.scalars(select(OfflineTicket).where(OfflineTicket.device_id == anna.device_id))} \
            == {True}
    assert _error(sam.http.post(f"/v1/devices/{sam.device_id}/revoke"), 409)["code"] == "own_device"
    assert _error(sam.http.post("/v1/devices/no-such-device/revoke"), 404)["code"] == "not_found"
    assert _error(anna.http.post(f"/v1/devices/{sam.device_id}/revoke"), 403)["code"] == "device_revoked"


def test_a_recovery_code_puts_the_device_back_in_service_where_its_queue_stands(api, warehouse, staff):
    sam, anna = staff["sam"], staff["anna"]
    old_header = api.device_header(anna.device_id)
    assert anna.do("pick.undo", task=1)["status"] == "rejected"  # the device's seq is now 1
    assert sam.http.post(f"/v1/devices/{anna.device_id}/revoke").status_code == 200
    r = sam.http.post(f"/v1/devices/{anna.device_id}/recovery-code")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["device_id"] == anna.device_id and answer["expires_in"] == 3600
    assert CODE.fullmatch(answer["code"]), answer["code"]
    public = api.client()
    r = public.post(f"/v1/devices/{anna.device_id}/recover", json={"code": answer["code"].replace("-", "").lower()})
    assert r.status_code == 200, r.text
    secret = r.json()["device_secret"]
    assert r.json()["device_id"] == anna.device_id
    # The code is used up; the old secret no longer works, the new one does.
    again = public.post(f"/v1/devices/{anna.device_id}/recover", json={"code": answer["code"]})
    assert _error(again, 403)["code"] == "recovery_invalid"
    old = public.post("/v1/auth/token", json={"username": "anna", "pin": "1234", "device_id": anna.device_id},
                      headers=old_header)
    assert _error(old, 403)["code"] == "device_unknown"
    assert _error(anna.http.get("/v1/me"), 403)["code"] == "device_unknown"
    api.devices.remember(api.url, anna.device_id, secret)
    back = api.sign_in("anna", device_id=anna.device_id)
    back.seq = 1
    out = back.push(back.mutation("pick.undo", {"task": 1}))
    assert out["last_seq"] == 2  # the queue continues where it stood
    with api.db.read() as s:
        device = s.get(Device, anna.device_id)
        assert (device.revoked_at, device.recovery_hash) == (None, None)
    devices = {d["id"]: d for d in sam.http.get("/v1/devices").json()}
    assert devices[anna.device_id]["revoked_at"] is None and devices[anna.device_id]["last_seq"] == 2


def test_recovery_ends_the_sessions_it_finds_alive(api, staff):
    sam, anna = staff["sam"], staff["anna"]
    code = sam.http.post(f"/v1/devices/{anna.device_id}/recovery-code").json()["code"]
    assert api.client().post(f"/v1/devices/{anna.device_id}/recover", json={"code": code}).status_code == 200
    with api.db.read() as s:
        reasons = {x.revoked_reason for x in s.scalars(select(AuthSession).where(AuthSession.device_id == anna.device_id))}
    assert reasons == {"recovered"}


def test_five_wrong_recovery_codes_void_the_code(api, staff):
    sam, anna = staff["sam"], staff["anna"]
    public = api.client()
    url = f"/v1/devices/{anna.device_id}/recover"
    assert _error(public.post(url, json={"code": "ABCD-EFGH-JKLM"}), 403)["code"] == "recovery_invalid"  # no code yet
    code = sam.http.post(f"/v1/devices/{anna.device_id}/recovery-code").json()["code"]
    wrong = "2222-2222-2222" if code != "2222-2222-2222" else "3333-3333-3333"
    for _ in range(5):
        error = _error(public.post(url, json={"code": wrong}), 403)
        assert error == {"code": "recovery_invalid", "details": None,
                         "message": "The recovery code is wrong or expired; ask a supervisor for a new one."}
    assert _error(public.post(url, json={"code": code}), 403)["code"] == "recovery_invalid"
    fresh = sam.http.post(f"/v1/devices/{anna.device_id}/recovery-code").json()["code"]
    assert public.post(url, json={"code": fresh}).status_code == 200
    assert _error(public.post("/v1/devices/no-such-device/recover", json={"code": fresh}), 403)["code"] == \
        "recovery_invalid"


def test_an_expired_recovery_code_is_refused(tmp_path, db_url):
    from tests.order_api import harness

    h = harness.start(tmp_path, db_url, recovery_ttl_s=0)
    try:
        h.add_user("sam", "supervisor")
        h.add_user("anna", "picker")
        sam, anna = h.sign_in("sam"), h.sign_in("anna")
        code = sam.http.post(f"/v1/devices/{anna.device_id}/recovery-code").json()["code"]
        r = h.client().post(f"/v1/devices/{anna.device_id}/recover", json={"code": code})
        assert _error(r, 403)["code"] == "recovery_invalid"
    finally:
        h.stop()
