"""The composition root: builds settings, the client core, scanners, feedback and windows, and wires them.

Nothing else in the app creates services; every object gets what it needs passed in
(CONVENTIONS.md: one composition root, no global singletons).
"""

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication

from desktop_app.demo import DEMO_PEOPLE, DemoUnavailable, DemoWarehouse, start_demo
from desktop_app.feedback import Feedback, FlashBanner
from desktop_app.settings import Settings
from desktop_app.shell import Shell
from desktop_app.sync_feed import SyncFeed
from desktop_app.tasks import TaskRunner
from desktop_app.views.exceptions.exceptions_view import ExceptionsView
from desktop_app.views.picking.picking_view import PickingView
from desktop_app.views.settings_dialog import SettingsDialog
from desktop_app.views.shell.main_window import MainWindow
from desktop_app.views.shell.placeholder import NotBuiltYet
from desktop_app.views.shell.style import Layout, choose_layout
from desktop_app.workflows.picking import PickingOptions
from scanners.classify import ClassifyOptions
from scanners.wedge import WedgeSettings
from scanners.wedge_qt import WedgeScanner
from sync.client import ClientCore, default_data_dir
from sync.engine import EngineOptions
from sync.retry import RetryPolicy
from sync.store.database import StoreDamaged

log = logging.getLogger(__name__)

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
    window: MainWindow
    shell: Shell
    wedge: WedgeScanner
    sync_feed: SyncFeed
    layout: Layout
    demo: DemoWarehouse | None = None
    _closed: bool = field(default=False, repr=False)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.wedge.stop()
        self.runner.shutdown()
        self.core.close()
        if self.demo is not None:
            self.demo.stop()


def build(settings: Settings, *, server_url: str, data_dir: Path, keyring: str | None = None,
          screen: QSize | None = None, demo: DemoWarehouse | None = None, sound_folder: Path | None = None,
          options: EngineOptions | None = None, retry: RetryPolicy | None = None,
          wedge_clock: Callable[[], float] | None = None, start_engine: bool = True) -> FloorhandApp:
    """Build and wire the app; the caller shows app.window and runs the event loop."""
    core = ClientCore.open(data_dir, server_url, keyring=keyring, ca_bundle=settings["ca_bundle"] or None,
                           offline_days=settings["offline_days"], options=options, retry=retry)
    layout = choose_layout(settings["ui.layout"], screen, settings["ui.font_scale"])
    runner = TaskRunner()
    banner = FlashBanner(font_scale=layout.font_scale * (1.0 if layout.handheld else 1.2))
    feedback = Feedback(banner, sound_folder=sound_folder, sounds_enabled=settings["sounds.enabled"],
                        volume=settings["sounds.volume"], flash_ms=settings["feedback.flash_ms"])
    picking = PickingView(layout, runner, feedback)
    exceptions = ExceptionsView()
    pages = {"pick": picking, "pack": NotBuiltYet("Packing"), "studio": NotBuiltYet("The photo studio"),
             "exceptions": exceptions}
    window = MainWindow(layout, banner, pages)
    sync_feed = SyncFeed(core.engine, window)
    shell = Shell(core, window, picking, exceptions, runner, feedback, classify_options=classify_options(settings),
                  picking_options=picking_options(settings), sync_feed=sync_feed)
    wedge = WedgeScanner(wedge_settings(settings), **({"clock": wedge_clock} if wedge_clock else {}), parent=window)
    wedge.scanned.connect(shell.scan)
    wedge.start()
    app = FloorhandApp(settings, core, runner, feedback, window, shell, wedge, sync_feed, layout, demo)
    window.settings_requested.connect(lambda: _open_settings(app))
    window.resize(QSize(480, 800) if layout.handheld else QSize(1280, 800))
    if demo is not None:
        shell.demo = True
        window.signin.site_hint = f"Demo warehouse: {DEMO_PEOPLE}."
        window.show_signed_out()
    feedback.show("info", "Scan your badge to sign in")
    runner.run(core.engine.status, sync_feed.status_changed.emit, name="first status")
    if start_engine:
        core.engine.start()
    return app


def _open_settings(app: FloorhandApp) -> None:
    """The settings dialog, window-modal without a nested event loop; saved values apply where they can."""
    dialog = SettingsDialog(app.settings, app.window)

    def saved(settings: Settings) -> None:
        app.settings = settings
        app.feedback.configure(sounds_enabled=settings["sounds.enabled"], volume=settings["sounds.volume"],
                               flash_ms=settings["feedback.flash_ms"])
        app.shell.classify_options = classify_options(settings)
        app.shell.picking_options = picking_options(settings)
        app.wedge.configure(wedge_settings(settings))
        app.feedback.show("info", "Settings saved")

    dialog.saved.connect(saved)
    dialog.open()


def run(overrides: dict[str, object], *, demo: bool = False) -> int:
    """Start the app with the settings' precedence applied; returns the process exit status."""
    settings = Settings.load(overrides=overrides)  # the log is set up by the entry point (desktop_app/main.py)
    for problem in settings.problems:
        print(f"floorhand: settings: {problem}", file=sys.stderr)
    warehouse = None
    if demo:
        try:
            warehouse = start_demo()
        except DemoUnavailable as exc:
            print(f"floorhand: {exc}", file=sys.stderr)
            return 2
        server_url, data_dir, keyring = warehouse.url, warehouse.client_dir, "none"
        print(f"floorhand: demo warehouse at {server_url}; sign in with {DEMO_PEOPLE}", file=sys.stderr)
    else:
        server_url = settings["server_url"]
        if not server_url:
            print("floorhand: no server: pass --server URL, set server_url in the config file, "
                  "or try `floorhand --demo`", file=sys.stderr)
            return 2
        data_dir = Path(settings["data_dir"]) if settings["data_dir"] else default_data_dir()
        keyring = settings["keyring"] or None
    qt = QApplication.instance() or QApplication(sys.argv[:1])
    qt.setApplicationName("Floorhand")
    try:
        app = build(settings, server_url=server_url, data_dir=data_dir, keyring=keyring,
                    screen=qt.primaryScreen().availableSize() if qt.primaryScreen() else None, demo=warehouse)
    except StoreDamaged as exc:
        print(f"floorhand: {exc}", file=sys.stderr)
        if warehouse is not None:
            warehouse.stop()
        return 3
    app.window.show()
    try:
        return qt.exec()
    finally:
        app.close()
