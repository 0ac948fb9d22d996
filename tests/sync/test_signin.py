"""Online, offline and resumed sign-ins against the reference API on loopback, with an injected clock."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import keyring.core
import pytest
from sqlalchemy import select

from order_api.server import free_port
from sync.api import AuthRequired, Me, OrderApi
from sync.credentials import SERVICE, KeyringChoice, TokenVault, account, choose_keyring
from sync.signin import PinVerifiers, SignedIn, SignIn, SignInRefused
from sync.store.database import LocalStore
from sync.store.schema import signin_verifiers

ANNA_PIN, BEN_PIN = "739164", "482913"
DEVICE = "dock-3"


@pytest.fixture(autouse=True)
def own_keyring_global(monkeypatch):
    """choose_keyring sets keyring's process-wide backend; each test starts and ends without one."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from order_api.models import User
    from order_api.security import hash_secret
    from order_api.server import start_in_thread
    from order_api.settings import ServerSettings

    folder = tmp_path_factory.mktemp("order_api")
    running = start_in_thread(ServerSettings(db_url=f"sqlite:///{folder}/api.db", blob_store=f"fs:{folder}/blobs"))
    with running.app.state.ctx.db.write() as s:
        s.add(User(username="anna", display_name="Anna", roles="picker", badge="U0001",
                   pin_hash=hash_secret(ANNA_PIN)))
        s.add(User(username="ben", display_name="Ben", roles="packer picker", badge="U0002",
                   pin_hash=hash_secret(BEN_PIN)))
    yield running
    running.stop()


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **span: float) -> None:
        self.now += timedelta(**span)


@dataclass
class Workstation:
    """One client as the composition root builds it: store, keyring, verifiers, API client and sign-in."""

    store: LocalStore
    choice: KeyringChoice
    vault: TokenVault
    verifiers: PinVerifiers
    api: OrderApi
    signin: SignIn
    server_url: str


@pytest.fixture
def clock():
    return Clock(datetime(2025, 3, 3, 8, 0, tzinfo=timezone.utc))


@pytest.fixture
def build(tmp_path, server, clock):
    """Builds workstations on one data folder; a second build is the same PC after a restart."""
    built: list[Workstation] = []

    def make(choice: KeyringChoice | None = None, reachable: bool = True, valid_days: float = 7) -> Workstation:
        choice = choice or choose_keyring("tests.sync.memory_keyring.MemoryKeyring")
        store = LocalStore.open(tmp_path / "client")
        vault = TokenVault(choice)
        verifiers = PinVerifiers(store.journal, valid_days=valid_days, clock=clock)
        # Unreachable: the configured server stays the same, but nothing listens where requests go.
        api_url = server.url if reachable else f"http://127.0.0.1:{free_port()}"
        # The hook looks signin up when tokens arrive, after it exists.
        api = OrderApi(api_url, timeout=10.0, sleep=lambda _s: None,
                       on_tokens=lambda tokens: signin.store_rotated(tokens))
        signin = SignIn(api, vault, verifiers, DEVICE, server.url)
        built.append(Workstation(store, choice, vault, verifiers, api, signin, server.url))
        return built[-1]

    yield make
    for ws in built:
        ws.api.close()
        ws.store.close()


def kept_token(ws: Workstation, username: str) -> str | None:
    return ws.choice.backend.secrets.get((SERVICE, account(ws.server_url, username)))


def verifier_rows(ws: Workstation) -> dict[str, dict]:
    with ws.store.journal.read() as conn:
        return {r["username"]: dict(r) for r in conn.execute(select(signin_verifiers)).mappings()}


def refused(call, *args, **kwargs) -> SignInRefused:
    with pytest.raises(SignInRefused) as caught:
        call(*args, **kwargs)
    return caught.value


def test_online_sign_in_keeps_the_session_and_a_pin_verifier(build):
    ws = build()
    person = ws.signin.online(username="anna", pin=ANNA_PIN)
    assert person == SignedIn("anna", "Anna", ["picker"], person.user_id, online=True, note=None)
    assert isinstance(person.user_id, int)
    assert kept_token(ws, "anna") == ws.api.tokens.refresh_token
    row = verifier_rows(ws)["anna"]
    assert row["verifier"].startswith("scrypt$16384$8$1$") and ANNA_PIN not in row["verifier"]
    assert (row["badge"], row["user"]["roles"], row["failures"], row["locked_until"]) == ("U0001", ["picker"], 0, None)
    assert row["signed_in_online_at"] == "2025-03-03T08:00:00+00:00"


def test_online_sign_in_by_badge_names_the_user(build):
    ws = build()
    person = ws.signin.online(badge="U0002", pin=BEN_PIN)
    assert (person.username, person.display_name, person.roles) == ("ben", "Ben", ["packer", "picker"])
    assert kept_token(ws, "ben") == ws.api.tokens.refresh_token


def test_a_wrong_pin_online_is_the_servers_refusal_and_keeps_nothing(build):
    ws = build()
    with pytest.raises(AuthRequired):
        ws.signin.online(username="anna", pin="000000")
    assert verifier_rows(ws) == {} and ws.choice.backend.secrets == {}


def test_offline_sign_in_with_the_same_pin_by_username_and_by_badge(build):
    first = build()
    first.signin.online(username="anna", pin=ANNA_PIN)
    ws = build(choice=first.choice, reachable=False)
    by_name = ws.signin.offline(username="anna", pin=ANNA_PIN)
    by_badge = ws.signin.offline(badge="U0001", pin=ANNA_PIN)
    assert by_name == by_badge == SignedIn("anna", "Anna", ["picker"], by_name.user_id, online=False, note=None)
    # The kept session is taken up, so queued work goes out once the network is back.
    assert ws.api.tokens.refresh_token == kept_token(ws, "anna")


def test_wrong_pins_count_down_then_pause_even_the_right_pin(build, clock):
    build().signin.online(username="anna", pin=ANNA_PIN)
    verifiers = build().verifiers
    assert str(refused(verifiers.verify, "111111", username="anna")) == "wrong PIN (2 attempts left before a pause)"
    assert str(refused(verifiers.verify, "222222", badge="U0001")) == "wrong PIN (1 attempt left before a pause)"
    third = refused(verifiers.verify, "333333", username="anna")
    assert (str(third), third.retry_after) == ("wrong PIN; too many wrong PINs, try again in 30 s", 30)
    assert str(refused(verifiers.verify, ANNA_PIN, username="anna")) == "too many wrong PINs; try again in 30 s"
    clock.advance(seconds=29.5)
    assert str(refused(verifiers.verify, ANNA_PIN, badge="U0001")) == "too many wrong PINs; try again in 1 s"
    clock.advance(seconds=0.5)
    assert verifiers.verify(ANNA_PIN, username="anna").username == "anna"
    # Success starts the count again.
    assert str(refused(verifiers.verify, "111111", username="anna")) == "wrong PIN (2 attempts left before a pause)"


def test_pauses_double_after_each_further_wrong_pin_up_to_15_minutes(build, clock):
    build().signin.online(username="anna", pin=ANNA_PIN)
    verifiers = build().verifiers
    for _ in range(2):
        refused(verifiers.verify, "000000", username="anna")
    pauses = []
    for _ in range(7):
        pauses.append(refused(verifiers.verify, "000000", username="anna").retry_after)
        clock.advance(seconds=pauses[-1])
    assert pauses == [30, 60, 120, 240, 480, 900, 900]


def test_offline_sign_in_ends_seven_days_after_the_last_online_one(build, clock):
    build().signin.online(username="anna", pin=ANNA_PIN)
    ws = build(reachable=False)
    clock.advance(days=6, hours=23)
    assert ws.signin.offline(username="anna", pin=ANNA_PIN).username == "anna"
    clock.advance(hours=2)
    assert str(refused(ws.signin.offline, username="anna", pin=ANNA_PIN)) == (
        "last online sign-in was 7 days ago; connect to sign in")


def test_a_clock_set_back_does_not_stretch_the_offline_period(build, clock):
    build().signin.online(username="anna", pin=ANNA_PIN)
    ws = build(reachable=False)
    clock.advance(days=5)
    assert ws.signin.offline(username="anna", pin=ANNA_PIN).username == "anna"  # seen: day 5
    clock.advance(minutes=-5)  # a small correction is fine
    assert ws.signin.offline(username="anna", pin=ANNA_PIN).username == "anna"
    clock.advance(days=-4)  # someone sets the date back to get more offline days
    assert str(refused(ws.signin.offline, username="anna", pin=ANNA_PIN)).startswith(
        "this workstation's clock is behind the time it was last used")
    clock.advance(days=4, hours=2, minutes=5)  # right again: the period still ends at day 7
    assert ws.signin.offline(username="anna", pin=ANNA_PIN).username == "anna"
    clock.advance(days=2)
    assert "connect to sign in" in str(refused(ws.signin.offline, username="anna", pin=ANNA_PIN))


def test_a_new_online_sign_in_renews_the_period(build, clock):
    ws = build()
    ws.signin.online(username="anna", pin=ANNA_PIN)
    clock.advance(days=5)
    ws.signin.online(username="anna", pin=ANNA_PIN)
    clock.advance(days=5)
    assert ws.verifiers.verify(ANNA_PIN, username="anna").username == "anna"


def test_the_period_is_configurable(build, clock):
    build(valid_days=1).signin.online(username="anna", pin=ANNA_PIN)
    verifiers = build(valid_days=1).verifiers
    clock.advance(hours=23)
    assert verifiers.verify(ANNA_PIN, username="anna").username == "anna"
    clock.advance(days=2)
    assert str(refused(verifiers.verify, ANNA_PIN, username="anna")) == (
        "last online sign-in was 2 days ago; connect to sign in")
    assert PinVerifiers(build().store.journal, valid_days=30, clock=clock).verify(ANNA_PIN, username="anna")


def test_a_period_of_zero_switches_offline_sign_in_off_and_keeps_no_verifier(build):
    ws = build(valid_days=0)
    ws.signin.online(username="anna", pin=ANNA_PIN)
    assert verifier_rows(ws) == {}
    assert "switched off" in str(refused(ws.signin.offline, username="anna", pin=ANNA_PIN))


def test_people_never_signed_in_here_are_refused(build):
    ws = build()
    ws.signin.online(username="anna", pin=ANNA_PIN)
    for who in ({"username": "ben"}, {"badge": "U0002"}, {"username": "U0001"}):
        assert "sign in online once on this workstation first" in str(
            refused(ws.signin.offline, pin=BEN_PIN, **who))


def test_two_people_share_a_workstation_each_with_their_own_pin_and_session(build):
    online = build()
    online.signin.online(username="anna", pin=ANNA_PIN)
    online.signin.online(badge="U0002", pin=BEN_PIN)
    assert kept_token(online, "anna") and kept_token(online, "ben")
    assert kept_token(online, "anna") != kept_token(online, "ben")

    ws = build(choice=online.choice, reachable=False)
    assert "wrong PIN" in str(refused(ws.signin.offline, username="ben", pin=ANNA_PIN))
    assert ws.signin.offline(username="anna", pin=ANNA_PIN).username == "anna"
    assert ws.api.tokens.refresh_token == kept_token(ws, "anna")
    assert ws.signin.offline(badge="U0002", pin=BEN_PIN).roles == ["packer", "picker"]
    assert ws.api.tokens.refresh_token == kept_token(ws, "ben")
    rows = verifier_rows(ws)
    assert (rows["anna"]["failures"], rows["ben"]["failures"]) == (0, 0)
    assert rows["anna"]["verifier"] != rows["ben"]["verifier"]


def test_a_badge_handed_on_finds_only_its_new_holder(build):
    verifiers = build().verifiers
    verifiers.remember(Me({"id": 1, "username": "anna", "display_name": "Anna", "badge": "U0009"}, ["picker"], [],
                          DEVICE), ANNA_PIN)
    verifiers.remember(Me({"id": 2, "username": "ben", "display_name": "Ben", "badge": "U0009"}, ["packer"], [],
                          DEVICE), BEN_PIN)
    assert verifiers.verify(BEN_PIN, badge="U0009").username == "ben"
    assert verifiers.verify(ANNA_PIN, username="anna").username == "anna"


def test_resume_takes_up_the_kept_session_and_the_first_call_refreshes_it(build):
    first = build()
    first.signin.online(username="anna", pin=ANNA_PIN)
    kept = kept_token(first, "anna")

    ws = build(choice=first.choice)  # the same PC after a restart
    person = ws.signin.resume("anna")
    assert person == SignedIn("anna", "Anna", ["picker"], person.user_id, online=True)
    assert ws.api.tokens.access_token == "" and ws.api.tokens.refresh_token == kept
    assert ws.api.me().user["username"] == "anna"
    # The server rotated the refresh token; the new one is what the next session finds.
    assert kept_token(ws, "anna") == ws.api.tokens.refresh_token != kept


def test_resume_of_someone_with_no_kept_session_is_none(build):
    ws = build()
    assert ws.signin.resume("anna") is None and ws.api.tokens is None


def test_without_a_usable_keyring_nothing_is_kept_and_the_reason_is_given(build):
    ws = build(choice=choose_keyring("none"))
    person = ws.signin.online(username="anna", pin=ANNA_PIN)
    assert person.online and "not kept for the next session" in person.note and "switched off" in person.note
    assert ws.signin.resume("anna") is None
    assert "switched off" in ws.signin.reason_not_kept

    # Offline sign-in still works; it says why queued work waits for an online sign-in.
    offline = build(choice=choose_keyring("none"), reachable=False).signin.offline(username="anna", pin=ANNA_PIN)
    assert not offline.online and "next online sign-in" in offline.note


def test_a_keyring_that_fails_at_run_time_only_costs_the_kept_session(build):
    ws = build(choice=choose_keyring("tests.sync.memory_keyring.LockedKeyring"))
    person = ws.signin.online(username="anna", pin=ANNA_PIN)
    assert person.online and "Failed to unlock" in person.note
    assert ws.signin.resume("anna") is None and "Failed to unlock" in ws.signin.reason_not_kept
    assert ws.api.me().user["username"] == "anna"  # the session itself goes on


def test_sign_out_forgets_the_kept_session(build):
    ws = build()
    ws.signin.online(username="anna", pin=ANNA_PIN)
    ws.signin.sign_out()
    assert ws.api.tokens is None and kept_token(ws, "anna") is None
    assert ws.signin.resume("anna") is None


def test_a_new_sign_in_drops_the_previous_persons_tokens_first(build):
    ws = build()
    ws.signin.online(username="anna", pin=ANNA_PIN)
    anna_kept = kept_token(ws, "anna")
    with pytest.raises(AuthRequired):
        ws.signin.online(username="ben", pin="000000")
    assert ws.api.tokens is None and kept_token(ws, "anna") == anna_kept


def test_nothing_secret_in_reprs(build):
    ws = build()
    person = ws.signin.online(username="anna", pin=ANNA_PIN)
    tokens = ws.api.tokens
    for text in (repr(person), repr(ws.vault), repr(ws.signin), repr(ws.verifiers), repr(ws.choice)):
        assert tokens.refresh_token not in text and tokens.access_token not in text and ANNA_PIN not in text
