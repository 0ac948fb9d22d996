"""Typed httpx client of the central order API: timeouts, TLS, retries, token refresh, strict decoding.

The errors it raises are in sync.api_errors (and importable from here), the typed answers
and their checks in sync.answers, the TLS set-up in sync.tls.
"""

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable

import httpx

from sync import answers
from sync.answers import Me, PushOutcome, SignInAnswer, Tokens
from sync.api_errors import (ApiError, AuthRequired, BadResponse, DeviceRefused, Offline, RequestRefused, ServerBusy,
                             SessionChanged)
from sync.device import DeviceCredential
from sync.feed import FeedError, PullPage, decode_page
from sync.retry import RetryPolicy, parse_retry_after
from sync.tls import http_client, untrusted_certificate

# The errors are part of this client's interface: callers catch them as sync.api's.
__all__ = ["CONNECT_TIMEOUT", "DEVICE_HEADER", "QUICK", "ApiError", "AuthRequired", "BadResponse", "DeviceRefused",
           "Offline", "OrderApi", "PersonSession", "RequestRefused", "ServerBusy", "SessionChanged"]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
# The header that names the calling device and carries its credential: "<device id> <secret>".
DEVICE_HEADER = "Floorhand-Device"
# A call that must answer quickly or not at all (Start while the engine knows it is offline).
QUICK = httpx.Timeout(2.0)

# Failures of the path between device and server, worth another try. UnsupportedProtocol and
# LocalProtocolError are the other TransportErrors: a bad base URL or a bug, never the network.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)


@dataclass(frozen=True)
class PersonSession:
    """Whose session with the order API this client holds.

    The generation changes with every sign-in, switch and sign-out: an answer that arrives
    for an older generation belongs to someone who is no longer here and is dropped.
    tokens is None after an offline sign-in until the ticket (an offline sign-in kept
    sealed under the person's PIN) is exchanged for a session once the server answers.
    """

    owner: str
    generation: int
    tokens: Tokens | None = field(default=None, repr=False)
    ticket: str | None = field(default=None, repr=False)


class OrderApi:
    """Typed client of the central order API."""

    def __init__(self, base_url: str, *, transport: httpx.BaseTransport | None = None, ca_bundle: str | None = None,
                 timeout: float = 30.0, retry: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep,
                 user_agent: str = "floorhand") -> None:
        self._timeout, self._retry, self._sleep = timeout, retry, sleep
        # Every call carries it once the device is registered (sync/device.py).
        self.device: DeviceCredential | None = None
        # Who the session belongs to, swapped whole under _hold (see PersonSession).
        self._hold = threading.Lock()
        self._person: PersonSession | None = None
        self._generation = 0
        self._session_listeners: list[Callable[[PersonSession | None], None]] = []
        self._refreshing = threading.Lock()  # one renewal at a time; the others use its tokens
        self._server_date: datetime | None = None
        self._closed = False
        # TLS verification is never switched off; a corporate CA is added through a bundle (sync.tls).
        self._client = http_client(base_url, ca_bundle=ca_bundle, timeout=self._timeouts(), user_agent=user_agent,
                                   transport=transport)

    @property
    def retry(self) -> RetryPolicy:
        """How often a call is tried for transient failures (the engine retries pushes itself with it)."""
        return self._retry

    # --- whose session --------------------------------------------------------------------

    @property
    def person(self) -> PersonSession | None:
        """The session the client holds now, or None when nobody is signed in."""
        return self._person

    @property
    def tokens(self) -> Tokens | None:
        person = self._person
        return person.tokens if person is not None else None

    def install(self, owner: str, tokens: Tokens | None = None, ticket: str | None = None) -> PersonSession:
        """Hand the client to `owner` (a sign-in or a switch); whatever was in flight for the previous one is dropped."""
        with self._hold:
            self._generation += 1
            person = self._person = PersonSession(owner, self._generation, tokens, ticket)
        self._announce(person)
        return person

    def clear(self) -> PersonSession | None:
        """Sign-out: nobody's session any more; returns the one that ended (its tokens are to be revoked)."""
        with self._hold:
            ended, self._person = self._person, None
            self._generation += 1
        self._announce(None)
        return ended

    def on_session(self, listener: Callable[[PersonSession | None], None]) -> None:
        """listener(person) after every install, clear and renewal, on the thread that made it."""
        self._session_listeners.append(listener)

    def _announce(self, person: PersonSession | None) -> None:
        for listener in self._session_listeners:
            listener(person)

    def _keep_renewed(self, person: PersonSession, tokens: Tokens | None, ticket: str | None) -> bool:
        """Store renewed tokens if `person` is still the one signed in; False when they came too late."""
        with self._hold:
            current = self._person
            if current is None or current.generation != person.generation:
                return False
            renewed = self._person = replace(current, tokens=tokens, ticket=ticket)
        self._announce(renewed)
        return True

    # --- signing in ---------------------------------------------------------------------------

    def request_tokens(self, *, device_id: str, username: str | None = None, badge: str | None = None,
                       pin: str | None = None, password: str | None = None, device_name: str | None = None,
                       app_version: str | None = None) -> SignInAnswer:
        """Sign a person in on this device; nothing changes here until the caller install()s the answer.

        A device not registered yet is registered by this call: the answer then holds its credential.
        """
        fields = {"device_id": device_id, "username": username, "badge": badge, "pin": pin, "password": password,
                  "device_name": device_name, "app_version": app_version}
        response = self._send("POST", "/v1/auth/token", json={k: v for k, v in fields.items() if v is not None},
                              retry_429=False)
        if response.status_code == 429:
            # Too many failed sign-ins: the person must wait, retrying would only extend the lock.
            wait = parse_retry_after(response.headers.get("Retry-After"), self._server_date)
            message = answers.error_of(response)[1] or "Too many failed sign-ins; wait before trying again."
            raise RequestRefused(message, status=429, code="rate_limited", details={"retry_after": wait})
        return answers.sign_in(self._decode("sign_in", response, secret=True))

    def redeem_ticket(self, ticket: str) -> Tokens:
        """A session for the person of an offline sign-in, from the ticket this device kept sealed for them."""
        response = self._send("POST", "/v1/auth/ticket", json={"ticket": ticket})
        return answers.tokens("ticket", self._decode("ticket", response, secret=True))

    def me(self, tokens: Tokens | None = None) -> Me:
        """Who the access token belongs to (`tokens`, or the session's)."""
        if tokens is not None:
            body = self._decode("me", self._send("GET", "/v1/me", token=tokens.access_token))
        else:
            body = self._authed("me", "GET", "/v1/me")
        return answers.me(body)

    def sign_out_remote(self, tokens: Tokens) -> None:
        """End a session on the server (every session of that sign-in); raises ApiError when it did not go through."""
        response = self._send("POST", "/v1/auth/sign-out", token=tokens.access_token)
        if response.status_code not in (200, 204):
            self._decode("sign_out", response)

    def refresh(self) -> Tokens:
        """Trade the session's refresh token for a new pair now; AuthRequired when the server refuses it."""
        person = self._person
        if person is None:
            raise AuthRequired("Not signed in; sign in to continue.")
        return self._renew(person, person.tokens)

    def _renew(self, person: PersonSession, stale: Tokens | None) -> Tokens:
        """Fresh tokens for `person`: refreshed, or from the offline ticket; never another person's.

        Raises SessionChanged when someone else signed in (or out) meanwhile: the caller's call
        was made for a person who is no longer here and must not be repeated with new tokens.
        """
        with self._refreshing:
            current = self._person
            if current is None or current.generation != person.generation:
                raise SessionChanged("Someone else signed in on this device meanwhile.")
            if current.tokens is not None and current.tokens is not stale:
                return current.tokens  # another thread renewed them while this one waited
            tokens, ticket = None, current.ticket
            if current.tokens is not None:
                try:
                    tokens = self._refresh_call(current.tokens.refresh_token)
                except AuthRequired:
                    if ticket is None:
                        self._keep_renewed(current, None, None)  # never valid again
                        raise
            if tokens is None:
                if ticket is None:
                    raise AuthRequired("Not signed in to the server; sign in to continue.")
                try:
                    tokens = self.redeem_ticket(ticket)
                except AuthRequired:
                    self._keep_renewed(current, None, None)  # the server no longer honours it
                    raise
            if not self._keep_renewed(current, tokens, ticket):
                # Signed out or switched while the answer was on its way: nobody may use it.
                self._revoke_quietly(tokens)
                raise SessionChanged("Someone else signed in on this device meanwhile.")
            return tokens

    def _refresh_call(self, refresh_token: str) -> Tokens:
        response = self._send("POST", "/v1/auth/refresh", json={"refresh_token": refresh_token})
        return answers.tokens("refresh", self._decode("refresh", response, secret=True))

    def _revoke_quietly(self, tokens: Tokens) -> None:
        try:
            self.sign_out_remote(tokens)
        except ApiError as exc:
            log.info("a session that came too late could not be ended on the server: %s", exc)

    # --- devices ------------------------------------------------------------------------------

    def recover_device(self, device_id: str, code: str) -> str:
        """A new credential for device_id from a supervisor's recovery code."""
        response = self._send("POST", f"/v1/devices/{_path_part(device_id)}/recover", json={"code": code},
                              retry_429=False)
        return answers.device_secret("recover_device", self._decode("recover_device", response, secret=True))

    def devices(self) -> list[dict]:
        """Every device the server knows, most recently seen first (supervisors)."""
        body = self._decode("devices", self._authed_response("GET", "/v1/devices"), expect_list=True)
        return answers.rows("devices", body)

    def revoke_device(self, device_id: str) -> dict:
        """Take a device out of service (a lost handheld): its calls are refused from now on."""
        return self._authed("revoke_device", "POST", f"/v1/devices/{_path_part(device_id)}/revoke")

    def recovery_code(self, device_id: str) -> dict:
        """A one-time code that puts the device's data folder back in service: {device_id, code, expires_in}."""
        return self._authed("recovery_code", "POST", f"/v1/devices/{_path_part(device_id)}/recovery-code")

    def pull(self, cursor: int, limit: int = 1000, wait: float = 0, audiences: list[str] | tuple[str, ...] = ()
             ) -> PullPage:
        """The next page of the change feed after cursor (of `audiences`, else all the person's);
        wait long-polls when nothing changed."""
        params: dict[str, Any] = {"cursor": cursor, "limit": limit, "wait": wait}
        if audiences:
            params["audiences"] = ",".join(audiences)
        # The server holds a long poll open for up to `wait` seconds before it answers.
        response = self._authed_response("GET", "/v1/sync/pull", params=params,
                                         timeout=self._timeouts(extra_read=wait))
        if not 200 <= response.status_code < 300:
            self._decode("pull", response)  # raises the error this answer stands for
        try:
            return decode_page(response.content)
        except FeedError as exc:
            raise BadResponse(f"pull: {exc}") from None

    def push(self, device_id: str, mutations: list[dict], schema_version: int = 1,
             attempts: int | None = None) -> PushOutcome:
        """Send mutations in seq order; safe to repeat, the server answers a replay with the stored result.

        attempts (default: the retry policy's) lets the engine retry between attempts itself.
        """
        body = self._authed("push", "POST", "/v1/sync/push", attempts=attempts,
                            json={"device_id": device_id, "schema_version": schema_version, "mutations": mutations})
        return answers.push_outcome(body, mutations)

    def claim_batches(self, ahead: int = 0, quick: bool = False) -> list[dict]:
        """Claim the pick batch in progress or the next one, plus `ahead` more for dead zones.

        quick: one short attempt (QUICK), for when the network is known to be down: the picker
        goes on with the batch on the device instead of waiting out every retry.
        """
        # Safe to retry: the server hands a caller back the batches it already holds.
        extra = {"attempts": 1, "timeout": QUICK} if quick else {}
        body = self._authed("claim_batches", "POST", "/v1/pick-batches/claim", json={"ahead": ahead}, **extra)
        return answers.batches("claim_batches", body)

    def renew_batch(self, batch_id: int) -> dict:
        """Extend the lease of a batch this user holds; the answer is {"batch", "tasks", "orders"}."""
        body = self._authed("renew_batch", "POST", f"/v1/pick-batches/{int(batch_id)}/renew")
        return answers.batch("renew_batch", body)

    def order(self, order_id: int) -> dict:
        """One order with its lines, as the server has it now (within the person's scope)."""
        return answers.order(self._authed("order", "GET", f"/v1/orders/{int(order_id)}"))

    def parcel_label(self, ref: str) -> bytes | None:
        """The ZPL label of a parcel by the packing device's own id for it; None while the server has no such
        parcel (its pack.confirm not applied yet, or the parcels opened again)."""
        response = self._authed_response("POST", f"/v1/parcels/by-ref/{_path_part(ref)}/label",
                                         params={"format": "zpl"})
        if response.status_code == 404:
            return None
        if 200 <= response.status_code < 300:
            return response.content
        self._decode("parcel_label", response)  # raises what the error stands for
        raise BadResponse(f"parcel_label: unexpected HTTP {response.status_code}")

    def create_upload(self, *, sku: str, filename: str, size: int, content_type: str,
                      sha256: str | None = None) -> dict:
        """Open an upload of one image for a SKU; the answer holds the part URLs (see _upload)."""
        # A retried create may leave a second, unused upload open on the server; it expires there.
        fields = {"sku": sku, "filename": filename, "size": size, "content_type": content_type, "sha256": sha256}
        body = self._authed("create_upload", "POST", "/v1/uploads",
                            json={k: v for k, v in fields.items() if v is not None})
        return answers.upload("create_upload", body)

    def get_upload(self, upload_id: str) -> dict:
        """The upload with fresh URLs for the parts not stored yet, and the parts the store holds."""
        return answers.upload("get_upload", self._authed("get_upload", "GET", self._upload_path(upload_id)))

    def complete_upload(self, upload_id: str, *, sha256: str, parts: list[dict] | None = None) -> dict:
        """Have the server join the parts and check the file's SHA-256; safe to repeat."""
        payload: dict[str, Any] = {"sha256": sha256}
        if parts is not None:
            payload["parts"] = parts
        body = self._authed("complete_upload", "POST", self._upload_path(upload_id) + "/complete", json=payload)
        return answers.upload("complete_upload", body)

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

    def _authed(self, call: str, method: str, path: str, **request: Any) -> dict:
        """One call with the access token, its JSON answer decoded."""
        return self._decode(call, self._authed_response(method, path, **request))

    def _authed_response(self, method: str, path: str, **request: Any) -> httpx.Response:
        """One call with the session's access token; on 401 renew once (refresh or ticket) and try again."""
        person = self._person
        if person is None:
            raise AuthRequired("Not signed in; sign in to continue.")
        tokens = person.tokens if person.tokens is not None else self._renew(person, None)
        response = self._send(method, path, token=tokens.access_token, **request)
        if response.status_code == 401:
            tokens = self._renew(person, tokens)
            response = self._send(method, path, token=tokens.access_token, **request)
        return response

    def _send(self, method: str, path: str, *, token: str | None = None, retry_429: bool = True,
              attempts: int | None = None, **request: Any) -> httpx.Response:
        """Send one request, retrying transient failures; any other answer is returned as is."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        device = self.device
        if device is not None:
            headers[DEVICE_HEADER] = f"{device.device_id} {device.secret}"
        attempts = max(1, self._retry.attempts if attempts is None else attempts)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._client.request(method, path, headers=headers, **request)
            except _TRANSIENT as exc:
                if self._closed:
                    raise Offline("The order API client was closed.") from exc
                log.warning("%s %s failed (attempt %d of %d): %s", method, path, attempt + 1, attempts, _reason(exc))
                if untrusted_certificate(exc):
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
            self._server_date = answers.http_date(response.headers.get("Date")) or self._server_date
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

    def _decode(self, call: str, response: httpx.Response, *, secret: bool = False, expect_list: bool = False) -> Any:
        """The JSON object of a 2xx answer, else the error it stands for.

        With secret (sign-in, refresh) the error details are dropped: a server that echoes
        the request in its validation details would otherwise put a PIN into a message.
        """
        status = response.status_code
        if 200 <= status < 300:
            return answers.json_body(call, response, expect_list=expect_list)
        code, message, details = answers.error_of(response)
        if status == 401:
            raise AuthRequired(message or "The order API asks for a new sign-in.")
        if code in ("device_unknown", "device_revoked"):
            raise DeviceRefused(message or "The order API does not accept this device.", status=status, code=code,
                                details=None if secret else details)
        if status < 400:
            raise BadResponse(f"{call}: unexpected HTTP {status} (to {response.headers.get('Location', '?')})")
        raise RequestRefused(message or f"The order API refused {call} (HTTP {status} {response.reason_phrase}).",
                             status=status, code=code or f"http_{status}", details=None if secret else details)


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _path_part(value: str) -> str:
    # An id from the journal or a person must never turn the path into another route.
    if not value or not all(c.isalnum() or c in "._:-" for c in value):
        raise ValueError(f"Not a device id: {value!r}")
    return value
