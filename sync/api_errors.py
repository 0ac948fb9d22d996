"""What can go wrong in a call to the order API: one exception per kind; str() is a message for people."""

from typing import Any


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


class SessionChanged(ApiError):
    """Someone else signed in (or the person signed out) while the call was out: its answer is not theirs."""


class RequestRefused(ApiError):
    """The order API refused the request for good (a 4xx other than 401 and 429)."""

    def __init__(self, message: str, *, status: int, code: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


class DeviceRefused(RequestRefused):
    """The order API does not accept this device: unknown, wrong credential (device_unknown) or revoked."""


class BadResponse(ApiError):
    """A success answer whose body is not JSON or not of the expected shape."""
