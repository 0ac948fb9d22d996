"""The sync engine's connectivity state machine, judged from the outcome of real calls.

    state          event         next state
    -------------  ------------  -------------
    connecting     call_ok       syncing
    connecting     network_down  offline
    connecting     unauthorized  auth_required
    connecting     failure       error
    syncing        caught_up     idle
    syncing        network_down  offline
    syncing        unauthorized  auth_required
    syncing        failure       error
    idle           work          syncing
    idle           network_down  offline
    idle           unauthorized  auth_required
    idle           failure       error
    offline        retry         connecting
    offline        call_ok       syncing
    offline        unauthorized  auth_required
    error          retry         connecting
    error          call_ok       syncing
    error          unauthorized  auth_required
    auth_required  signed_in     connecting
    connecting     device_refused  device_refused
    syncing        device_refused  device_refused
    idle           device_refused  device_refused
    offline        device_refused  device_refused
    error          device_refused  device_refused
    auth_required  device_refused  device_refused
    device_refused signed_in     connecting

Any other (state, event) pair leaves the state as it is: for example a second
network_down while offline, or call_ok while already syncing. There is no ping: the
engine fires call_ok, network_down and the rest from the pushes and pulls it makes anyway.
"""

import threading
from collections.abc import Callable
from enum import Enum


class SyncState(str, Enum):
    """Where the engine stands with the server, as the status bar shows it."""

    OFFLINE = "offline"
    CONNECTING = "connecting"
    SYNCING = "syncing"
    IDLE = "idle"
    AUTH_REQUIRED = "auth_required"
    ERROR = "error"
    DEVICE_REFUSED = "device_refused"  # the server does not accept this device (unknown credential, revoked)


S = SyncState
TRANSITIONS: dict[tuple[SyncState, str], SyncState] = {
    (S.CONNECTING, "call_ok"): S.SYNCING,
    (S.CONNECTING, "network_down"): S.OFFLINE,
    (S.CONNECTING, "unauthorized"): S.AUTH_REQUIRED,
    (S.CONNECTING, "failure"): S.ERROR,
    (S.SYNCING, "caught_up"): S.IDLE,
    (S.SYNCING, "network_down"): S.OFFLINE,
    (S.SYNCING, "unauthorized"): S.AUTH_REQUIRED,
    (S.SYNCING, "failure"): S.ERROR,
    (S.IDLE, "work"): S.SYNCING,
    (S.IDLE, "network_down"): S.OFFLINE,
    (S.IDLE, "unauthorized"): S.AUTH_REQUIRED,
    (S.IDLE, "failure"): S.ERROR,
    (S.OFFLINE, "retry"): S.CONNECTING,
    (S.OFFLINE, "call_ok"): S.SYNCING,
    (S.OFFLINE, "unauthorized"): S.AUTH_REQUIRED,
    (S.ERROR, "retry"): S.CONNECTING,
    (S.ERROR, "call_ok"): S.SYNCING,
    (S.ERROR, "unauthorized"): S.AUTH_REQUIRED,
    (S.AUTH_REQUIRED, "signed_in"): S.CONNECTING,
    **{(state, "device_refused"): S.DEVICE_REFUSED
       for state in (S.CONNECTING, S.SYNCING, S.IDLE, S.OFFLINE, S.ERROR, S.AUTH_REQUIRED)},
    (S.DEVICE_REFUSED, "signed_in"): S.CONNECTING,
}
EVENTS = frozenset(event for _, event in TRANSITIONS)


class Connectivity:
    """Thread-safe holder of the current SyncState; tells a listener about every change."""

    def __init__(self, initial: SyncState = S.CONNECTING,
                 on_change: Callable[[SyncState, SyncState, str], None] | None = None) -> None:
        self._state = initial
        self._lock = threading.Lock()
        self._on_change = on_change

    @property
    def state(self) -> SyncState:
        return self._state

    def fire(self, event: str) -> SyncState:
        """Apply an event; returns the state after it."""
        if event not in EVENTS:
            raise ValueError(f"unknown connectivity event {event!r}")
        with self._lock:
            before = self._state
            after = TRANSITIONS.get((before, event), before)
            self._state = after
        if after is not before and self._on_change is not None:
            self._on_change(before, after, event)
        return after
