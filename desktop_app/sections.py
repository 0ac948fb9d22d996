"""What a section of the app (Pick, Pack, Studio, Exceptions, Devices ...) is to the station that shows it.

A section is a screen with its own work: the station (desktop_app/station.py) shows the
sections a person's roles open, hands a scan to the one on screen, and tells each of them
when the person changes, when the sync status moves and when the server refuses actions.
The station names no section; the composition root (desktop_app/app.py) registers them,
and each section's adapter lives next to its view (desktop_app/views/<name>/section.py).

The feedback banner is shared, but its messages are not: each section speaks through its
own voice (`Banners.voice`), and only the section on screen is heard. Coming back to a
section shows its last message again; a change of person forgets them all
(ARCHITECTURE.md §8: the previous person's banners are gone).
"""

from collections.abc import Iterable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from desktop_app.feedback import Feedback
from scanners.codes import Classified
from sync.engine import SyncStatus
from sync.outbox import RejectedMutation
from sync.signin import SignedIn


class Voice:
    """One section's way to the banner: an Announcer (`show(kind, message)`) heard only while it is on screen."""

    def __init__(self, banners: "Banners", key: str | None) -> None:
        self._banners, self._key = banners, key

    def show(self, kind: str, message: str) -> None:
        self._banners.say(self._key, kind, message)


class Banners:
    """The one feedback banner shared by the sections, each of which keeps its own last message."""

    def __init__(self, feedback: Feedback) -> None:
        self._feedback = feedback
        self._on_screen: str | None = None  # the key of the section on screen; None: the sign-in screen
        self._last: dict[str | None, tuple[str, str]] = {}

    @property
    def on_screen(self) -> str | None:
        return self._on_screen

    def voice(self, key: str) -> Voice:
        return Voice(self, key)

    def show(self, kind: str, message: str) -> None:
        """Words of the station about what is on screen now (a greeting, a scan no section takes)."""
        self.say(self._on_screen, kind, message)

    def say(self, key: str | None, kind: str, message: str) -> None:
        """Keep the message as `key`'s last; sound and flash it only if that screen is in front."""
        self._last[key] = (kind, message)
        if key == self._on_screen:
            self._feedback.show(kind, message)

    def bring(self, key: str | None) -> None:
        """`key`'s screen came to the front: its last message, calm and silent, or an empty banner."""
        if key == self._on_screen:
            return
        self._on_screen = key
        kind, message = self._last.get(key, ("info", ""))
        self._feedback.banner.flash(kind, message, 0)

    def forget(self) -> None:
        """Another person took over the device: no message of the previous one stays."""
        self._last.clear()
        self._feedback.banner.flash("info", "", 0)


class Section(QObject):
    """A screen with its own work, plugged into the station; the hooks below do nothing unless overridden.

    key: a stable name for code and tests ("pick"); title: what people read on its button, in English,
    marked with QT_TRANSLATE_NOOP("Sections", ...) and translated where it is shown;
    roles: the order API roles that open it (None: everyone signed in); widget: its screen;
    say: its voice on the banner. `on_screen` is kept by the station.
    """

    # A few characters on the section's button (how many things wait there); "" for none.
    status_changed = Signal(str)

    def __init__(self, key: str, title: str, roles: Iterable[str] | None, widget: QWidget, say: Voice) -> None:
        super().__init__()
        self.key, self.title, self.widget, self.say = key, title, widget, say
        self.roles = None if roles is None else frozenset(roles)
        self.person: SignedIn | None = None
        self.on_screen = False
        self._data_seen: tuple[int, int] | None = None  # (cursor, refused) of the last status: data_moved()

    def opens_for(self, roles: Iterable[str]) -> bool:
        """Whether a person with these roles gets this section."""
        return self.roles is None or not self.roles.isdisjoint(roles)

    def accepts(self, code: Classified) -> bool:
        """Whether this section has a use for such a scan (asked when another section is on screen)."""
        return False

    def handle_scan(self, code: Classified) -> bool:
        """A scan while this section is on screen; False leaves the answer to the station."""
        return False

    def shown(self) -> None:
        """The section came to the front: take the keyboard focus, read what it shows."""
        self.widget.setFocus()

    def hidden(self) -> None:
        """Another section (or the sign-in screen) came to the front."""

    def set_person(self, person: SignedIn | None) -> None:
        """The person now signed in (None: signed out, or one whose roles do not open this section).

        Nothing of the previous person may stay on this section's screen.
        """
        self.person = person
        self._data_seen = None

    def data_moved(self, status: SyncStatus) -> bool:
        """Whether a pull or a refusal came since the status before (the first status of a person counts).

        The queue's count alone is no news for a screen: it moves with every action stored and
        every push.
        """
        seen, self._data_seen = self._data_seen, (status.cursor, status.rejected)
        return seen != self._data_seen

    def data_changed(self, status: SyncStatus) -> None:
        """The sync status moved, and with it maybe the local data (at most every 100 ms)."""

    def rejected(self, mutations: list[RejectedMutation]) -> str | None:
        """The server refused these actions; returns what to tell the person at the screen, if anything."""
        return None
