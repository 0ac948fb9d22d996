"""Drives the real app in tests: built by the composition root, scanned through the wedge filter."""

from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from sqlalchemy import select

from desktop_app.app import FloorhandApp, build
from desktop_app.settings import Settings
from sync.store.schema import outbox
from tests.desktop_app.conftest import FAST, KEYRING, NO_RETRY

SCANNER_KEY_MS = 8  # a barcode gun types a key every 5-15 ms
PERSON_KEY_MS = 180  # people type far slower than the 50 ms wedge threshold


@dataclass
class FakeClock:
    """Milliseconds the wedge detector reads; advanced by hand so no test sleeps for timing."""

    now: float = 10_000.0


@dataclass
class Driver:
    """One running app plus the means to scan, type and wait like a picker would."""

    app: FloorhandApp
    qtbot: object
    clock: FakeClock = field(default_factory=FakeClock)
    said: list[tuple[str, str]] = field(default_factory=list)  # every (kind, message) the feedback showed

    def __post_init__(self) -> None:
        self.app.feedback.shown.connect(lambda kind, message: self.said.append((kind, message)))

    @property
    def window(self):
        return self.app.window

    @property
    def picking(self):
        return self.app.picking.view

    def focus(self):
        target = QGuiApplication.focusObject()
        assert target is not None, "nothing has the keyboard focus: scans would go nowhere"
        return target

    def scan(self, text: str, wait: bool = True) -> None:
        """A scanner burst: keys 8 ms apart, then Enter, all into whatever has the focus; then (wait) its verdict."""
        for ch in text:
            self.clock.now += SCANNER_KEY_MS
            QTest.keyClick(self.focus(), ch)
        self.clock.now += SCANNER_KEY_MS
        QTest.keyClick(self.focus(), Qt.Key.Key_Return)
        if wait:
            self.wait_for_verdicts()

    def wait_for_verdicts(self) -> None:
        """Until the picking screen has shown the verdict of every scan and key: an action's verdict
        comes once the journal writer has stored it (desktop_app/views/picking/picking_view.py)."""
        self.qtbot.waitUntil(lambda: not self.picking.verdicts_waiting, timeout=15_000)

    def press(self, key: Qt.Key) -> None:
        """A person pressing one key (let through by the wedge filter after its pause)."""
        self.clock.now += PERSON_KEY_MS
        QTest.keyClick(self.focus(), key)
        # A key with text is held until the wedge detector's pause shows it was typed by hand.
        self.qtbot.waitUntil(lambda: not self.app.wedge.holding, timeout=2_000)
        self.wait_for_verdicts()

    def sign_in(self, username: str = "anna", pin: str = "1111") -> None:
        signin = self.window.signin
        signin.username.setText(username)
        signin.pin.setText(pin)
        signin.sign_in.click()
        self.qtbot.waitUntil(lambda: self.app.station.person is not None, timeout=15_000)

    def banner(self) -> tuple[str, str]:
        return self.app.feedback.banner.kind, self.app.feedback.banner.text()

    def outbox(self) -> list[tuple[str, dict]]:
        """Every action this device ever queued, sent or not, in seq order."""
        with self.app.core.store.journal.read() as conn:
            rows = conn.execute(select(outbox.c.name, outbox.c.args).order_by(outbox.c.seq)).all()
        return [(name, args) for name, args in rows]


def make_driver(qtbot, tmp_path, server_url: str, name: str = "client", keyring: str = KEYRING,
                **overrides) -> Driver:
    settings = Settings.load(machine_path=tmp_path / "machine.toml", user_path=tmp_path / "user.toml", environ={},
                             overrides={"ui.layout": "desktop", **overrides})
    clock = FakeClock()
    app = build(settings, server_url=server_url, data_dir=tmp_path / name, keyring=keyring, options=FAST,
                retry=NO_RETRY, wedge_clock=lambda: clock.now, sound_folder=tmp_path / "sounds")
    qtbot.addWidget(app.window)
    app.window.show()
    app.window.activateWindow()
    qtbot.waitUntil(lambda: QGuiApplication.focusObject() is not None)
    return Driver(app, qtbot, clock)


# --- picking steps shared by the app tests ----------------------------------------

def start_batch(d) -> None:
    d.press(Qt.Key.Key_Return)  # Enter on the start page claims the next batch
    d.qtbot.waitUntil(lambda: d.picking.pages.currentWidget() is d.picking.tote_page, timeout=15_000)


def assign_totes(d, first: int = 1) -> None:
    n = first
    while d.picking.pages.currentWidget() is d.picking.tote_page:
        d.scan(f"T-{n:04d}")
        assert d.banner()[0] == "accept", d.banner()
        n += 1


def pick_current(d) -> None:
    card = d.picking.session.current()
    d.scan(card.location_label)
    assert d.banner()[0] == "accept", d.banner()
    for _ in range(card.remaining):
        d.scan(card.gtin)
        assert d.banner()[0] in ("accept", "done"), d.banner()
