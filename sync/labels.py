"""Where the print spool gets a parcel's label: from the server by the parcel's ref, once its pack is through.

A device that packed offline knows no parcel id, only the ref it gave each parcel in its
pack.confirm (contract.actions.ParcelSpec.ref). While the server does not know the ref,
the journal says why: the pack still waits in the outbox (ask again later), the server
refused it, or it was applied and the parcels were opened again since (the label is void).
"""

from collections.abc import Callable

from sqlalchemy import Text, cast, select

from contract.actions import PackConfirm
from sync.api import OrderApi
from sync.print_spool import LabelNotReady, LabelRefused
from sync.store.database import SqliteFile
from sync.store.schema import outbox, rejected

PACK = PackConfirm.NAME


def _holds(args: dict, ref: str) -> bool:
    return any(isinstance(p, dict) and p.get("ref") == ref for p in (args or {}).get("parcels") or [])


def pack_state(journal: SqliteFile, ref: str) -> tuple[str, str | None]:
    """(state, rejection code) of the pack.confirm holding the parcel: pending, acked, done, rejected or unknown."""
    needle = f"%{ref}%"  # a cheap filter first; _holds then reads the JSON
    with journal.read() as conn:
        for state, args in conn.execute(select(outbox.c.state, outbox.c.args)
                                        .where(outbox.c.name == PACK, cast(outbox.c.args, Text).like(needle))):
            if _holds(args, ref):
                return state, None
        for code, args in conn.execute(select(rejected.c.code, rejected.c.args).where(rejected.c.name == PACK)):
            if _holds(args, ref):
                return "rejected", code
    return "unknown", None


def label_fetcher(api: OrderApi, journal: SqliteFile) -> Callable[[str], bytes]:
    """fetch_label for sync.print_spool.PrintSpool."""

    def fetch(ref: str) -> bytes:
        label = api.parcel_label(ref)  # Offline, ServerBusy, AuthRequired: the spool tries again later
        if label is not None:
            return label
        state, code = pack_state(journal, ref)
        if state == "pending":
            raise LabelNotReady(ref)
        if state == "rejected":
            raise LabelRefused(code or "rejected", f"the server refused the pack of parcel {ref}")
        if state in ("acked", "done"):
            raise LabelRefused("parcel_void", f"parcel {ref} was opened again after packing")
        raise LabelRefused("not_packed", f"no pack of parcel {ref} is in this device's journal")

    return fetch
