"""The sign-in throttle: PIN guessing is limited, in parallel too, and never locks a person out of her stations."""

import hashlib
import threading
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from order_api.models import SignInThrottle, User
from order_api.models.base import utcnow
from order_api.security import hash_secret
from tests.order_api import harness


@pytest.fixture
def scrypt_calls(monkeypatch):
    """Counts PIN and password checks: every call of hashlib.scrypt (order_api/security.py's hash)."""
    calls = Counter()
    lock = threading.Lock()
    real = hashlib.scrypt

    def counting(*args, **kwargs):
        with lock:
            calls["scrypt"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


@pytest.fixture
def small_budget(tmp_path, db_url):
    """A server whose address budget is 12 failures."""
    h = harness.start(tmp_path, db_url, login_address_attempts=12)
    yield h
    h.stop()


@pytest.fixture
def capped_locks(tmp_path, db_url):
    """A server whose locks start at 30 s and stop growing at 120 s."""
    h = harness.start(tmp_path, db_url, login_lock_base_s=30, login_lock_max_s=120)
    yield h
    h.stop()


def _guess(api, username: str, pin: str, device_id: str, **form) -> httpx.Response:
    body = {"badge": form["badge"]} if "badge" in form else {"username": username}
    return api.token(device_id, pin=pin, **body)


def _expire_locks(api) -> None:
    """Time passes: every lock has run out (the test never sleeps for it)."""
    with api.db.write() as s:
        s.execute(update(SignInThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))


def test_thirty_parallel_wrong_pins_get_at_most_five_checks(api, scrypt_calls):
    api.add_user("anna", "picker", pin="1111")
    scrypt_calls.clear()  # hashing her PIN for the test is no check
    start = threading.Barrier(30)
    codes: list[int] = []

    def guess(n: int) -> None:
        with httpx.Client(base_url=api.url, timeout=60) as http:
            start.wait()
            r = http.post("/v1/auth/token", json={"username": "anna", "pin": f"{n:04d}", "device_id": f"x-{n}"})
            codes.append(r.status_code)

    threads = [threading.Thread(target=guess, args=(n + 2000,)) for n in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    counted = Counter(codes)
    assert set(counted) <= {401, 429} and sum(counted.values()) == 30, counted
    assert 1 <= scrypt_calls["scrypt"] <= 5
    assert counted[401] == scrypt_calls["scrypt"] and counted[429] >= 25


def test_username_and_badge_count_in_one_bucket(api, scrypt_calls):
    api.add_user("anna", "picker", pin="1111", badge="U0001")
    scrypt_calls.clear()
    by_name = [_guess(api, "anna", "0000", "new-1").status_code for _ in range(3)]
    by_badge = [_guess(api, "anna", "0000", "new-1", badge="U0001").status_code for _ in range(3)]
    assert by_name + by_badge == [401] * 5 + [429]
    assert scrypt_calls["scrypt"] == 5


def test_the_lock_doubles_with_each_further_failure_up_to_its_cap(capped_locks):
    api = capped_locks
    api.add_user("anna", "picker", pin="1111")
    assert [_guess(api, "anna", "0000", "new-1").status_code for _ in range(5)] == [401] * 5
    waits = []
    for _ in range(4):
        refused = _guess(api, "anna", "1111", "new-1")  # even the right PIN waits
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert refused.json()["error"]["details"]["retry_after"] == int(refused.headers["Retry-After"])
        waits.append(int(refused.headers["Retry-After"]))
        _expire_locks(api)
        assert _guess(api, "anna", "0000", "new-1").status_code == 401  # one more try, wrong again
    assert waits == [30, 60, 120, 120]
    _expire_locks(api)
    assert _guess(api, "anna", "1111", "new-1").status_code == 200  # a success resets the bucket
    assert [_guess(api, "anna", "0000", "new-1").status_code for _ in range(5)] == [401] * 5


def test_a_person_locked_out_from_elsewhere_still_signs_in_on_her_own_device(api):
    api.add_user("anna", "picker", pin="1111")
    own = api.sign_in("anna", pin="1111", device_id="hh-anna")
    stranger = api.client()
    # Naming her device without its credential is refused and counts nothing.
    r = stranger.post("/v1/auth/token", json={"username": "anna", "pin": "0000", "device_id": "hh-anna"})
    assert r.status_code == 403
    assert [_guess(api, "anna", "0000", "elsewhere").status_code for _ in range(6)] == [401] * 5 + [429]
    assert _guess(api, "anna", "1111", "elsewhere").status_code == 429
    again = api.token(own.device_id, username="anna", pin="1111")
    assert again.status_code == 200, again.text


def test_typos_of_others_at_one_address_do_not_block_a_correct_pin(small_budget):
    api = small_budget
    api.add_user("anna", "picker", pin="1111")
    api.sign_in("anna", pin="1111", device_id="hh-anna")
    for n in range(5):
        api.add_user(f"p{n}", "picker", pin="1111")
        assert [_guess(api, f"p{n}", "0000", f"new-{n}").status_code for _ in range(2)] == [401, 401]
    # 10 failures of others from this address: a new device of anna's is still within the budget...
    assert api.token("new-anna", username="anna", pin="1111").status_code == 200
    # ... and her own device never counts against the address.
    assert api.token("hh-anna", username="anna", pin="1111").status_code == 200


def test_the_address_budget_stops_guessing_across_many_accounts(small_budget):
    api = small_budget
    api.add_user("anna", "picker", pin="1111")
    api.sign_in("anna", pin="1111", device_id="hh-anna")
    for n in range(6):
        api.add_user(f"p{n}", "picker", pin="1111")
        assert [_guess(api, f"p{n}", "0000", "scanner").status_code for _ in range(2)] == [401, 401]
    api.add_user("zoe", "picker", pin="1111")
    refused = api.token("scanner", username="zoe", pin="1111")  # 12 failures: the address is spent
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 900
    assert _guess(api, "nobody", "0000", "scanner").status_code == 429
    assert api.token("hh-anna", username="anna", pin="1111").status_code == 200  # trusted: not blocked


def test_an_unknown_user_costs_one_scrypt_call_like_a_wrong_pin(api, scrypt_calls):
    api.add_user("anna", "picker", pin="1111")
    with api.db.write() as s:
        s.add(User(username="gone", display_name="Gone", roles="picker", pin_hash=hash_secret("1111"), active=False))
        s.add(User(username="ada", display_name="Ada", roles="admin", password_hash=hash_secret("long-password")))
    tries = {"wrong PIN": {"username": "anna", "pin": "0000"}, "unknown user": {"username": "nobody", "pin": "0000"},
             "unknown badge": {"badge": "U9999", "pin": "0000"}, "disabled user": {"username": "gone", "pin": "1111"},
             "no PIN set": {"username": "ada", "pin": "1111"}}
    for what, body in tries.items():
        scrypt_calls.clear()
        r = api.token("new-1", **body)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials", what
        assert scrypt_calls["scrypt"] == 1, what


def test_an_attempt_left_in_flight_by_a_killed_worker_is_forgotten(api):
    api.add_user("anna", "picker", pin="1111")
    assert _guess(api, "anna", "0000", "new-1").status_code == 401
    with api.db.write() as s:
        s.execute(update(SignInThrottle).values(in_flight=4))
    assert _guess(api, "anna", "1111", "new-1").status_code == 429  # four checks seem to be running
    with api.db.write() as s:
        s.execute(update(SignInThrottle).values(in_flight_since=utcnow() - timedelta(seconds=61)))
    assert _guess(api, "anna", "1111", "new-1").status_code == 200
