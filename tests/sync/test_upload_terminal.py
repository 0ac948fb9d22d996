"""What `floorhand upload` shows, as a photographer found it (issue 14, item 5): the real CLI against the real
studio server, in a pseudo-terminal where the live progress line matters."""

import re

import pytest
from sqlalchemy import select

from order_api.models import Upload
from sync.credentials import PLAIN_NO_KEYRING
from sync.store.database import LocalStore
from sync.upload.queue import UploadQueue
from tests.conftest import UPLOAD_PART as PART
from tests.sync.conftest import wait_until
from tests.sync.upload_runs import (assets, cells, floorhand, floorhand_in_terminal, log_file, photo, restart, sha256,
                                    upload)

WAITING = "Waiting for the server (retrying)"
# The progress line, whole: a log line written into it would follow the ETA.
LINE = re.compile(r"(Uploading|Uploaded|Waiting for the server \(retrying\)) \d+/\d+ files .* ETA (-|\d+:\d\d:\d\d)")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def server(studio_server):
    return studio_server


def waiting_rates(output: str) -> set[str]:
    """The speeds the line showed while it said it waits for the server."""
    return set(re.findall(re.escape(WAITING) + r" \d+/\d+ files[^\r\n]*? ([\d.]+ \w+/s) ETA -", _ANSI.sub("", output)))


def resume_after_the_outage(server, tmp_path, data, photos) -> None:
    """The server back on its port: the same command finishes the upload."""
    back = restart(server, tmp_path)
    try:
        again = floorhand(server, data, *photos, "--sku", "SKU-1")
    finally:
        back.stop()
    assert again.returncode == 0, again.stdout + again.stderr


def test_an_outage_says_waiting_for_the_server_and_log_lines_go_above_the_line_not_into_it(server, store_tally,
                                                                                             tmp_path):
    parts = 16
    big = photo(tmp_path, "IMG_BIG.CR2", PART * parts)
    # --log-level info puts log lines on the terminal during the whole run: every request, every retry.
    term = floorhand_in_terminal(server, tmp_path / "client", big, "--sku", "SKU-1", "--parts", "1",
                                 "--limit-rate", "512K", level="info")
    back = None
    try:
        wait_until(lambda: len(store_tally.stored) >= 4 or term.process.poll() is not None, "four parts stored")
        server.server.stop()
        # The line says it waits, and its speed keeps falling instead of freezing.
        wait_until(lambda: len(waiting_rates(term.output)) >= 2 or term.process.poll() is not None,
                   "the line to show the wait")
        back = restart(server, tmp_path)
        code = term.finish()
    finally:
        if back is None:
            term.finish(timeout=5)
        else:
            back.stop()

    screen = term.screen()
    assert code == 0, "\n".join(screen)
    assert len(waiting_rates(term.output)) >= 2
    assert assets(server).get(sha256(big)) == "SKU-1"
    assert any("sync.upload.parts: Part" in line and "attempt 1 of 6" in line for line in screen)  # shown at info
    # The line is redrawn in place, whole: one line left at the end, every log line above it.
    lines = [line for line in screen if "ETA" in line]
    assert len(lines) == 1 and LINE.fullmatch(lines[0]) and lines[0].startswith("Uploaded 1/1 files"), lines
    assert screen.index(lines[0]) > max(i for i, line in enumerate(screen) if "HTTP Request" in line)


def test_a_server_out_of_reach_is_said_once_in_plain_words_and_the_same_command_resumes(server, tmp_path):
    photos = [photo(tmp_path, "IMG_1.jpg", PART * 2), photo(tmp_path, "IMG_2.jpg", PART)]
    data = tmp_path / "client"
    server.server.stop()

    run = floorhand(server, data, *photos, "--sku", "SKU-1")

    said = run.stdout + run.stderr
    assert run.returncode == 1, said
    assert said.count("could not be reached") == 1
    assert "floorhand: the server could not be reached, so 2 of the 2 files are not uploaded yet. Run the same " \
           "command again to resume." in run.stderr
    assert "Errno" not in said and "WARNING" not in said and "Cannot reach" not in said
    assert "Connection refused" in log_file().read_text()  # the detail is in the log
    for p in photos:
        assert cells(run.stdout, p.name) == [p.name, "SKU-1", "queued", ""]  # no error repeated per file
    resume_after_the_outage(server, tmp_path, data, photos)
    assert {sha256(p) for p in photos} == set(assets(server))


@pytest.mark.slow  # the part on the way retries for up to 15 s before the run gives it up
def test_an_outage_that_outlasts_the_retries_ends_the_run_with_one_plain_message(server, store_tally, tmp_path):
    photos = [photo(tmp_path, "IMG_1.jpg", PART * 8), photo(tmp_path, "IMG_2.jpg", PART * 2)]
    data = tmp_path / "client"
    term = floorhand_in_terminal(server, data, *photos, "--sku", "SKU-1", "--parts", "1", "--files", "1",
                                 "--limit-rate", "256K")
    try:
        wait_until(lambda: len(store_tally.stored) >= 2 or term.process.poll() is not None, "two parts stored")
        server.server.stop()
    finally:
        code = term.finish()

    text = _ANSI.sub("", term.output)
    assert code == 1, "\n".join(term.screen())
    assert WAITING in text
    assert text.count("could not be reached") == 1 and "Run the same command again to resume." in text
    assert "Errno" not in text and "WARNING" not in text
    assert [line for line in term.screen() if "ETA" in line][-1].startswith("Uploaded 0/2 files")
    resume_after_the_outage(server, tmp_path, data, photos)


def test_the_line_counts_the_files_of_this_command_not_those_an_earlier_upload_left(server, tmp_path):
    data = tmp_path / "client"
    earlier = [photo(tmp_path, f"monday/IMG_{n}.jpg", PART) for n in (1, 2)]
    store = LocalStore.open(data)
    try:  # an earlier command queued these and was interrupted before it sent anything
        UploadQueue(store).add(earlier, lambda _: "SKU-2")
    finally:
        store.close()
    ours = [photo(tmp_path, f"tuesday/IMG_{n}.jpg", PART + n) for n in (3, 4, 5)]

    run = upload(server, data, *ours, "--sku", "SKU-1", "--files", "1")

    assert run.returncode == 0, run.stdout + run.stderr
    counted = [line for line in run.stdout.splitlines() if " files, " in line]
    assert counted and all(re.match(r"[1-3]/3 files, ", line) for line in counted), counted
    assert counted[-1].startswith("3/3 files")
    assert "Also finishing 2 files an earlier, interrupted upload left in the queue." in run.stdout
    assert "3 of 3 files done." in run.stdout
    assert [line.split()[1] for line in run.stdout.splitlines() if line.startswith("│")] == [p.name for p in ours]
    assert assets(server) == {sha256(p): "SKU-1" for p in ours} | {sha256(p): "SKU-2" for p in earlier}


def test_an_empty_file_is_skipped_up_front_with_a_plain_reason_and_never_sent(server, store_tally, tmp_path):
    good, empty = photo(tmp_path, "IMG_1.jpg", PART), photo(tmp_path, "IMG_0.jpg", 0)

    run = upload(server, tmp_path / "client", good, empty, "--sku", "SKU-1")

    assert run.returncode == 1, run.stdout + run.stderr  # not every file given went
    assert "Skipped 1 file:\n  empty (0 bytes): 1 (IMG_0.jpg)" in run.stdout
    assert run.stdout.index("empty (0 bytes): 1") < run.stdout.index("1/1 files")  # told before anything was sent
    assert cells(run.stdout, "IMG_0.jpg") == ["IMG_0.jpg", "", "not queued", "empty (0 bytes)"]
    assert "invalid_request" not in run.stdout + run.stderr
    with server.db.read() as s:
        assert s.execute(select(Upload.filename)).scalars().all() == ["IMG_1.jpg"]  # the server never heard of it
    assert set(assets(server)) == {sha256(good)} and store_tally.started == [1]


def test_a_rerun_of_a_finished_set_says_all_are_already_uploaded_without_signing_in(server, tmp_path):
    shots = [photo(tmp_path, "IMG_1.jpg", PART), photo(tmp_path, "IMG_2.jpg", PART + 1)]
    data = tmp_path / "client"
    assert upload(server, data, *shots, "--sku", "SKU-1").returncode == 0

    again = upload(server, data, *shots, "--sku", "SKU-1", pin="0000")  # a wrong PIN: nothing asks for it

    assert again.returncode == 0, again.stdout + again.stderr
    assert "All 2 files were already uploaded; nothing was sent." in again.stdout
    assert "0/0" not in again.stdout and "sign-in" not in again.stderr
    more = photo(tmp_path, "IMG_3.jpg", PART + 2)
    third = upload(server, data, *shots, more, "--sku", "SKU-1")
    assert third.returncode == 0, third.stdout + third.stderr
    assert "Already uploaded: 2 of the 3 files; sending the other 1." in third.stdout
    assert "1/1 files, " in third.stdout and "/3 files, " not in third.stdout
    assert "3 of 3 files done." in third.stdout


def test_the_keyring_notice_is_said_once_in_plain_words_and_its_detail_goes_to_the_log(server, tmp_path):
    shot = photo(tmp_path, "IMG_1.jpg", PART)
    no_bus = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-session-bus"}  # no keyring on this machine

    run = floorhand(server, tmp_path / "client", shot, "--sku", "SKU-1", keyring=None, env=no_bus)

    said = run.stdout + run.stderr
    assert run.returncode == 0, said
    assert said.count(PLAIN_NO_KEYRING) == 1
    assert "D-Bus" not in said and "keyring" not in said.lower()
    logged = log_file().read_text()
    assert "no usable keyring" in logged and "D-Bus" in logged
