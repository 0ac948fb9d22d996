"""The people of a seed: one user per role, with well-known PINs for trying the system out.

Badges read "U0001": "U" and the user's id in four digits, as encoded on the staff card.
"""

from order_api.security import hash_secret

# username, display name, roles, PIN, password (None: PIN only)
STAFF = (
    ("anna", "Anna Berg", "picker", "1111", None),
    ("ben", "Ben Okafor", "packer", "2222", None),
    ("chloe", "Chloe Martin", "photographer", "3333", None),
    ("sam", "Sam Keller", "supervisor", "4444", None),
    ("ada", "Ada Lindqvist", "admin", "9999", "floorhand-admin"),
)


def badge(user_id: int) -> str:
    return f"U{user_id:04d}"


def users() -> list[dict]:
    """User rows with hashed secrets; hashing takes ~50 ms a secret (scrypt)."""
    return [
        {"id": n, "username": username, "display_name": name, "roles": roles, "badge": badge(n),
         "pin_hash": hash_secret(pin), "password_hash": hash_secret(password) if password else None,
         "active": True}
        for n, (username, name, roles, pin, password) in enumerate(STAFF, start=1)
    ]


def user_id(username: str) -> int:
    """The id users() gives this username."""
    return next(n for n, row in enumerate(STAFF, start=1) if row[0] == username)
