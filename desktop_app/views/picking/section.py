"""Picking as a section of the station: the picker's session follows the person, and the batch stays claimed."""

from PySide6.QtCore import QTimer

from desktop_app.sections import Banners, Section
from desktop_app.tasks import TaskRunner
from desktop_app.views.picking.picking_view import PickingView
from desktop_app.views.shell.style import Layout
from desktop_app.workflows.picking import PickingCore, PickingOptions, PickingSession
from scanners.codes import Classified, LocationLabel, ProductCode, ToteCode
from sync.catalogue.entry import QT_TRANSLATE_NOOP
from sync.engine import SyncStatus
from sync.outbox import RejectedMutation
from sync.signin import SignedIn

KEY, TITLE = "pick", QT_TRANSLATE_NOOP("Sections", "Pick")  # translated where it is shown (the station)
ROLES = ("picker", "supervisor", "admin")  # order API roles (order_api/models/identity.py)
# Leases run for 30 minutes on the reference API; renewing every 5 keeps a slow batch
# claimed, and a lost one is told to the picker long before the batch is done.
LEASE_RENEW_MS = 5 * 60 * 1000


class PickingSection(Section):
    """Wraps the PickingView: scans of bins, totes and products go to it, and its lease is renewed on a timer."""

    def __init__(self, layout: Layout, runner: TaskRunner, banners: Banners, core: PickingCore,
                 options: PickingOptions) -> None:
        say = banners.voice(KEY)
        view = PickingView(layout, runner, say)
        super().__init__(KEY, TITLE, ROLES, view, say)
        self.view = view
        self._core, self._runner = core, runner
        self.options = options
        self.lease_timer = QTimer(self, interval=LEASE_RENEW_MS)
        self.lease_timer.timeout.connect(self.renew_lease)
        self.lease_timer.start()

    def set_options(self, options: PickingOptions) -> None:
        """New picking rules from the settings: the picker at work gets them now, not at the next sign-in."""
        self.options = options
        if self.view.session is not None:
            self.view.session.options = options

    def set_person(self, person: SignedIn | None) -> None:
        super().set_person(person)
        self.view.set_session(None if person is None else
                              PickingSession(self._core, person.username, self.options, user_id=person.user_id))

    def accepts(self, code: Classified) -> bool:
        return isinstance(code, (LocationLabel, ToteCode, ProductCode))

    def handle_scan(self, code: Classified) -> bool:
        # Every scan, unknown ones included, goes through the view: its verdicts keep the order of the scans.
        self.view.handle_scan(code)
        return True

    def shown(self) -> None:
        self.view.activate()

    def data_changed(self, status: SyncStatus) -> None:
        # A pull brought new server state (a cancelled order, a reassigned batch), or the server
        # refused an action: show it. The queue's count alone moves on every scan that stores an
        # action and on every push; the task on screen already shows those actions, so only the
        # batch summary (which says whether all work is sent) is drawn again for it.
        moved = self.data_moved(status)
        if self.on_screen and (moved or self.view.shows_summary()):
            self.view.data_changed()

    def rejected(self, mutations: list[RejectedMutation]) -> str | None:
        if self.on_screen:
            self.view.refresh()
        return None

    def renew_lease(self) -> None:
        session = self.view.session
        if session is None or session.batch_id is None:
            return

        def renewed(outcome) -> None:
            if outcome is not None and session is self.view.session:
                self.say.show(outcome.kind, outcome.message)

        self._runner.run(session.renew_lease, renewed, name="renew lease")  # a failure goes to the log
