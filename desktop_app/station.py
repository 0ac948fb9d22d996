"""The shared station: who is signed in on this device, which section shows, where a scan goes, what the status says.

Several people use one device in a shift (ARCHITECTURE.md §8). The station signs them in and
out, opens the sections their roles allow, and passes the sections what concerns them; it
names no section: they are registered in the composition root (desktop_app/app.py) and
plug in through desktop_app/sections.py.
"""

import logging
from collections.abc import Sequence

from PySide6.QtCore import QObject, QTimer

from desktop_app.sections import Banners, Section
from desktop_app.sync_signals import SyncSignals
from desktop_app.tasks import TaskRunner
from desktop_app.views.shell.main_window import MainWindow
from desktop_app.views.shell.signin_view import SignInRequest
from desktop_app.workflows.signin import SignInFailed, sign_in
from scanners.classify import ClassifyOptions, classify
from scanners.codes import Classified, LocationLabel, ProductCode, Scan, ToteCode, Unrecognised, UserBadge
from sync.client import ClientCore
from sync.engine import SyncStatus
from sync.signin import SignedIn

log = logging.getLogger(__name__)

REDRAW_MS = 100

# What people read; kept together so that translation finds them in one place.
SCAN_BADGE = "Scan your badge to sign in."
OPEN_ELSEWHERE = "Open {titles} to use this scan."
NOT_YOUR_WORK = "{what} is not used in your work."
WHAT_IT_IS = {LocationLabel: "This bin label", ToteCode: "This tote", ProductCode: "This product barcode"}
SIGN_IN_BROKE = "Sign-in failed because of a problem in this app. Try again; if it happens again, call IT."
NO_KEY = "This device cannot read its sign-in key. Call IT."
HELLO = "Hello {name}{note}"
BADGE_PIN = "Badge {badge}: enter your PIN"
SIGNED_OUT = "Signed out"
OFFLINE_SUFFIX = " · offline"


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
        self.window.add_section(section.key, section.title, section.widget)
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
                message = code.reason if isinstance(code, Unrecognised) else SCAN_BADGE
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
            return code.reason
        takers = [s.title for s in self._open if s is not current and s.accepts(code)]
        if takers:
            return OPEN_ELSEWHERE.format(titles=" or ".join(takers))
        return NOT_YOUR_WORK.format(what=WHAT_IT_IS.get(type(code), "This code"))

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
            self.window.signin.set_device_note(NO_KEY)

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
            message = SIGN_IN_BROKE
        self.window.signin.show_error(message)
        self.banners.show("reject", message)

    def _signed_in(self, person: SignedIn) -> None:
        self.person = person
        self._set_person(person)
        where = "" if person.online else OFFLINE_SUFFIX
        self.window.show_signed_in(f"{person.display_name} · {', '.join(person.roles)}{where}",
                                   [s.key for s in self._open])
        if self._open:
            self.show_section(self._open[0].key)
        # The greeting replaces whatever the previous person's last scan left in the banner.
        note = f" — {person.note}" if person.note else ""
        self.banners.show("info", HELLO.format(name=person.display_name, note=note))
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
        self.banners.show("info", BADGE_PIN.format(badge=badge))

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
        self.banners.show("info", SIGNED_OUT)

    # --- what the sync engine says -------------------------------------------------------

    def show_status(self, status: SyncStatus) -> None:
        self.window.status.show_status(status)
        self._status = status
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
