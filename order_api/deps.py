"""FastAPI dependencies: the app context, the authenticated caller, role checks."""

from datetime import datetime, timezone

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from order_api.context import ApiContext, Caller
from order_api.errors import ApiError
from order_api.models import AuthSession
from order_api.security import token_digest

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /v1/auth/token")

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def get_ctx(request: Request) -> ApiContext:
    return request.app.state.ctx


def get_caller(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Caller:
    """Resolve the bearer token to a caller, or answer 401."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "A bearer access token is required.", headers=_UNAUTHORIZED)
    ctx: ApiContext = request.app.state.ctx
    with ctx.db.read() as s:
        row = s.execute(
            select(AuthSession).where(AuthSession.access_hash == token_digest(creds.credentials))
        ).scalar_one_or_none()
        if row is None or row.revoked or not row.user.active:
            raise ApiError(401, "invalid_token", "The access token is not valid.", headers=_UNAUTHORIZED)
        if aware(row.access_expires) <= datetime.now(timezone.utc):
            raise ApiError(401, "token_expired", "The access token has expired; refresh it.", headers=_UNAUTHORIZED)
        return Caller.of(row.user, row.device_id, row.id)


def aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything the server stores is UTC.
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def require_roles(*roles: str):
    """Dependency factory: the caller must hold one of these roles."""

    def check(caller: Caller = Depends(get_caller)) -> Caller:
        if not caller.roles.intersection(roles):
            raise ApiError(403, "forbidden", f"This needs one of the roles: {', '.join(roles)}.")
        return caller

    return check

