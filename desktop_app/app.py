"""The composition root: builds settings, the client core, scanners, feedback and windows, and wires them.

Nothing else in the app creates services; every object gets what it needs passed in
(CONVENTIONS.md: one composition root, no global singletons).
"""

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSize
from PySide6.QtWidgets import QApplication

from desktop_app.bench import Bench, open_bench, packing_options
from desktop_app.crash import CrashHandler, tell_at_start
from desktop_app.demo import DEMO_PEOPLE, DemoUnavailable, DemoWarehouse, start_demo
from desktop_app.feedback import Feedback, FlashBanner
from desktop_app.i18n import install_pseudo_locale, translate, use_qt
from desktop_app.logs import FILE_ONLY, LOG_FILE, log_dir_of, route_qt_messages
from desktop_app.sections import Banners
from desktop_app.settings import Settings
from desktop_app.station import Station
from desktop_app.sync_signals import SyncSignals
from desktop_app.tasks import TaskRunner
from desktop_app.version import VERSION
from desktop_app.views.devices.section import DevicesSection
from desktop_app.views.exceptions.section import ExceptionsSection
from desktop_app.views.packing.section import PackingSection
from desktop_app.views.packing.spool_view import spool_summary
from desktop_app.views.picking.section import PickingSection
from desktop_app.views.settings_dialog import SettingsDialog
from desktop_app.views.shell.main_window import MainWindow
from desktop_app.views.shell.style import Layout, choose_layout
from desktop_app.views.studio.section import StudioSection
from desktop_app.workflows.picking import PickingOptions
from scanners.classify import ClassifyOptions
from scanners.wedge import WedgeSettings
from scanners.wedge_qt import WedgeScanner
from sync.client import ClientCore, default_data_dir
from sync.engine import EngineOptions
from sync.retry import RetryPolicy
from sync.studio.captures import CaptureLedger
from sync.store.database import StoreDamaged

log = logging.getLogger(__name__)

# Where the studio's captures are moved under their final names, in the data folder.
STUDIO_FOLDER = "studio session"

_SUFFIXES = {"enter": ("\r", "\n"), "tab": ("\t",), "none": ()}


def wedge_settings(settings: Settings) -> WedgeSettings:
    return WedgeSettings(max_gap_ms=settings["scanner.max_gap_ms"], min_length=settings["scanner.min_length"],
                         late_key_ms=settings["scanner.late_key_ms"],
                         prefix=settings["scanner.prefix"], suffixes=_SUFFIXES[settings["scanner.suffix"]])


def classify_options(settings: Settings) -> ClassifyOptions:
    return ClassifyOptions(gs_substitute=settings["scanner.gs_substitute"] or None)


def picking_options(settings: Settings) -> PickingOptions:
    return PickingOptions(location_scan_required=settings["picking.location_scan_required"],
                          claim_ahead=settings["picking.claim_ahead"])


@dataclass
class FloorhandApp:
    """Everything one running app is made of; close() stops it in the right order."""

    settings: Settings
    core: ClientCore
    runner: TaskRunner
    feedback: Feedback
    banners: Banners
    window: MainWindow
    station: Station
    picking: PickingSection
    wedge: WedgeScanner
    sync_signals: SyncSignals
    layout: Layout
    packing: PackingSection
    bench: Bench
    demo: DemoWarehouse | None = None
    translator: object | None = None  # the pseudo-locale's, removed again at close
    _closed: bool = field(default=False, repr=False)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.wedge.stop()
        self.bench.close()
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
        self.runner.shutdown()
        self.core.close()
        if self.demo is not None:
            self.demo.stop()


def build(settings: Settings, *, server_url: str, data_dir: Path, keyring: str | None = None,
          screen: QSize | None = None, demo: DemoWarehouse | None = None, sound_folder: Path | None = None,
          options: EngineOptions | None = None, retry: RetryPolicy | None = None,
          wedge_clock: Callable[[], float] | None = None, start_engine: bool = True) -> FloorhandApp:
    """Build and wire the app; the caller shows app.window and runs the event loop.

    Nothing here reads the OS keyring: the device's secrets are read on a worker (Station.prepare).
    The sections are registered here, in the order their buttons show; a new section is one more
    line in that list (README: How to add a section).
    """
    options = replace(options or EngineOptions(), retention_days=settings["retention_days"])
    use_qt()  # every translate() from here on asks Qt's translators
    translator = install_pseudo_locale(QCoreApplication.instance()) if settings["ui.language"] == "pseudo" else None
    core = ClientCore.open(data_dir, server_url, keyring=keyring, ca_bundle=settings["ca_bundle"] or None,
                           offline_days=settings["offline_days"], device_name=settings["device_name"],
                           app_version=VERSION, options=options, retry=retry)
    layout = choose_layout(settings["ui.layout"], screen, settings["ui.font_scale"])
    runner = TaskRunner()
    banner = FlashBanner(font_scale=layout.font_scale * (1.0 if layout.handheld else 1.2))
    feedback = Feedback(banner, sound_folder=sound_folder, sounds_enabled=settings["sounds.enabled"],
                        volume=settings["sounds.volume"], flash_ms=settings["feedback.flash_ms"])
    banners = Banners(feedback)
    window = MainWindow(layout, banner)
    if settings["device_name"]:  # which station this is, where supervisors see it too (Devices)
        window.setWindowTitle(translate("MainWindow", "Floorhand — {device}").format(device=settings["device_name"]))
    sync_signals = SyncSignals(core.engine, window)
    picking = PickingSection(layout, runner, banners, core, picking_options(settings))
    bench = open_bench(settings, core, window, demo_folder=demo.client_dir if demo is not None else None)
    packing = PackingSection(layout, runner, banners, core, packing_options(settings, bench.scale is not None),
                             bench.spool, bench.scale, bench.printer_words)
    sections = [
        picking,
        packing,
        StudioSection(layout, runner, banners, core, CaptureLedger(core.store, data_dir / STUDIO_FOLDER)),
        ExceptionsSection(core, runner, banners),
        DevicesSection(core, runner, banners),
    ]
    station = Station(core, window, sections, runner, banners, classify_options=classify_options(settings),
                      sync_signals=sync_signals)
    wedge = WedgeScanner(wedge_settings(settings), **({"clock": wedge_clock} if wedge_clock else {}), parent=window)
    wedge.scanned.connect(station.scan)
    wedge.start()
    app = FloorhandApp(settings, core, runner, feedback, banners, window, station, picking, wedge, sync_signals, layout,
                       packing, bench, demo, translator)
    _wire_spool(app)
    bench.start()
    window.settings_requested.connect(lambda: _open_settings(app))
    window.resize(QSize(480, 800) if layout.handheld else QSize(1280, 800))
    if demo is not None:
        station.demo = True
        window.signin.site_hint = translate("SignIn", "Demo warehouse: {people}.").format(people=DEMO_PEOPLE)
        window.show_signed_out()
    banners.show("info", translate("SignIn", "Scan your badge to sign in"))
    station.prepare()
    runner.run(core.engine.status, sync_signals.status_changed.emit, name="first status")
    if start_engine:
        core.engine.start()
    return app


def _wire_spool(app: FloorhandApp) -> None:
    """The spool's news to the packing screen; a push that got through may have made labels fetchable."""
    spool = app.bench.spool

    def counted(counts) -> None:
        app.packing.spool_changed(spool_summary(counts), counts)
        app.window.status.show_labels(counts.waiting + counts.ready, counts.uncertain)

    def changed() -> None:
        app.runner.run(spool.counts, counted, name="spool counts")

    app.bench.signals.changed.connect(changed)
    app.sync_signals.status_changed.connect(lambda status: spool.wake() if status.pending == 0 else None)
    changed()


# The settings _open_settings applies to the running app when they are saved. Every other one is
# marked restart=True in desktop_app/settings.py, and the dialog says it applies after a restart;
# tests/desktop_app/test_settings_readers.py keeps this table and those marks in step.
APPLIED_WHEN_SAVED = ("scanner.max_gap_ms", "scanner.min_length", "scanner.late_key_ms", "scanner.prefix",
                      "scanner.suffix", "scanner.gs_substitute", "picking.location_scan_required",
                      "picking.claim_ahead", "packing.auto_close", "packing.weight_gate",
                      "packing.weight_tolerance_pct", "packing.weight_tolerance_g", "sounds.enabled", "sounds.volume", "feedback.flash_ms")


def _open_settings(app: FloorhandApp) -> None:
    """The settings dialog, window-modal without a nested event loop; saved values apply where they can."""
    dialog = SettingsDialog(app.settings, app.window)

    def saved(settings: Settings) -> None:
        app.settings = settings
        app.feedback.configure(sounds_enabled=settings["sounds.enabled"], volume=settings["sounds.volume"],
                               flash_ms=settings["feedback.flash_ms"])
        app.station.classify_options = classify_options(settings)
        app.picking.set_options(picking_options(settings))
        app.packing.set_options(packing_options(settings, app.bench.scale is not None))
        app.wedge.configure(wedge_settings(settings))
        app.banners.show("info", translate("Settings", "Settings saved. Some of the changes apply after Floorhand "
                                                       "restarts.")
                         if dialog.restart_needed else translate("Settings", "Settings saved"))

    dialog.saved.connect(saved)
    dialog.open()


def run(overrides: dict[str, object], *, demo: bool = False, failures: CrashHandler | None = None) -> int:
    """Start the app with the settings' precedence applied; returns the process exit status.

    A reason the app cannot start goes to stderr, to the log and, when there is a screen, into
    a message window: floorhandw.exe has no console. While it runs, failures nobody caught
    (`failures`, the crash handler desktop_app/main.py installed) are shown in the banner, and
    Qt's own messages go to the log from before the QApplication exists until the app is over.
    """
    settings = Settings.load(overrides=overrides)  # the log is set up by the entry point (desktop_app/main.py)
    for problem in settings.problems:
        print(f"floorhand: settings: {problem}", file=sys.stderr)
    stop_routing_qt_messages = route_qt_messages()
    warehouse = None

    def cannot_start(printed: str, told: str, status: int) -> int:
        print(f"floorhand: {printed}", file=sys.stderr)
        log.error("the app cannot start: %s", printed, extra=FILE_ONLY)
        if warehouse is not None:
            warehouse.stop()
        tell_at_start(told)
        return status

    try:
        if demo:
            try:
                warehouse = start_demo()
            except DemoUnavailable as exc:
                return cannot_start(str(exc), "The demo cannot start: this installation of Floorhand does not include "
                                    "the demo warehouse.\n\nTo try the demo, install Floorhand with its server part "
                                    "(pip install \"floorhand[server]\").", 2)
            server_url, data_dir, keyring = warehouse.url, warehouse.client_dir, "none"
            print(f"floorhand: demo warehouse at {server_url}; sign in with {DEMO_PEOPLE}", file=sys.stderr)
        else:
            server_url = settings["server_url"]
            if not server_url:
                return cannot_start("no server: pass --server URL, set server_url in the config file, or try "
                                    "`floorhand --demo`",
                                    "Floorhand cannot start: no server is set up for it.\n\nAsk IT to set the "
                                    "server address (server_url) in Floorhand's configuration. To look around "
                                    "without a server, start Floorhand with --demo.", 2)
            data_dir = Path(settings["data_dir"]) if settings["data_dir"] else default_data_dir()
            keyring = settings["keyring"] or None
        qt = QApplication.instance() or QApplication(sys.argv[:1])
        qt.setApplicationName("Floorhand")
        try:
            app = build(settings, server_url=server_url, data_dir=data_dir, keyring=keyring,
                        screen=qt.primaryScreen().availableSize() if qt.primaryScreen() else None, demo=warehouse)
        except StoreDamaged as exc:
            # The window gets no SQLite error text, but the folder to copy; the exception says both for stderr.
            return cannot_start(str(exc), "Floorhand cannot start: the local journal on this device is damaged. It "
                                "holds work not yet sent to the server, so Floorhand has left it untouched."
                                "\n\nDo not delete anything. Copy this folder for support:\n{folder}"
                                .format(folder=data_dir), 3)
        except Exception:  # anything else that stops the start: the traceback to the log, the person told
            log.exception("the app cannot start")
            if warehouse is not None:
                warehouse.stop()
            tell_at_start("Floorhand could not start because of an unexpected problem.\n\nThe details are in "
                          "the log for IT:\n{log_file}".format(log_file=log_dir_of(settings["log_dir"]) / LOG_FILE))
            return 1
        if failures is not None:
            failures.report_to(lambda sentence: app.banners.show("reject", sentence))
        app.window.show()
        try:
            return qt.exec()
        finally:
            if failures is not None:
                failures.report_to(None)  # the banner goes away with the window
            app.close()
    finally:
        stop_routing_qt_messages()
