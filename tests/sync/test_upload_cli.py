"""`floorhand upload` as a real process against the real reference API on its file store."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from order_api.models import Asset, Product
from tests.sync.conftest import UPLOAD_PART

PART = UPLOAD_PART


@pytest.fixture
def server(studio_server):
    return studio_server


def _upload(server, data: Path, *args, pin="1111"):
    env = {**os.environ, "FLOORHAND_PIN": pin}
    command = [sys.executable, "-m", "sync.cli", "--data-dir", str(data), "upload", *map(str, args),
               "--server", server.url, "--user", "chloe", "--keyring", "none"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def _photo(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / "shots" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def _assets(server) -> dict[str, str]:
    """sha256 -> SKU of every asset the server registered."""
    with server.db.read() as s:
        return dict(s.execute(select(Asset.sha256, Product.sku).join(Product, Asset.product_id == Product.id)).all())


def _asset_rows(server) -> int:
    with server.db.read() as s:
        return len(s.execute(select(Asset.id)).all())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _row(stdout: str, name: str) -> str:
    """The summary table's line naming a file."""
    return next(line for line in stdout.splitlines() if name in line)


def test_two_files_upload_and_a_second_run_sends_nothing(server, tmp_path):
    photos = [_photo(tmp_path, "IMG_1.JPG", PART * 3 + 17), _photo(tmp_path, "IMG_2.JPG", PART + 5)]
    data = tmp_path / "client"

    run = _upload(server, data, *photos, "--sku", "SKU-1")
    assert run.returncode == 0, run.stdout + run.stderr
    for photo in photos:
        assert "done" in _row(run.stdout, photo.name) and "SKU-1" in _row(run.stdout, photo.name)
    assert "2 of 2 files done." in run.stdout
    assets = _assets(server)
    assert {_sha256(p) for p in photos} <= set(assets)
    assert {assets[_sha256(p)] for p in photos} == {"SKU-1"}
    rows = _asset_rows(server)

    again = _upload(server, data, *photos, "--sku", "SKU-1")
    assert again.returncode == 0, again.stdout + again.stderr
    for photo in photos:
        assert "done" in _row(again.stdout, photo.name)
    assert _asset_rows(server) == rows and _assets(server) == assets  # nothing uploaded a second time


def test_a_name_that_does_not_match_the_pattern_is_not_uploaded(server, tmp_path):
    matching = _photo(tmp_path, "SKU-2_front.jpg", PART * 2)
    stray = _photo(tmp_path, "holiday.jpg", PART)

    run = _upload(server, tmp_path / "client", matching, stray, "--sku-from-filename", r"^(SKU-\d+)_")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "holiday.jpg does not match --sku-from-filename" in run.stderr
    assert "done" in _row(run.stdout, matching.name) and "SKU-2" in _row(run.stdout, matching.name)
    assert "not queued" in _row(run.stdout, stray.name)
    assets = _assets(server)
    assert assets.get(_sha256(matching)) == "SKU-2"
    assert _sha256(stray) not in assets
