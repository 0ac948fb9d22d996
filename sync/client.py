"""The headless client core assembled from its parts: what the CLI and the app build on."""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from platformdirs import user_data_dir

from sync.api import OrderApi
from sync.device import Device, read_machine_id
from sync.engine import EngineOptions, SyncEngine
from sync.outbox import Outbox
from sync.retry import RetryPolicy
from sync.signin import PinVerifiers, SignIn
from sync.store.database import LocalStore
from sync.view import LocalView


def default_data_dir() -> Path:
    """FLOORHAND_DATA_DIR, else the platform's per-user data folder."""
    return Path(os.environ.get("FLOORHAND_DATA_DIR") or user_data_dir("floorhand", appauthor=False))


@dataclass
class ClientCore:
    """Store, outbox, view, device, API client, sign-in and sync engine of one data folder and server."""

    store: LocalStore
    outbox: Outbox
    view: LocalView
    device: Device
    api: OrderApi
    signin: SignIn
    engine: SyncEngine

    @classmethod
    def open(cls, data_dir: Path | str, server_url: str, *, keyring: str | None = None, ca_bundle: str | None = None,
             transport: httpx.BaseTransport | None = None, offline_days: float = 7, device_name: str | None = None,
             app_version: str | None = None, options: EngineOptions | None = None, retry: RetryPolicy | None = None,
             machine_id: Callable[[], str] = read_machine_id) -> "ClientCore":
        """Open the data folder; nothing here reads the keyring (that waits for the first sign-in, on a worker)."""
        store = LocalStore.open(data_dir)
        outbox = Outbox(store)
        device = Device.of(store.journal, outbox.device_id(), store.data_dir, keyring, machine_id)
        agent = f"floorhand/{app_version}" if app_version else "floorhand"
        api = OrderApi(server_url, transport=transport, ca_bundle=ca_bundle, retry=retry or RetryPolicy(),
                       user_agent=agent)
        verifiers = PinVerifiers(store.journal, device.local_key, valid_days=offline_days)
        signin = SignIn(api, device, verifiers, device_name=device_name, app_version=app_version)
        engine = SyncEngine(store, outbox, api, options, device=device)
        signin.scope_hook = engine.set_scope
        return cls(store, outbox, LocalView(store, outbox), device, api, signin, engine)

    def close(self) -> None:
        # A pusher between batches stops at once, one in a push within the timeout; a pull
        # worker on a long poll is left to end by itself and stores nothing more.
        self.engine.stop(timeout=5.0)
        self.api.close()
        self.store.close()
