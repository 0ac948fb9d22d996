"""The scrub over loopback HTTP on both stores: objects read back, tampered and lost ones marked corrupt."""

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from order_api.models import Asset, Change
from order_api.scrub import Scrub
from tests.order_api.uploads_api import PART, _data, fs_api, s3_server, store_api  # noqa: F401 - fixtures


def _stored_path(store_api, key: str) -> Path:
    """Where the store keeps an object on disk (rclone serves a folder per bucket)."""
    if store_api.kind == "fs":
        return Path(store_api.store.root) / key
    return store_api.s3.root / store_api.store.bucket / key


def test_the_scrub_reads_objects_back_and_puts_a_tampered_one_in_front_of_a_supervisor(store_api):
    files = [_data(1000), _data(PART + 3), _data(2000)]
    assets = []
    for data in files:
        upload = store_api.started(data, filename=f"IMG_{len(data)}.JPG")
        store_api.upload_parts(upload, data)
        r = store_api.complete(upload, data)
        assert r.status_code == 200, r.text
        assets.append((r.json()["asset"], data))
    tampered = _stored_path(store_api, assets[1][0]["object_key"])
    raw = bytearray(tampered.read_bytes())
    raw[PART] ^= 0x01  # one bit, after completion, in the store's own folder
    tampered.write_bytes(bytes(raw))
    store_api.store.delete_object(assets[2][0]["object_key"])  # and one object lost

    scrub = Scrub(store_api.harness.ctx, rate_bytes_s=1e9, recheck_s=3600)
    found = []
    while (checked := scrub.check_next()) is not None:
        found.append((checked.asset_id, checked.integrity))
    assert found == [(assets[0][0]["id"], "verified"), (assets[1][0]["id"], "corrupt"),
                     (assets[2][0]["id"], "corrupt")]
    assert scrub.bytes_read == 1000 + PART + 3

    with store_api.harness.db.read() as s:
        rows = {a.id: a for a in s.execute(select(Asset)).scalars()}
        assert [rows[a["id"]].integrity for a, _ in assets] == ["verified", "corrupt", "corrupt"]
        assert all(rows[a["id"]].checked_at is not None for a, _ in assets)
        published = [c.data for c in s.execute(
            select(Change).where(Change.entity == "asset", Change.entity_id == str(assets[1][0]["id"]))
            .order_by(Change.seq)).scalars()]
    # The feed tells a supervisor which file, by whom (the Exceptions screen's card).
    assert published[-1]["integrity"] == "corrupt" and published[-1]["filename"] == f"IMG_{PART + 3}.JPG"
    assert published[-1]["uploaded_by"] == "Ada"


def test_the_scrub_checks_a_verified_object_again_once_its_check_is_old(store_api):
    data = _data(3000)
    upload = store_api.started(data)
    store_api.upload_parts(upload, data)
    asset = store_api.complete(upload, data).json()["asset"]
    scrub = Scrub(store_api.harness.ctx, rate_bytes_s=1e9, recheck_s=3600)
    assert scrub.check_next().integrity == "verified"
    assert scrub.check_next() is None  # checked an instant ago: not due
    path = _stored_path(store_api, asset["object_key"])
    path.write_bytes(b"X" + path.read_bytes()[1:])
    with store_api.harness.db.write() as s:
        s.get(Asset, asset["id"]).checked_at -= timedelta(hours=2)
    assert scrub.check_next().integrity == "corrupt"
    assert scrub.check_next() is None  # a corrupt one stays so until it is replaced


def test_the_scrub_reads_no_faster_than_its_rate(fs_api, monkeypatch):
    data = _data(3 * 1024 * 1024)
    upload = fs_api.started(data)
    fs_api.upload_parts(upload, data)
    assert fs_api.complete(upload, data).status_code == 200
    scrub = Scrub(fs_api.harness.ctx, rate_bytes_s=len(data) / 6)  # 6 s for the whole file
    now, waits = [0.0], []  # a clock that moves only by the scrub's pauses: reading costs no time here

    def pause(seconds: float) -> bool:
        waits.append(seconds)
        now[0] += seconds
        return False

    monkeypatch.setattr("order_api.scrub.time", SimpleNamespace(monotonic=lambda: now[0]))
    scrub._stop.wait = pause
    assert scrub.check_next().integrity == "verified"
    assert waits == pytest.approx([2.0, 2.0, 2.0])  # a pause after each MiB: 3 MiB at 0.5 MiB/s
