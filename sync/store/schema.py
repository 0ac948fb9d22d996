"""Tables of the two local database files.

The journal file holds what only this device knows and can never be re-downloaded: the
outbox, sync state, rejected mutations, the upload journal, the audit log, offline
sign-in verifiers and the print spool. The replica file holds server state from the pull
feed, which can be rebuilt from the server at any time; keeping them apart means a damaged
cache never costs queued work (ARCHITECTURE.md §3).
"""

from sqlalchemy import (JSON, BigInteger, CheckConstraint, Column, Index, Integer, LargeBinary, MetaData, String, Table,
                        Text)

journal = MetaData()
replica = MetaData()

outbox = Table(
    "outbox", journal,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("id", String(36), nullable=False, unique=True),
    Column("name", String(48), nullable=False),
    Column("args", JSON, nullable=False),
    Column("user", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    # pending: not yet acknowledged; acked: applied by the server, its effects not yet
    # pulled (ack_cursor says from where they show); done: visible in the replica.
    Column("state", String(8), nullable=False, default="pending"),
    Column("ack_cursor", BigInteger),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Index("ix_outbox_state_seq", "state", "seq"),
    # The local view reads mutations acked after the replica's cursor through this index.
    Index("ix_outbox_ack_cursor", "ack_cursor"),
)

sync_state = Table(
    "sync_state", journal,
    Column("key", String(32), primary_key=True),
    Column("value", Text, nullable=False),
)

rejected = Table(
    "rejected", journal,
    Column("id", String(36), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("name", String(48), nullable=False),
    Column("args", JSON, nullable=False),
    Column("user", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("code", String(48), nullable=False),
    Column("message", Text, nullable=False),
    Column("rejected_at", String(40), nullable=False),
    Column("resolved_by", String(64)),
    Column("resolved_at", String(40)),
)

audit_log = Table(
    "audit_log", journal,
    Column("id", Integer, primary_key=True),
    Column("at", String(40), nullable=False),
    Column("user", String(64)),
    Column("action", String(48), nullable=False),
    Column("detail", JSON),
    Index("ix_audit_log_at", "at"),  # trimmed by age (Outbox.trim)
)

signin_verifiers = Table(
    "signin_verifiers", journal,
    Column("username", String(64), primary_key=True),
    Column("badge", String(64), index=True),
    Column("user", JSON, nullable=False),  # id, display name, roles as /v1/me gave them
    # scrypt of the PIN keyed with the device's local key (sync/signin.py); never the PIN
    Column("verifier", String(256), nullable=False),
    Column("signed_in_online_at", String(40), nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_until", String(40)),
    # The order API's offline ticket for this person on this device, sealed under PIN and local key.
    Column("ticket", Text),
    Column("ticket_expires", String(40)),
)

upload_files = Table(
    "upload_files", journal,
    Column("id", Integer, primary_key=True),
    Column("path", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("sha256", String(64)),
    Column("sku", String(32), nullable=False),
    Column("state", String(16), nullable=False, default="queued"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("queued_at", String(40), nullable=False),
)

upload_sessions = Table(
    "upload_sessions", journal,
    Column("file_id", Integer, primary_key=True),
    Column("upload_id", String(64), nullable=False, unique=True),
    Column("part_size", BigInteger, nullable=False),
    Column("part_count", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
)

upload_parts = Table(
    "upload_parts", journal,
    Column("file_id", Integer, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(128), nullable=False),
)

# The print spool of the station (sync/print_spool.py). The id is the packing order: labels
# print strictly in id order. AUTOINCREMENT so an id is never used twice (reprint_of
# points at earlier jobs). `state` is one of sync.print_spool's states; a job is set to
# `sending` in a synced commit before its bytes go to the printer, so one found in
# `sending` at start may have printed and waits for a person's decision.
print_jobs = Table(
    "print_jobs", journal,
    Column("id", Integer, primary_key=True),
    Column("printer", String(200), nullable=False),  # the station's printer setting it went to (or goes to)
    Column("kind", String(16), nullable=False),  # "label"
    Column("parcel_ref", String(64), nullable=False),  # the client's id of the parcel
    Column("order_number", String(64)),
    Column("parcel_no", Integer),
    Column("user_id", String(64), nullable=False),  # who packed (or asked for the reprint)
    Column("state", String(16), nullable=False),
    Column("data", LargeBinary),  # the label's bytes once fetched
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_try_at", String(40)),
    Column("problem", String(32)),  # code of the last failure (a printer's "paper_out", "label_not_ready", ...)
    Column("created_at", String(40), nullable=False),
    Column("printed_at", String(40)),
    Column("reprint_of", Integer),
    Column("reason", String(48)),  # why it was reprinted, or why it was cancelled
    Column("decided_by", String(64)),  # who decided on an uncertain job, cancelled or asked for the reprint
    Index("ix_print_jobs_state_id", "state", "id"),
    Index("ix_print_jobs_parcel_ref", "parcel_ref"),
    sqlite_autoincrement=True,
)

# The studio's captures moved from the capture folder into the session folder
# (sync/studio/captures.py). A move is journaled before it happens: while `state` is
# "intent" (a take or a reassign) or "undoing", `source` is the path moved from and `path`
# the name moved to; afterwards `path` is where the file is. AUTOINCREMENT so the id a
# caller keeps for a capture undone (its row deleted) never names another capture later.
studio_captures = Table(
    "studio_captures", journal,
    Column("id", Integer, primary_key=True),
    Column("original", Text, nullable=False),  # where the hot folder found it
    Column("path", Text, nullable=False),
    Column("source", Text),
    Column("sku", String(32)),  # None: in the session's tray of unassigned captures
    Column("angle", String(32)),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("inode", BigInteger, nullable=False),  # of the file at `source` while moving, at `path` once placed
    Column("state", String(16), nullable=False),
    Column("upload_file_id", Integer),  # its upload_files row once queued for upload
    Column("taken_at", String(40), nullable=False),
    Index("ix_studio_captures_state", "state"),
    sqlite_autoincrement=True,
)

# Replica: one table per entity of the pull feed. The whole row is kept as JSON (so a
# field the server adds needs no migration) next to the few columns that are queried.
# `mask` has one bit per audience the row arrived through (replica_audiences.bit): a row
# is shown while one of its bits belongs to the signed-in person's scope, and deleted once
# its last bit is cleared (sync/store/replica.py).
REPLICA_KEYS: dict[str, tuple[tuple[str, type], ...]] = {
    "product": (("sku", String), ("gtin", String)),
    "location": (("label", String), ("route_key", String)),
    "stock": (("location_id", Integer), ("product_id", Integer)),
    "box_type": (("code", String),),
    "order": (("number", String), ("status", String), ("tote", String)),
    "order_line": (("order_id", Integer), ("gtin", String)),
    "pick_batch": (("status", String), ("claimed_by", Integer)),
    "pick_task": (("batch_id", Integer), ("route_key", String)),
    "parcel": (("order_id", Integer),),
    "shot": (("product_id", Integer),),
    "sample": (("barcode", String),),
    "asset": (("product_id", Integer), ("integrity", String)),
    "stock_check": (),
}

replica_tables: dict[str, Table] = {}
for _entity, _keys in REPLICA_KEYS.items():
    replica_tables[_entity] = Table(
        f"r_{_entity}", replica,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("version", Integer, nullable=False),
        Column("data", Text, nullable=False),
        *(Column(name, kind(), index=True) for name, kind in _keys),
        Column("mask", BigInteger, nullable=False, server_default="0"),
    )

# Entities this client version does not know yet are kept verbatim, not dropped.
replica_other = Table(
    "r_other", replica,
    Column("entity", String(32), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("data", Text, nullable=False),
    Column("mask", BigInteger, nullable=False, server_default="0"),
)

# Audiences of the feed this replica has held: the bit of each in the rows' masks and the
# cursor up to which it is complete. 62 bits keep every mask a positive 64-bit integer.
MAX_AUDIENCE_BIT = 61
replica_audiences = Table(
    "replica_audiences", replica,
    Column("name", String(48), primary_key=True),
    Column("bit", Integer, nullable=False, unique=True),
    Column("cursor", BigInteger, nullable=False, server_default="0"),
    CheckConstraint(f"bit BETWEEN 0 AND {MAX_AUDIENCE_BIT}", name="ck_replica_audiences_bit"),
)

# "scope": the JSON list of the audiences of the person signed in (set at sign-in).
replica_meta = Table(
    "replica_meta", replica,
    Column("key", String(32), primary_key=True),
    Column("value", Text, nullable=False),
)
