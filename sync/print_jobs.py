"""Print jobs as the spool keeps them in the journal: states, the record a view shows, the counts of a status bar."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from sync.store.schema import print_jobs

# A job's life (sync.print_spool): waiting_label -> ready -> sending -> printed; a job found
# in `sending` when the spool starts (the app died while its bytes were on the wire)
# becomes `uncertain` and waits for a person; `cancelled` never prints.
WAITING_LABEL, READY, SENDING, PRINTED, UNCERTAIN, CANCELLED = (
    "waiting_label", "ready", "sending", "printed", "uncertain", "cancelled")
QUEUED = (WAITING_LABEL, READY)  # jobs that hold every later one back (strict packing order)
CLOSED = (PRINTED, CANCELLED)

# Problem codes of the spool's own; a printer's come from its problem kind ("paper_out", ...).
LABEL_NOT_READY = "label_not_ready"  # the server does not know the parcel yet
LABEL_UNREACHABLE = "label_unreachable"  # the server could not be asked
LABEL_EMPTY = "label_empty"  # the server answered with no label bytes
INTERRUPTED = "interrupted"  # the app ended while the label was being sent
PRINTER_ERROR = "printer_error"  # the printer failed in a way it did not explain


@dataclass(frozen=True)
class PrintJob:
    """One label in the spool, as a spool view shows it (without the label's bytes)."""

    id: int
    state: str
    kind: str
    parcel_ref: str
    order_number: str | None
    parcel_no: int | None
    user_id: str
    printer: str
    has_label: bool
    attempts: int
    problem: str | None
    next_try_at: str | None
    created_at: str
    printed_at: str | None
    reprint_of: int | None
    reason: str | None
    decided_by: str | None

    def due_at(self, now: datetime, cap_s: float) -> datetime:
        """When to try this job again. A time further ahead than the longest backoff means the
        device clock went back (device clocks are not trusted, ARCHITECTURE.md §2): due now."""
        if not self.next_try_at:
            return now
        when = datetime.fromisoformat(self.next_try_at)
        return now if when - now > timedelta(seconds=cap_s) else when


@dataclass(frozen=True)
class SpoolCounts:
    """What a status bar says about the spool; problem holds back the queue (its first job's last failure)."""

    waiting: int  # labels not fetched yet
    ready: int  # fetched, not printed yet (including one being sent)
    uncertain: int  # may have printed: a person decides
    problem: str | None


_COLUMNS = [c for c in print_jobs.c if c.name != "data"] + [print_jobs.c.data.is_not(None).label("has_label")]


def job_query():
    """A select of jobs as PrintJob rows (the bytes stay in the file)."""
    return select(*_COLUMNS)


def to_job(row) -> PrintJob:
    return PrintJob(**{name: row._mapping[name] for name in PrintJob.__dataclass_fields__})


def queued_jobs(conn: Connection) -> list[PrintJob]:
    """Jobs still to print, in packing order."""
    rows = conn.execute(job_query().where(print_jobs.c.state.in_(QUEUED)).order_by(print_jobs.c.id)).all()
    return [to_job(r) for r in rows]


def recent_jobs(conn: Connection, limit: int) -> list[PrintJob]:
    """Every job not closed yet and the `limit` latest closed ones, in packing order."""
    open_rows = conn.execute(job_query().where(print_jobs.c.state.not_in(CLOSED))).all()
    closed_rows = conn.execute(job_query().where(print_jobs.c.state.in_(CLOSED))
                               .order_by(print_jobs.c.id.desc()).limit(limit)).all()
    return sorted((to_job(r) for r in [*open_rows, *closed_rows]), key=lambda job: job.id)


def spool_counts(conn: Connection) -> SpoolCounts:
    by_state = dict(conn.execute(select(print_jobs.c.state, func.count())
                                 .where(print_jobs.c.state.in_((WAITING_LABEL, READY, SENDING, UNCERTAIN)))
                                 .group_by(print_jobs.c.state)).all())
    first = conn.execute(select(print_jobs.c.problem).where(print_jobs.c.state.in_(QUEUED))
                         .order_by(print_jobs.c.id).limit(1)).scalar()
    return SpoolCounts(waiting=by_state.get(WAITING_LABEL, 0), ready=by_state.get(READY, 0) + by_state.get(SENDING, 0),
                       uncertain=by_state.get(UNCERTAIN, 0), problem=first)
