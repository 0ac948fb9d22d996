"""The durable print spool of a packing bench: each parcel's label prints once, in packing order.

A job is one short synced transaction in the journal (ARCHITECTURE.md §9), so it survives
a printer outage, a lost network and a restart. One worker thread fetches the labels from
the server (fetch_label, passed in) and prints them strictly in job id order: a later
label never comes out before an earlier one that still waits for its label or for the
printer. A job is set to `sending` in a synced commit before its bytes go to the printer;
one found in `sending` at start may have printed, becomes `uncertain`, and is printed
again only when a person says it did not come out. A reprint is a new job with a reason.

No Qt, no printer module: the printer and the label fetcher are passed in; listeners are
plain callables that a thin Qt adapter turns into signals.
"""

import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol

from sqlalchemy import Connection, insert, select, update

from sync.print_jobs import (CANCELLED, INTERRUPTED, LABEL_EMPTY, LABEL_NOT_READY, LABEL_UNREACHABLE, PRINTED,
                             PRINTER_ERROR, QUEUED, READY, SENDING, UNCERTAIN, WAITING_LABEL, PrintJob, SpoolCounts,
                             job_query, queued_jobs, recent_jobs, spool_counts, to_job)
from sync.retry import Backoff
from sync.store.database import SqliteFile
from sync.store.schema import print_jobs

log = logging.getLogger(__name__)

__all__ = ["CANCELLED", "PRINTED", "READY", "SENDING", "UNCERTAIN", "WAITING_LABEL", "LabelNotReady",
           "LabelPrinter", "LabelRefused", "PrintJob", "PrintSpool", "SpoolCounts", "WrongJobState"]


class LabelNotReady(Exception):
    """The server does not know the parcel yet (its pack is still on its way): ask again later."""


class LabelRefused(Exception):
    """The server will never give this label (for example the parcel's pack was refused)."""

    def __init__(self, reason_code: str, message: str = "") -> None:
        super().__init__(message or reason_code)
        self.reason_code = reason_code


class WrongJobState(ValueError):
    """The job is not in a state that allows what was asked (a reprint of a label not printed, ...)."""


class LabelPrinter(Protocol):
    """The station's printer as the spool uses it (peripherals.printers.Printer).

    send() raises when the label was not printed; the exception's `kind` (a problem code
    such as "paper_out") is recorded, and its `maybe_sent` says whether some bytes may have
    reached the printer. An exception without them counts as "may have printed".
    """

    @property
    def name(self) -> str: ...

    def send(self, data: bytes) -> None: ...


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class PrintSpool:
    """The spool of one station's labels: add, print in order, retry, and the decisions of a person."""

    def __init__(self, journal: SqliteFile, printer: LabelPrinter | None, fetch_label: Callable[[str], bytes],
                 backoff: Backoff = Backoff(base=0.5, cap=60.0), clock: Callable[[], datetime] = utcnow) -> None:
        self._journal = journal
        self._printer = printer
        self._fetch_label = fetch_label
        self._backoff, self._clock = backoff, clock
        self._listeners: list[Callable[[], None]] = []
        self._woken = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._fetch_after: datetime | None = None  # the server did not answer: no label is asked before this

    # --- what a person or the app does ---------------------------------------------------

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call listener after every change of the jobs or counts (from the thread that committed it)."""
        self._listeners.append(listener)

    def add_label(self, parcel_ref: str, order_number: str | None, parcel_no: int | None, user_id: str) -> int:
        """Queue the label of a parcel just packed; durable when this returns. Returns the job id.

        Raises sync.store.database.WriteFailed when it could not be stored (nothing was kept).
        """
        with self._journal.write() as conn:
            job_id = self.labels_of([(parcel_ref, order_number, parcel_no)], user_id)(conn)[0]
        self._changed(wake=True)
        return job_id

    def labels_of(self, parcels: list[tuple[str, str | None, int | None]],
                  user_id: str) -> Callable[[Connection], list[int]]:
        """What queues the labels of these parcels (ref, order number, parcel no.) inside a transaction of the
        journal someone else writes: the pack they belong to (Outbox.append's `along`). Call labels_added()
        once it is committed."""
        if not parcels or not all(ref for ref, _, _ in parcels):
            raise ValueError("a label job needs the parcel's reference")
        printer, now = self._printer_name(), self._now()

        def add(conn: Connection) -> list[int]:
            return [conn.execute(insert(print_jobs).values(
                printer=printer, kind="label", parcel_ref=ref, order_number=number, parcel_no=n, user_id=user_id,
                state=WAITING_LABEL, attempts=0, created_at=now)).inserted_primary_key[0]
                for ref, number, n in parcels]
        return add

    def labels_added(self) -> None:
        """Labels were queued with labels_of: print them."""
        self._changed(wake=True)

    def add_document(self, kind: str, name: str, data: bytes, user_id: str) -> int:
        """Queue something the station made itself (the bench's command sheet): ready to print, no fetch.

        `name` stands where a label has its parcel's reference (one per document).
        """
        if not data:
            raise ValueError("nothing to print")
        with self._journal.write() as conn:
            job_id = conn.execute(insert(print_jobs).values(
                printer=self._printer_name(), kind=kind, parcel_ref=name, user_id=user_id, state=READY,
                data=bytes(data), attempts=0, created_at=self._now())).inserted_primary_key[0]
        self._changed(wake=True)
        return job_id

    def reprint(self, job_id: int, reason: str, user_id: str) -> int:
        """Print a printed label again, as a new job at the end of the queue; a reprint needs a reason code."""
        reason = (reason or "").strip()
        if not reason or len(reason) > 48:
            raise ValueError("a reprint needs a reason code (at most 48 characters)")
        with self._journal.write() as conn:
            original = conn.execute(select(print_jobs).where(print_jobs.c.id == job_id)).first()
            if original is None or original.state != PRINTED:
                state = original.state if original is not None else "unknown"
                raise WrongJobState(f"print job {job_id} is {state}: only a printed label is reprinted "
                                    "(a label that may have printed is decided on instead)")
            new_id = conn.execute(insert(print_jobs).values(
                printer=self._printer_name(), kind=original.kind, parcel_ref=original.parcel_ref,
                order_number=original.order_number, parcel_no=original.parcel_no, user_id=user_id,
                state=READY if original.data is not None else WAITING_LABEL, data=original.data, attempts=0,
                created_at=self._now(), reprint_of=original.id, reason=reason,
                decided_by=user_id)).inserted_primary_key[0]
        log.info("print job %d reprints job %d (%s, asked by %s)", new_id, job_id, reason, user_id)
        self._changed(wake=True)
        return new_id

    def decide(self, job_id: int, printed: bool, user_id: str) -> None:
        """A person's word on a label that may have printed: printed, or print it again (in its place in the queue)."""
        values = (dict(state=PRINTED, printed_at=self._now()) if printed
                  else dict(state=READY, attempts=0, next_try_at=None))
        self._move(job_id, (UNCERTAIN,), values | dict(problem=None, decided_by=user_id), "decided on")
        log.info("print job %d: %s decided it %s", job_id, user_id, "printed" if printed else "did not print")
        self._changed(wake=not printed)

    def cancel(self, job_id: int, reason: str, user_id: str | None = None) -> None:
        """Never print this job (not while it is being sent, nor once printed); later jobs go on."""
        self._move(job_id, (*QUEUED, UNCERTAIN), dict(state=CANCELLED, reason=reason, decided_by=user_id), "cancelled")
        self._changed(wake=True)

    def cancel_parcel(self, parcel_ref: str, reason: str, user_id: str | None = None) -> int:
        """Cancel every job of a parcel not printed yet (its pack was refused); returns how many."""
        with self._journal.write() as conn:
            count = conn.execute(update(print_jobs).where(
                print_jobs.c.parcel_ref == parcel_ref, print_jobs.c.state.in_((*QUEUED, UNCERTAIN)))
                .values(state=CANCELLED, reason=reason, decided_by=user_id)).rowcount
        if count:
            self._changed(wake=True)
        return count

    def use_printer(self, printer: LabelPrinter | None) -> None:
        """Print on another printer from now on (the station's setting changed)."""
        self._printer = printer
        self.wake()

    def job(self, job_id: int) -> PrintJob | None:
        with self._journal.read() as conn:
            row = conn.execute(job_query().where(print_jobs.c.id == job_id)).first()
        return to_job(row) if row is not None else None

    def jobs(self, limit: int = 100) -> list[PrintJob]:
        """Every job not done with, and the `limit` latest printed or cancelled ones, in packing order."""
        with self._journal.read() as conn:
            return recent_jobs(conn, limit)

    def counts(self) -> SpoolCounts:
        with self._journal.read() as conn:
            return spool_counts(conn)

    def wake(self) -> None:
        """Try everything now, backoff or not (the network is back, a job was added, a person pressed retry)."""
        self._woken.set()

    # --- the worker ---------------------------------------------------------------------

    def start(self) -> None:
        """Settle what a previous run left on the wire, then start the worker thread.

        One spool per journal: a job another spool is sending would be taken for one left on the wire.
        """
        if self._thread is not None and self._thread.is_alive():
            if self._stopping:
                raise RuntimeError("the print spool is still stopping (a label is being sent)")
            return
        with self._journal.write() as conn:
            interrupted = conn.execute(update(print_jobs).where(print_jobs.c.state == SENDING)
                                       .values(state=UNCERTAIN, problem=INTERRUPTED)).rowcount
        if interrupted:
            log.warning("%d label(s) were being sent when the app ended; they may have printed and wait "
                        "for a person's decision", interrupted)
            self._changed()
        self._stopping = False
        self._woken.set()  # a start is a good moment to try everything once
        self._thread = threading.Thread(target=self._run, name="print-spool", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the worker after the label it may be sending; True when it ended within timeout."""
        self._stopping = True
        self._woken.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        failures = 0
        while not self._stopping:
            hurry = self._woken.is_set()
            self._woken.clear()  # a wake during the round makes the wait below return at once
            try:
                wait = self._round(hurry)
                failures = 0
            except Exception:  # noqa: BLE001 - the worker never dies; no job is lost either way
                log.exception("the print spool failed a round; it tries again")
                wait = self._backoff.ceiling(failures)
                failures += 1
            self._woken.wait(wait)

    def _round(self, hurry: bool) -> float:
        """Fetch the labels that are due and print from the head of the queue; returns seconds to the next try."""
        cap = self._backoff.cap
        next_tries: list[datetime] = []
        blocked = False  # an earlier job still waits: nothing later prints
        unreachable = False  # the server did not answer in this round: ask it for no more labels now
        for job in self._queued():
            if self._stopping:
                return 0.0
            now = self._clock()
            if job.state == WAITING_LABEL:
                due = max(job.due_at(now, cap), self._fetch_after or now)
                if (hurry and not unreachable) or due <= now:
                    job = self._fetch(job)
                    unreachable = unreachable or self._fetch_after is not None
                    due = job.due_at(self._clock(), cap) if job else None
                if job and job.state == WAITING_LABEL:
                    next_tries.append(due)
            if job and job.state == READY and not blocked and self._printer is not None:
                if hurry or job.due_at(now, cap) <= now:
                    job = self._print(job)
                if job and job.state == READY:
                    next_tries.append(job.due_at(self._clock(), cap))
            blocked = blocked or (job is not None and job.state in QUEUED)
        if not next_tries:
            return cap  # nothing to retry: sleep until woken (a periodic look costs one read)
        return min(cap, max(0.0, (min(next_tries) - self._clock()).total_seconds()))

    def _queued(self) -> list[PrintJob]:
        with self._journal.read() as conn:
            return queued_jobs(conn)

    def _fetch(self, job: PrintJob) -> PrintJob | None:
        """Ask the server for the job's label; the job as it is afterwards (None when someone else moved it)."""
        try:
            data = self._fetch_label(job.parcel_ref)
        except LabelNotReady:
            return self._retry_later(job, LABEL_NOT_READY)
        except LabelRefused as refused:
            log.warning("print job %d cancelled: the server refuses the label of parcel %s (%s)",
                        job.id, job.parcel_ref, refused.reason_code)
            return self._settle(job, WAITING_LABEL, state=CANCELLED, reason=refused.reason_code)
        except Exception as exc:  # noqa: BLE001 - network, server or fetcher: the job waits and is asked for again
            log.warning("label of parcel %s not fetched: %s: %s", job.parcel_ref, type(exc).__name__, exc)
            job = self._retry_later(job, LABEL_UNREACHABLE)
            if job is not None:  # the server is not answering: ask for no other label before this one's try
                self._fetch_after = job.due_at(self._clock(), self._backoff.cap)
            return job
        self._fetch_after = None
        if not data:
            return self._retry_later(job, LABEL_EMPTY)
        # Not synced: a label lost to a power cut is fetched again.
        return self._settle(job, WAITING_LABEL, synced=False, state=READY, data=bytes(data), attempts=0,
                            next_try_at=None, problem=None)

    def _print(self, job: PrintJob) -> PrintJob | None:
        printer = self._printer  # a ready job always has its bytes: fetched, or copied by a reprint
        if printer is None:  # use_printer(None) since the round began
            return job
        # Ask first: a printer that is off or out of paper costs no "may have printed" should the
        # app die during the attempt (only the send itself is in doubt).
        check = getattr(printer, "check", None)
        if check is not None:
            status = check()
            if not status.ready:
                return self._retry_later(job, str(status.problem or PRINTER_ERROR))
        # Synced before a byte goes out: after a crash this job is known to be maybe printed.
        with self._journal.write() as conn:
            moved = conn.execute(update(print_jobs).where(print_jobs.c.id == job.id, print_jobs.c.state == READY)
                                 .values(state=SENDING, printer=printer.name)).rowcount
            data = conn.execute(select(print_jobs.c.data).where(print_jobs.c.id == job.id)).scalar()
        if not moved:
            return None
        self._changed()
        try:
            printer.send(data)
        except Exception as exc:  # noqa: BLE001 - any failure of the printer is recorded on the job
            code = str(getattr(exc, "kind", "") or PRINTER_ERROR)
            if code == PRINTER_ERROR:
                log.exception("printer %s failed on print job %d", printer.name, job.id)
            else:
                log.warning("print job %d not printed on %s: %s", job.id, printer.name, exc)
            if getattr(exc, "maybe_sent", code == PRINTER_ERROR):
                log.warning("print job %d may have printed; it waits for a person's decision", job.id)
                return self._settle(job, SENDING, state=UNCERTAIN, problem=code)
            return self._retry_later(job, code, from_state=SENDING, to_state=READY)
        # Should this commit fail (a full disk), the job stays `sending`: taken for uncertain at the
        # next start and decided on by a person, never sent again on its own.
        return self._settle(job, SENDING, state=PRINTED, printed_at=self._now(), problem=None, next_try_at=None)

    def _retry_later(self, job: PrintJob, problem: str, from_state: str | None = None,
                     to_state: str | None = None) -> PrintJob | None:
        attempts = job.attempts + 1
        delay = self._backoff.delay(attempts - 1, random)  # full jitter, capped (sync.retry)
        when = (self._clock() + timedelta(seconds=delay)).isoformat()
        # Bookkeeping, not synced: a retry time lost to a power cut only means an earlier try.
        return self._settle(job, from_state or job.state, synced=False, state=to_state or job.state,
                            attempts=attempts, next_try_at=when, problem=problem)

    def _settle(self, job: PrintJob, from_state: str, synced: bool = True, **values) -> PrintJob | None:
        """Move a job on from from_state; None when it was not in it any more (a person cancelled it)."""
        with self._journal.write(synced=synced) as conn:
            moved = conn.execute(update(print_jobs).where(print_jobs.c.id == job.id, print_jobs.c.state == from_state)
                                 .values(**values)).rowcount
            row = conn.execute(job_query().where(print_jobs.c.id == job.id)).first() if moved else None
        if row is None:
            return None
        self._changed()
        return to_job(row)

    def _move(self, job_id: int, allowed: tuple[str, ...], values: dict, what: str) -> None:
        with self._journal.write() as conn:
            moved = conn.execute(update(print_jobs).where(print_jobs.c.id == job_id, print_jobs.c.state.in_(allowed))
                                 .values(**values)).rowcount
            if not moved:
                state = conn.execute(select(print_jobs.c.state).where(print_jobs.c.id == job_id)).scalar()
                raise WrongJobState(f"print job {job_id} is {state or 'unknown'}: it cannot be {what}")

    def _printer_name(self) -> str:
        return self._printer.name if self._printer is not None else ""

    def _now(self) -> str:
        return self._clock().isoformat()

    def _changed(self, wake: bool = False) -> None:
        if wake:
            self._woken.set()
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # noqa: BLE001 - a listener's bug must not undo or stop the spool's work
                log.exception("a print spool listener failed")
