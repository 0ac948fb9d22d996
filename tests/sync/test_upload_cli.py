"""`floorhand upload` as a real process against the real reference API on its file store."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import update

from order_api.models import AuthSession, OfflineTicket
from tests.sync import upload_runs
from tests.sync.conftest import UPLOAD_PART, wait_until

PART = UPLOAD_PART
_upload, _photo, _sha256, _row = upload_runs.upload, upload_runs.photo, upload_runs.sha256, upload_runs.row
_assets, _asset_rows, _cells = upload_runs.assets, upload_runs.asset_rows, upload_runs.cells


@pytest.fixture
def server(studio_server):
    return studio_server


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
    assert "name does not match --sku-from-filename: 1 (holiday.jpg)" in run.stdout  # told before the upload
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


def test_a_folder_uploads_exactly_its_photos_each_for_the_sku_in_its_name(server, tmp_path):
    shots = tmp_path / "shots"
    photos = [_photo(tmp_path, name, size) for name, size in (
        ("day1/SKU-1_front.JPG", PART * 2 + 3), ("day1/raw/SKU-1_front.CR3", PART), ("day2/SKU-2_scan.TIFF", 9_999),
        ("day2/SKU-2_side.jpeg", PART + 1))]
    for name in (".thumbnails/SKU-1_t.jpg", "day1/.SKU-1_hidden.jpg", "day1/notes.txt", "day2/SKU-2_side.xmp",
                 "day2/SKU-2_b.jpg.part", "day2/~SKU-2_c.jpg", "Thumbs.db", ".DS_Store", "day1/desktop.ini"):
        _photo(tmp_path, name, 10)
    (shots / "day2" / "back").symlink_to("..")  # a link up the tree: followed into no loop

    run = _upload(server, tmp_path / "client", shots, "--sku-from-filename", r"^(SKU-\d)_")

    assert run.returncode == 0, run.stdout + run.stderr
    assert _assets(server) == {_sha256(p): p.name[:5] for p in photos}  # the photos, each once, nothing else
    assert [line.split()[1] for line in run.stdout.splitlines() if line.startswith("│")] == [p.name for p in photos]
    skipped = run.stdout[run.stdout.index("Skipped"):run.stdout.index("Upload summary")]
    assert "Skipped 8 files and 2 folders:" in skipped
    for told in ("hidden: 2 (.thumbnails/, .SKU-1_hidden.jpg)", "system file: 3 (.DS_Store, Thumbs.db, desktop.ini)",
                 "not an image or RAW type: 2 (notes.txt, SKU-2_side.xmp)", "folder linked in a second time: 1 (back/)",
                 "temporary or partial file: 2 (SKU-2_b.jpg.part, ~SKU-2_c.jpg)"):
        assert told in skipped, skipped


def test_photos_cut_short_not_images_or_short_of_the_style_guide_are_held_with_the_reason_and_not_sent(server,
                                                                                                      tmp_path):
    good = _photo(tmp_path, "IMG_OK.jpg", PART + 9)
    cut = _photo(tmp_path, "IMG_CUT.jpg", 20_000)
    cut.write_bytes(cut.read_bytes()[:600])  # the camera's write stopped: no end marker
    fake = tmp_path / "shots" / "IMG_FAKE.jpg"
    fake.write_bytes(os.urandom(30_000))  # random bytes named like a photo
    bare = tmp_path / "shots" / "IMG_NOPROFILE.jpg"
    Image.new("RGB", (32, 32), (200, 30, 30)).save(bare, "JPEG")  # no embedded colour profile
    webp = tmp_path / "shots" / "IMG_W.webp"
    Image.new("RGB", (32, 32), (20, 30, 200)).save(webp, "WEBP")  # not a type of the style guide

    run = _upload(server, tmp_path / "client", good, cut, fake, bare, webp, "--sku", "SKU-1")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Held, not uploaded (4 files; put right and run again):" in run.stdout
    told = run.stdout[run.stdout.index("Held"):run.stdout.index("Upload summary")]
    assert "IMG_CUT.jpg: " in told and "IMG_FAKE.jpg: " in told and "colour profile" in told and "IMG_W.webp" in told
    for name in ("IMG_CUT.jpg", "IMG_FAKE.jpg", "IMG_NOPROFILE.jpg", "IMG_W.webp"):
        assert _cells(run.stdout, name)[2] == "held"
    assert "done" in _row(run.stdout, good.name)
    assert set(_assets(server)) == {_sha256(good)}  # nothing held reached the server
    assert "Traceback" not in run.stdout + run.stderr

    # Without the style guide the conforming-but-for-the-guide ones go; a broken file never does.
    again = _upload(server, tmp_path / "client", good, cut, fake, bare, webp, "--sku", "SKU-1", "--no-style-guide")
    assert again.returncode == 1, again.stdout + again.stderr
    assert "Held, not uploaded (2 files;" in again.stdout
    assert {_sha256(good), _sha256(bare), _sha256(webp)} == set(_assets(server))
