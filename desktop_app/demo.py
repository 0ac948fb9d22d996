"""`floorhand --demo`: a working warehouse in one command, with the reference order API in this process.

The reference API (order_api) is imported here only, and only when --demo is asked for: the
client itself never depends on the server's code, and an installed client without the
server extra says so plainly.
"""

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DEMO_PEOPLE = "badge U0001 or name anna, PIN 1111 (picker); ben, PIN 2222 (packer); sam, PIN 4444 (supervisor)"


class DemoUnavailable(Exception):
    """This installation has no reference order API to run a demo with."""


@dataclass
class DemoWarehouse:
    """The reference order API on a free loopback port, seeded with the demo warehouse, in a temporary folder."""

    url: str
    folder: Path
    _server: object

    @property
    def client_dir(self) -> Path:
        return self.folder / "client"

    def stop(self) -> None:
        self._server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_demo(folder: Path | None = None) -> DemoWarehouse:
    """Start and seed the demo API; the caller stops it (which removes the temporary folder)."""
    try:
        from order_api.seed import load_seed
        from order_api.server import start_in_thread
        from order_api.settings import ServerSettings
    except ImportError as exc:
        raise DemoUnavailable(f"the demo needs the reference order API (pip install 'floorhand[server]'): {exc}") \
            from exc
    folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="floorhand-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    settings = ServerSettings(db_url=f"sqlite:///{folder / 'orders.db'}", blob_store=f"fs:{folder / 'blobs'}")
    server = start_in_thread(settings)
    summary = load_seed(server.app.state.ctx.db, "demo")
    log.info("demo order API at %s: %s", server.url, summary)
    return DemoWarehouse(server.url, folder, server)
