"""`floorhand upload` as a real process against the real reference API on its file store."""

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from order_api.models import Asset, AuthSession, OfflineTicket, Product
from tests.sync.conftest import UPLOAD_PART, wait_until

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


def test_a_client_killed_mid_file_resends_at_most_the_parts_that_were_on_the_way(server, store_tally, tmp_path):
    parts, in_flight = 40, 4
    photo = _photo(tmp_path, "IMG_BIG.CR2", PART * parts - 123)
    data = tmp_path / "client"
    env = {**os.environ, "FLOORHAND_PIN": "1111"}
    # Slowed down by the bandwidth limit so that the kill lands in the middle of the file.
    slow = subprocess.Popen(
        [sys.executable, "-m", "sync.cli", "--data-dir", str(data), "upload", str(photo), "--sku", "SKU-1",
         "--server", server.url, "--user", "chloe", "--keyring", "none", "--parts", str(in_flight),
         "--limit-rate", "256K"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: len(store_tally.stored) >= 10 or slow.poll() is not None, "ten parts stored")
        slow.send_signal(signal.SIGKILL)
    finally:
        slow.wait(timeout=30)
    assert slow.returncode == -signal.SIGKILL, slow.stderr.read().decode()
    uploads = Path(server.ctx.blobs.root) / ".uploads"
    # Parts on the way when the client died end on the server (stored whole, or discarded).
    wait_until(lambda: not any(p.name.startswith(".") for p in uploads.rglob("*")), "the parts on the way to end")
    [folder] = list(uploads.iterdir())
    held = {int(p.name.split(".")[0]) for p in folder.iterdir()}
    started_before = set(store_tally.started)
    assert 10 <= len(held) < parts
    store_tally.reset()

    run = _upload(server, data, photo, "--sku", "SKU-1", "--parts", str(in_flight))

    assert run.returncode == 0, run.stdout + run.stderr
    assert _assets(server).get(_sha256(photo)) == "SKU-1"
    assert sorted(store_tally.stored) == sorted(set(range(1, parts + 1)) - held)  # nothing held is sent again
    resent = set(store_tally.stored) & started_before
    assert len(resent) <= in_flight  # only parts that were on the way were sent twice
    sizes = {n: PART for n in range(1, parts)} | {parts: PART - 123}
    assert store_tally.bytes == sum(sizes[n] for n in store_tally.stored)


def test_server_and_user_come_from_the_environment_when_not_given(server, tmp_path):
    photo = _photo(tmp_path, "IMG_ENV.JPG", PART + 1)
    env = {**os.environ, "FLOORHAND_PIN": "1111", "FLOORHAND_SERVER_URL": server.url, "FLOORHAND_USER": "chloe"}
    command = [sys.executable, "-m", "sync.cli", "--data-dir", str(tmp_path / "client"), "upload", str(photo),
               "--sku", "SKU-1", "--keyring", "none"]

    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)

    assert run.returncode == 0, run.stdout + run.stderr
    assert _assets(server).get(_sha256(photo)) == "SKU-1"
    del env["FLOORHAND_SERVER_URL"]
    missing = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert missing.returncode == 2 and "give --server or set FLOORHAND_SERVER_URL" in missing.stderr


def test_a_bad_rate_limit_is_refused_before_anything_is_queued(server, tmp_path):
    photo = _photo(tmp_path, "IMG_R.JPG", PART)
    data = tmp_path / "client"

    run = _upload(server, data, photo, "--sku", "SKU-1", "--limit-rate", "fast")

    assert run.returncode == 2 and "not a rate: 'fast'" in run.stderr
    assert not data.exists() and _asset_rows(server) == 0


def test_a_sign_in_revoked_mid_run_stops_with_a_clear_message_and_the_next_run_resumes(server, store_tally,
                                                                                      tmp_path):
    photo = _photo(tmp_path, "IMG_AUTH.JPG", PART * 8)
    data = tmp_path / "client"
    env = {**os.environ, "FLOORHAND_PIN": "1111"}
    slow = subprocess.Popen(
        [sys.executable, "-m", "sync.cli", "--data-dir", str(data), "upload", str(photo), "--sku", "SKU-1",
         "--server", server.url, "--user", "chloe", "--keyring", "none", "--parts", "1", "--limit-rate", "128K"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: len(store_tally.stored) >= 2 or slow.poll() is not None, "two parts stored")
        with server.db.write() as s:  # a supervisor signs chloe out everywhere, offline sign-ins included
            s.execute(update(AuthSession).values(revoked=True))
            s.execute(update(OfflineTicket).values(revoked=True))
        out, err = slow.communicate(timeout=120)
    finally:
        if slow.poll() is None:
            slow.kill()
            slow.wait()

    assert slow.returncode == 2, out + err
    assert "upload stopped: sign-in needed" in err and "run the upload again to resume" in err
    assert "uploading" in _row(out, photo.name)
    sent_before = set(store_tally.stored)
    store_tally.reset()

    again = _upload(server, data, photo, "--sku", "SKU-1")

    assert again.returncode == 0, again.stdout + again.stderr
    assert _assets(server).get(_sha256(photo)) == "SKU-1"
    assert not set(store_tally.stored) & sent_before and len(store_tally.stored) == 8 - len(sent_before)
