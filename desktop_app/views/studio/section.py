"""The photo studio as a section of the station: a studio session per person, read and driven on a worker.

Every read of the local view and every action runs on the task runner, one at a time and
in the order they were asked for (a scan's verdict never overtakes the one before); the
screen is drawn from what the worker read (StudioScreen).
"""

import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone

from PySide6.QtCore import QTimer

from desktop_app.i18n import translate
from desktop_app.sections import Banners, Section
from desktop_app.tasks import TaskRunner
from desktop_app.views.shell.style import Layout
from desktop_app.views.studio.studio_view import StudioScreen, StudioView
from desktop_app.workflows.studio import CaptureNames, StudioCore, StudioSession, StudioVerdict
from desktop_app.workflows.studio_lines import CTX
from scanners.codes import BenchCommand, Classified, ProductCode, Unrecognised
from sync.catalogue.entry import QT_TRANSLATE_NOOP
from sync.engine import SyncStatus
from sync.outbox import RejectedMutation
from sync.signin import SignedIn

log = logging.getLogger(__name__)

KEY, TITLE = "studio", QT_TRANSLATE_NOOP("Sections", "Studio")  # translated where it is shown (the station)
ROLES = ("photographer", "supervisor", "admin")  # order API roles (order_api/models/identity.py)
# The samples panel says "here 3 h": read again every minute while the studio is on screen.
REREAD_MS = 60_000

READ_FAILED = QT_TRANSLATE_NOOP(CTX, "The shot list could not be read. If it happens again, call IT.")
NOT_A_REVIEWER = QT_TRANSLATE_NOOP(CTX, "Only a supervisor reviews shots.")

Work = Callable[[StudioSession], StudioVerdict | None]


class StudioSection(Section):
    """Wraps the StudioView: products and sample barcodes scanned here make the active SKU."""

    def __init__(self, layout: Layout, runner: TaskRunner, banners: Banners, core: StudioCore,
                 ledger: CaptureNames) -> None:
        say = banners.voice(KEY)
        view = StudioView(layout)
        super().__init__(KEY, TITLE, ROLES, view, say)
        self.view = view
        self._core, self._runner, self._ledger = core, runner, ledger
        self.session: StudioSession | None = None
        self._jobs: deque[tuple[StudioSession, Work | None, str]] = deque()
        self._busy = False
        self.reread = QTimer(self, interval=REREAD_MS)
        self.reread.timeout.connect(self.load)
        view.filter_chosen.connect(lambda _filter: self.load())
        view.review_toggled.connect(lambda _on: self.load())
        view.approve_requested.connect(lambda shot: self._do(lambda s: s.approve(shot), "approve shot"))
        view.reject_requested.connect(lambda shot, comment: self._do(lambda s: s.reject(shot, comment),
                                                                      "reject shot"))
        view.not_allowed.connect(lambda: self.say.show("reject", translate(CTX, NOT_A_REVIEWER)))

    @property
    def verdicts_waiting(self) -> bool:
        """Whether a scan or an action has not been answered on screen yet (tests wait on it)."""
        return self._busy or bool(self._jobs)

    # --- the station's hooks ------------------------------------------------------------

    def set_person(self, person: SignedIn | None) -> None:
        super().set_person(person)
        self._jobs.clear()  # a read or action still on the worker is dropped when it comes back
        self.session = None if person is None else StudioSession(self._core, self._ledger, person.username,
                                                                  person.roles)
        self.view.reset(self.session is not None and self.session.can_review)

    def accepts(self, code: Classified) -> bool:
        return isinstance(code, (ProductCode, Unrecognised))

    def handle_scan(self, code: Classified) -> bool:
        # A sample's barcode may look like a bin, a tote or an order number: the session reads them all.
        # A packing bench command is the station's to answer (it names Pack).
        if self.session is None or isinstance(code, BenchCommand):
            return False
        self._do(lambda s: s.scan(code), "studio scan")
        return True

    def shown(self) -> None:
        self.view.setFocus()
        self.reread.start()
        self.load()

    def hidden(self) -> None:
        self.reread.stop()

    def data_changed(self, status: SyncStatus) -> None:
        # A pull (a review, a sample checked in elsewhere) or a refusal: read again while on screen.
        if self.data_moved(status) and self.on_screen:
            self.load()

    def rejected(self, mutations: list[RejectedMutation]) -> str | None:
        if self.on_screen:
            self.load()
        return None

    # --- work on the worker, one at a time ------------------------------------------------

    def load(self) -> None:
        """Read the screen again (once: a read already waiting its turn reads the newest state too)."""
        if self.session is None or any(work is None for _, work, _ in self._jobs):
            return
        self._jobs.append((self.session, None, "read studio"))
        self._next()

    def _do(self, work: Work, name: str) -> None:
        if self.session is None:
            return
        self._jobs.append((self.session, work, name))
        self._next()

    def _next(self) -> None:
        if self._busy or not self._jobs:
            return
        self._busy = True
        session, work, name = self._jobs.popleft()
        view = self.view
        filter_, reviewing = view.filter, view.reviewing and session.can_review

        def run() -> tuple[StudioVerdict | None, StudioScreen]:
            verdict = work(session) if work is not None else None
            return verdict, read_screen(session, filter_, reviewing)

        def done(result: tuple[StudioVerdict | None, StudioScreen]) -> None:
            self._busy = False
            if session is self.session:
                verdict, screen = result
                if verdict is not None:
                    self.say.show(verdict.kind, verdict.words)
                    if name == "reject shot" and verdict.kind == "accept":
                        view.comment_sent()
                view.show_screen(screen)
            self._next()

        def failed(exc: BaseException) -> None:
            self._busy = False
            log.error("%s failed", name, exc_info=exc)
            if session is self.session:
                self.say.show("reject", translate(CTX, READ_FAILED))
            self._next()

        self._runner.run(run, done, failed, name=name)


def read_screen(session: StudioSession, filter_: str, reviewing: bool) -> StudioScreen:
    """What the studio screen shows, read from the local view (on a worker)."""
    active = session.active
    try:
        next_name = session.next_name() if active is not None else None
    except ValueError as exc:  # a SKU or angle a file name cannot hold (longer than the ledger keeps)
        log.warning("no capture name for %s: %s", active.sku if active else None, exc)
        next_name = None
    return StudioScreen(active, next_name, tuple(session.shot_list(filter_)),
                        tuple(session.waiting_for_review()) if reviewing else (),
                        tuple(session.samples_in_studio(datetime.now(timezone.utc))))
