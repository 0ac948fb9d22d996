"""What the sync engine reports: the status snapshot, and the record of calls and errors it is made from."""

from dataclasses import dataclass
from datetime import datetime

from sync.connectivity import SyncState


@dataclass(frozen=True)
class SyncStatus:
    """What the status bar and `floorhand status` show."""

    state: SyncState
    pending: int
    rejected: int
    oldest_pending_age_s: float | None
    last_push_at: datetime | None
    last_pull_at: datetime | None
    last_error: str | None
    stuck: bool  # work waits and pushes fail, yet the server answers pulls
    cursor: int
    stale: bool = False  # pushes get through, yet no pull has for a while: the screen may be old


@dataclass
class SyncRecord:
    """When the engine started, when a push and a pull last went through, and the last error and its source."""

    started_at: datetime | None = None
    last_push_at: datetime | None = None
    last_pull_at: datetime | None = None
    last_error: str | None = None
    error_from: str | None = None  # "push", "pull" or "journal": what a success clears

    def answered(self, source: str) -> None:
        """A push or pull went through: an error of the same kind is history."""
        if self.error_from == source:
            self.last_error = self.error_from = None

    def failed(self, message: str, source: str) -> None:
        """An error to show until a call of the same source goes through."""
        self.last_error, self.error_from = message, source

    def stuck(self, pending: int, age: float | None, now: datetime, after_s: float) -> bool:
        """Mutations wait, no push has succeeded for a while, and yet the server answers."""
        if not pending or age is None or age < after_s:
            return False
        since_push = (now - self.last_push_at).total_seconds() if self.last_push_at else age
        answering = self.last_pull_at is not None and (now - self.last_pull_at).total_seconds() < after_s
        return since_push >= after_s and answering

    def stale(self, now: datetime, after_s: float) -> bool:
        """The reverse of stuck: pushes get through, yet no pull has succeeded for a while."""
        last_pull = self.last_pull_at or self.started_at
        if last_pull is None or (now - last_pull).total_seconds() < after_s:
            return False
        # Pushes work: one got through after the last pull did, and none fails now.
        return (self.last_push_at is not None and self.last_push_at > last_pull
                and self.error_from != "push")
