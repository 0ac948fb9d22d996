"""`floorhand sync --once` and `floorhand status` as real processes against the real API."""

import os
import subprocess
import sys

from sync.outbox import Outbox
from sync.store.database import LocalStore


def _floorhand(*args, pin="1111"):
    env = {**os.environ, "FLOORHAND_PIN": pin}
    return subprocess.run([sys.executable, "-m", "sync.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_sync_once_then_status(server, tmp_path):
    data = tmp_path / "cli-data"
    run = _floorhand("--data-dir", str(data), "sync", "--server", server.url, "--user", "anna", "--once",
                     "--keyring", "none")
    assert run.returncode == 0, run.stderr
    assert "state=idle" in run.stdout and "pending=0" in run.stdout
    assert "kept in a file" in run.stderr  # no keyring: says where the device's secrets are then

    store = LocalStore.open(data)
    outbox = Outbox(store)
    task = server.warehouse.tasks[server.warehouse.batches[0]][0]
    outbox.append("anna", "pick.confirm", {"task": task, "location": "Z-00-00-0", "qty": 1, "barcode": "0"})
    store.close()
    status = _floorhand("--data-dir", str(data), "status")
    assert status.returncode == 0
    assert "pending: 1" in status.stdout and "pick.confirm" in status.stdout

    run = _floorhand("--data-dir", str(data), "sync", "--server", server.url, "--user", "anna", "--once",
                     "--keyring", "none")
    assert run.returncode == 0, run.stderr
    status = _floorhand("--data-dir", str(data), "status")
    assert "pending: 0" in status.stdout
    assert "rejected: 1" in status.stdout
    assert "lease_lost" in status.stdout  # anna never claimed that batch


def test_a_wrong_pin_fails_clearly(server, tmp_path):
    run = _floorhand("--data-dir", str(tmp_path / "d"), "sync", "--server", server.url, "--user", "anna", "--once",
                     "--keyring", "none", pin="0000")
    assert run.returncode == 2
    assert "sign-in failed" in run.stderr and "0000" not in run.stderr


def test_an_unreachable_server_leaves_the_queue_alone(tmp_path):
    run = _floorhand("--data-dir", str(tmp_path / "d"), "sync", "--server", "http://127.0.0.1:9", "--user", "anna",
                     "--once", "--keyring", "none")
    assert run.returncode == 2
    assert "sign-in failed" in run.stderr


def test_floorhand_sync_takes_the_server_and_folders_from_the_workstations_config(server, tmp_path):
    """IT writes the machine config once; `floorhand sync` then needs no --server, --data-dir or --keyring."""
    data = tmp_path / "from-config"
    machine = os.environ["FLOORHAND_MACHINE_CONFIG"]  # this test's own file (tests/conftest.py)
    with open(machine, "w") as config:
        config.write(f'server_url = "{server.url}"\ndata_dir = "{data}"\nkeyring = "none"\n')
    env = {**os.environ, "FLOORHAND_PIN": "1111"}
    run = subprocess.run([sys.executable, "-m", "desktop_app.main", "sync", "--user", "anna", "--once"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "state=idle" in run.stdout and (data / "journal.sqlite3").exists()
    assert "kept in a file" in run.stderr  # the keyring setting came through as well


def test_a_session_kept_on_the_device_is_taken_up_only_with_the_pin(server, tmp_path):
    data = tmp_path / "d"
    first = _floorhand("--data-dir", str(data), "sync", "--server", server.url, "--user", "sam", "--once",
                       "--keyring", "none", pin="1111")
    assert first.returncode == 0, first.stderr
    # sam's offline ticket is on the device now; without his PIN nobody may use it, online or offline.
    guess = _floorhand("--data-dir", str(data), "sync", "--server", server.url, "--user", "sam", "--once",
                       "--keyring", "none", pin="4321")
    assert guess.returncode == 2 and "sign-in failed" in guess.stderr
    offline = ("--data-dir", str(data), "sync", "--server", "http://127.0.0.1:9", "--user", "sam", "--once",
               "--keyring", "none")
    assert _floorhand(*offline, pin="4321").returncode == 2
    right = _floorhand(*offline, pin="1111")
    assert right.returncode == 1 and "signed in offline" in right.stderr  # 1: the sync itself could not reach it
    assert "state=offline" in right.stdout


def test_device_show_and_recover(server, tmp_path):
    data = tmp_path / "d"
    assert _floorhand("--data-dir", str(data), "sync", "--server", server.url, "--user", "anna", "--once",
                      "--keyring", "none").returncode == 0
    show = _floorhand("--data-dir", str(data), "device", "show", "--server", server.url, "--keyring", "none")
    assert show.returncode == 0 and "state: registered" in show.stdout and "a protected file" in show.stdout
    device_id = show.stdout.split("device: ", 1)[1].split()[0]
    # The folder's secrets are lost (a reinstalled machine): the device cannot speak for itself any more.
    (data / "device-secrets.json").unlink()
    lost = _floorhand("--data-dir", str(data), "device", "show", "--server", server.url, "--keyring", "none")
    assert lost.returncode == 1 and "credential is missing" in lost.stdout and "recover" in lost.stdout
    sam = server.sign_in("sam", pin="1111", device_id="office")
    code = sam.http.post(f"/v1/devices/{device_id}/recovery-code").json()["code"]
    wrong = _floorhand("--data-dir", str(data), "device", "recover", "--code", "AAAA-BBBB-CCCC", "--server",
                       server.url, "--keyring", "none")
    assert wrong.returncode == 1 and "recovery failed" in wrong.stderr
    ok = _floorhand("--data-dir", str(data), "device", "recover", "--code", code, "--server", server.url,
                    "--keyring", "none")
    assert ok.returncode == 0 and "back in service" in ok.stdout, ok.stderr
    again = _floorhand("--data-dir", str(data), "sync", "--server", server.url, "--user", "anna", "--once",
                       "--keyring", "none")
    assert again.returncode == 0, again.stderr
