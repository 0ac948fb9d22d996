"""Services shared by the routes of one app instance, and the caller of a request."""

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from order_api.changes import audiences_for
from order_api.db import Database
from order_api.models import Device, User
from order_api.settings import ServerSettings

log = logging.getLogger(__name__)


class ChangeNotifier:
    """Wakes long-polling pulls when a transaction that published changes commits."""

    def __init__(self) -> None:
        self._lock = threading.Condition()  # notified when a long poll starts waiting
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.closed = False

    @property
    def waiting(self) -> int:
        """How many long polls wait for a change right now."""
        with self._lock:
            return len(self._waiters)

    def wait_for_waiters(self, count: int, timeout: float) -> bool:
        """Block until at least `count` long polls wait (True) or timeout passes (False)."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._waiters) >= count, timeout)

    def close(self) -> None:
        """The server is stopping: long polls answer now instead of holding the shutdown up."""
        self.closed = True
        if self.waiting:
            log.info("stopping: answering %d open long poll(s) now", self.waiting)
        self.notify()

    def notify(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    def subscribe(self) -> "_Subscription":
        """Register before reading, so a commit between the read and the wait is not missed."""
        return _Subscription(self)


class _Subscription:
    """One waiter of a ChangeNotifier, registered for the span of an `async with`."""

    def __init__(self, notifier: ChangeNotifier) -> None:
        self._notifier = notifier
        self._event = asyncio.Event()
        self._entry = None

    async def __aenter__(self) -> "_Subscription":
        self._entry = (asyncio.get_running_loop(), self._event)
        with self._notifier._lock:
            self._notifier._waiters.add(self._entry)
            self._notifier._lock.notify_all()
        return self

    async def __aexit__(self, *_exc) -> None:
        with self._notifier._lock:
            self._notifier._waiters.discard(self._entry)

    async def wait_for(self, timeout: float) -> bool:
        """True when notified within timeout; the flag is cleared for the next wait."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        self._event.clear()
        return True


@dataclass
class ApiContext:
    """The composition root of the server: one per app, reached through app.state.ctx."""

    settings: ServerSettings
    db: Database
    notifier: ChangeNotifier = field(default_factory=ChangeNotifier)
    blobs: object | None = None  # order_api.blobstore.BlobStore

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction that wakes long-polling pulls after it commits changes."""
        with self.db.write() as session:
            yield session
        if session.info.pop("published", False):
            self.notifier.notify()


@dataclass(frozen=True)
class Caller:
    """The authenticated user and device behind a request."""

    user_id: int
    username: str
    roles: frozenset[str]
    device_id: str
    device_name: str | None
    session_id: int

    @classmethod
    def of(cls, user: User, device: Device, session_id: int) -> "Caller":
        return cls(user.id, user.username, user.role_set, device.id, device.name, session_id)

    @property
    def audiences(self) -> frozenset[str]:
        """The feed audiences this caller reads: the scope of every direct route too."""
        return frozenset(audiences_for(self.roles, self.user_id))
