"""Request and response bodies of the HTTP contract (field names are part of the contract)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

Str64 = Field(min_length=1, max_length=64)


class Strict(BaseModel):
    """Unknown fields are refused, so a typo in a client never passes silently."""

    model_config = ConfigDict(extra="forbid")


DEVICE_ID = r"^[A-Za-z0-9._:-]{1,64}$"


class TokenRequest(Strict):
    """A sign-in of one person on one device; the device registers at its first sign-in."""

    username: str | None = Field(None, min_length=1, max_length=64)
    badge: str | None = Field(None, min_length=1, max_length=64)
    pin: str | None = Field(None, min_length=1, max_length=128)
    password: str | None = Field(None, min_length=1, max_length=128)
    device_id: str = Field(min_length=1, max_length=64, pattern=DEVICE_ID)
    device_name: str | None = Field(None, min_length=1, max_length=128, description="shown to supervisors")
    app_version: str | None = Field(None, min_length=1, max_length=32)

    @model_validator(mode="after")
    def _one_of_each(self) -> "TokenRequest":
        if (self.username is None) == (self.badge is None):
            raise ValueError("give exactly one of username or badge")
        if (self.pin is None) == (self.password is None):
            raise ValueError("give exactly one of pin or password")
        return self


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=1, max_length=256)


class TicketRequest(Strict):
    """The offline ticket a device got at a PIN sign-in, traded for a session of its person."""

    ticket: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    device_secret: str | None = Field(None, description="only in the answer to a device's first sign-in")
    offline_ticket: str | None = Field(None, description="after a PIN sign-in: redeem with POST /v1/auth/ticket")
    offline_ticket_expires_in: int | None = None


class Me(BaseModel):
    user: dict[str, Any]
    roles: list[str]
    scope: list[str]
    device_id: str
    device: dict[str, Any] = Field(description="{id, name} of the calling device")


class ChangeOut(BaseModel):
    entity: str
    id: str
    op: Literal["upsert", "delete"]
    version: int
    audience: str = Field(description="the audience this entry was read through")
    data: dict[str, Any] | None


class PullResponse(BaseModel):
    changes: list[ChangeOut]
    cursor: int
    has_more: bool
    reset: bool
    audiences: list[str] = Field(description="the audiences this page was read for, sorted")


class Mutation(Strict):
    seq: int = Field(ge=1)
    id: str = Field(pattern=r"^[0-9a-fA-F-]{32,36}$")
    name: str = Field(min_length=1, max_length=48)
    args: dict[str, Any]
    at: str = Field(min_length=1, max_length=40)
    user: str = Field(min_length=1, max_length=64)


class PushRequest(Strict):
    device_id: str = Field(min_length=1, max_length=64)
    schema_version: int = Field(ge=1)
    mutations: list[Mutation] = Field(max_length=1000)


class MutationOutcome(BaseModel):
    id: str
    status: Literal["applied", "duplicate", "rejected"]
    code: str | None = None
    message: str | None = None
    original_status: Literal["applied", "rejected"] | None = None


class PushResponse(BaseModel):
    results: list[MutationOutcome]
    last_seq: int
    cursor: int = Field(description="change-log position after this push: a pull that reaches it sees its effects")


class ClaimRequest(Strict):
    ahead: int = Field(0, ge=0, le=10)


class ClaimedBatch(BaseModel):
    batch: dict[str, Any]
    tasks: list[dict[str, Any]]
    orders: list[dict[str, Any]]


class ClaimResponse(BaseModel):
    batches: list[ClaimedBatch]


class ReassignRequest(Strict):
    username: str = Field(min_length=1, max_length=64)


class UserCreate(Strict):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9._-]+$")
    display_name: str = Field(min_length=1, max_length=128)
    roles: list[Literal["picker", "packer", "photographer", "supervisor", "admin"]] = Field(min_length=1)
    badge: str | None = Field(None, min_length=4, max_length=64)
    pin: str | None = Field(None, pattern=r"^[0-9]{4,12}$")
    password: str | None = Field(None, min_length=8, max_length=128)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[str]
    badge: str | None


# Path ids are bounded so that no database is asked for an integer it cannot store.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="row id")]


DeviceIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=DEVICE_ID, description="device id")]


class DeviceOut(BaseModel):
    """A registered device as supervisors see it."""

    id: str
    name: str | None
    app_version: str | None
    registered_at: datetime
    last_seen: datetime
    revoked_at: datetime | None
    revoked_by: str | None = Field(description="username of who revoked it")
    last_user: str | None = Field(description="username of the latest person to sign in on it")
    last_seq: int


class RecoveryCodeOut(BaseModel):
    """A one-time code that puts a device's data folder back in service."""

    device_id: str
    code: str = Field(description="12 characters shown as ABCD-EFGH-JKLM; dashes and case do not matter")
    expires_in: int


class RecoverRequest(Strict):
    code: str = Field(min_length=1, max_length=64)


class DeviceSecretOut(BaseModel):
    """The new credential of a recovered device."""

    device_id: str
    device_secret: str
