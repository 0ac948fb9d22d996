"""Online and offline sign-ins of a shared workstation, and who owns the session, against the reference API on
loopback with an injected clock."""

import hashlib
import shutil
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx
import keyring.core
import pytest
from sqlalchemy import select

from order_api.models import AuthSession
from order_api.server import free_port
from sync.answers import Me
from sync.api import AuthRequired, OrderApi, SessionChanged
from sync.credentials import PLAIN_NO_KEYRING
from sync.device import Device
from sync.signin import DeviceNotUsable, PinVerifiers, SignedIn, SignIn, SignInRefused
from sync.store.database import JOURNAL_FILE, LocalStore
from sync.store.schema import signin_verifiers
from tests.order_api import harness

ANNA_PIN, BEN_PIN = "739164", "482913"
MEMORY = "tests.sync.memory_keyring.MemoryKeyring"
OTHER_MACHINE = "tests.sync.memory_keyring.OtherMachineKeyring"


@pytest.fixture(autouse=True)
def own_keyring_global(monkeypatch):
    """choose_keyring sets keyring's process-wide backend; each test starts and ends without one."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("order_api")
    h = harness.start(folder, f"sqlite:///{folder}/api.db")
    with h.db.write() as s:
        from order_api.models import User

        s.add(User(username="anna", display_name="Anna", roles="picker", badge="U0001",
                   pin_hash=harness.pin_hash(ANNA_PIN)))
        s.add(User(username="ben", display_name="Ben", roles="packer picker", badge="U0002",
                   pin_hash=harness.pin_hash(BEN_PIN)))
    h.add_user("sam", "supervisor", pin="4444")
    yield h
    h.stop()


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
    """One client as the composition root builds it: store, device, verifiers, API client and sign-in."""

    store: LocalStore
    device: Device
    verifiers: PinVerifiers
    api: OrderApi
    signin: SignIn


class HeldAnswers(httpx.BaseTransport):
    """Real HTTP to the server, except that the answer of one path waits at a gate (events, not sleeps)."""

    def __init__(self, path: str) -> None:
        self._real = httpx.HTTPTransport()
        self.path, self.arrived, self.gate = path, threading.Event(), threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._real.handle_request(request)
        if request.url.path == self.path:
            response.read()
            self.arrived.set()
            assert self.gate.wait(30), "the test never opened the gate"
        return response

    def close(self) -> None:
        self._real.close()


@pytest.fixture
def clock():
    return Clock(datetime(2025, 3, 3, 8, 0, tzinfo=timezone.utc))


@pytest.fixture
def build(tmp_path, server, clock):
    """Builds workstations on one data folder; a second build is the same PC after a restart."""
    built: list[Workstation] = []

    def make(keyring: str = MEMORY, reachable: bool = True, valid_days: float = 7, folder=None,
             machine: str = "machine-1", transport: httpx.BaseTransport | None = None) -> Workstation:
        store = LocalStore.open(folder or tmp_path / "client")
        from sync.outbox import Outbox

        device = Device.of(store.journal, Outbox(store).device_id(), store.data_dir, keyring, lambda: machine)
        verifiers = PinVerifiers(store.journal, device.local_key, valid_days=valid_days, clock=clock)
        # Unreachable: the configured server stays the same, but nothing listens where requests go.
        api_url = server.url if reachable else f"http://127.0.0.1:{free_port()}"
        api = OrderApi(api_url, timeout=10.0, sleep=lambda _s: None, transport=transport)
        signin = SignIn(api, device, verifiers, device_name="dock-3", app_version="test")
        built.append(Workstation(store, device, verifiers, api, signin))
        return built[-1]

    yield make
    for ws in built:
        ws.api.close()
        ws.store.close()


def copy_journal(folder, to) -> None:
    """What someone copying the journal file gets: a consistent copy (its WAL included), nothing else."""
    import sqlite3

    to.mkdir()
    with sqlite3.connect(folder / JOURNAL_FILE) as src, sqlite3.connect(to / JOURNAL_FILE) as dst:
        src.backup(dst)


def verifier_rows(ws: Workstation) -> dict[str, dict]:
    with ws.store.journal.read() as conn:
        return {r["username"]: dict(r) for r in conn.execute(select(signin_verifiers)).mappings()}


def refused(call, *args, **kwargs) -> SignInRefused:
    with pytest.raises(SignInRefused) as caught:
        call(*args, **kwargs)
    return caught.value


def sessions_of(server, username: str) -> list:
    """The server's sign-in sessions of a person: rows with kind, device_id, revoked, revoked_reason."""
    from order_api.models import User

    with server.db.read() as s:
        user_id = s.execute(select(User.id).where(User.username == username)).scalar_one()
        return s.execute(select(AuthSession.kind, AuthSession.device_id, AuthSession.revoked,
                                AuthSession.revoked_reason).where(AuthSession.user_id == user_id)
                         .order_by(AuthSession.id)).all()


# --- online sign-in and the device's registration --------------------------------------------------

def test_the_first_online_sign_in_registers_the_device_and_keeps_a_keyed_verifier(build, server):
    ws = build()
    person = ws.signin.online(username="anna", pin=ANNA_PIN)
    assert person == SignedIn("anna", "Anna", ["picker"], person.user_id, online=True, note=None,
                              scope=["catalog", "floor", f"user:{person.user_id}"])
    assert ws.api.person.owner == "anna" and ws.api.tokens is not None
    credential = ws.device.credential()
    assert credential is not None and credential.device_id == ws.device.device_id
    row = verifier_rows(ws)["anna"]
    assert row["verifier"].startswith("hs1$16384$8$1$") and ANNA_PIN not in row["verifier"]
    assert row["ticket"] and (row["badge"], row["user"]["roles"], row["failures"]) == ("U0001", ["picker"], 0)
    assert row["signed_in_online_at"] == "2025-03-03T08:00:00+00:00"
    # The server knows the device by the name this workstation gave it.
    with server.db.read() as s:
        from order_api.models import Device as ServerDevice

        assert s.get(ServerDevice, ws.device.device_id).name == "dock-3"
    # A second sign-in (after a restart too) uses the credential kept in the keyring.
    again = build()
    assert again.signin.online(badge="U0002", pin=BEN_PIN).username == "ben"
    assert again.device.credential() == credential


def test_the_same_device_id_without_its_credential_is_refused(build, tmp_path):
    build().signin.online(username="anna", pin=ANNA_PIN)
    # The journal (and so the device id) copied to another folder on a machine whose keyring is empty.
    copy = tmp_path / "copy"
    copy_journal(tmp_path / "client", copy)
    ws = build(keyring=OTHER_MACHINE, folder=copy, machine="machine-2")
    with pytest.raises(DeviceNotUsable) as caught:
        ws.signin.online(username="anna", pin=ANNA_PIN)
    assert caught.value.problem.code == "moved" and "recovery code" in caught.value.problem.fix


def test_a_recovery_code_puts_a_moved_data_folder_back_in_service(build, server, tmp_path):
    first = build()
    first.signin.online(username="anna", pin=ANNA_PIN)
    first.api.clear()
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "client", moved)
    ws = build(keyring=OTHER_MACHINE, folder=moved, machine="machine-2")
    assert ws.device.problem().code == "moved"
    sam = server.sign_in("sam", pin="4444", device_id="office-1")
    code = sam.http.post(f"/v1/devices/{ws.device.device_id}/recovery-code").json()["code"]
    ws.device.registered(ws.api.recover_device(ws.device.device_id, code))
    assert ws.device.problem() is None
    assert ws.signin.online(username="anna", pin=ANNA_PIN).online
    # The original folder's credential is dead now: two machines never push one device's queue.
    first.signin.prepare()
    with pytest.raises(Exception) as refused_old:
        first.signin.online(username="anna", pin=ANNA_PIN)
    assert "device" in str(refused_old.value).lower()


def test_online_sign_in_by_badge_names_the_user(build):
    ws = build()
    person = ws.signin.online(badge="U0002", pin=BEN_PIN)
    assert (person.username, person.display_name, person.roles) == ("ben", "Ben", ["packer", "picker"])


def test_a_wrong_pin_during_a_switch_leaves_the_current_session_as_it_was(build, server):
    ws = build()
    ws.signin.online(username="anna", pin=ANNA_PIN)
    before = ws.api.person
    with pytest.raises(AuthRequired):
        ws.signin.online(username="ben", pin="000000")
    assert ws.api.person is before and "ben" not in verifier_rows(ws)
    assert ws.api.me().user["username"] == "anna"  # Back resumes a session that still works


# --- offline sign-in and its ticket ----------------------------------------------------------------

def test_offline_sign_in_by_username_and_by_badge_opens_the_ticket(build, server):
    build().signin.online(username="anna", pin=ANNA_PIN)
    ws = build(reachable=False)
    by_name = ws.signin.offline(username="anna", pin=ANNA_PIN)
    by_badge = ws.signin.offline(badge="U0001", pin=ANNA_PIN)
    assert by_name == by_badge == SignedIn("anna", "Anna", ["picker"], by_name.user_id, online=False, note=None,
                                           scope=by_name.scope)
    assert ws.api.person.owner == "anna" and ws.api.tokens is None and ws.api.person.ticket
    # Once the server answers, the first call gets anna a session from the ticket: no second sign-in.
    online = build(transport=None)
    online.api.install("anna", None, ws.api.person.ticket)
    online.signin.prepare()
    assert online.api.me().user["username"] == "anna" and online.api.tokens is not None
    assert [s.kind for s in sessions_of(server, "anna")][-1] == "ticket"


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
    assert verifiers.verify(ANNA_PIN, username="anna").person.username == "anna"
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
    assert ws.verifiers.verify(ANNA_PIN, username="anna").person.username == "anna"


def test_the_period_is_configurable(build, clock):
    build(valid_days=1).signin.online(username="anna", pin=ANNA_PIN)
    ws = build(valid_days=1)
    clock.advance(hours=23)
    assert ws.verifiers.verify(ANNA_PIN, username="anna").person.username == "anna"
    clock.advance(days=2)
    assert str(refused(ws.verifiers.verify, ANNA_PIN, username="anna")) == (
        "last online sign-in was 2 days ago; connect to sign in")
    longer = PinVerifiers(ws.store.journal, ws.device.local_key, valid_days=30, clock=clock)
    assert longer.verify(ANNA_PIN, username="anna").person.username == "anna"


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


def test_two_people_share_a_workstation_each_with_their_own_pin_and_ticket(build):
    online = build()
    online.signin.online(username="anna", pin=ANNA_PIN)
    online.signin.online(badge="U0002", pin=BEN_PIN)
    ws = build(reachable=False)
    assert "wrong PIN" in str(refused(ws.signin.offline, username="ben", pin=ANNA_PIN))
    assert ws.signin.offline(username="anna", pin=ANNA_PIN).username == "anna"
    anna_ticket = ws.api.person.ticket
    assert ws.signin.offline(badge="U0002", pin=BEN_PIN).roles == ["packer", "picker"]
    assert ws.api.person.owner == "ben" and ws.api.person.ticket != anna_ticket
    rows = verifier_rows(ws)
    assert (rows["anna"]["failures"], rows["ben"]["failures"]) == (0, 0)
    assert rows["anna"]["verifier"] != rows["ben"]["verifier"]


def test_a_badge_handed_on_finds_only_its_new_holder(build):
    verifiers = build().verifiers
    verifiers.remember(Me({"id": 1, "username": "anna", "display_name": "Anna", "badge": "U0009"}, ["picker"], [],
                          "dock-3"), ANNA_PIN)
    verifiers.remember(Me({"id": 2, "username": "ben", "display_name": "Ben", "badge": "U0009"}, ["packer"], [],
                          "dock-3"), BEN_PIN)
    assert verifiers.verify(BEN_PIN, badge="U0009").person.username == "ben"
    assert verifiers.verify(ANNA_PIN, username="anna").person.username == "anna"


def test_a_copied_journal_and_every_pin_are_not_enough_on_another_machine(build, tmp_path):
    """The verifier is keyed with the device's local key, which the journal does not hold."""
    ws = build()
    ws.signin.online(username="anna", pin=ANNA_PIN)
    row = verifier_rows(ws)["anna"]
    copy = tmp_path / "stolen"
    copy_journal(tmp_path / "client", copy)
    thief = build(keyring=OTHER_MACHINE, folder=copy, machine="machine-2", reachable=False)
    # Even the right PIN is useless there: the verifier cannot be checked without the key.
    for pin in (ANNA_PIN, "0000", "1234"):
        assert "sign in online once" in str(refused(thief.verifiers.verify, pin, username="anna"))
    # And the file holds no plain scrypt of the PIN to try the 10,000 or 1,000,000 PINs against.
    _scheme, n, r, p, salt, _key, mac = row["verifier"].split("$")
    import base64

    plain = hashlib.scrypt(ANNA_PIN.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    journal = (copy / JOURNAL_FILE).read_bytes()
    assert plain not in journal and base64.b64encode(plain) not in journal
    assert base64.b64decode(mac) != plain


# --- without a keyring --------------------------------------------------------------------------

def test_without_a_usable_keyring_the_secrets_live_in_a_private_file_and_people_read_one_sentence(build, tmp_path):
    ws = build(keyring="none")
    person = ws.signin.online(username="anna", pin=ANNA_PIN)
    assert person.online and person.note is None
    assert ws.signin.keyring_note == PLAIN_NO_KEYRING and "D-Bus" not in PLAIN_NO_KEYRING
    secrets_file = tmp_path / "client" / "device-secrets.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    assert ws.device.credential().secret in secrets_file.read_text()
    # After a restart offline the same person signs in, and her ticket opens.
    again = build(keyring="none", reachable=False)
    assert again.signin.offline(username="anna", pin=ANNA_PIN).username == "anna"
    assert again.api.person.ticket


def test_a_keyring_that_fails_at_run_time_hands_over_to_the_file(build, tmp_path):
    ws = build(keyring="tests.sync.memory_keyring.LockedKeyring")
    assert ws.signin.online(username="anna", pin=ANNA_PIN).online
    assert not ws.device.secrets_in_keyring and "Failed to unlock" in ws.device.keyring_reason
    assert (tmp_path / "client" / "device-secrets.json").exists()
    assert ws.api.me().user["username"] == "anna"  # the session itself goes on


# --- who owns the session ------------------------------------------------------------------------

def test_sign_out_ends_the_session_here_at_once_and_on_the_server_after(build, server):
    ws = build()
    ws.signin.online(username="anna", pin=ANNA_PIN)
    tokens = ws.api.tokens
    ws.signin.sign_out()
    assert ws.api.person is None
    with pytest.raises(AuthRequired):
        ws.api.me()
    assert ws.signin.end_sessions() == 1
    stale = build()
    stale.signin.prepare()
    with pytest.raises(AuthRequired):
        stale.api.me(tokens)


def _while_a_refresh_answer_is_held(build, meanwhile) -> tuple[Workstation, BaseException | None]:
    """anna signed in; her refresh reaches the server, whose answer waits while `meanwhile(ws)` runs.

    Returns the workstation and what the refresh raised once its answer arrived.
    """
    held = HeldAnswers("/v1/auth/refresh")
    ws = build(transport=held)
    ws.signin.online(username="anna", pin=ANNA_PIN)
    outcome: list[BaseException | None] = []
    refresher = threading.Thread(target=lambda: _catch(ws.api.refresh, outcome))
    refresher.start()
    assert held.arrived.wait(30)  # the server rotated anna's token; the answer is on its way
    meanwhile(ws)
    held.gate.set()
    refresher.join(30)
    assert len(outcome) == 1
    return ws, outcome[0]


def test_a_refresh_answer_that_arrives_after_a_switch_is_dropped(build, server):
    # ben badges in while anna's refresh is on its way
    ws, raised = _while_a_refresh_answer_is_held(build, lambda ws: ws.signin.online(badge="U0002", pin=BEN_PIN))
    assert isinstance(raised, SessionChanged)
    assert ws.api.person.owner == "ben" and ws.api.me().user["username"] == "ben"
    # The session the late answer opened for anna was ended on the server, not left live.
    mine = [(s.revoked, s.revoked_reason) for s in sessions_of(server, "anna") if s.device_id == ws.device.device_id]
    assert mine == [(True, "rotated"), (True, "signed_out")]


def test_sign_out_during_a_refresh_stays_signed_out(build, server):
    ws, raised = _while_a_refresh_answer_is_held(build, lambda ws: ws.signin.sign_out())
    assert isinstance(raised, SessionChanged) and ws.api.person is None
    mine = [(s.revoked, s.revoked_reason) for s in sessions_of(server, "anna") if s.device_id == ws.device.device_id]
    assert mine == [(True, "rotated"), (True, "signed_out")]


def test_nothing_secret_in_reprs(build):
    ws = build()
    person = ws.signin.online(username="anna", pin=ANNA_PIN)
    tokens, held = ws.api.tokens, ws.api.person
    secret = ws.device.credential().secret
    for text in (repr(person), repr(held), repr(ws.device.credential()), repr(ws.signin), repr(ws.verifiers),
                 repr(ws.device)):
        for value in (tokens.refresh_token, tokens.access_token, ANNA_PIN, secret, held.ticket):
            assert value not in text


def _catch(call, into: list) -> None:
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
        into.append(exc)
    else:
        into.append(None)
