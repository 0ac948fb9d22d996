"""An image the server's scrub finds damaged reaches a supervisor's Exceptions screen (real app, real API, fs store)."""

import base64
import hashlib
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from desktop_app.views.exceptions.exceptions_view import DamagedImageFrame
from order_api.models import Product
from order_api.scrub import Scrub

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _uploaded(server, filename: str, data: bytes) -> dict:
    """One image uploaded by chloe through the API, completed; returns the asset."""
    chloe = server.sign_in("chloe", pin="3333")
    with server.db.read() as s:
        sku = s.execute(select(Product.sku).order_by(Product.id).limit(1)).scalar_one()
    r = chloe.http.post("/v1/uploads", json={"sku": sku, "filename": filename, "size": len(data),
                                              "content_type": "image/jpeg"})
    assert r.status_code == 201, r.text
    upload = r.json()
    [target] = upload["parts"]
    put = httpx.put(target["url"], content=data, headers={
        **target["headers"], "Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()})
    assert put.status_code == 200, put.text
    r = chloe.http.post(f"/v1/uploads/{upload['upload_id']}/complete", json={
        "sha256": hashlib.sha256(data).hexdigest(), "parts": [{"number": 1, "etag": hashlib.md5(data).hexdigest()}]})
    assert r.status_code == 200, r.text
    return {**r.json()["asset"], "sku": sku}


def test_a_damaged_image_is_shown_to_a_supervisor_with_its_file_product_and_photographer(drive, server):
    server.add_user("chloe", "photographer", pin="3333", badge="U0003")
    good, bad = _uploaded(server, "IMG_0001.JPG", b"\xff\xd8 one" * 500), _uploaded(server, "IMG_0002.JPG",
                                                                                     b"\xff\xd8 two" * 500)
    stored = Path(server.ctx.blobs.root) / bad["object_key"]
    stored.write_bytes(stored.read_bytes()[:-1] + b"!")  # changed in the store after completion
    scrub = Scrub(server.ctx, rate_bytes_s=1e9)
    assert [scrub.check_next().integrity, scrub.check_next().integrity, scrub.check_next()] == [
        "verified", "corrupt", None]

    d = drive()
    d.sign_in("sam", "1111")
    d.app.station.show_section("exceptions")
    shelf = d.app.station.section("exceptions").view
    d.qtbot.waitUntil(lambda: len(shelf.findChildren(DamagedImageFrame)) == 1, timeout=15_000)
    [card] = shelf.findChildren(DamagedImageFrame)
    assert card.image.asset_id == bad["id"] and good["id"] != bad["id"]
    assert "IMG_0002.JPG" in card.title.text() and bad["sku"] in card.title.text()
    assert "Chloe" in card.what.text() and "Chloe" in card.next_step.text()
    assert "1 waiting" in shelf.header.text()

    # A picker's device holds no studio data: the next person at this station sees no trace of it.
    d.app.station.sign_out()
    d.sign_in("anna", "1111")
    d.app.station.show_section("exceptions")
    d.qtbot.waitUntil(lambda: "0 waiting" in shelf.header.text(), timeout=15_000)
    assert not shelf.findChildren(DamagedImageFrame)
