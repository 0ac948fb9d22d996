"""Secret hashing (scrypt) and opaque bearer tokens."""

import base64
import hashlib
import hmac
import secrets

# RFC 7914 parameters; ~50 ms and 16 MiB per hash on a desktop CPU.
_N, _R, _P = 2**14, 8, 1


def _encode(salt: bytes, digest: bytes) -> str:
    return "scrypt${}${}${}${}${}".format(
        _N, _R, _P, base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    )


def hash_secret(secret: str) -> str:
    """Hash a PIN or password with a random salt; the result is safe to store."""
    salt = secrets.token_bytes(16)
    return _encode(salt, hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32))


# Checked instead when there is no hash to check (unknown or disabled user, no PIN set), so
# that such a sign-in costs the same scrypt work as a real one and its timing tells
# nothing. Random salt and digest with the real parameters: no secret matches it, and
# making it costs no scrypt call.
_DUMMY_HASH = _encode(secrets.token_bytes(16), secrets.token_bytes(32))


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


def verify_sign_in(secret: str, stored: str | None) -> bool:
    """Check a sign-in secret with exactly one scrypt call, also when there is no stored hash."""
    if not stored or not stored.startswith("scrypt$"):
        verify_secret(secret, _DUMMY_HASH)
        return False
    return verify_secret(secret, stored)


def new_token() -> str:
    """An opaque random bearer token."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def digests_match(secret: str, stored_digest: str | None) -> bool:
    """Constant-time check of a secret against a stored token_digest; False when nothing is stored."""
    if not stored_digest:
        return False
    return hmac.compare_digest(token_digest(secret), stored_digest)
