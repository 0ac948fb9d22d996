"""The log file: where it goes, its level, its rotation, and that no token, PIN or URL signature reaches it."""

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.logs import BACKUPS, LOG_FILE, MAX_BYTES, redact, start_logging
from order_api.server import free_port
from sync.client import ClientCore
from tests.conftest import UPLOAD_PART
from tests.sync.photos import photo_bytes

MEMORY_KEYRING = "tests.sync.memory_keyring.MemoryKeyring"


def floorhand(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOORHAND_")}
    return subprocess.run([sys.executable, "-m", "desktop_app.main", *args],
                          env={**clean, "FLOORHAND_MACHINE_CONFIG": str(tmp_path / "machine.toml"),
                               "FLOORHAND_USER_CONFIG": str(tmp_path / "user.toml"),
                               "FLOORHAND_LOG_DIR": str(tmp_path / "log"), **(env or {})},
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def logging_to(tmp_path):
    """start_logging into tmp_path/log for the test; the handlers are removed afterwards."""
    setups = []

    def start(level: str = "debug", **kwargs):
        setups.append(start_logging(level, tmp_path / "log", **kwargs))
        return setups[-1]

    yield start
    for setup in setups:
        setup.stop()


def test_sign_in_sync_and_refresh_leave_no_token_in_the_log(server, tmp_path, logging_to):
    setup = logging_to("debug")
    core = ClientCore.open(tmp_path / "client", server.url, keyring=MEMORY_KEYRING)
    try:
        core.signin.online(username="anna", pin="1111")
        core.engine.signed_in()
        status = core.engine.sync_once()
        assert status.last_error is None and status.cursor > 0
        first = core.api.tokens
        second = core.api.refresh()
        # A careless debug line of the kind that leaks: the request as a dict.
        logging.getLogger("tests.careless").debug(
            "sending %s", {"headers": {"Authorization": f"Bearer {second.access_token}"},
                           "json": {"refresh_token": second.refresh_token, "pin": "1111"}})
    finally:
        core.close()
    setup.stop()

    written = (tmp_path / "log" / LOG_FILE).read_bytes()
    assert b"HTTP Request: POST http://127.0.0.1" in written  # httpx's request lines did reach the file
    assert b"Bearer ***" in written and b"'refresh_token': '***'" in written and b"'pin': '***'" in written
    for token in (first.access_token, first.refresh_token, second.access_token, second.refresh_token):
        assert token.encode() not in written


def test_an_upload_logs_its_part_urls_without_their_signatures(studio_server, tmp_path):
    photo = tmp_path / "IMG_1.JPG"
    photo.write_bytes(photo_bytes(".jpg", UPLOAD_PART * 2 + 10))  # a real photo: upload checks it first
    run = floorhand(tmp_path, "--log-level", "info", "--data-dir", str(tmp_path / "client"), "upload", str(photo),
                    "--sku", "SKU-1", "--server", studio_server.url, "--user", "chloe", "--keyring", "none",
                    env={"FLOORHAND_PIN": "1111"})
    assert run.returncode == 0, run.stdout + run.stderr
    written = (tmp_path / "log" / LOG_FILE).read_text()
    part_requests = [line for line in written.splitlines() if "HTTP Request: PUT" in line and "/v1/blobs/" in line]
    assert len(part_requests) == 3, written
    for where in (written, run.stderr):
        assert "&sig=***" in where
        assert re.search(r"sig=(?!\*\*\*)", where) is None


def test_the_log_level_is_honoured_from_the_command_line_and_the_environment(tmp_path):
    data = str(tmp_path / "client")
    quiet = floorhand(tmp_path, "--log-level", "warning", "--data-dir", data, "status")
    assert quiet.returncode == 0, quiet.stderr
    assert " INFO " not in (tmp_path / "log" / LOG_FILE).read_text()

    # httpcore logs each connection at DEBUG: the doctor's request to a closed port is enough.
    chatty = floorhand(tmp_path, "doctor", "--server", f"http://127.0.0.1:{free_port()}", "--data-dir", data,
                       env={"FLOORHAND_LOG_LEVEL": "debug"})
    assert chatty.returncode == 1, chatty.stdout
    assert " DEBUG httpcore.connection: connect_tcp.started" in (tmp_path / "log" / LOG_FILE).read_text()
    assert " DEBUG " not in chatty.stderr  # the terminal keeps the commands' quiet default


def test_a_log_folder_that_cannot_be_written_leaves_stderr_and_says_so(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    run = floorhand(tmp_path, "config", "show", env={"FLOORHAND_LOG_DIR": str(tmp_path / "a-file" / "log")})
    assert run.returncode == 0
    assert f"logging to stderr only: the log folder {tmp_path / 'a-file' / 'log'} cannot be written" in run.stderr
    assert "# log file:       none: the log folder cannot be written" in run.stdout


def test_the_file_rotates_at_five_megabytes_and_keeps_five(tmp_path, logging_to):
    setup = logging_to("info")
    line = "x" * 1000
    talker = logging.getLogger("tests.talker")
    for _ in range(MAX_BYTES // 1000 + 100):
        talker.info(line)
    setup.stop()
    folder = tmp_path / "log"
    assert (folder / f"{LOG_FILE}.1").exists()
    assert (folder / f"{LOG_FILE}.1").stat().st_size <= MAX_BYTES
    assert BACKUPS == 5


@pytest.mark.parametrize("text, expected", [
    ("Authorization: Bearer abc.DEF-123_x", "Authorization: Bearer ***"),
    ('{"refresh_token": "r3fr3sh", "expires_in": 900}', '{"refresh_token": "***", "expires_in": 900}'),
    ("{'access_token': 'acc', 'pin': '1234'}", "{'access_token': '***', 'pin': '***'}"),
    ("username=anna&pin=1234&device_id=d", "username=anna&pin=***&device_id=d"),
    ("PUT https://s3.example/b/k?partNumber=1&uploadId=u&X-Amz-Algorithm=AWS4-HMAC-SHA256"
     "&X-Amz-Credential=AKIA%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z"
     "&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=tok&X-Amz-Signature=0123abcd \"200 OK\"",
     "PUT https://s3.example/b/k?partNumber=1&uploadId=u&X-Amz-Algorithm=AWS4-HMAC-SHA256"
     "&X-Amz-Credential=***&X-Amz-Date=20260101T000000Z"
     "&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=***&X-Amz-Signature=*** \"200 OK\""),
    ("http://h/v1/blobs/u/1?expires=1700000000&sig=9f8e", "http://h/v1/blobs/u/1?expires=1700000000&sig=***"),
    ("GET /o?AWSAccessKeyId=AK&Signature=s%2Fg&Expires=1", "GET /o?AWSAccessKeyId=***&Signature=***&Expires=1"),
    ("Floorhand-Device: fh-7c1e s3cr3t-d3v1ce", "Floorhand-Device: fh-7c1e ***"),
    ('{"device_secret": "d3v", "offline_ticket": "t1ck", "ticket": "t2"}',
     '{"device_secret": "***", "offline_ticket": "***", "ticket": "***"}'),
    # Not secrets: left as they are.
    ("device fh-7c1e refused (device_revoked); code: lease_lost", "device fh-7c1e refused (device_revoked); code: lease_lost"),
    ("pinned 3 rows; shipping=2; spin: 4; expires=17", "pinned 3 rows; shipping=2; spin: 4; expires=17"),
    ("PIN for anna: wrong (2 in a row)", "PIN for anna: wrong (2 in a row)"),
])
def test_redact(text, expected):
    assert redact(text) == expected


def test_a_traceback_is_redacted_too(tmp_path, logging_to):
    setup = logging_to("info")
    try:
        raise RuntimeError("PUT http://h/v1/blobs/u/1?expires=1&sig=deadbeef failed")
    except RuntimeError:
        logging.getLogger("tests.failing").exception("upload failed")
    setup.stop()
    written = (tmp_path / "log" / LOG_FILE).read_text()
    assert "Traceback" in written and "sig=***" in written and "deadbeef" not in written


def test_alembic_narration_stays_in_the_file_and_off_the_terminal(tmp_path):
    # An empty data folder: `status` creates and migrates both local files. At info level the
    # terminal shows INFO lines, yet not Alembic's "Context impl SQLiteImpl" and "Running upgrade".
    run = floorhand(tmp_path, "--log-level", "info", "--data-dir", str(tmp_path / "client"), "status")
    assert run.returncode == 0, run.stderr
    assert "alembic" not in run.stderr and "Running upgrade" not in run.stderr and "SQLiteImpl" not in run.stderr
    written = (tmp_path / "log" / LOG_FILE).read_text()
    assert " INFO alembic.runtime.migration: Context impl SQLiteImpl." in written
    assert " INFO alembic.runtime.migration: Running upgrade  -> j0001" in written

    # At debug level a person asked for everything, Alembic included.
    chatty = floorhand(tmp_path, "--log-level", "debug", "--data-dir", str(tmp_path / "other"), "status")
    assert chatty.returncode == 0, chatty.stderr
    assert "alembic.runtime.migration: Running upgrade" in chatty.stderr


@pytest.mark.qt_log_ignore("floorhand routing check")
def test_qt_messages_go_to_the_log_and_the_test_handler_comes_back(qtlog, caplog):
    from PySide6.QtCore import qDebug, qWarning

    from desktop_app.logs import route_qt_messages

    caplog.set_level(logging.DEBUG, logger="qt")
    give_back = route_qt_messages()
    try:
        qWarning("floorhand routing check: a warning")
        qDebug("floorhand routing check: chatter")
    finally:
        give_back()
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name == "qt"] == [
        ("qt", logging.WARNING, "floorhand routing check: a warning"),
        ("qt", logging.DEBUG, "floorhand routing check: chatter")]
    assert not any("routing check: a warning" in record.message for record in qtlog.records)

    # pytest-qt's handler is back: it sees Qt's warnings again (and would fail a test on them, qt_log_level_fail).
    qWarning("floorhand routing check: after")
    assert [record.message for record in qtlog.records] == ["floorhand routing check: after"]
