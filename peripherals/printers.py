"""Label printers of a packing bench: one small interface, three ways to reach a printer.

A printer takes the bytes of one label (ZPL from the server) and either prints them or
raises PrinterProblem saying why not (paper out, paused, off the network, ...) and whether
any of the bytes may have reached the printer. The print spool (sync.print_spool) keeps
the jobs; a printer keeps nothing.

Transports: RawTcpPrinter (a Zebra or ZPL printer on port 9100), CupsPrinter (a CUPS
queue through `lp`) and FolderPrinter (files in a folder, for PDF workflows and tests).
"""

import contextlib
import errno
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from peripherals.zebra_status import HOST_STATUS_QUERY, HostStatus, answer_complete, parse_host_status


class ProblemKind(StrEnum):
    """Why a printer cannot print now; the value is the code kept in the journal and shown by the UI."""

    OFFLINE = "offline"  # not reachable: switched off, unplugged, a folder or share gone
    PAPER_OUT = "paper_out"
    RIBBON_OUT = "ribbon_out"
    HEAD_OPEN = "head_open"
    PAUSED = "paused"  # paused on the printer, or a CUPS queue disabled
    BUSY = "busy"  # its receive buffer is full
    OVERHEATED = "overheated"
    NOT_ANSWERING = "not_answering"  # reachable, but no answer in time
    STATUS_UNREADABLE = "status_unreadable"  # answered something that is not a ~HS status
    DISK_FULL = "disk_full"
    REFUSED = "refused"  # the spooler or the system said no (unknown queue, no lp, no permission)


class PrinterProblem(Exception):
    """A label that was not printed, with the kind of problem and a detail for the log.

    maybe_sent is True when some of the bytes may have reached the printer before the
    failure (a connection lost while sending, an lp that did not finish in time): such a
    label may have printed, and only a person can say whether to print it again.
    """

    def __init__(self, kind: ProblemKind, detail: str, maybe_sent: bool = False) -> None:
        super().__init__(f"{kind.value}: {detail}")
        self.kind = kind
        self.detail = detail
        self.maybe_sent = maybe_sent


@dataclass(frozen=True)
class PrinterStatus:
    """What a printer said when asked: ready, or the problem that stops it."""

    problem: ProblemKind | None = None
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.problem is None


class Printer(Protocol):
    """A label printer of a station."""

    @property
    def name(self) -> str:
        """The station setting that reaches it (printer_from_setting), for the spool and the log."""
        ...

    def send(self, data: bytes) -> None:
        """Print one label; raises PrinterProblem when it was not printed."""
        ...

    def check(self) -> PrinterStatus:
        """Ask the printer whether it could print now; never raises for a printer problem."""
        ...


class RawTcpPrinter:
    """A ZPL printer on the network (raw TCP, port 9100): asked for its status, then sent the label.

    Nothing is sent unless the printer's ~HS answer says it can print now, so a label is
    not left in the memory of a printer out of paper, to come out when someone reloads it
    after it was already reprinted elsewhere.
    """

    def __init__(self, host: str, port: int = 9100, timeout: float = 5.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout

    @property
    def name(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"

    def send(self, data: bytes) -> None:
        with self._connect() as conn:
            status = _printing_problem(self._host_status(conn))
            if not status.ready:
                raise PrinterProblem(status.problem, status.detail)
            try:
                conn.sendall(data)
                self._close_sending(conn)
            except OSError as exc:
                raise PrinterProblem(ProblemKind.OFFLINE, f"{self.name}: connection lost while sending ({exc})",
                                     maybe_sent=True) from exc

    def check(self) -> PrinterStatus:
        try:
            with self._connect() as conn:
                status = _printing_problem(self._host_status(conn))
                with contextlib.suppress(OSError):
                    self._close_sending(conn)
                return status
        except PrinterProblem as problem:
            return PrinterStatus(problem.kind, problem.detail)

    def _connect(self) -> socket.socket:
        try:
            return socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:  # refused, unreachable, timed out, unknown host name
            raise PrinterProblem(ProblemKind.OFFLINE, f"{self.name} cannot be reached ({exc})") from exc

    def _host_status(self, conn: socket.socket) -> HostStatus:
        """Send ~HS and read the three framed strings of the answer; nothing of a label is sent yet."""
        received = b""
        deadline = time.monotonic() + self.timeout
        try:
            conn.sendall(HOST_STATUS_QUERY)
            while not answer_complete(received):
                conn.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = conn.recv(1024)
                if not chunk:
                    break
                received += chunk
                if len(received) > 4096:  # an answer is about 100 bytes; this is something else
                    break
        except socket.timeout:
            pass  # judged below: silence or a partial answer
        except OSError as exc:
            raise PrinterProblem(ProblemKind.OFFLINE,
                                 f"{self.name}: connection lost asking for status ({exc})") from exc
        finally:
            conn.settimeout(self.timeout)
        if not received:
            raise PrinterProblem(ProblemKind.NOT_ANSWERING, f"{self.name} did not answer ~HS in {self.timeout:g} s "
                                 "(some printers stay silent while out of media or with the head open)")
        try:
            return parse_host_status(received)
        except ValueError as exc:
            raise PrinterProblem(ProblemKind.STATUS_UNREADABLE, f"{self.name}: unreadable ~HS answer ({exc})") from exc

    def _close_sending(self, conn: socket.socket) -> None:
        """End the job: half-close, then read until the printer closes too.

        Closing with unread bytes in the receive buffer makes the kernel send a reset, which
        can throw away label bytes the printer has not read yet (RFC 1122 4.2.2.13).
        """
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(min(self.timeout, 2.0))  # the label is handed over; a printer that keeps the line open
        with contextlib.suppress(socket.timeout):  # only delays the next label
            while conn.recv(1024):
                pass


def _printing_problem(status: HostStatus) -> PrinterStatus:
    """The one problem to show for a status; the order puts the cause before its effects
    (a printer out of paper also pauses itself)."""
    detail = "~HS flags: " + (", ".join(status.raised()) or "none")
    for flag, kind in (("head_open", ProblemKind.HEAD_OPEN), ("paper_out", ProblemKind.PAPER_OUT),
                       ("ribbon_out", ProblemKind.RIBBON_OUT), ("over_temperature", ProblemKind.OVERHEATED),
                       ("paused", ProblemKind.PAUSED), ("buffer_full", ProblemKind.BUSY)):
        if getattr(status, flag):
            return PrinterStatus(kind, detail)
    return PrinterStatus()


class CupsPrinter:
    """A CUPS queue; labels go through `lp -o raw` so CUPS passes the ZPL to the printer untouched."""

    def __init__(self, queue: str, timeout: float = 30.0) -> None:
        if not queue or queue.startswith("-") or any(c.isspace() or c in "/#" for c in queue):
            raise ValueError(f"{queue!r} is not a CUPS queue name")  # CUPS names: no spaces, '/' or '#'
        self.queue = queue
        self.timeout = timeout

    @property
    def name(self) -> str:
        return f"cups:{self.queue}"

    def send(self, data: bytes) -> None:
        try:
            done = self._run(["lp", "-d", self.queue, "-o", "raw"], data)
        except subprocess.TimeoutExpired as exc:
            # lp may have handed the job to cupsd before it hung: the label may print.
            raise PrinterProblem(ProblemKind.NOT_ANSWERING, f"lp did not finish in {self.timeout:g} s",
                                 maybe_sent=True) from exc
        if done.returncode != 0:
            raise PrinterProblem(ProblemKind.REFUSED, f"lp exited with {done.returncode}: {_text(done.stderr)}")

    def check(self) -> PrinterStatus:
        try:
            done = self._run(["lpstat", "-p", self.queue], b"")
        except PrinterProblem as problem:
            return PrinterStatus(problem.kind, problem.detail)
        except subprocess.TimeoutExpired:
            return PrinterStatus(ProblemKind.NOT_ANSWERING, f"lpstat did not finish in {self.timeout:g} s")
        if done.returncode != 0:
            return PrinterStatus(ProblemKind.REFUSED, _text(done.stderr) or f"lpstat exited with {done.returncode}")
        report = _text(done.stdout)
        # lpstat(1): "printer Q disabled since ..." for a stopped (cupsdisable) queue.
        if re.search(r"\bdisabled\b", report):
            return PrinterStatus(ProblemKind.PAUSED, report)
        return PrinterStatus()

    def _run(self, argv: list[str], stdin: bytes) -> subprocess.CompletedProcess:
        # The C locale keeps lpstat's words ("disabled") the same on every workstation.
        env = {**os.environ, "LC_ALL": "C"}
        try:
            return subprocess.run(argv, input=stdin, capture_output=True, timeout=self.timeout, env=env, check=False)
        except FileNotFoundError as exc:
            raise PrinterProblem(ProblemKind.REFUSED, f"{argv[0]} not found: the CUPS client is not installed") from exc
        except OSError as exc:
            raise PrinterProblem(ProblemKind.REFUSED, f"{argv[0]} could not be started: {exc}") from exc


class FolderPrinter:
    """A folder that receives each label as a file, numbered in printing order.

    A file appears whole or not at all (temporary file, fsync, rename), so a program
    watching the folder never takes half a label.
    """

    def __init__(self, path: Path | str, stem: str = "label", suffix: str = ".zpl") -> None:
        self.path = Path(path)
        self.stem, self.suffix = stem, suffix
        self._lock = threading.Lock()
        self._last: int | None = None

    @property
    def name(self) -> str:
        return f"folder:{self.path}"

    def send(self, data: bytes) -> None:
        with self._lock:
            number = self._next_number()
            final = self.path / f"{number:06d}-{self.stem}{self.suffix}"
            part = self.path / f".{final.name}.part"  # a dot file: watchers of *.zpl skip it
            try:
                with open(part, "xb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(part, final)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    part.unlink(missing_ok=True)
                raise _folder_problem(self.path, exc) from exc
            self._last = number
            _sync_folder(self.path)

    def check(self) -> PrinterStatus:
        if not self.path.is_dir():
            return PrinterStatus(ProblemKind.OFFLINE, f"the folder {self.path} does not exist")
        if not os.access(self.path, os.W_OK):
            return PrinterStatus(ProblemKind.REFUSED, f"the folder {self.path} cannot be written")
        if shutil.disk_usage(self.path).free == 0:
            return PrinterStatus(ProblemKind.DISK_FULL, f"the disk of {self.path} is full")
        return PrinterStatus()

    def _next_number(self) -> int:
        if self._last is None:
            # Numbering goes on from the files already there, so the order stays visible after a restart.
            found = [int(m.group(1)) for p in self._listing() if (m := re.match(r"(\d+)-", p))]
            self._last = max(found, default=0)
        return self._last + 1

    def _listing(self) -> list[str]:
        try:
            return os.listdir(self.path)
        except OSError:
            return []  # the write that follows says what is wrong with the folder


def _folder_problem(path: Path, exc: OSError) -> PrinterProblem:
    if exc.errno == errno.ENOSPC:
        return PrinterProblem(ProblemKind.DISK_FULL, f"the disk of {path} is full")
    if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOTDIR:
        return PrinterProblem(ProblemKind.OFFLINE, f"the folder {path} does not exist")
    return PrinterProblem(ProblemKind.REFUSED, f"{path} cannot be written: {exc.strerror or exc}")


def _sync_folder(path: Path) -> None:
    """Make the rename itself durable (POSIX: fsync the directory); Windows has no such call.

    A failure is ignored: the file is in place, only its survival of a power cut is less certain."""
    if os.name == "posix":
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _text(raw: bytes | None, limit: int = 500) -> str:
    return (raw or b"").decode("utf-8", "replace").strip()[:limit]


def printer_from_setting(text: str | None, timeout: float = 5.0) -> Printer | None:
    """The printer a station setting names: `tcp://host[:9100]`, `cups:QUEUE`, `folder:/path`; empty for none."""
    setting = (text or "").strip()
    if not setting:
        return None
    scheme, _, rest = setting.partition(":")
    scheme = scheme.lower()
    if scheme == "tcp":
        parts = urlsplit(setting)
        try:
            port = 9100 if parts.port is None else parts.port
        except ValueError:
            port = 0
        if not 0 < port < 65536:
            raise ValueError(f"printer setting {setting!r}: the port must be a number from 1 to 65535")
        if not rest.startswith("//") or not parts.hostname or parts.username or parts.path not in ("", "/") \
                or parts.query:
            raise ValueError(f"printer setting {setting!r}: write tcp://HOST or tcp://HOST:PORT")
        return RawTcpPrinter(parts.hostname, port, timeout=timeout)
    if scheme == "cups":
        if not rest.strip():
            raise ValueError(f"printer setting {setting!r}: write cups:QUEUE with the name of the CUPS queue")
        return CupsPrinter(rest.strip())
    if scheme == "folder":
        if not rest.strip():
            raise ValueError(f"printer setting {setting!r}: write folder:PATH with the folder for the labels")
        return FolderPrinter(rest.strip())
    raise ValueError(f"printer setting {setting!r} is not understood: use tcp://HOST:9100, cups:QUEUE or "
                     "folder:PATH (or leave it empty for no printer)")
