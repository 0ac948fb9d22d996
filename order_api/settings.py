"""Server settings, built by the CLI or by tests."""

import secrets
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServerSettings:
    """Everything the reference API needs to run; defaults suit a demo on loopback."""

    db_url: str = "sqlite:///floorhand-api.db"
    blob_store: str = "fs:./blobs"
    public_url: str | None = None  # base URL clients use to reach the fs part routes
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    access_ttl_s: int = 15 * 60
    refresh_ttl_s: int = 30 * 24 * 3600
    lease_s: int = 30 * 60
    tombstone_retention_s: int = 14 * 24 * 3600
    upload_part_size: int = 16 * 1024 * 1024
    upload_url_ttl_s: int = 3600
    scrub_rate_mb_s: float = 20.0  # how fast the scrub reads stored images back (order_api/scrub.py); 0: off
    scrub_recheck_s: int = 30 * 24 * 3600  # a verified image is read back again after this long
    max_body_bytes: int = 2 * 1024 * 1024
    max_push_mutations: int = 1000
    max_pull_limit: int = 5000
    max_wait_s: float = 30.0
    # Sign-in throttle (order_api/throttle.py): per person and source, and per client address.
    login_attempts: int = 5  # failures of one bucket before each further failure locks it
    login_lock_base_s: int = 30  # the first lock; it doubles with each further failure
    login_lock_max_s: int = 3600
    login_forget_s: int = 24 * 3600  # a bucket's failures are forgotten after this long without one
    login_address_attempts: int = 100  # failures of untrusted sign-ins from one address per window
    login_address_window_s: int = 900
    offline_ticket_ttl_s: int = 14 * 24 * 3600
    recovery_ttl_s: int = 3600
