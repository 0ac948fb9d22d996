"""The order API's answers as typed values, checked strictly: a body of another shape is a BadResponse."""

from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from sync.api_errors import BadResponse


@dataclass(frozen=True)
class Tokens:
    """An access and refresh token pair; repr never shows the tokens."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int


@dataclass(frozen=True)
class SignInAnswer:
    """What a sign-in brings: the tokens, the device credential at registration, an offline ticket with a PIN."""

    tokens: Tokens
    device_secret: str | None = field(repr=False)
    offline_ticket: str | None = field(repr=False)
    ticket_expires_in: int | None


@dataclass(frozen=True)
class MutationResult:
    """What the server did with one pushed mutation: applied, duplicate or rejected."""

    id: str
    status: str
    code: str | None
    message: str | None
    original_status: str | None


@dataclass(frozen=True)
class PushOutcome:
    """The results of one push, in the order sent; cursor is where its effects appear in the feed."""

    results: list[MutationResult]
    last_seq: int
    cursor: int | None


@dataclass(frozen=True)
class Me:
    """The signed-in user, their roles and the pull-feed scope they receive."""

    user: dict
    roles: list[str]
    scope: list[str]
    device_id: str
    device_name: str | None = None


# --- whole answers ------------------------------------------------------------------------

def json_body(call: str, response: httpx.Response, *, expect_list: bool = False) -> Any:
    """The JSON object (or list) of a success answer to `call`."""
    try:
        # orjson: an initial sync decodes hundreds of thousands of rows
        # (docs/benchmarks.md); its errors are ValueErrors like the stdlib's.
        body = orjson.loads(response.content)
    except ValueError as exc:
        kind = response.headers.get("Content-Type", "no content type")
        raise BadResponse(f"{call}: the body is not JSON ({kind}: {exc})") from None
    return _check(body, list if expect_list else dict, call, "the body")


def error_of(response: httpx.Response) -> tuple[str | None, str | None, Any]:
    """(code, message, details) of the server's {"error": {...}} body; Nones when it is not that shape."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None, None, None
    if not (isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str)):
        return None, None, None
    return error["code"], error["message"], error.get("details")


def http_date(value: str | None) -> datetime | None:
    """An HTTP Date header as an aware datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def tokens(call: str, body: dict) -> Tokens:
    """The token pair of a sign-in, refresh or ticket answer."""
    return Tokens(_field(body, "access_token", str, call), _field(body, "refresh_token", str, call),
                  _field(body, "expires_in", int, call))


def sign_in(body: dict) -> SignInAnswer:
    """A sign-in answer: the tokens, and the device credential and offline ticket when the server gave them."""
    return SignInAnswer(tokens("sign_in", body), _field(body, "device_secret", str, "sign_in", optional=True),
                        _field(body, "offline_ticket", str, "sign_in", optional=True),
                        _field(body, "offline_ticket_expires_in", int, "sign_in", optional=True))


def me(body: dict) -> Me:
    """Who the access token belongs to."""
    user = _field(body, "user", dict, "me")
    device = body.get("device") if isinstance(body.get("device"), dict) else {}
    return Me(user, _strings(body, "roles", "me"), _strings(body, "scope", "me"),
              _field(body, "device_id", str, "me"),
              device.get("name") if isinstance(device.get("name"), str) else None)


def device_secret(call: str, body: dict) -> str:
    """The new device credential of a recovery."""
    return _field(body, "device_secret", str, call)


def rows(call: str, body: list) -> list[dict]:
    """A list answer whose items are objects (the devices)."""
    return [_check(row, dict, call, f"[{i}]") for i, row in enumerate(body)]


def push_outcome(body: dict, sent: list[dict]) -> PushOutcome:
    """The answer to a push of `sent`: one result per mutation, in the order sent."""
    results = [_result(item, f"results[{i}]") for i, item in enumerate(_field(body, "results", list, "push"))]
    if [r.id for r in results] != [m.get("id") for m in sent]:
        # A result must never be filed against the wrong queued action.
        raise BadResponse(f"push: the {len(results)} results do not match the {len(sent)} mutations sent")
    return PushOutcome(results, _field(body, "last_seq", int, "push"),
                       _field(body, "cursor", int, "push", optional=True))


def batches(call: str, body: dict) -> list[dict]:
    """The pick batches of a claim, each {"batch", "tasks", "orders"}."""
    return [_batch(item, call, f"batches[{i}]") for i, item in enumerate(_field(body, "batches", list, call))]


def batch(call: str, body: dict) -> dict:
    """One pick batch: {"batch", "tasks", "orders"}."""
    return _batch(body, call, "")


def order(body: dict) -> dict:
    """One order with its lines."""
    _field(body, "lines", list, "order")
    return body


def upload(call: str, body: dict) -> dict:
    """An UploadOut answer: upload_id, status, part_size, part_count, integrity_header,
    parts [{number, url, method, headers}] and stored_parts [{number, size, etag}]."""
    for key, kind in (("upload_id", str), ("status", str), ("part_size", int), ("part_count", int),
                      ("integrity_header", str)):
        _field(body, key, kind, call)
    for i, part in enumerate(_field(body, "parts", list, call)):
        where = f"parts[{i}]"
        _check(part, dict, call, where)
        for key, kind in (("number", int), ("url", str), ("method", str), ("headers", dict)):
            _field(part, key, kind, call, where)
    for i, part in enumerate(_field(body, "stored_parts", list, call)):
        where = f"stored_parts[{i}]"
        _check(part, dict, call, where)
        for key, kind in (("number", int), ("size", int), ("etag", str)):
            _field(part, key, kind, call, where)
    return body


# --- the checks they are made of --------------------------------------------------------

_KINDS = {int: "an integer", str: "a string", bool: "a boolean", list: "a list", dict: "an object"}


def _check(value: Any, kind: type, call: str, where: str) -> Any:
    # bool is an int in Python, never in the contract.
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise BadResponse(f"{call}: {where} is not {_KINDS[kind]}")


def _field(obj: dict, key: str, kind: type, call: str, path: str = "", *, optional: bool = False) -> Any:
    where = f"{path}.{key}" if path else key
    if obj.get(key) is None and optional:
        return None
    if key not in obj:
        raise BadResponse(f"{call}: {where} is missing")
    return _check(obj[key], kind, call, where)


def _strings(obj: dict, key: str, call: str) -> list[str]:
    return [_check(item, str, call, f"{key}[{i}]") for i, item in enumerate(_field(obj, key, list, call))]


def _result(item: Any, path: str) -> MutationResult:
    obj = _check(item, dict, "push", path)
    status = _field(obj, "status", str, "push", path)
    if status not in ("applied", "duplicate", "rejected"):
        raise BadResponse(f"push: {path}.status {status!r} is not applied, duplicate or rejected")
    return MutationResult(_field(obj, "id", str, "push", path), status,
                          *(_field(obj, key, str, "push", path, optional=True)
                            for key in ("code", "message", "original_status")))


def _batch(item: Any, call: str, path: str) -> dict:
    obj = _check(item, dict, call, path or "the body")
    _field(obj, "batch", dict, call, path)
    for key in ("tasks", "orders"):
        for i, row in enumerate(_field(obj, key, list, call, path)):
            _check(row, dict, call, f"{path}.{key}[{i}]" if path else f"{key}[{i}]")
    return obj
