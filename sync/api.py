"""Typed httpx client of the central order API: timeouts, TLS, retries, token refresh, strict decoding."""

import logging
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable

import httpx
import orjson

from sync.feed import FeedError, PullPage, decode_page
from sync.retry import RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0

# Failures of the path between device and server, worth another try. UnsupportedProtocol and
# LocalProtocolError are the other TransportErrors: a bad base URL or a bug, never the network.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)


class ApiError(Exception):
    """Base of every failure of the order API client; str() is a message for people."""


class Offline(ApiError):
    """The order API could not be reached (network error or timeout), even after the retries."""


class ServerBusy(ApiError):
    """The order API kept answering 5xx or 429, even after the retries."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


class AuthRequired(ApiError):
    """No usable tokens: a person must sign in again."""


class RequestRefused(ApiError):
    """The order API refused the request for good (a 4xx other than 401 and 429)."""

    def __init__(self, message: str, *, status: int, code: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


class BadResponse(ApiError):
    """A success answer whose body is not JSON or not of the expected shape."""


@dataclass(frozen=True)
class Tokens:
    """An access and refresh token pair; repr never shows the tokens."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int


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


class OrderApi:
    """Typed client of the central order API."""

    def __init__(self, base_url: str, *, transport: httpx.BaseTransport | None = None, ca_bundle: str | None = None,
                 timeout: float = 30.0, retry: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep,
                 on_tokens: Callable[[Tokens], None] | None = None, user_agent: str = "floorhand") -> None:
        # TLS verification is never switched off; a corporate CA is added through a bundle.
        verify: ssl.SSLContext | bool = True if ca_bundle is None else _ssl_context(ca_bundle)
        self._timeout, self._retry, self._sleep, self._on_tokens = timeout, retry, sleep, on_tokens
        self.tokens: Tokens | None = None  # set by sign_in and refresh, or by the caller from the keyring
        self._refreshing = threading.RLock()
        self._server_date: datetime | None = None
        self._closed = False
        self._client = httpx.Client(base_url=base_url, transport=transport, verify=verify, timeout=self._timeouts(),
                                    headers={"User-Agent": user_agent, "Accept": "application/json"})

    def sign_in(self, *, device_id: str, username: str | None = None, badge: str | None = None,
                pin: str | None = None, password: str | None = None) -> Tokens:
        """Sign a person in on this device (username or badge, PIN or password)."""
        fields = {"device_id": device_id, "username": username, "badge": badge, "pin": pin, "password": password}
        response = self._send("POST", "/v1/auth/token", json={k: v for k, v in fields.items() if v is not None},
                              retry_429=False)
        if response.status_code == 429:
            # Too many failed sign-ins: the person must wait, retrying would only extend the lock.
            wait = parse_retry_after(response.headers.get("Retry-After"), self._server_date)
            message = _error_of(response)[1] or "Too many failed sign-ins; wait before trying again."
            raise RequestRefused(message, status=429, code="rate_limited", details={"retry_after": wait})
        return self._take_tokens(_tokens("sign_in", self._decode("sign_in", response, secret=True)))

    def refresh(self) -> Tokens:
        """Trade the refresh token for a new pair; AuthRequired when the server refuses it."""
        with self._refreshing:
            sent = self.tokens
            if sent is None:
                raise AuthRequired("Not signed in; sign in to continue.")
            response = self._send("POST", "/v1/auth/refresh", json={"refresh_token": sent.refresh_token})
            try:
                body = self._decode("refresh", response, secret=True)
            except AuthRequired:
                if self.tokens is sent:
                    self.tokens = None  # the server revoked or expired it: it will never work again
                raise
            return self._take_tokens(_tokens("refresh", body))

    def me(self) -> Me:
        """Who the access token belongs to."""
        body = self._authed("me", "GET", "/v1/me")
        user = _field(body, "user", dict, "me")
        return Me(user, _strings(body, "roles", "me"), _strings(body, "scope", "me"),
                  _field(body, "device_id", str, "me"))

    def pull(self, cursor: int, limit: int = 1000, wait: float = 0) -> PullPage:
        """The next page of the change feed after cursor; wait long-polls when nothing changed."""
        # The server holds a long poll open for up to `wait` seconds before it answers.
        response = self._authed_response("GET", "/v1/sync/pull",
                                         params={"cursor": cursor, "limit": limit, "wait": wait},
                                         timeout=self._timeouts(extra_read=wait))
        if not 200 <= response.status_code < 300:
            self._decode("pull", response)  # raises the error this answer stands for
        try:
            return decode_page(response.content)
        except FeedError as exc:
            raise BadResponse(f"pull: {exc}") from None

    def push(self, device_id: str, mutations: list[dict], schema_version: int = 1) -> PushOutcome:
        """Send mutations in seq order; safe to repeat, the server answers a replay with the stored result."""
        body = self._authed("push", "POST", "/v1/sync/push",
                            json={"device_id": device_id, "schema_version": schema_version, "mutations": mutations})
        results = [_result(item, f"results[{i}]") for i, item in enumerate(_field(body, "results", list, "push"))]
        if [r.id for r in results] != [m.get("id") for m in mutations]:
            # A result must never be filed against the wrong queued action.
            raise BadResponse(f"push: the {len(results)} results do not match the {len(mutations)} mutations sent")
        return PushOutcome(results, _field(body, "last_seq", int, "push"),
                           _field(body, "cursor", int, "push", optional=True))

    def claim_batches(self, ahead: int = 0) -> list[dict]:
        """Claim the pick batch in progress or the next one, plus `ahead` more for dead zones."""
        # Safe to retry: the server hands a caller back the batches it already holds.
        body = self._authed("claim_batches", "POST", "/v1/pick-batches/claim", json={"ahead": ahead})
        return [_batch(item, "claim_batches", f"batches[{i}]")
                for i, item in enumerate(_field(body, "batches", list, "claim_batches"))]

    def renew_batch(self, batch_id: int) -> dict:
        """Extend the lease of a batch this user holds; the answer is {"batch", "tasks", "orders"}."""
        return _batch(self._authed("renew_batch", "POST", f"/v1/pick-batches/{int(batch_id)}/renew"), "renew_batch", "")

    def create_upload(self, *, sku: str, filename: str, size: int, content_type: str,
                      sha256: str | None = None) -> dict:
        """Open an upload of one image for a SKU; the answer holds the part URLs (see _upload)."""
        # A retried create may leave a second, unused upload open on the server; it expires there.
        fields = {"sku": sku, "filename": filename, "size": size, "content_type": content_type, "sha256": sha256}
        body = self._authed("create_upload", "POST", "/v1/uploads",
                            json={k: v for k, v in fields.items() if v is not None})
        return self._upload("create_upload", body)

    def get_upload(self, upload_id: str) -> dict:
        """The upload with fresh URLs for the parts not stored yet, and the parts the store holds."""
        return self._upload("get_upload", self._authed("get_upload", "GET", self._upload_path(upload_id)))

    def complete_upload(self, upload_id: str, *, sha256: str, parts: list[dict] | None = None) -> dict:
        """Have the server join the parts and check the file's SHA-256; safe to repeat."""
        payload: dict[str, Any] = {"sha256": sha256}
        if parts is not None:
            payload["parts"] = parts
        body = self._authed("complete_upload", "POST", self._upload_path(upload_id) + "/complete", json=payload)
        return self._upload("complete_upload", body)

    def abort_upload(self, upload_id: str) -> None:
        """Abort an upload so the store drops its parts; aborting twice is not an error."""
        response = self._authed_response("DELETE", self._upload_path(upload_id))
        if response.status_code != 204:  # the answer has no body; anything else is an error
            self._decode("abort_upload", response)

    @staticmethod
    def _upload_path(upload_id: str) -> str:
        # The id comes from the server; it must never turn the path into another route.
        if not upload_id or not all(c.isalnum() or c == "-" for c in upload_id):
            raise ValueError(f"Not an upload id: {upload_id!r}")
        return f"/v1/uploads/{upload_id}"

    @staticmethod
    def _upload(call: str, body: dict) -> dict:
        """Check an UploadOut answer: upload_id, status, part_size, part_count, integrity_header,
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

    def server_time(self) -> datetime | None:
        """The server's clock from the Date header of the last response, if there was one."""
        return self._server_date

    def close(self) -> None:
        """Close the connections; a call still in flight (a long poll) ends with Offline at once."""
        self._closed = True
        self._client.close()

    def __enter__(self) -> "OrderApi":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _timeouts(self, extra_read: float = 0.0) -> httpx.Timeout:
        return httpx.Timeout(self._timeout, connect=min(CONNECT_TIMEOUT, self._timeout),
                             read=self._timeout + extra_read)

    def _take_tokens(self, tokens: Tokens) -> Tokens:
        self.tokens = tokens
        if self._on_tokens is not None:
            self._on_tokens(tokens)
        return tokens

    def _authed(self, call: str, method: str, path: str, **request: Any) -> dict:
        """One call with the access token, its JSON answer decoded."""
        return self._decode(call, self._authed_response(method, path, **request))

    def _authed_response(self, method: str, path: str, **request: Any) -> httpx.Response:
        """One call with the access token; on 401 refresh once and try again."""
        sent = self.tokens
        if sent is None:
            raise AuthRequired("Not signed in; sign in to continue.")
        response = self._send(method, path, token=sent.access_token, **request)
        if response.status_code == 401:
            with self._refreshing:
                # Another thread may have refreshed while this call was out: use its tokens.
                if self.tokens is sent:
                    self.refresh()
                fresh = self.tokens
            if fresh is None:
                raise AuthRequired("Not signed in; sign in to continue.")
            response = self._send(method, path, token=fresh.access_token, **request)
        return response

    def _send(self, method: str, path: str, *, token: str | None = None, retry_429: bool = True,
              **request: Any) -> httpx.Response:
        """Send one request, retrying transient failures; any other answer is returned as is."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        attempts = max(1, self._retry.attempts)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._client.request(method, path, headers=headers, **request)
            except _TRANSIENT as exc:
                if self._closed:
                    raise Offline("The order API client was closed.") from exc
                log.warning("%s %s failed (attempt %d of %d): %s", method, path, attempt + 1, attempts, _reason(exc))
                if _untrusted_certificate(exc):
                    raise Offline(f"The order API's TLS certificate is not trusted ({_reason(exc)}); "
                                  "if the company uses its own CA, set the CA bundle setting.") from exc
                if last:
                    raise Offline(f"Cannot reach the order API ({_reason(exc)}) after {attempts} attempts.") from exc
                self._sleep(self._retry.wait(attempt))
                continue
            except httpx.TransportError as exc:
                if self._closed:
                    raise Offline("The order API client was closed.") from exc
                raise ApiError(f"Cannot send {method} {path}: {_reason(exc)}") from exc
            self._server_date = http_date(response.headers.get("Date")) or self._server_date
            status = response.status_code
            if status < 500 and not (status == 429 and retry_429):
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._server_date)
            log.warning("%s %s answered HTTP %d (attempt %d of %d)", method, path, status, attempt + 1, attempts)
            if last:
                raise ServerBusy(f"The order API is busy or failing (HTTP {status}) after {attempts} attempts.",
                                 status=status, retry_after=retry_after)
            self._sleep(self._retry.wait(attempt, retry_after))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _decode(self, call: str, response: httpx.Response, *, secret: bool = False) -> dict:
        """The JSON object of a 2xx answer, else the error it stands for.

        With secret (sign-in, refresh) the error details are dropped: a server that echoes
        the request in its validation details would otherwise put a PIN into a message.
        """
        status = response.status_code
        if 200 <= status < 300:
            try:
                # orjson: an initial sync decodes hundreds of thousands of rows
                # (docs/benchmarks.md); its errors are ValueErrors like the stdlib's.
                body = orjson.loads(response.content)
            except ValueError as exc:
                kind = response.headers.get("Content-Type", "no content type")
                raise BadResponse(f"{call}: the body is not JSON ({kind}: {exc})") from None
            return _check(body, dict, call, "the body")
        code, message, details = _error_of(response)
        if status == 401:
            raise AuthRequired(message or "The order API asks for a new sign-in.")
        if status < 400:
            raise BadResponse(f"{call}: unexpected HTTP {status} (to {response.headers.get('Location', '?')})")
        raise RequestRefused(message or f"The order API refused {call} (HTTP {status} {response.reason_phrase}).",
                             status=status, code=code or f"http_{status}", details=None if secret else details)


def _ssl_context(ca_bundle: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise ApiError(f"The CA bundle {ca_bundle!r} cannot be used: {exc}") from exc


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _untrusted_certificate(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def http_date(value: str | None) -> datetime | None:
    """An HTTP Date header as an aware datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _error_of(response: httpx.Response) -> tuple[str | None, str | None, Any]:
    """(code, message, details) of the server's {"error": {...}} body; Nones when it is not that shape."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None, None, None
    if not (isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str)):
        return None, None, None
    return error["code"], error["message"], error.get("details")


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


def _tokens(call: str, body: dict) -> Tokens:
    return Tokens(_field(body, "access_token", str, call), _field(body, "refresh_token", str, call),
                  _field(body, "expires_in", int, call))


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
