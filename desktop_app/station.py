"""The shared station: who is signed in on this device, which section shows, where a scan goes, what the status says.

Several people use one device in a shift (ARCHITECTURE.md §8). The station signs them in and
out, opens the sections their roles allow, and passes the sections what concerns them; it
names no section: they are registered in the composition root (desktop_app/app.py) and
plug in through desktop_app/sections.py.
"""

import logging
from collections.abc import Sequence

from PySide6.QtCore import QObject, QTimer

from desktop_app.i18n import translate
from desktop_app.sections import Banners, Section
from desktop_app.sync_signals import SyncSignals
from desktop_app.tasks import TaskRunner
from desktop_app.views.shell.main_window import MainWindow
from desktop_app.views.shell.signin_view import SignInRequest
from desktop_app.workflows.signin import SignInFailed, sign_in
from scanners.classify import ClassifyOptions, classify
from scanners.codes import Classified, LocationLabel, ProductCode, Scan, ToteCode, Unrecognised, UserBadge
from sync.catalogue.entry import QT_TRANSLATE_NOOP
from sync.client import ClientCore
from sync.connectivity import SyncState
from sync.engine import SyncStatus
from sync.signin import SignedIn

log = logging.getLogger(__name__)

REDRAW_MS = 100
# The status line changes with every stored scan, push and pulled page: shown at once, then at most every 250 ms.
STATUS_MS = 250

# What people read; kept together so that translation finds them in one place (context "Station").
NOT_A_BADGE = QT_TRANSLATE_NOOP("Station", "That was not a badge. Scan your badge, or type your name and PIN.")
NOT_YOUR_WORK = {
    LocationLabel: QT_TRANSLATE_NOOP("Station", "This bin label is not used in your work."),
    ToteCode: QT_TRANSLATE_NOOP("Station", "This tote is not used in your work."),
    ProductCode: QT_TRANSLATE_NOOP("Station", "This product barcode is not used in your work."),
}
NOT_YOUR_WORK_OTHER = QT_TRANSLATE_NOOP("Station", "This code is not used in your work.")
SIGN_IN_BROKE = QT_TRANSLATE_NOOP("Station", "Sign-in failed because of a problem in this app. Try again; if it "
                                             "happens again, call IT.")
NO_KEY = QT_TRANSLATE_NOOP("Station", "This device cannot read its sign-in key. Call IT.")
BADGE_PIN = QT_TRANSLATE_NOOP("Station", "Badge {badge}: enter your PIN")
SIGNED_OUT = QT_TRANSLATE_NOOP("Station", "Signed out")


class Station(QObject):
    """Connects the window and the sections to the client core; every slow step goes through the task runner."""

    def __init__(self, core: ClientCore, window: MainWindow, sections: Sequence[Section], runner: TaskRunner,
                 banners: Banners, *, classify_options: ClassifyOptions, sync_signals: SyncSignals) -> None:
        super().__init__(window)
        self.core, self.window, self.runner, self.banners = core, window, runner, banners
        self.classify_options = classify_options
        self.sections: list[Section] = []
        self.person: SignedIn | None = None
        self.demo = False  # the demo keeps no sign-ins on purpose: no need to say so at every sign-in
        self._open: list[Section] = []  # the sections of the person signed in
        self._current: Section | None = None  # the section the person is in (hidden while a switch is asked)
        self._status: SyncStatus | None = None
        self._seen: tuple[int, int, int] | None = None
        # A catching-up pull stores many pages a second: tell the sections at most every 100 ms,
        # so the scans keep the main thread.
        self._redraw = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw.timeout.connect(self._data_changed)
        self._status_due = QTimer(self, singleShot=True, interval=STATUS_MS)
        self._status_due.timeout.connect(self._show_latest_status)
        self._shown: SyncStatus | None = None  # the status the line shows (self._status may be newer)
        for section in sections:
            self.add(section)
        window.signin.submitted.connect(self.sign_in)
        window.signin.cancelled.connect(self._back_to_person)
        window.sign_out_requested.connect(self.sign_out)
        window.section_chosen.connect(self.show_section)
        window.code_typed.connect(lambda text: self.scan(Scan(raw=text, source="manual")))
        sync_signals.status_changed.connect(self.show_status)
        sync_signals.rejected.connect(self._rejected)

    # --- sections ----------------------------------------------------------------------

    def add(self, section: Section) -> None:
        """Register a section: its button comes after those registered before, for the people it opens to."""
        if any(s.key == section.key for s in self.sections):
            raise ValueError(f"a section {section.key!r} is registered already")
        section.setParent(self)  # goes with the window: no timer of a section outlives it
        self.sections.append(section)
        self.window.add_section(section.key, translate("Sections", section.title), section.widget)
        section.status_changed.connect(lambda text, key=section.key: self.window.set_section_status(key, text))

    def sections_for(self, roles: Sequence[str]) -> list[Section]:
        """The sections a person with these roles opens, in the order they were registered."""
        return [s for s in self.sections if s.opens_for(roles)]

    def section(self, key: str) -> Section:
        """The registered section of this key (KeyError when there is none)."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def current_section(self) -> str | None:
        """The key of the section on screen; None while the sign-in or switch form shows."""
        return self._current.key if self._current is not None and self._current.on_screen else None

    def show_section(self, key: str) -> None:
        section = self.section(key)
        if section not in self._open:
            return  # not one of this person's sections
        previous, self._current = self._current, section
        if previous is not None and previous is not section and previous.on_screen:
            previous.on_screen = False
            previous.hidden()
        self.window.show_section(key)
        self.banners.bring(key)
        section.on_screen = True
        section.shown()

    def _leave_section(self) -> None:
        """The sign-in (or switch) form takes the screen; the section is kept for Back."""
        if self._current is not None and self._current.on_screen:
            self._current.on_screen = False
            self._current.hidden()
        self.banners.bring(None)

    # --- scans -------------------------------------------------------------------------

    def scan(self, scan: Scan) -> None:
        """Every scan source ends here: classify, then hand it to whoever is on screen."""
        code = classify(scan, self.classify_options)
        if self.window.signing_in():
            if isinstance(code, UserBadge):
                self.window.signin.badge_scanned(code.code)
            else:
                # Whatever else it was (a product, four digits typed at a scanner's speed), here it is
                # only not a badge: the classifier's reasons speak of product codes and bins.
                message = translate("Station", NOT_A_BADGE)
                self.window.signin.show_error(message)
                self.banners.show("reject", message)
            return
        if isinstance(code, UserBadge):
            self.switch_user(code.code)
            return
        current = self._current if self._current is not None and self._current.on_screen else None
        if current is not None and current.handle_scan(code):
            return
        self.banners.show("reject", self._not_here(code, current))

    def _not_here(self, code: Classified, current: Section | None) -> str:
        """Why the section on screen does not take this scan, naming only sections this person has."""
        if isinstance(code, Unrecognised):
            return code.said(translate)
        takers = [translate("Sections", s.title) for s in self._open if s is not current and s.accepts(code)]
        if len(takers) == 1:
            return translate("Station", "Open {section} to use this scan.").format(section=takers[0])
        if len(takers) == 2:
            return translate("Station", "Open {first} or {second} to use this scan.").format(first=takers[0],
                                                                                          second=takers[1])
        if takers:
            return translate("Station", "Open one of these to use this scan: {sections}.").format(
                sections=", ".join(takers))
        return translate("Station", NOT_YOUR_WORK.get(type(code), NOT_YOUR_WORK_OTHER))

    # --- people ------------------------------------------------------------------------

    def prepare(self) -> None:
        """Read this device's secrets (the OS keyring) on a worker, then say on the sign-in screen if they are
        not in a secure store. Called once at start; nothing touches the keyring on the UI thread."""
        signin = self.core.signin

        def ready(_result: object) -> None:
            note = None if self.demo else signin.keyring_note
            # The note is sync/credentials.py's sentence, looked up in the catalogue as it stands.
            self.window.signin.set_device_note(translate("SignIn", note) if note else None)

        def failed(exc: BaseException) -> None:
            log.error("this device's secrets could not be read", exc_info=exc)
            self.window.signin.set_device_note(translate("Station", NO_KEY))

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
            message = translate("Station", SIGN_IN_BROKE)
        self.window.signin.show_error(message)
        self.banners.show("reject", message)

    def _signed_in(self, person: SignedIn) -> None:
        self.person = person
        self._set_person(person)
        about = (translate("Station", "{name} · {roles}") if person.online
                 else translate("Station", "{name} · {roles} · offline"))
        about = about.format(name=person.display_name, roles=", ".join(person.roles))
        self.window.show_signed_in(person.display_name, about, [s.key for s in self._open])
        if self._open:
            self.show_section(self._open[0].key)
        # The greeting replaces whatever the previous person's last scan left in the banner.
        if person.note:
            # The note is sync/signin.py's sentence, looked up in the catalogue as it stands.
            hello = translate("Station", "Hello {name} — {note}").format(name=person.display_name,
                                                                          note=translate("SignIn", person.note))
        else:
            hello = translate("Station", "Hello {name}").format(name=person.display_name)
        self.banners.show("info", hello)
        self._end_ended_sessions()

    def _set_person(self, person: SignedIn | None) -> None:
        """Every section gets the new person (or None when it is not theirs); nothing of the previous one stays."""
        self._leave_section()
        self._current = None
        self.banners.forget()
        self._open = self.sections_for(person.roles) if person is not None else []
        for section in self.sections:
            section.set_person(person if section in self._open else None)
        if self._status is not None:
            self._show_status_now()  # nothing of the line waits from the previous person's time
            self._redraw.start()  # the new person's sections get the status too

    def _end_ended_sessions(self) -> None:
        """Revoke on the server the sessions a switch or sign-out ended (network: on a worker)."""
        self.runner.run(self.core.signin.end_sessions, name="end previous sessions")

    def switch_user(self, badge: str) -> None:
        """Another badge was scanned: that person signs in with their PIN; Back returns to the current one."""
        name = self.person.display_name if self.person else None
        self._leave_section()
        self.window.show_signed_out(switching_from=name)
        self.window.signin.badge_scanned(badge)
        self.banners.show("info", translate("Station", BADGE_PIN).format(badge=badge))

    def _back_to_person(self) -> None:
        if self.person is None or self._current is None:
            self.window.show_signed_out()
            return
        self.window.show_signed_in_again()
        self.show_section(self._current.key)

    def sign_out(self) -> None:
        self.core.signin.sign_out()  # at once: nothing more goes out under this person's session
        self._end_ended_sessions()
        self.person = None
        self._set_person(None)
        self.window.show_signed_out()
        self.banners.show("info", translate("Station", SIGNED_OUT))

    # --- what the sync engine says -------------------------------------------------------

    def show_status(self, status: SyncStatus) -> None:
        self._status = status
        # Only counts moved (or online <-> sending): shown when the line's turn comes.
        if not (self._status_due.isActive() and self._shown is not None and _news(status) == _news(self._shown)):
            self._show_status_now()

    def _show_latest_status(self) -> None:
        if self._status is not self._shown:
            self._show_status_now()

    def _show_status_now(self) -> None:
        self._status_due.start()
        status = self._shown = self._status
        self.window.status.show_status(status)
        seen = (status.cursor, status.pending, status.rejected)
        if seen != self._seen:
            self._seen = seen
            if not self._redraw.isActive():
                self._redraw.start()

    def _data_changed(self) -> None:
        for section in self._open:
            section.data_changed(self._status)

    def _rejected(self, rejected: list) -> None:
        said = [words for section in self.sections if (words := section.rejected(rejected))]
        if said:
            self.banners.show("reject", said[0])


def _news(status: SyncStatus) -> tuple:
    """What of a status is shown at once: offline, signed out, refused, an alarm, a refusal; not counts."""
    settled = status.state in (SyncState.IDLE, SyncState.SYNCING)
    return (None if settled else status.state, status.rejected, status.stuck, status.stale)
