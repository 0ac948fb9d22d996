"""What the studio screen shows: shot list lines, the active SKU, samples in the studio, and verdicts."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from desktop_app.i18n import translate
from sync.studio.captures import TakenCapture
from sync.studio.styleguide import Finding

CTX = "Studio"

# The shot list's order: rejected SKUs need redoing, open ones shooting, shot ones a review.
STATUS_ORDER = {"rejected": 0, "open": 1, "shot": 2, "approved": 3}
FILTERS = ("all", *STATUS_ORDER)
IN_STUDIO = "in_studio"  # a sample's status while it is here (order_api/mutations/studio.py)


@dataclass(frozen=True)
class StudioOptions:
    """Settings of the studio station."""

    check_in_on_scan: bool = True  # scanning a sample that is out checks it in (sample.check_in)


@dataclass(frozen=True)
class StudioVerdict:
    """What a scan or a person's action led to: the view plays the sound, flashes the colour, shows the words."""

    kind: Literal["accept", "reject", "info"]
    words: str


@dataclass(frozen=True)
class ShotLine:
    """One SKU of the shot list as the photographer sees it."""

    shot_id: int
    product_id: int
    sku: str
    name: str
    status: str  # open, shot, approved, rejected (a newer server's state is shown as is)
    qc_comment: str | None
    angles: tuple[str, ...]  # the angles the SKU needs, in the shot list's order
    covered: tuple[str, ...]  # those with an uploaded image assigned to them, in the same order
    progress: str  # "2 of 3 angles"

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(a for a in self.angles if a not in self.covered)


@dataclass(frozen=True)
class ActiveSku:
    """The SKU that captures are taken for now, whether or not it is on the shot list."""

    product_id: int
    sku: str
    name: str
    angles: tuple[str, ...]
    covered: tuple[str, ...]  # angles with an uploaded image assigned
    taken: tuple[str, ...]  # angles of captures taken at this station in this session
    shot: ShotLine | None  # None: not on the shot list

    @property
    def still_needed(self) -> tuple[str, ...]:
        """The angles neither uploaded nor taken yet, in the order they are shot."""
        done = set(self.covered) | set(self.taken)
        return tuple(a for a in self.angles if a not in done)


@dataclass(frozen=True)
class SampleLine:
    """A sample in the studio, and for how long it has been here."""

    barcode: str
    product_id: int
    sku: str
    name: str
    checked_in_at: datetime | None
    here_for: str  # "3 h", "2 days"; "unknown" when the feed has no time


@dataclass(frozen=True)
class TakenResult:
    """What became of a capture the capture folder handed over."""

    kind: Literal["taken", "unassigned", "held", "failed"]
    words: str
    capture: TakenCapture | None = None  # where it went ("taken", "unassigned")
    findings: tuple[Finding, ...] = field(default=())  # why it was held


def shot_line(row: dict, covered_angles: set[str]) -> ShotLine:
    """A shot list line from the feed's shot row and the angles that have an image."""
    angles = tuple(row.get("angles") or ())
    covered = tuple(a for a in angles if a in covered_angles)
    progress = translate(CTX, "{covered} of %n angle(s)", None, len(angles)).format(covered=len(covered))
    return ShotLine(row["id"], row["product_id"], row["sku"], row["name"], row["status"], row.get("qc_comment"),
                    angles, covered, progress)


def shot_list_key(line: ShotLine) -> tuple[int, str]:
    return STATUS_ORDER.get(line.status, len(STATUS_ORDER)), line.sku


def time_here(since: datetime | None, now: datetime) -> str:
    """How long something has been in the studio, as people say it at the station."""
    if since is None:
        return translate(CTX, "unknown")
    minutes = max(0, int((now - since).total_seconds()) // 60)
    if minutes < 60:
        return translate(CTX, "%n min", None, minutes)
    if minutes < 48 * 60:
        return translate(CTX, "%n h", None, minutes // 60)
    return translate(CTX, "%n day(s)", None, minutes // (24 * 60))
