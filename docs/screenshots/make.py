"""`make screenshots`: pictures of the real app for the README, written next to this file.

Starts the demo warehouse in this process and builds the app through its composition root
twice: a 1280 x 800 workstation and a 480 x 800 handheld, each with its own data folder. Then
it works as a picker would (sign in, claim a batch, scan totes, bins and products) and grabs
the window at each step. A Director advances the scenes from a QTimer on the Qt event loop;
whenever a scene waits (for the server, for a flash to settle) it names what it waits for.

Run it as `.venv/bin/python docs/screenshots/make.py`. Without a display it renders with Qt's
offscreen platform; QT_QPA_PLATFORM, when set, is left alone.
"""

import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported: it reads this once

from PySide6.QtCore import QObject, QSize, QtMsgType, QTimer, qInstallMessageHandler  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_app.app import FloorhandApp, build  # noqa: E402
from desktop_app.demo import DemoWarehouse, start_demo  # noqa: E402
from desktop_app.settings import Settings  # noqa: E402
from desktop_app.workflows.picking import PickingState  # noqa: E402
from scanners.codes import Scan  # noqa: E402
from sync.engine import EngineOptions  # noqa: E402

OUT = Path(__file__).resolve().parent
SCREENS = {"desktop": QSize(1280, 800), "handheld": QSize(480, 800)}
DEVICE_NAMES = {"desktop": "Picking desk 1", "handheld": "Handheld 07"}
WAIT_S = 60.0  # the longest any one step may wait (a claim, a push, a pull)
TICK_MS = 50
FREE_TOTES = 21  # the demo's picked orders wait to be packed in T-0001..T-0020
# Closing an app and stopping the demo server both wait for a long poll in flight; with the
# default 20 s poll that is most of the run.
SHORT_POLLS = EngineOptions(long_poll_s=2.0)


@dataclass(frozen=True)
class Until:
    """What a scene waits for before its next step."""

    what: str
    ready: Callable[[], bool]


NEXT_TURN = Until("the next turn of the event loop (layouts and repaints done)", lambda: True)
Scene = Iterator[Until]


class Director(QObject):
    """Advances a scene whenever the condition it yielded holds; quits the event loop when it ends or fails."""

    def __init__(self, scene: Scene) -> None:
        super().__init__()
        self.failure: str | None = None
        self._scene = scene
        self._waiting = NEXT_TURN
        self._deadline = time.monotonic() + WAIT_S
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._timer.start()

    def _tick(self) -> None:
        if not self._waiting.ready():
            if time.monotonic() > self._deadline:
                self._end(f"gave up after {WAIT_S:.0f} s waiting for {self._waiting.what}")
            return
        try:
            self._waiting = next(self._scene)
        except StopIteration:
            self._end(None)
            return
        except Exception:  # reported in full and ends the run with an error status
            self._end(traceback.format_exc())
            return
        self._deadline = time.monotonic() + WAIT_S

    def _end(self, failure: str | None) -> None:
        self.failure = failure
        self._timer.stop()
        QApplication.quit()


@dataclass
class Studio:
    """Opens apps on the demo warehouse, each with its own data folder, and saves their windows as PNG files."""

    demo: DemoWarehouse
    folder: Path
    apps: list[FloorhandApp] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    def open(self, layout: str, device: str | None = None) -> FloorhandApp:
        """An app on a device of its own, named like the layout's (or `device`)."""
        device = device or DEVICE_NAMES[layout]
        settings = Settings.load(machine_path=self.folder / "machine.toml", user_path=self.folder / "user.toml",
                                 environ={}, overrides={"ui.layout": layout, "sounds.enabled": False,
                                                        "device_name": device})
        app = build(settings, server_url=self.demo.url, data_dir=self.folder / device.replace(" ", "-"), keyring="none",
                    screen=SCREENS[layout], sound_folder=self.folder / "sounds", options=SHORT_POLLS)
        self.apps.append(app)
        app.window.show()
        return app

    def save(self, app: FloorhandApp, name: str) -> None:
        path = OUT / name
        if not app.window.grab().save(str(path)):
            raise OSError(f"could not write {path}")
        self.written.append(path)

    def close(self) -> None:
        for app in self.apps:
            app.close()
            app.window.close()


# --- what a picker does --------------------------------------------------------------


def scan(app: FloorhandApp, raw: str) -> None:
    """A barcode read by the wedge scanner, handed to the station as the wedge filter would."""
    app.station.scan(Scan(raw=raw, source="wedge"))


def settled(app: FloorhandApp) -> Until:
    return Until("the feedback flash to settle", lambda: app.feedback.banner.settled)


def sign_in(app: FloorhandApp, username: str, pin: str) -> Scene:
    form = app.window.signin
    form.username.setText(username)
    form.pin.setText(pin)
    form.sign_in.click()
    yield Until(f"{username} to be signed in", lambda: app.station.person is not None)


def start_batch(app: FloorhandApp) -> Scene:
    picking = app.picking.view
    picking.start_batch()
    yield Until("a batch from the server", lambda: picking.pages.currentWidget() is not picking.start_page)


def assign_totes(app: FloorhandApp, first: int) -> int:
    """Scan empty totes until every order of the batch has one; returns the next free tote number."""
    session = app.picking.view.session
    for number in range(first, first + 50):
        if session.state is not PickingState.NEED_TOTES:
            return number
        scan(app, f"T-{number:04d}")
    raise RuntimeError(f"totes T-{first:04d}.. were not taken: {app.feedback.banner.text()}")


def pick_the_rest(app: FloorhandApp) -> None:
    session = app.picking.view.session
    for _ in range(500):
        card = session.current()
        if card is None:
            return
        scan(app, card.location_label)
        for _ in range(card.remaining):
            scan(app, card.gtin)
    raise RuntimeError(f"the batch does not end: {app.feedback.banner.text()}")


def all_sent(app: FloorhandApp) -> Until:
    return Until("every queued action to reach the server", lambda: app.core.outbox.counts()[0] == 0)


# --- the scenes ----------------------------------------------------------------------


def workstation(studio: Studio) -> Scene:
    app = studio.open("desktop")
    state = app.window.status.state
    yield Until("the first sync status in the status line", lambda: "Starting" not in state.text())
    yield NEXT_TURN
    studio.save(app, "signin-desktop.png")

    yield from sign_in(app, "anna", "1111")
    yield from start_batch(app)
    assign_totes(app, FREE_TOTES)
    scan(app, app.picking.view.session.current().location_label)
    yield settled(app)
    studio.save(app, "picking-desktop.png")

    pick_the_rest(app)
    yield all_sent(app)
    # The summary counts what is still queued when it is drawn; the last acknowledgement can
    # arrive after the last pull redrew it, so draw it again now that everything is sent.
    app.picking.view.refresh()
    yield settled(app)
    studio.save(app, "summary-desktop.png")

    # Two people reach for the same empty tote at once: both devices accept it (neither has
    # heard of the other's yet), and the server refuses whichever arrives second. The
    # supervisor, Sam, reads the refusal on the desk it happened at.
    desk2 = studio.open("desktop", device="Picking desk 2")
    yield from sign_in(desk2, "sam", "4444")
    yield from start_batch(desk2)
    yield from start_batch(app)
    tote = "T-0090"  # free: the demo's totes and those the scenes used so far are below it
    scan(app, tote)
    scan(desk2, tote)
    yield Until(f"the server to refuse {tote} on one desk",
                lambda: app.core.outbox.counts()[1] + desk2.core.outbox.counts()[1] > 0)
    if app.core.outbox.counts()[1]:  # the first desk lost the race: Sam comes over to it
        desk2.station.sign_out()
        app.station.sign_out()
        yield NEXT_TURN
        yield from sign_in(app, "sam", "4444")
        desk2, app = app, desk2
    desk2.window.nav_buttons["exceptions"].click()
    yield Until("the exception cards", lambda: bool(desk2.station.section("exceptions").view.cards))
    yield settled(desk2)
    studio.save(desk2, "exceptions-desktop.png")
    # The devices the server knows, as a supervisor sees them: name, last seen, app version.
    desk2.window.nav_buttons["devices"].click()
    yield Until("the three device cards", lambda: len(desk2.station.section("devices").view.cards) == 3)
    studio.save(desk2, "devices-desktop.png")
    desk2.station.sign_out()
    app.station.sign_out()


def handheld(studio: Studio) -> Scene:
    app = studio.open("handheld")
    yield from sign_in(app, "anna", "1111")
    yield from start_batch(app)
    picking = app.picking.view
    if picking.pages.currentWidget() is not picking.tote_page:
        raise RuntimeError(f"expected the tote screen, got {picking.pages.currentWidget()!r}")
    yield settled(app)
    studio.save(app, "totes-handheld.png")

    assign_totes(app, FREE_TOTES + 10)
    card = picking.session.current()
    scan(app, card.location_label)
    yield settled(app)
    studio.save(app, "picking-handheld.png")

    tasks = app.core.view.rows("pick_task", batch_id=picking.session.batch_id)
    others = [t for t in tasks if t["gtin"] != card.gtin]
    wrong = others[0]["gtin"] if others else "4006381333931"
    for _ in range(5):
        scan(app, wrong)
        yield NEXT_TURN
        if app.feedback.banner.kind == "reject" and not app.feedback.banner.settled:
            break  # still red: the event loop was not held up for longer than the flash
    else:
        raise RuntimeError(f"no red flash after scanning {wrong}: {app.feedback.banner.text()}")
    studio.save(app, "reject-handheld.png")


# The offscreen platform says this for every window it shows; nothing is wrong.
_OFFSCREEN_NOTICE = "This plugin does not support propagateSizeHints()"


def _qt_message(mode: QtMsgType, context, message: str) -> None:
    if message != _OFFSCREEN_NOTICE:
        print(f"qt: {message}", file=sys.stderr)


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    qInstallMessageHandler(_qt_message)
    qt = QApplication.instance() or QApplication(sys.argv[:1])
    qt.setApplicationName("Floorhand")
    with tempfile.TemporaryDirectory(prefix="floorhand-screenshots-") as tmp:
        demo = start_demo(Path(tmp) / "demo")
        studio = Studio(demo, Path(tmp))

        def scenes() -> Scene:
            # The handheld first: the supervisor at the workstation then sees both devices.
            yield from handheld(studio)
            yield from workstation(studio)

        director = Director(scenes())
        director.start()
        try:
            qt.exec()
        finally:
            studio.close()
            demo.stop()
    for path in studio.written:
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    if director.failure:
        print(f"screenshots: {director.failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
