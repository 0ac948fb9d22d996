"""Shipping labels: stand-in tracking numbers, Code 128, ZPL, PDF, and the label route."""

import base64

import pytest
from sqlalchemy import select

from order_api import labels
from order_api.models import BoxType, Change, Order, OrderLine, Parcel, ParcelItem, Product

LABEL = labels.ShippingLabel(
    tracking_number=labels.tracking_number(1), order_number="SO-100001", parcel_no=1, parcel_count=2,
    weight_g=1234, box_type="M", ship_to=labels.ship_to_lines("Björn Krause, Mühlenweg 59, 18055 Rostock"),
)


def test_s10_check_digit_matches_the_upu_worked_example():
    # UPU S10 item identifier RR 47312482 9 GB
    assert labels.s10_check_digit("47312482") == "9"
    assert labels.is_valid_tracking_number("RR473124829GB")
    assert not labels.is_valid_tracking_number("RR473124828GB")


def test_tracking_numbers_are_valid_unique_and_stable():
    numbers = [labels.tracking_number(i) for i in range(1, 5001)]
    assert all(labels.is_valid_tracking_number(n) for n in numbers)
    assert all(n.startswith("FH") and n.endswith("DE") and len(n) == 13 for n in numbers)
    assert len(set(numbers)) == len(numbers)
    assert labels.tracking_number(42) == labels.tracking_number(42)


def test_code128_of_a_tracking_number():
    # symbol values confirmed by decoding the printed bars with an independent reader
    assert labels.code128_values("FH739391332DE") == [104, 38, 40, 23, 99, 39, 39, 13, 32, 100, 36, 37, 40, 106]
    assert labels.zpl_code128_data("FH739391332DE") == ">:FH7>539391332>6DE"


@pytest.mark.parametrize("text", ["FH739391332DE", "1234", "123", "A", "12345", "x1234567y", "a>b 42"])
def test_code128_bars_decode_back_to_the_text(text):
    widths = labels.code128_widths(text)
    symbols = [widths[i:i + 6] for i in range(0, len(widths) - 7, 6)]
    assert all(sum(s) == 11 for s in symbols) and sum(widths[-7:]) == 13
    table = {tuple(int(w) for w in p): v for v, p in enumerate(labels._PATTERNS[:106])}
    values = [table[tuple(s)] for s in symbols]
    assert values[-1] == (values[0] + sum(i * v for i, v in enumerate(values[1:-1], start=1))) % 103
    decoded, code_set = "", "C" if values[0] == 105 else "B"
    for v in values[1:-1]:
        if v in (99, 100):
            code_set = "C" if v == 99 else "B"
        else:
            decoded += f"{v:02d}" if code_set == "C" else chr(v + 32)
    assert decoded == text


def test_code128_refuses_what_it_cannot_encode():
    with pytest.raises(ValueError):
        labels.code128_values("Müller")


def test_zpl_is_one_label_with_the_tracking_number():
    zpl = labels.zpl(LABEL)
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert zpl.count("^XA") == zpl.count("^XZ") == 1
    assert LABEL.tracking_number in zpl
    assert "^BC" in zpl and labels.zpl_code128_data(LABEL.tracking_number) in zpl
    assert "^CI28" in zpl and "Mühlenweg 59" in zpl
    assert "Parcel 1 of 2" in zpl and "1.23 kg" in zpl and "SO-100001" in zpl


def test_zpl_escapes_control_characters_in_addresses():
    zpl = labels.zpl(labels.ShippingLabel("FH739391332DE", "SO-1", 1, 1, 500, "S", ("Eve ^XZ~JR_x",)))
    assert "Eve _5EXZ_7EJR_5Fx" in zpl
    assert zpl.count("^XZ") == 1


def test_pdf_is_a_real_document():
    pdf = labels.pdf(LABEL)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 1000
    # names outside Latin-1 lose their accents instead of failing the label
    assert labels.pdf(labels.ShippingLabel("FH739391332DE", "SO-2", 1, 1, 500, "S", ("Łukasz Dąbrowski",)))


@pytest.fixture
def packed(api):
    """An order packed into two parcels, and a packer and a picker signed in."""
    ben = api.add_user("ben", "packer")
    api.add_user("anna", "picker")
    with api.db.write() as s:
        box = BoxType(code="M", name="Medium carton", length_mm=350, width_mm=250, height_mm=150, tare_g=220)
        product = Product(sku="APP-000001", gtin="4006381333931", name="Merino Crew Sweater, Navy, M",
                          length_mm=300, width_mm=240, height_mm=50, weight_g=420)
        order = Order(number="SO-100001", customer="Jana Schmidt, Lindenstraße 12, 10115 Berlin", status="packed")
        order.lines = [OrderLine(product=product, qty=2, picked_qty=2, packed_qty=2)]
        s.add_all([box, product, order])
        s.flush()
        parcels = [Parcel(order_id=order.id, box_type_id=box.id, weight_g=w, packed_by=ben) for w in (650, 640)]
        s.add_all(parcels)
        s.flush()
        s.add_all(ParcelItem(parcel_id=p.id, line_id=order.lines[0].id, qty=1) for p in parcels)
        parcel_ids, order_id = [p.id for p in parcels], order.id
    return {"parcels": parcel_ids, "order": order_id, "ben": api.sign_in("ben"), "anna": api.sign_in("anna")}


def test_label_route_gives_json_pdf_and_zpl(api, packed):
    http = packed["ben"].http
    first, second = packed["parcels"]
    r = http.post(f"/v1/parcels/{first}/label")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"parcel_id", "tracking_number", "zpl", "pdf_base64"}
    assert body["parcel_id"] == first
    assert labels.is_valid_tracking_number(body["tracking_number"])
    assert body["zpl"].startswith("^XA") and body["tracking_number"] in body["zpl"]
    assert "Jana Schmidt" in body["zpl"] and "Parcel 1 of 2" in body["zpl"]
    assert base64.b64decode(body["pdf_base64"]).startswith(b"%PDF-")

    r = http.post(f"/v1/parcels/{first}/label", params={"format": "pdf"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")

    r = http.post(f"/v1/parcels/{second}/label", params={"format": "zpl"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith("^XA") and "Parcel 2 of 2" in r.text

    assert http.post(f"/v1/parcels/{first}/label", params={"format": "png"}).status_code == 422


def _parcel_changes(api, parcel_id):
    with api.db.read() as s:
        return s.execute(select(Change.seq, Change.audience, Change.data).where(
            Change.entity == "parcel", Change.entity_id == str(parcel_id))
            .order_by(Change.seq)).all()


def test_a_parcel_keeps_its_tracking_number_and_it_is_published(api, packed):
    http = packed["ben"].http
    first, second = packed["parcels"]
    number = http.post(f"/v1/parcels/{first}/label").json()["tracking_number"]
    published = [c.seq for c in _parcel_changes(api, first)]
    numbers = {number} | {http.post(f"/v1/parcels/{first}/label").json()["tracking_number"] for _ in range(2)}
    assert len(numbers) == 1
    other = http.post(f"/v1/parcels/{second}/label").json()["tracking_number"]
    assert other not in numbers
    with api.db.read() as s:
        tracking_number = s.get(Parcel, first).tracking_number
        assert tracking_number in numbers
        assert s.get(Order, packed["order"]).status == "packed"  # shipping is not the label's business
    logged = _parcel_changes(api, first)
    assert {c.audience for c in logged} == {"office", "packing"}
    assert all(c.data["tracking_number"] == tracking_number for c in logged)
    # printing again changes nothing, so nothing new is published
    assert [c.seq for c in logged] == published


def test_label_route_checks_role_token_and_parcel(api, packed):
    first = packed["parcels"][0]
    r = packed["anna"].http.post(f"/v1/parcels/{first}/label")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = api.client().post(f"/v1/parcels/{first}/label")
    assert r.status_code == 401
    r = packed["ben"].http.post("/v1/parcels/999999/label")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
