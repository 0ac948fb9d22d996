"""Secret hashing (scrypt) and opaque bearer tokens."""

import base64
import hashlib
import hmac
import secrets

# RFC 7914 parameters; ~50 ms and 16 MiB per hash on a desktop CPU.
_N, _R, _P = 2**14, 8, 1


def hash_secret(secret: str) -> str:
    """Hash a PIN or password with a random salt; the result is safe to store."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "scrypt${}${}${}${}${}".format(
        _N, _R, _P, base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    )


def verify_secret(secret: str, stored: str | None) -> bool:
    """Constant-time check of a secret against a stored scrypt hash."""
    if not stored:
        return False
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        actual = hashlib.scrypt(secret.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def new_token() -> str:
    """An opaque random bearer token."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()
