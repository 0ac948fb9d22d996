"""The reference API on loopback plus helpers to create users and sign in, for contract tests."""

import ssl
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import httpx

from order_api.deps import DEVICE_HEADER
from order_api.models import User
from order_api.security import hash_secret
from order_api.server import RunningServer, start_in_thread
from order_api.settings import ServerSettings

_PIN_HASHES: dict[str, str] = {}
# One TLS context for every test client: httpx reads the whole CA bundle for each new client
# (~0.1 s), although these servers speak plain HTTP on loopback.
TLS = ssl.create_default_context()


def pin_hash(pin: str) -> str:
    """scrypt is slow on purpose; tests reuse one hash per PIN."""
    if pin not in _PIN_HASHES:
        _PIN_HASHES[pin] = hash_secret(pin)
    return _PIN_HASHES[pin]


class DeviceKeys:
    """Device secrets the server handed out at registration, by (server URL, device id).

    Every sign-in over raw HTTP goes through `token`: a device's first sign-in registers
    it and its secret is kept; later sign-ins and calls of that device send the credential.
    """

    def __init__(self) -> None:
        self._secrets: dict[tuple[str, str], str] = {}

    def header(self, url: str, device_id: str) -> dict[str, str]:
        """The Floorhand-Device header of a registered device; {} before its first sign-in."""
        secret = self._secrets.get((url, device_id))
        return {DEVICE_HEADER: f"{device_id} {secret}"} if secret else {}

    def remember(self, url: str, device_id: str, secret: str) -> None:
        self._secrets[(url, device_id)] = secret

    def token(self, url: str, body: dict, timeout: float = 30) -> httpx.Response:
        """POST /v1/auth/token with the device's credential when it has one; keeps a new device's secret."""
        r = httpx.post(f"{url}/v1/auth/token", json=body, headers=self.header(url, body["device_id"]), timeout=timeout,
                       verify=TLS)
        if r.status_code == 200 and r.json().get("device_secret"):
            self.remember(url, body["device_id"], r.json()["device_secret"])
        return r

    def client(self, url: str, token: str | None, device_id: str | None, timeout: float = 30) -> httpx.Client:
        """An httpx client sending the bearer token and the device's credential (each when given)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(self.header(url, device_id) if device_id else {})
        return httpx.Client(base_url=url, headers=headers, timeout=timeout, verify=TLS)

    def signed_in(self, url: str, body: dict, timeout: float = 30) -> httpx.Client:
        """A client of a fresh session: signs in with body (username/badge, pin/password, device_id)."""
        r = self.token(url, body, timeout)
        assert r.status_code == 200, r.text
        return self.client(url, r.json()["access_token"], body["device_id"], timeout)


@dataclass
class Harness:
    """A running server and the handles tests need."""

    server: RunningServer
    clients: list[httpx.Client] = field(default_factory=list)
    devices: DeviceKeys = field(default_factory=DeviceKeys)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ctx(self):
        return self.server.app.state.ctx

    @property
    def db(self):
        return self.ctx.db

    def add_user(self, username: str, roles: str, pin: str = "1234", badge: str | None = None) -> int:
        with self.db.write() as s:
            user = User(username=username, display_name=username.title(), roles=roles, badge=badge,
                        pin_hash=pin_hash(pin))
            s.add(user)
            s.flush()
            return user.id

    def client(self, token: str | None = None, device_id: str | None = None) -> httpx.Client:
        """A client with the bearer token and the device's credential (each when given)."""
        c = self.devices.client(self.url, token, device_id)
        self.clients.append(c)
        return c

    def device_header(self, device_id: str) -> dict[str, str]:
        """The Floorhand-Device header of a device registered through this harness."""
        return self.devices.header(self.url, device_id)

    def token(self, device_id: str, **body) -> httpx.Response:
        """POST /v1/auth/token for device_id, with its credential once it has one."""
        return self.devices.token(self.url, {**body, "device_id": device_id})

    def sign_in(self, username: str, pin: str = "1234", device_id: str | None = None) -> "Session":
        """Sign username in on device_id (registering it on first use); the session's client sends both credentials."""
        device_id = device_id or f"dev-{username}"
        r = self.token(device_id, username=username, pin=pin)
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        return Session(self, username, device_id, token, self.client(token, device_id), r.json())

    def stop(self) -> None:
        for c in self.clients:
            c.close()
        self.server.stop()


@dataclass
class Session:
    """A signed-in user on one device, with its own push sequence."""

    harness: Harness
    username: str
    device_id: str
    token: str
    http: httpx.Client
    answer: dict = field(default_factory=dict)  # the sign-in's answer: tokens, offline ticket
    seq: int = 0

    def mutation(self, name: str, args: dict, user: str | None = None) -> dict:
        self.seq += 1
        return {"seq": self.seq, "id": str(uuid.uuid4()), "name": name, "args": args,
                "at": datetime.now(timezone.utc).isoformat(), "user": user or self.username}

    def push(self, *mutations: dict, expect: int = 200) -> dict:
        r = self.http.post("/v1/sync/push", json={"device_id": self.device_id, "schema_version": 1,
                                                  "mutations": list(mutations)})
        assert r.status_code == expect, r.text
        return r.json()

    def do(self, name: str, **args) -> dict:
        """Push one mutation and return its result."""
        return self.push(self.mutation(name, args))["results"][0]

    def pull_all(self, cursor: int = 0, limit: int = 500, **params) -> tuple[dict, int]:
        """Follow the feed to its end; returns the resulting replica {(entity, id): data} and cursor."""
        replica: dict = {}
        while True:
            page = self.http.get("/v1/sync/pull", params={"cursor": cursor, "limit": limit, **params}).json()
            assert not page["reset"]
            for ch in page["changes"]:
                if ch["op"] == "delete":
                    replica.pop((ch["entity"], ch["id"]), None)
                else:
                    replica[(ch["entity"], ch["id"])] = ch["data"]
            cursor = page["cursor"]
            if not page["has_more"]:
                return replica, cursor


def start(tmp_path, db_url: str, **overrides) -> Harness:
    settings = ServerSettings(db_url=db_url, blob_store=f"fs:{tmp_path}/blobs", **overrides)
    return Harness(start_in_thread(replace(settings)))


def claim(session: "Session") -> dict:
    """The first batch the session's picker gets from POST /v1/pick-batches/claim."""
    r = session.http.post("/v1/pick-batches/claim", json={})
    assert r.status_code == 200, r.text
    return r.json()["batches"][0]


def pick_args(task: dict, qty: int | None = None) -> dict:
    """pick.confirm arguments for a task of a claimed batch (all of it, or qty)."""
    return {"task": task["id"], "location": task["location_label"], "qty": qty or task["qty"], "barcode": task["gtin"]}
