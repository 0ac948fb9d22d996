"""The reference API on loopback plus helpers to create users and sign in, for contract tests."""

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import httpx

from order_api.models import User
from order_api.security import hash_secret
from order_api.server import RunningServer, start_in_thread
from order_api.settings import ServerSettings

_PIN_HASHES: dict[str, str] = {}


def pin_hash(pin: str) -> str:
    """scrypt is slow on purpose; tests reuse one hash per PIN."""
    if pin not in _PIN_HASHES:
        _PIN_HASHES[pin] = hash_secret(pin)
    return _PIN_HASHES[pin]


@dataclass
class Harness:
    """A running server and the handles tests need."""

    server: RunningServer
    clients: list[httpx.Client] = field(default_factory=list)

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

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        c = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        self.clients.append(c)
        return c

    def sign_in(self, username: str, pin: str = "1234", device_id: str | None = None) -> "Session":
        device_id = device_id or f"dev-{username}"
        r = self.client().post("/v1/auth/token", json={"username": username, "pin": pin, "device_id": device_id})
        assert r.status_code == 200, r.text
        return Session(self, username, device_id, r.json()["access_token"], self.client(r.json()["access_token"]))

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

    def pull_all(self, cursor: int = 0, limit: int = 500) -> tuple[dict, int]:
        """Follow the feed to its end; returns the resulting replica {(entity, id): data} and cursor."""
        replica: dict = {}
        while True:
            page = self.http.get("/v1/sync/pull", params={"cursor": cursor, "limit": limit}).json()
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
