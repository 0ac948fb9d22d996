"""TLS of every connection to the order API: verification always on, a corporate CA bundle when one is set.

The sync client (sync.api.OrderApi) and `floorhand doctor` both connect through
http_client, so a CA bundle that works for one works for the other.
"""

import ssl

import httpx

from sync.api_errors import ApiError


class CaBundleUnusable(ApiError):
    """The CA bundle setting names a file that cannot be read or holds no CA certificate."""

    def __init__(self, path: str, reason: Exception) -> None:
        super().__init__(f"The CA bundle {path!r} cannot be used: {reason}")
        self.path, self.reason = path, reason


def verification(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """What the server's certificate is verified with: the system CAs (None), or the CAs of a PEM bundle."""
    # Never False: TLS verification is not switched off; a corporate CA is added through a bundle.
    if ca_bundle is None:
        return True
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise CaBundleUnusable(ca_bundle, exc) from exc


def http_client(base_url: str, *, ca_bundle: str | None, timeout: httpx.Timeout, user_agent: str,
                transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client of the order API at base_url; raises CaBundleUnusable for a bundle that cannot be used."""
    return httpx.Client(base_url=base_url, transport=transport, verify=verification(ca_bundle), timeout=timeout,
                        headers={"User-Agent": user_agent, "Accept": "application/json"})


def untrusted_certificate(exc: BaseException) -> bool:
    """Whether a connection failed because the server's certificate is not trusted (anywhere in exc's chain)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
