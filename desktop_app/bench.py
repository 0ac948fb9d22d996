"""The packing bench's devices, built from the station's settings: the scale, the label printer and its spool.

Called from the composition root (desktop_app/app.py). The spool runs on its own worker
thread; SpoolSignals brings its news to the main thread.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop_app.settings import Settings
from desktop_app.workflows.packing import PackingOptions
from desktop_app.workflows.packing_fit import Gate
from peripherals.bench_scale import BenchScale
from peripherals.printers import printer_from_setting
from peripherals.scale import SerialScale
from peripherals.scale_protocols import PROTOCOLS
from peripherals.simulated_scale import SimulatedScale
from sync.client import ClientCore
from sync.labels import label_fetcher
from sync.print_spool import PrintSpool

log = logging.getLogger(__name__)

SIMULATED = "simulated"


class SpoolSignals(QObject):
    """The spool's listeners run on its worker: this re-emits on the main thread."""

    changed = Signal()


@dataclass
class Bench:
    """What the packing section works with, besides the client core."""

    spool: PrintSpool
    scale: BenchScale | None
    signals: SpoolSignals
    printer_words: str  # which printer the labels go to, for the screen ("" when one is set up normally)

    def start(self) -> None:
        """Start the scale and the spool: once their listeners are connected, so no first state is missed."""
        if self.scale is not None:
            self.scale.start()
        self.spool.start()

    def close(self) -> None:
        self.spool.stop()
        if self.scale is not None:
            self.scale.stop()


def packing_options(settings: Settings, has_scale: bool) -> PackingOptions:
    return PackingOptions(auto_close=settings["packing.auto_close"], weight_gate=Gate(settings["packing.weight_gate"]),
                          tolerance_pct=settings["packing.weight_tolerance_pct"],
                          tolerance_min_g=settings["packing.weight_tolerance_g"], has_scale=has_scale)


def open_bench(settings: Settings, core: ClientCore, parent: QObject, demo_folder: Path | None = None) -> Bench:
    """The scale and the spool of this station, not started yet (Bench.start); in the demo, a simulated scale and
    labels written to a folder."""
    printer_setting, scale_port, words = settings["printer.label"], settings["scale.port"], ""
    if demo_folder is not None:
        printer_setting = printer_setting or f"folder:{demo_folder / 'labels'}"
        scale_port = scale_port or SIMULATED
    if printer_setting.startswith("folder:"):
        folder = Path(printer_setting.removeprefix("folder:"))
        folder.mkdir(parents=True, exist_ok=True)
        words = str(folder)
    try:
        printer = printer_from_setting(printer_setting)
    except ValueError as exc:
        log.error("printer.label setting not understood, labels wait in the spool: %s", exc)
        printer = None
    spool = PrintSpool(core.store.journal, printer, label_fetcher(core.api, core.store.journal))
    signals = SpoolSignals(parent)
    spool.on_change(signals.changed.emit)
    scale: BenchScale | None = None
    if scale_port == SIMULATED:
        scale = SimulatedScale(parent=parent)
    elif scale_port:
        protocol, serial = PROTOCOLS[settings["scale.protocol"]], {}
        if settings["scale.protocol"] == "toledo-8217":
            # Its replies do not name the unit; its line is 7 data bits, even parity (8217 specification).
            protocol, serial = protocol.in_unit(settings["scale.unit"]), {"data_bits": 7, "parity": "even"}
        scale = SerialScale(scale_port, protocol, baud_rate=settings["scale.baud"], parent=parent, **serial)
    return Bench(spool, scale, signals, words)
