"""User administration: list and create accounts."""

from fastapi import APIRouter, Depends
from sqlalchemy import select

from order_api.context import ApiContext, Caller
from order_api.deps import get_ctx, require_roles
from order_api.errors import ApiError
from order_api.models import User
from order_api.schemas import UserCreate, UserOut
from order_api.security import hash_secret

router = APIRouter(prefix="/v1/users", tags=["users"])


def _out(user: User) -> UserOut:
    return UserOut(id=user.id, username=user.username, display_name=user.display_name,
                   roles=sorted(user.role_set), badge=user.badge)


@router.get("", response_model=list[UserOut])
def list_users(caller: Caller = Depends(require_roles("supervisor", "admin")),
               ctx: ApiContext = Depends(get_ctx)) -> list[UserOut]:
    """Every account, without secrets."""
    with ctx.db.read() as s:
        return [_out(u) for u in s.execute(select(User).order_by(User.id)).scalars()]


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, caller: Caller = Depends(require_roles("admin")),
                ctx: ApiContext = Depends(get_ctx)) -> UserOut:
    """Create an account with a PIN and/or password (stored only as scrypt hashes)."""
    if body.pin is None and body.password is None:
        raise ApiError(422, "invalid_request", "Give a pin, a password or both.")
    pin_hash = hash_secret(body.pin) if body.pin else None
    password_hash = hash_secret(body.password) if body.password else None
    with ctx.write() as s:
        clash = s.execute(select(User.id).where(
            (User.username == body.username) | ((User.badge == body.badge) & (User.badge.is_not(None))))).first()
        if clash is not None:
            raise ApiError(409, "conflict", "That username or badge is taken.")
        user = User(username=body.username, display_name=body.display_name, roles=" ".join(body.roles),
                    badge=body.badge, pin_hash=pin_hash, password_hash=password_hash)
        s.add(user)
        s.flush()
        return _out(user)
