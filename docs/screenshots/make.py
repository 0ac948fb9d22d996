"""`make screenshots`: pictures of the real app for the README, written next to this file.

Starts the demo warehouse in this process and builds the app through its composition root
for each device: 1280 x 800 workstations and 480 x 800 handhelds, each with its own data folder.
Then it works as a picker would (sign in, claim a batch, scan totes, bins and products) and as
a packer would (open a tote, verify its items, close the parcel on the scale, look at the label
spool), and grabs the window at each step. A Director advances the scenes from a QTimer on the
Qt event loop; whenever a scene waits (for the server, for a flash to settle) it names what it
waits for. Last, label.py draws the label the packing bench printed, from its ZPL and its PDF,
and checks what their barcodes read (it installs its tools into a cache folder on first use).

Run it as `.venv/bin/python docs/screenshots/make.py`. Without a display it renders with Qt's
offscreen platform; QT_QPA_PLATFORM, when set, is left alone.
"""

import base64
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

from PySide6.QtCore import QObject, QSize, Qt, QtMsgType, QTimer, qInstallMessageHandler  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_app.app import FloorhandApp, build  # noqa: E402
from desktop_app.bench import SIMULATED  # noqa: E402
from desktop_app.demo import DemoWarehouse, start_demo  # noqa: E402
from desktop_app.settings import Settings  # noqa: E402
from desktop_app.workflows.picking import PickingState  # noqa: E402
import label as shipping_label  # noqa: E402 - docs/screenshots/label.py, beside this file
from scanners.codes import Scan  # noqa: E402
from sync.engine import EngineOptions  # noqa: E402
from sync.print_jobs import PrintJob  # noqa: E402
from sync.print_spool import PRINTED  # noqa: E402

OUT = Path(__file__).resolve().parent
SCREENS = {"desktop": QSize(1280, 800), "handheld": QSize(480, 800)}
DEVICE_NAMES = {"desktop": "Picking desk 1", "handheld": "Handheld 07"}
WAIT_S = 60.0  # the longest any one step may wait (a claim, a push, a pull)
TICK_MS = 50
FREE_TOTES = 21  # the demo's picked orders wait to be packed in T-0001..T-0020
PACKER = ("ben", "2222")
PHOTOGRAPHER = ("chloe", "3333")
STUDIO_NAMES = {"desktop": "Studio 1", "handheld": "Handheld 21"}
BENCH_NAMES = {"desktop": "Packing bench 1", "handheld": "Handheld 12"}
# Waiting orders with a packing note (order_api/seed/orders.py: PACKING_NOTES by order id), so
# the note shows in large type: T-0009 "Leave the invoice out: ..." (2 lines, 3 units) and
# T-0005 "Fragile: ..." (2 lines, 1 unit each).
PACK_TOTES = {"desktop": "T-0009", "handheld": "T-0005"}
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
    label: shipping_label.Label | None = None  # the label a packing bench printed, for label.py

    @property
    def labels(self) -> Path:
        """Where the benches' folder printer writes, as in `floorhand --demo` (desktop_app/bench.py)."""
        return self.demo.client_dir / "labels"

    def open(self, layout: str, device: str | None = None, bench: bool = False) -> FloorhandApp:
        """An app on a device of its own, named like the layout's (or `device`).

        With `bench`, the packing bench of `floorhand --demo`: a simulated scale and labels written
        to a folder. build(demo=...) would set that up itself, but its app stops the demo when it
        closes, and here the demo outlives every app.
        """
        device = device or DEVICE_NAMES[layout]
        overrides = {"ui.layout": layout, "sounds.enabled": False, "device_name": device}
        if bench:
            overrides |= {"scale.port": SIMULATED, "printer.label": f"folder:{self.labels}"}
        settings = Settings.load(machine_path=self.folder / "machine.toml", user_path=self.folder / "user.toml",
                                 environ={}, overrides=overrides)
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


def red_flash(app: FloorhandApp, raw: str) -> Scene:
    """Scan a code the screen refuses and stop while the flash is still red (for the picture)."""
    for _ in range(5):
        scan(app, raw)
        yield NEXT_TURN
        if app.feedback.banner.kind == "reject" and not app.feedback.banner.settled:
            return  # still red: the event loop was not held up for longer than the flash
    raise RuntimeError(f"no red flash after scanning {raw}: {app.feedback.banner.text()}")


# --- what a packer does --------------------------------------------------------------


def as_printed(gtin14: str) -> str:
    """The EAN-13 printed on an item whose GTIN-14 (as packing keeps it) starts with a 0."""
    return gtin14[1:] if len(gtin14) == 14 and gtin14.startswith("0") else gtin14


def printed_job(app: FloorhandApp, order_number: str) -> PrintJob | None:
    """The spool's job for the order's first parcel once its label printed, else None."""
    return next((job for job in app.bench.spool.jobs() if job.order_number == order_number and job.state == PRINTED),
                None)


def label_of(app: FloorhandApp, ref: str) -> dict:
    """Both forms of a parcel's label as the server answers the packer: {parcel_id, tracking_number, zpl, pdf_base64}.

    OrderApi.parcel_label asks for the ZPL alone, all a printer needs; the README shows the PDF
    too, so this asks with the packer's own session for the JSON answer that holds both.
    """
    response = app.core.api._authed_response("POST", f"/v1/parcels/by-ref/{ref}/label")
    response.raise_for_status()
    return response.json()


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
    yield NEXT_TURN  # the cards are new: without it the picture can show the list before they are laid out
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
    yield from red_flash(app, wrong)
    studio.save(app, "reject-handheld.png")


def packing(studio: Studio, layout: str) -> Scene:
    """Ben at a packing bench: an order with a note half verified, a wrong item, the parcel on the scale, the spool."""
    app = studio.open(layout, BENCH_NAMES[layout], bench=True)
    yield from sign_in(app, *PACKER)
    if app.station.current_section() != "pack":
        app.window.nav_buttons["pack"].click()
    view = app.packing.view
    tote = PACK_TOTES[layout]
    yield Until(f"the order in {tote} at the packing bench",
                lambda: app.packing.on_screen and view.session is not None
                and view.session.bench.by_tote(tote) is not None)
    scan(app, tote)
    draft = view.session.draft
    if draft is None or not draft.note:
        raise RuntimeError(f"{tote} did not open an order with a packing note: {app.feedback.banner.text()}")
    units = [line.gtin for line in draft.lines for _ in range(line.qty)]
    for gtin in units[:-1]:  # all but the last unit: the order stays open, partly verified
        scan(app, as_printed(gtin))
    yield settled(app)
    studio.save(app, f"packing-{layout}.png")

    mine = {line.gtin for line in draft.lines}
    bench = view.session.bench
    waiting = (bench.order(row["id"]) for row in app.core.view.rows("order", status="picked"))
    wrong = next((line.gtin for order in waiting if order is not None and order.id != draft.order_id
                  for line in bench.draft(order).lines if line.gtin not in mine), None)
    if wrong is None:
        raise RuntimeError("no other waiting order has an item that is not in this one")
    yield from red_flash(app, as_printed(wrong))
    studio.save(app, f"pack-wrong-{layout}.png")

    number = draft.number
    scan(app, as_printed(units[-1]))  # the last unit closes the parcel once the (simulated) scale settles
    yield Until(f"{number} packed", lambda: app.feedback.banner.kind == "done")
    yield NEXT_TURN
    studio.save(app, f"packed-{layout}.png")

    # The section's button counts the labels not printed yet; it learns of the print a moment later.
    yield Until(f"the label of {number} printed, and the count on the Pack button gone",
                lambda: printed_job(app, number) is not None and not view.spool_words)
    view.key(Qt.Key.Key_F6)  # the label spool
    yield NEXT_TURN
    studio.save(app, f"spool-{layout}.png")

    if layout == "desktop":  # the README's label: this parcel's, as the server gives it and as it printed
        job, answer = printed_job(app, number), {}
        app.runner.run(lambda: label_of(app, job.parcel_ref), answer.update,
                       lambda exc: answer.update(failed=exc), name="label for the README")
        yield Until(f"the label of {number} from the server", lambda: bool(answer))
        if "failed" in answer:
            raise RuntimeError(f"the server did not give the label of {number}: {answer['failed']!r}")
        printed = [f.read_text(encoding="utf-8") for f in sorted(studio.labels.glob("*.zpl"))]
        if answer["zpl"] not in printed:
            raise RuntimeError(f"no label in {studio.labels} is the server's ZPL for {number}")
        studio.label = shipping_label.Label(answer["tracking_number"], answer["zpl"],
                                            base64.b64decode(answer["pdf_base64"]))
    app.station.sign_out()


def studio_scene(studio: Studio, layout: str) -> Scene:
    """Chloe at a studio station: the first SKU of her shot list scanned, its next capture's name shown."""
    app = studio.open(layout, STUDIO_NAMES[layout])
    yield from sign_in(app, *PHOTOGRAPHER)
    app.station.show_section("studio")
    section = app.station.section("studio")
    yield Until("the shot list and the samples in the studio",
                lambda: len(section.view.shots.shown_lines()) > 3 and bool(section.view.samples.samples_texts()))
    sku = section.view.shots.shown_lines()[0].sku
    scan(app, sku)
    yield Until(f"{sku} active", lambda: not section.verdicts_waiting and section.view.active.sku.text() == sku)
    yield settled(app)
    studio.save(app, f"studio-{layout}.png")
    app.station.sign_out()


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
            # The handheld first: the supervisor at the workstation then sees both devices. The
            # packing benches come after the devices picture, which counts the devices so far.
            yield from handheld(studio)
            yield from workstation(studio)
            yield from packing(studio, "handheld")
            yield from packing(studio, "desktop")
            yield from studio_scene(studio, "handheld")
            yield from studio_scene(studio, "desktop")

        director = Director(scenes())
        director.start()
        try:
            qt.exec()
        finally:
            studio.close()
            demo.stop()
    failure = director.failure
    checks = []
    if studio.label is not None:
        studio.label.keep()  # for `label.py` alone
        try:
            checks = shipping_label.draw(studio.label)
        except (OSError, RuntimeError) as exc:  # node, npm or pip missing or failing: the app's pictures stand
            failure = failure or f"the label was not drawn: {exc}"
        studio.written += [check.picture for check in checks]
        failure = failure or shipping_label.verdict(checks)
    for path in studio.written:
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    for check in checks:
        print(f"label: {check.words()}")
    if failure:
        print(f"screenshots: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
