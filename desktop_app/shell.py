"""The shell's behaviour: who is signed in, which section shows, where a scan goes, what the status bar says."""

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from desktop_app.sync_feed import SyncFeed
from desktop_app.tasks import TaskRunner
from desktop_app.views.picking.picking_view import Announcer, PickingView
from desktop_app.views.shell.main_window import MainWindow
from desktop_app.views.shell.signin_view import SignInRequest
from desktop_app.workflows.devices import DeviceBoard, can_manage
from desktop_app.workflows.exceptions import Exceptions
from desktop_app.workflows.picking import PickingOptions, PickingSession
from desktop_app.workflows.signin import SignInFailed, sign_in
from scanners.classify import ClassifyOptions, classify
from scanners.codes import Scan, Unrecognised, UserBadge
from sync.api import Offline, ServerBusy
from sync.client import ClientCore
from sync.engine import SyncStatus
from sync.signin import SignedIn

log = logging.getLogger(__name__)

LEASE_RENEW_MS = 5 * 60 * 1000

# Which sections a role opens (order API roles, order_api/models/identity.py); everyone sees Exceptions.
ROLE_SECTIONS = {"picker": ("pick",), "packer": ("pack",), "photographer": ("studio",),
                 "supervisor": ("pick", "pack", "studio", "devices"), "admin": ("pick", "pack", "studio", "devices")}


def sections_for(roles: list[str]) -> list[str]:
    wanted = {s for role in roles for s in ROLE_SECTIONS.get(role, ())} | {"exceptions"}
    return [s for s in ("pick", "pack", "studio", "exceptions", "devices") if s in wanted]


class Shell(QObject):
    """Connects the window to the client core; every slow step goes through the task runner."""

    def __init__(self, core: ClientCore, window: MainWindow, picking: PickingView, exceptions_view,
                 runner: TaskRunner, announce: Announcer, *, classify_options: ClassifyOptions,
                 picking_options: PickingOptions, sync_feed: SyncFeed, devices_view=None) -> None:
        super().__init__(window)
        self.core, self.window, self.picking, self.exceptions_view = core, window, picking, exceptions_view
        self.runner, self.announce = runner, announce
        self.classify_options, self.picking_options = classify_options, picking_options
        self.exceptions = Exceptions(core.outbox, name_of=self._name_of)
        self.person: SignedIn | None = None
        self.demo = False  # the demo keeps no sign-ins on purpose: no need to say so at every sign-in
        self.section: str | None = None
        self._seen: tuple[int, int] | None = None
        # A catching-up pull stores many pages a second: redraw the picking screen at most
        # every 100 ms for them, so the scans keep the main thread.
        self._redraw = QTimer(self, singleShot=True, interval=100)
        self._redraw.timeout.connect(lambda: self.section == "pick" and self.picking.data_changed())
        window.signin.submitted.connect(self.sign_in)
        window.signin.cancelled.connect(self._back_to_person)
        window.sign_out_requested.connect(self.sign_out)
        window.section_chosen.connect(self.show_section)
        window.code_typed.connect(lambda text: self.scan(Scan(raw=text, source="manual")))
        # Leases run for 30 minutes on the reference API; renewing every 5 keeps a slow batch
        # claimed, and a lost one is told to the picker long before the batch is done.
        self.lease_timer = QTimer(self)
        self.lease_timer.setInterval(LEASE_RENEW_MS)
        self.lease_timer.timeout.connect(self.renew_lease)
        self.lease_timer.start()
        exceptions_view.resolve_requested.connect(self._resolve)
        exceptions_view.refresh_requested.connect(self.load_exceptions)
        sync_feed.status_changed.connect(self.show_status)
        sync_feed.rejected.connect(self._rejected)
        self.devices_view = devices_view
        self.devices = DeviceBoard(core.api, core.device.device_id)
        if devices_view is not None:
            devices_view.refresh_requested.connect(self.load_devices)
            devices_view.revoke_requested.connect(self._take_out_of_service)
            devices_view.code_requested.connect(self._recovery_code)

    # --- scans -------------------------------------------------------------------------

    def scan(self, scan: Scan) -> None:
        """Every scan source ends here: classify, then hand it to whoever is on screen."""
        code = classify(scan, self.classify_options)
        if self.window.stack.currentWidget() is self.window.signin:
            if isinstance(code, UserBadge):
                self.window.signin.badge_scanned(code.code)
            else:
                message = code.reason if isinstance(code, Unrecognised) else "Scan your badge to sign in."
                self.window.signin.show_error(message)
                self.announce.show("reject", message)
            return
        if isinstance(code, UserBadge):
            self.switch_user(code.code)
        elif self.section == "pick":
            self.picking.handle_scan(code)
        elif isinstance(code, Unrecognised):
            self.announce.show("reject", code.reason)
        else:
            self.announce.show("reject", "Open Pick to use this scan.")

    # --- people ------------------------------------------------------------------------

    def prepare(self) -> None:
        """Read this device's secrets (the OS keyring) on a worker, then say on the sign-in screen if they are
        not in a secure store. Called once at start; nothing touches the keyring on the UI thread."""
        signin = self.core.signin

        def ready(_result: object) -> None:
            note = None if self.demo else signin.keyring_note
            self.window.signin.set_device_note(note)

        def failed(exc: BaseException) -> None:
            log.error("this device's secrets could not be read", exc_info=exc)
            self.window.signin.set_device_note("This device cannot read its sign-in key. Call IT.")

        self.runner.run(signin.prepare, ready, failed, name="read device secrets")

    def sign_in(self, request: SignInRequest) -> None:
        signin = self.core.signin
        # The person's scope is set in the replica on the worker, before the session changes hands.
        self.runner.run(lambda: sign_in(signin, pin=request.pin, username=request.username, badge=request.badge),
                        self._signed_in, self._sign_in_failed, name="sign in")

    def _sign_in_failed(self, exc: BaseException) -> None:
        # Nothing changed hands: whoever was signed in still is, and Back returns to them.
        if isinstance(exc, SignInFailed):
            message = str(exc)
        else:
            log.error("sign-in failed", exc_info=exc)
            message = "Sign-in failed because of a problem in this app. Try again; if it happens again, call IT."
        self.window.signin.show_error(message)
        self.announce.show("reject", message)

    def _signed_in(self, person: SignedIn) -> None:
        self.person = person
        self.picking.set_session(PickingSession(self.core, person.username, self.picking_options,
                                                user_id=person.user_id))
        sections = sections_for(person.roles)
        where = "" if person.online else " · offline"
        self.window.show_signed_in(f"{person.display_name} · {', '.join(person.roles)}{where}", sections)
        self.section = None
        self.show_section(sections[0])
        # The greeting replaces whatever the previous person's last scan left in the banner.
        note = f" — {person.note}" if person.note else ""
        self.announce.show("info", f"Hello {person.display_name}{note}")
        self._end_ended_sessions()

    def _end_ended_sessions(self) -> None:
        """Revoke on the server the sessions a switch or sign-out ended (network: on a worker)."""
        self.runner.run(self.core.signin.end_sessions, name="end previous sessions")

    def switch_user(self, badge: str) -> None:
        """Another badge was scanned: that person signs in with their PIN; Back returns to the current one."""
        name = self.person.display_name if self.person else None
        self.window.show_signed_out(switching_from=name)
        self.window.signin.badge_scanned(badge)
        self.announce.show("info", f"Badge {badge}: enter your PIN")

    def _back_to_person(self) -> None:
        if self.person is None:
            self.window.show_signed_out()
            return
        self.window.header.show()
        self.window.manual.show()
        self.show_section(self.section or sections_for(self.person.roles)[0])

    def sign_out(self) -> None:
        self.core.signin.sign_out()  # at once: nothing more goes out under this person's session
        self._end_ended_sessions()
        self.person = None
        self.section = None
        self.picking.set_session(None)
        self.window.show_signed_out()
        self.announce.show("info", "Signed out")

    def renew_lease(self) -> None:
        session = self.picking.session
        if session is None or session.batch_id is None:
            return
        self.runner.run(session.renew_lease,
                        lambda outcome: outcome is not None and self.announce.show(outcome.kind, outcome.message),
                        name="renew lease")

    # --- sections ----------------------------------------------------------------------

    def show_section(self, name: str) -> None:
        self.section = name
        self.window.show_section(name)  # the exceptions view asks for its cards when shown

    def load_exceptions(self) -> None:
        can = self.person is not None and self.exceptions.can_resolve(self.person.roles)
        self.runner.run(self.exceptions.cards, lambda cards: self.exceptions_view.show_cards(cards, can),
                        name="load exceptions")

    def _resolve(self, mutation_id: str) -> None:
        person = self.person
        if person is None:
            return
        self._background(lambda: self.exceptions.resolve(mutation_id, person.username, person.roles),
                         self.load_exceptions, "resolve exception")

    def load_devices(self) -> None:
        if self.person is None or not can_manage(self.person.roles):
            return
        self.runner.run(self.devices.load, self.devices_view.show_devices,
                        lambda exc: self._device_call_failed("The device list", exc), name="load devices")

    def _take_out_of_service(self, device_id: str) -> None:
        def done(message: str) -> None:
            self.devices_view.say(message)
            self.load_devices()

        self.runner.run(lambda: self.devices.take_out_of_service(device_id), done,
                        lambda exc: self._device_call_failed("Taking the device out of service", exc),
                        name="take a device out of service")

    def _recovery_code(self, device_id: str) -> None:
        self.runner.run(lambda: self.devices.recovery_code(device_id), self.devices_view.show_code,
                        lambda exc: self._device_call_failed("The recovery code", exc), name="recovery code")

    def _device_call_failed(self, what: str, exc: BaseException) -> None:
        log.warning("%s failed: %s", what, exc)
        if isinstance(exc, (Offline, ServerBusy)):
            self.devices_view.say(f"{what} did not work now: the server is out of reach. Try again in a moment.")
            return
        self.devices_view.say(f"{what} did not work: the server refused it. Try again; if it happens again, "
                              "call IT.")
        self.load_devices()

    def _name_of(self, entity: str, row_id: int) -> str | None:
        """The order number or batch code of an id, from the local view (worker thread: read only)."""
        row = self.core.view.row(entity, row_id)
        return None if row is None else row.get("number") or row.get("code")

    def _rejected(self, rejected: list) -> None:
        self.announce.show("reject", f"{len(rejected)} action{'s' if len(rejected) != 1 else ''} refused by the "
                                     "server: see Exceptions")
        if self.section == "exceptions":
            self.load_exceptions()
        elif self.section == "pick":
            self.picking.refresh()

    def show_status(self, status: SyncStatus) -> None:
        self.window.status.show_status(status)
        self.window.offline.show_status(status)
        seen = (status.cursor, status.pending)
        if seen != self._seen:
            # A pull brought new server state (a cancelled order, a reassigned batch), or a push
            # emptied the queue (the summary says whether all work is sent): show it.
            self._seen = seen
            if self.section == "pick" and not self._redraw.isActive():
                self._redraw.start()

    def _background(self, fn: Callable[[], object], then: Callable[[], None], name: str) -> None:
        """fn on a worker, then `then` on the main thread whether it worked or not (a failure is announced)."""
        def failed(exc: BaseException) -> None:
            self.announce.show("reject", f"{name.capitalize()} failed: {exc}")
            then()

        self.runner.run(fn, lambda _result: then(), failed, name=name)
