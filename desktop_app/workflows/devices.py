"""The device fleet as a supervisor sees it: which workstation or handheld called when, and taking one out of service.

UI-free: every operation calls the order API, so the shell runs them on a worker. A device
taken out of service (a lost handheld) is refused by the server from its next call on, and
says so on its own screen; a recovery code puts its data folder back in service, on the
same machine or another one, with its queue kept (ARCHITECTURE.md §8).
"""

from dataclasses import dataclass
from datetime import datetime, timezone

from desktop_app.i18n import translate
from sync.api import OrderApi

SUPERVISOR_ROLES = frozenset({"supervisor", "admin"})


@dataclass(frozen=True)
class DeviceRow:
    """One device in words: its name, when it last called, who used it last, and whether it is in service."""

    device_id: str
    name: str
    last_seen: str  # "Last seen 2 min ago", "Never seen" (translated, like every text of a row)
    app_version: str
    last_user: str  # the username; "" for a device nobody has used yet
    in_service: bool
    state: str  # "In service" or "Out of service since 2026-12-04 14:02 (sam)"
    this_device: bool


@dataclass(frozen=True)
class RecoveryCode:
    """A one-time code for one device, shown to the supervisor to read out to IT."""

    device_id: str
    name: str
    code: str
    valid_minutes: int


def can_manage(roles: list[str]) -> bool:
    return bool(SUPERVISOR_ROLES.intersection(roles))


class DeviceBoard:
    """Loads the fleet and acts on one device; `this_device` is the id of the device the supervisor holds."""

    def __init__(self, api: OrderApi, this_device: str, clock=lambda: datetime.now(timezone.utc)) -> None:
        self._api, self._this, self._clock = api, this_device, clock
        self._names: dict[str, str] = {}

    def load(self) -> list[DeviceRow]:
        """Every device the server knows, most recently seen first (network)."""
        now = self._clock()
        rows = [self._row(d, now) for d in self._api.devices()]
        self._names = {r.device_id: r.name for r in rows}
        return rows

    def take_out_of_service(self, device_id: str) -> str:
        """Revoke a device (network); returns what to tell the supervisor."""
        if device_id == self._this:
            return translate("Devices", "This is the device you are using: take it out of service from another one.")
        answer = self._api.revoke_device(device_id)
        name = answer.get("name") or self._names.get(device_id) or device_id
        return translate("Devices", "{device} is out of service: it cannot send or receive work until IT puts it back "
                                    "with a recovery code.").format(device=name)

    def recovery_code(self, device_id: str) -> RecoveryCode:
        """A one-time code that puts the device's data folder back in service (network)."""
        answer = self._api.recovery_code(device_id)
        minutes = max(1, round(int(answer.get("expires_in") or 3600) / 60))
        return RecoveryCode(device_id, self._names.get(device_id) or device_id, str(answer["code"]), minutes)

    def _row(self, d: dict, now: datetime) -> DeviceRow:
        revoked = parse_time(d.get("revoked_at"))
        state = translate("Devices", "In service")
        if revoked is not None and d.get("revoked_by"):
            state = translate("Devices", "Out of service since {when} ({person})").format(when=_short(revoked),
                                                                                         person=d["revoked_by"])
        elif revoked is not None:
            state = translate("Devices", "Out of service since {when}").format(when=_short(revoked))
        return DeviceRow(device_id=str(d["id"]), name=str(d.get("name") or d["id"]),
                         last_seen=_last_seen(parse_time(d.get("last_seen")), now),
                         app_version=str(d.get("app_version") or "?"), last_user=str(d.get("last_user") or ""),
                         in_service=revoked is None, state=state,
                         this_device=d["id"] == self._this)


def parse_time(value) -> datetime | None:
    """A feed or API timestamp (ISO 8601); one without a zone is the server's UTC; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _short(when: datetime) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M")  # digits only: a month's name would not be translated


def _last_seen(when: datetime | None, now: datetime) -> str:
    """When the device last called, in the words people use on the floor."""
    if when is None:
        return translate("Devices", "Never seen")
    seconds = max(0, int((now - when).total_seconds()))
    if seconds >= 86400:
        return translate("Devices", "Last seen %n day(s) ago", None, seconds // 86400)
    if seconds >= 3600:
        return translate("Devices", "Last seen %n hour(s) ago", None, seconds // 3600)
    if seconds >= 60:
        return translate("Devices", "Last seen %n min ago", None, seconds // 60)
    return translate("Devices", "Last seen just now")
