"""`floorhand upload` run as a real process against the studio server, and what the server then holds."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from order_api.models import Asset, Product
from order_api.server import RunningServer, start_in_thread
from order_api.settings import ServerSettings
from sync.upload.folders import PHOTO_SUFFIXES
from tests.conftest import UPLOAD_PART
from tests.sync.photos import photo_bytes
from tests.sync.pseudo_terminal import Terminal


def upload(server, data: Path, *args, pin="1111"):
    """`python -m sync.cli upload ...` with stdout and stderr captured (not a terminal)."""
    env = {**os.environ, "FLOORHAND_PIN": pin}
    command = [sys.executable, "-m", "sync.cli", "--data-dir", str(data), "upload", *map(str, args),
               "--server", server.url, "--user", "chloe", "--keyring", "none"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def floorhand_command(server, data: Path, *args, keyring: str | None = "none", level: str | None = None) -> list[str]:
    """`floorhand [--log-level L] --data-dir D upload ARGS` as the photographer runs it (desktop_app/main.py):
    its log file in FLOORHAND_LOG_DIR, warnings on the terminal."""
    options = ["--log-level", level] if level else []
    command = [sys.executable, "-m", "desktop_app.main", *options, "--data-dir", str(data), "upload", *map(str, args),
               "--server", server.url, "--user", "chloe"]
    return command + (["--keyring", keyring] if keyring else [])


def floorhand(server, data: Path, *args, pin="1111", env: dict | None = None, **options):
    """floorhand_command run with stdout and stderr captured."""
    env = {**os.environ, "FLOORHAND_PIN": pin, **(env or {})}
    return subprocess.run(floorhand_command(server, data, *args, **options), capture_output=True, text=True,
                          env=env, timeout=120)


def floorhand_in_terminal(server, data: Path, *args, pin="1111", **options) -> Terminal:
    """floorhand_command started in a pseudo-terminal, as in a terminal window."""
    return Terminal(floorhand_command(server, data, *args, **options), {**os.environ, "FLOORHAND_PIN": pin})


def log_file() -> Path:
    """The log file of the runs above (tests/conftest.py points FLOORHAND_LOG_DIR at a test folder)."""
    return Path(os.environ["FLOORHAND_LOG_DIR"]) / "floorhand.log"


def restart(server, tmp_path: Path) -> RunningServer:
    """The studio server started again on its port, database and store after server.server.stop()."""
    port = int(server.url.rsplit(":", 1)[1])
    settings = ServerSettings(db_url=f"sqlite:///{tmp_path}/server.db", blob_store=f"fs:{tmp_path}/server/blobs",
                              public_url=server.url, upload_part_size=UPLOAD_PART)
    return start_in_thread(settings, port=port)


_SMALLEST = 4096


def photo(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / "shots" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    # A photo the checks pass; below _SMALLEST only random bytes (files the tests expect skipped up front).
    real = path.suffix.lower() in PHOTO_SUFFIXES and size >= _SMALLEST
    path.write_bytes(photo_bytes(path.suffix, size) if real else os.urandom(size))
    return path


def assets(server) -> dict[str, str]:
    """sha256 -> SKU of every asset the server registered."""
    with server.db.read() as s:
        return dict(s.execute(select(Asset.sha256, Product.sku).join(Product, Asset.product_id == Product.id)).all())


def asset_rows(server) -> int:
    with server.db.read() as s:
        return len(s.execute(select(Asset.id)).all())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def row(stdout: str, name: str) -> str:
    """The summary table's line naming a file."""
    return next(line for line in stdout.splitlines() if name in line and line.startswith("│"))


def cells(stdout: str, name: str) -> list[str]:
    """The cells of the summary table's line naming a file: file, SKU, state, error."""
    return [cell.strip() for cell in row(stdout, name).strip("│").split("│")]
