"""The headless client core assembled from its parts: what the CLI and the app build on."""

import os
from dataclasses import dataclass
from pathlib import Path

import httpx
from platformdirs import user_data_dir

from sync.api import OrderApi
from sync.credentials import TokenVault, choose_keyring
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
    """Store, outbox, view, API client, sign-in and sync engine of one data folder and server."""

    store: LocalStore
    outbox: Outbox
    view: LocalView
    api: OrderApi
    signin: SignIn
    engine: SyncEngine

    @classmethod
    def open(cls, data_dir: Path | str, server_url: str, *, keyring: str | None = None, ca_bundle: str | None = None,
             transport: httpx.BaseTransport | None = None, offline_days: float = 7,
             options: EngineOptions | None = None, retry: RetryPolicy | None = None) -> "ClientCore":
        store = LocalStore.open(data_dir)
        outbox = Outbox(store)
        holder: dict[str, SignIn] = {}
        api = OrderApi(server_url, transport=transport, ca_bundle=ca_bundle, retry=retry or RetryPolicy(),
                       on_tokens=lambda tokens: holder["signin"].store_rotated(tokens))
        vault = TokenVault(choose_keyring(keyring))
        signin = SignIn(api, vault, PinVerifiers(store.journal, valid_days=offline_days), outbox.device_id(),
                        server_url)
        holder["signin"] = signin
        engine = SyncEngine(store, outbox, api, options)
        return cls(store, outbox, LocalView(store, outbox), api, signin, engine)

    def close(self) -> None:
        # A pusher between batches stops at once, one in a push within the timeout; a pull
        # worker on a long poll is left to end by itself and stores nothing more.
        self.engine.stop(timeout=5.0)
        self.api.close()
        self.store.close()
