"""The order API client: decoding, retries, token refresh and error paths (MockTransport), plus one loopback run."""

import json
import logging
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import certifi
import httpx
import pytest

from sync.answers import Tokens
from sync.api import (
    ApiError, AuthRequired, BadResponse, DEVICE_HEADER, DeviceRefused, Offline, OrderApi, RequestRefused, ServerBusy,
)
from sync.device import DeviceCredential
from sync.feed import PullPage
from sync.retry import Backoff, RetryPolicy

ACCESS, REFRESH, NEW_ACCESS, NEW_REFRESH = "acc-secret-1", "ref-secret-1", "acc-secret-2", "ref-secret-2"
SIGNED_IN = Tokens(ACCESS, REFRESH, 900)


@dataclass(frozen=True)
class CeilingBackoff(Backoff):
    """Backoff without jitter, so the waits the client chose can be compared exactly."""

    def delay(self, attempt, rng=None):
        return self.ceiling(attempt)


@dataclass
class Desk:
    """A scripted order API: answers in turn per path, and remembers every request."""

    answers: dict[str, list] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.answers[request.url.path]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def ok(body, **headers) -> httpx.Response:
    return httpx.Response(200, json=body, headers=headers)


def error(status, code, message, details=None, **headers) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message, "details": details}},
                          headers=headers)


def token_body(access=NEW_ACCESS, refresh=NEW_REFRESH):
    return {"access_token": access, "refresh_token": refresh, "token_type": "bearer", "expires_in": 900}


PAGE = {"changes": [{"entity": "sku", "id": "17", "op": "upsert", "version": 3, "audience": "catalog",
                     "data": {"name": "Mug"}},
                    {"entity": "task", "id": "9", "op": "delete", "version": 4, "audience": "floor", "data": None}],
        "cursor": 42, "has_more": False, "reset": False, "audiences": ["catalog", "floor"]}


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def desk():
    return Desk()


@pytest.fixture
def stored():
    return []


@pytest.fixture
def api(desk, sleeps, stored):
    client = OrderApi("https://orders.example", transport=httpx.MockTransport(desk), sleep=sleeps.append,
                      retry=RetryPolicy(attempts=4, backoff=Backoff(base=0.5, cap=60.0)))
    client.install("anna", SIGNED_IN)
    # Every renewal announced to the session's listeners, in order.
    client.on_session(lambda person: person is not None and person.tokens is not None and stored.append(person.tokens))
    yield client
    client.close()


def test_pull_decodes_a_page(api, desk):
    answer = ok(PAGE)
    desk.answers["/v1/sync/pull"] = [answer]
    page = api.pull(7, limit=200)
    assert (page.cursor, page.has_more, page.reset) == (42, False, False)
    assert [(c.entity, c.id, c.op, c.version, json.loads(bytes(c.data))) for c in page.changes] == [
        ("sku", "17", "upsert", 3, {"name": "Mug"}), ("task", "9", "delete", 4, None)]
    assert bytes(page.changes[0].data) in answer.content  # kept as the server sent it, not re-encoded
    sent = desk.requests[0]
    assert dict(sent.url.params) == {"cursor": "7", "limit": "200", "wait": "0"}
    assert sent.headers["Authorization"] == f"Bearer {ACCESS}"


def test_push_decodes_results_with_and_without_the_cursor(api, desk):
    mutations = [{"seq": 1, "id": "a" * 32}, {"seq": 2, "id": "b" * 32}]
    results = [{"id": "a" * 32, "status": "applied"},
               {"id": "b" * 32, "status": "duplicate", "code": "lease_lost", "message": "Batch lost.",
                "original_status": "rejected"}]
    desk.answers["/v1/sync/push"] = [ok({"results": results, "last_seq": 2, "cursor": 51}),
                                     ok({"results": results, "last_seq": 2})]
    outcome = api.push("dev-1", mutations)
    assert json.loads(desk.requests[0].content) == {"device_id": "dev-1", "schema_version": 1, "mutations": mutations}
    assert (outcome.last_seq, outcome.cursor) == (2, 51)
    assert [(r.status, r.code, r.original_status) for r in outcome.results] == [
        ("applied", None, None), ("duplicate", "lease_lost", "rejected")]
    assert api.push("dev-1", mutations).cursor is None


def test_me_and_sign_in_decode_and_a_sign_in_changes_nothing_until_installed(desk, api, stored):
    desk.answers["/v1/auth/token"] = [ok({**token_body(), "device_secret": "s3cr3t-device", "offline_ticket": "t1ck3t",
                                          "offline_ticket_expires_in": 600})]
    desk.answers["/v1/me"] = [ok({"user": {"id": 1, "username": "anna"}, "roles": ["picker"],
                                  "scope": ["catalog", "floor", "user:1"], "device_id": "dev-1",
                                  "device": {"id": "dev-1", "name": "DOCK-3"}})]
    api.clear()
    answer = api.request_tokens(device_id="dev-1", badge="B-100", pin="1111", device_name="DOCK-3")
    assert answer.tokens == Tokens(NEW_ACCESS, NEW_REFRESH, 900) and api.person is None and stored == []
    assert (answer.device_secret, answer.offline_ticket, answer.ticket_expires_in) == ("s3cr3t-device", "t1ck3t", 600)
    assert json.loads(desk.requests[0].content) == {"device_id": "dev-1", "badge": "B-100", "pin": "1111",
                                                    "device_name": "DOCK-3"}
    assert "Authorization" not in desk.requests[0].headers and DEVICE_HEADER not in desk.requests[0].headers
    me = api.me(answer.tokens)
    assert (me.user["username"], me.roles, me.device_id, me.device_name) == ("anna", ["picker"], "dev-1", "DOCK-3")
    assert desk.requests[1].headers["Authorization"] == f"Bearer {NEW_ACCESS}"
    assert "s3cr3t-device" not in repr(answer) and "t1ck3t" not in repr(answer)


def test_every_call_carries_the_device_credential_once_there_is_one(api, desk):
    desk.answers["/v1/sync/pull"] = [ok(PAGE), ok(PAGE)]
    api.pull(0)
    api.device = DeviceCredential("dev-1", "s3cr3t-device")
    api.pull(0, audiences=["catalog", "user:1"])
    assert DEVICE_HEADER not in desk.requests[0].headers
    assert desk.requests[1].headers[DEVICE_HEADER] == "dev-1 s3cr3t-device"
    assert desk.requests[1].url.params["audiences"] == "catalog,user:1"


def test_a_refused_device_is_its_own_error(api, desk):
    desk.answers["/v1/sync/pull"] = [error(403, "device_revoked", "This device was taken out of service.")]
    with pytest.raises(DeviceRefused) as caught:
        api.pull(0)
    assert caught.value.code == "device_revoked" and caught.value.status == 403


def test_an_offline_sign_in_gets_its_session_from_the_ticket_at_the_first_call(api, desk, stored):
    api.install("anna", None, "t1ck3t")
    desk.answers["/v1/auth/ticket"] = [ok(token_body())]
    desk.answers["/v1/me"] = [ok({"user": {}, "roles": [], "scope": [], "device_id": "d"})]
    assert api.me().device_id == "d"
    assert desk.paths() == ["/v1/auth/ticket", "/v1/me"]
    assert json.loads(desk.requests[0].content) == {"ticket": "t1ck3t"}
    assert api.tokens == Tokens(NEW_ACCESS, NEW_REFRESH, 900) and api.person.ticket == "t1ck3t"


def test_a_refused_refresh_falls_back_to_the_ticket(api, desk):
    api.install("anna", SIGNED_IN, "t1ck3t")
    desk.answers["/v1/me"] = [error(401, "token_expired", "The access token has expired; refresh it."),
                              ok({"user": {}, "roles": [], "scope": [], "device_id": "d"})]
    desk.answers["/v1/auth/refresh"] = [error(401, "invalid_refresh_token", "Every session of it is ended.")]
    desk.answers["/v1/auth/ticket"] = [ok(token_body())]
    assert api.me().device_id == "d"
    assert desk.paths() == ["/v1/me", "/v1/auth/refresh", "/v1/auth/ticket", "/v1/me"]


def test_claim_and_renew_return_the_batches(api, desk):
    batch = {"batch": {"id": 5, "code": "B-5"}, "tasks": [{"id": 1}], "orders": [{"id": 9}]}
    desk.answers["/v1/pick-batches/claim"] = [ok({"batches": [batch]})]
    desk.answers["/v1/pick-batches/5/renew"] = [ok(batch)]
    assert api.claim_batches(ahead=1) == [batch]
    assert json.loads(desk.requests[0].content) == {"ahead": 1}
    assert api.renew_batch(5) == batch


def test_server_errors_are_retried_with_growing_waits_up_to_the_cap(desk, sleeps):
    desk.answers["/v1/me"] = [httpx.Response(500), httpx.Response(502), httpx.Response(503), httpx.Response(504),
                              ok({"user": {}, "roles": [], "scope": [], "device_id": "d"})]
    policy = RetryPolicy(attempts=5, backoff=CeilingBackoff(base=1.0, cap=5.0))
    with OrderApi("https://orders.example", transport=httpx.MockTransport(desk), sleep=sleeps.append,
                  retry=policy) as client:
        client.install("anna", SIGNED_IN)
        assert client.me().device_id == "d"
    assert sleeps == [1.0, 2.0, 4.0, 5.0]
    assert len(desk.requests) == 5


def test_jittered_waits_stay_under_each_attempts_ceiling(api, desk, sleeps):
    desk.answers["/v1/sync/pull"] = [httpx.Response(503)] * 3 + [ok(PAGE)]
    api.pull(0)
    assert len(sleeps) == 3
    assert all(0.0 <= wait <= Backoff().ceiling(i) for i, wait in enumerate(sleeps))


def test_429_waits_at_least_its_retry_after_seconds(api, desk, sleeps):
    desk.answers["/v1/sync/pull"] = [httpx.Response(429, headers={"Retry-After": "3"}), ok(PAGE)]
    assert api.pull(0).cursor == 42
    assert len(sleeps) == 1 and sleeps[0] >= 3.0


def test_retry_after_as_http_date_counts_on_the_servers_clock(api, desk, sleeps):
    server_now = datetime(2020, 1, 1, 8, 0, tzinfo=timezone.utc)  # far from the test machine's clock
    busy = httpx.Response(503, headers={"Date": format_datetime(server_now, usegmt=True),
                                        "Retry-After": format_datetime(server_now + timedelta(seconds=7), usegmt=True)})
    desk.answers["/v1/sync/pull"] = [busy, ok(PAGE)]
    api.pull(0)
    assert sleeps[0] == pytest.approx(7.0, abs=0.5)
    assert api.server_time() == server_now


@pytest.mark.parametrize("failure", [httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out"),
                                     httpx.RemoteProtocolError("server disconnected")])
def test_network_failures_end_as_offline_after_every_attempt(api, desk, sleeps, failure):
    desk.answers["/v1/sync/push"] = [failure]
    with pytest.raises(Offline, match="after 4 attempts"):
        api.push("dev-1", [])
    assert len(desk.requests) == 4 and len(sleeps) == 3


def test_an_untrusted_certificate_is_not_retried_and_says_what_to_set(api, desk, sleeps):
    try:
        raise ssl.SSLCertVerificationError(1, "certificate verify failed: unable to get local issuer certificate")
    except ssl.SSLCertVerificationError as cause:
        failure = httpx.ConnectError("certificate verify failed")
        failure.__cause__ = cause
    desk.answers["/v1/me"] = [failure]
    with pytest.raises(Offline, match="CA bundle"):
        api.me()
    assert len(desk.requests) == 1 and sleeps == []


def test_a_server_that_stays_unavailable_is_reported_busy(api, desk):
    desk.answers["/v1/sync/pull"] = [httpx.Response(503, headers={"Retry-After": "12"})]
    with pytest.raises(ServerBusy) as caught:
        api.pull(0)
    assert (caught.value.status, caught.value.retry_after) == (503, 12.0)
    assert len(desk.requests) == 4


def test_an_expired_access_token_is_refreshed_once_and_the_call_repeated(api, desk, stored):
    desk.answers["/v1/me"] = [error(401, "token_expired", "The access token has expired; refresh it."),
                              ok({"user": {}, "roles": [], "scope": [], "device_id": "d"})]
    desk.answers["/v1/auth/refresh"] = [ok(token_body())]
    assert api.me().device_id == "d"
    assert desk.paths() == ["/v1/me", "/v1/auth/refresh", "/v1/me"]
    assert json.loads(desk.requests[1].content) == {"refresh_token": REFRESH}
    assert desk.requests[2].headers["Authorization"] == f"Bearer {NEW_ACCESS}"
    assert stored == [Tokens(NEW_ACCESS, NEW_REFRESH, 900)] and api.tokens == stored[0]


def test_a_refused_refresh_means_sign_in_again(api, desk, stored):
    desk.answers["/v1/me"] = [error(401, "token_expired", "The access token has expired; refresh it.")]
    desk.answers["/v1/auth/refresh"] = [
        error(401, "invalid_refresh_token", "The refresh token is not valid; sign in again.")]
    with pytest.raises(AuthRequired, match="sign in again"):
        api.me()
    assert stored == [] and api.tokens is None and api.person.owner == "anna"
    with pytest.raises(AuthRequired):
        api.me()
    assert desk.paths() == ["/v1/me", "/v1/auth/refresh"]


def test_a_401_after_a_good_refresh_means_sign_in_again(api, desk):
    desk.answers["/v1/me"] = [error(401, "invalid_token", "The access token is not valid.")]
    desk.answers["/v1/auth/refresh"] = [ok(token_body())]
    with pytest.raises(AuthRequired):
        api.me()
    assert desk.paths() == ["/v1/me", "/v1/auth/refresh", "/v1/me"]


def test_without_tokens_nothing_is_sent(api, desk):
    api.clear()
    with pytest.raises(AuthRequired):
        api.pull(0)
    assert desk.requests == []


def test_a_sign_in_lockout_is_refused_not_retried(api, desk, sleeps):
    desk.answers["/v1/auth/token"] = [error(429, "rate_limited", "Too many failed sign-ins; wait before trying again.",
                                            {"retry_after": 240}, **{"Retry-After": "240"})]
    with pytest.raises(RequestRefused) as caught:
        api.request_tokens(device_id="dev-1", username="anna", pin="0000")
    assert (caught.value.status, caught.value.code, caught.value.details) == (429, "rate_limited", {"retry_after": 240})
    assert len(desk.requests) == 1 and sleeps == []


def test_wrong_pin_asks_to_sign_in_with_the_servers_words(api, desk):
    desk.answers["/v1/auth/token"] = [error(401, "invalid_credentials", "Unknown user or wrong PIN/password.")]
    with pytest.raises(AuthRequired, match="wrong PIN"):
        api.request_tokens(device_id="dev-1", username="anna", pin="0000")
    assert len(desk.requests) == 1


def test_a_seq_gap_is_refused_with_code_and_details(api, desk, sleeps):
    details = {"expected_seq": 4, "last_seq": 3, "id": "c" * 32}
    desk.answers["/v1/sync/push"] = [error(409, "seq_gap", "seq 6 leaves a gap; the next seq of this device is 4.",
                                           details)]
    with pytest.raises(RequestRefused) as caught:
        api.push("dev-1", [{"seq": 6, "id": "c" * 32}])
    assert (caught.value.status, caught.value.code, caught.value.details) == (409, "seq_gap", details)
    assert str(caught.value) == "seq 6 leaves a gap; the next seq of this device is 4."
    assert len(desk.requests) == 1 and sleeps == []


def test_a_refusal_without_the_error_shape_gets_an_http_code(api, desk):
    desk.answers["/v1/sync/push"] = [httpx.Response(422, text="<html>Unprocessable</html>")]
    with pytest.raises(RequestRefused) as caught:
        api.push("dev-1", [])
    assert (caught.value.code, caught.value.status, caught.value.details) == ("http_422", 422, None)
    assert "422" in str(caught.value)


@pytest.mark.parametrize("response, problem", [
    (httpx.Response(200, text="<html>Welcome to the guest Wi-Fi</html>"), "pull: the body is not JSON"),
    (ok([PAGE]), "pull: the body is not an object"),
    (ok({k: v for k, v in PAGE.items() if k != "cursor"}), "pull: cursor is missing"),
    (ok({**PAGE, "changes": [PAGE["changes"][0]] * 3 + [{**PAGE["changes"][0], "version": "3"}]}),
     "pull: changes[3].version is not an integer"),
    (ok({**PAGE, "changes": {"0": PAGE["changes"][0]}}), "pull: changes is not a list"),
    (ok({**PAGE, "changes": [{**PAGE["changes"][0], "op": "merge"}]}), "pull: changes[0].op 'merge' is neither"),
    (ok({**PAGE, "changes": [{**PAGE["changes"][0], "data": None}]}), "pull: changes[0].data is missing for an upsert"),
    (ok({**PAGE, "has_more": 1}), "pull: has_more is not a boolean"),
    (ok({**PAGE, "changes": [{**PAGE["changes"][0], "data": [1]}]}), "pull: changes[0].data is not an object"),
    (ok({**PAGE, "changes": [{**PAGE["changes"][0], "id": 17}]}), "pull: changes[0].id is not a string"),
    (ok({**PAGE, "cursor": -1}), "pull: cursor is negative"),
])
def test_a_malformed_page_is_a_bad_response(api, desk, response, problem):
    desk.answers["/v1/sync/pull"] = [response]
    with pytest.raises(BadResponse) as caught:
        api.pull(0)
    assert str(caught.value).startswith(problem)


def test_push_results_that_do_not_match_the_mutations_are_a_bad_response(api, desk):
    desk.answers["/v1/sync/push"] = [ok({"results": [{"id": "b" * 32, "status": "applied"}], "last_seq": 1})]
    with pytest.raises(BadResponse, match="do not match"):
        api.push("dev-1", [{"seq": 1, "id": "a" * 32}])


def test_a_malformed_token_answer_changes_nothing(api, desk, stored):
    desk.answers["/v1/auth/refresh"] = [ok({"access_token": NEW_ACCESS, "expires_in": 900})]
    with pytest.raises(BadResponse, match="refresh: refresh_token is missing"):
        api.refresh()
    assert api.tokens is SIGNED_IN and stored == []


def test_every_call_has_a_timeout_and_pull_adds_its_wait_to_the_read_timeout(desk, sleeps):
    desk.answers["/v1/sync/pull"] = [ok(PAGE)]
    desk.answers["/v1/me"] = [ok({"user": {}, "roles": [], "scope": [], "device_id": "d"})]
    with OrderApi("https://orders.example", transport=httpx.MockTransport(desk), timeout=15.0,
                  sleep=sleeps.append) as client:
        client.install("anna", SIGNED_IN)
        client.pull(0, wait=25)
        client.me()
    pull_timeout, me_timeout = (r.extensions["timeout"] for r in desk.requests)
    assert pull_timeout == {"connect": 10.0, "read": 40.0, "write": 15.0, "pool": 15.0}
    assert me_timeout == {"connect": 10.0, "read": 15.0, "write": 15.0, "pool": 15.0}


def test_a_missing_ca_bundle_is_reported_at_construction(tmp_path):
    with pytest.raises(ApiError, match="CA bundle .*nowhere.pem"):
        OrderApi("https://orders.example", ca_bundle=str(tmp_path / "nowhere.pem"))


def test_a_readable_ca_bundle_is_accepted():
    OrderApi("https://orders.example", ca_bundle=certifi.where()).close()


def test_tokens_and_secrets_stay_out_of_reprs_messages_and_logs(api, desk, caplog):
    caplog.set_level(logging.DEBUG)
    pin = "98765"
    desk.answers["/v1/auth/token"] = [httpx.Response(502), ok(token_body()),
                                      error(422, "invalid_request", "The request does not match the schema.",
                                            [{"loc": ["body", "pin"], "input": pin}])]
    desk.answers["/v1/me"] = [error(401, "token_expired", "The access token has expired; refresh it.")]
    desk.answers["/v1/auth/refresh"] = [httpx.ConnectError("refused")] * 3 + [
        error(401, "invalid_refresh_token", "The refresh token is not valid; sign in again.")]
    messages = [repr(SIGNED_IN), str(SIGNED_IN), repr(api.person),
                repr(api.request_tokens(device_id="dev-1", username="anna", pin=pin))]
    for call in (api.me, lambda: api.request_tokens(device_id="dev-1", username="anna", pin=pin)):
        with pytest.raises(ApiError) as caught:
            call()
        messages += [str(caught.value), repr(caught.value), repr(getattr(caught.value, "details", None))]
    text = "\n".join(messages) + caplog.text
    assert "attempt" in caplog.text
    for secret in (ACCESS, REFRESH, NEW_ACCESS, NEW_REFRESH, pin):
        assert secret not in text


def test_against_the_reference_api_over_loopback(tmp_path):
    from order_api.models import User
    from order_api.security import hash_secret
    from order_api.server import start_in_thread
    from order_api.settings import ServerSettings

    server = start_in_thread(ServerSettings(db_url=f"sqlite:///{tmp_path}/a.db", blob_store=f"fs:{tmp_path}/b"))
    try:
        with server.app.state.ctx.db.write() as s:
            s.add(User(username="anna", display_name="Anna", roles="picker", pin_hash=hash_secret("1111")))
        waits = []
        with OrderApi(server.url, timeout=10.0, sleep=waits.append) as client:
            answer = client.request_tokens(device_id="dock-3", username="anna", pin="1111", device_name="DOCK-3")
            assert answer.device_secret and answer.offline_ticket
            client.device = DeviceCredential("dock-3", answer.device_secret)
            client.install("anna", answer.tokens)
            me = client.me()
            assert (me.user["username"], me.roles, me.device_id, me.device_name) == ("anna", ["picker"], "dock-3",
                                                                                     "DOCK-3")
            page = client.pull(0, audiences=me.scope)
            assert isinstance(page, PullPage) and page.cursor >= 0 and not page.reset
            outcome = client.push("dock-3", [])
            assert (outcome.results, outcome.last_seq) == ([], 0) and outcome.cursor is not None
            assert client.refresh() != answer.tokens and client.me().device_id == "dock-3"
            assert client.server_time() is not None
            # Without the credential the same tokens are refused: they are bound to the device.
            client.device = None
            with pytest.raises(DeviceRefused):
                client.me()
        assert waits == []
    finally:
        server.stop()
