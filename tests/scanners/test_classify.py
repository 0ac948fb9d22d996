"""Tests for scanners.classify: every scan becomes a typed result, never an exception."""

from datetime import date
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanners.classify import ECHO_LONGEST, ClassifyOptions, classify, echo
from scanners.codes import Classified, LocationLabel, ProductCode, Scan, ToteCode, Unrecognised, UserBadge

GS = "\x1d"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A-01-03-2", LocationLabel("A-01-03-2")),
        ("a-01-03-2", LocationLabel("A-01-03-2")),
        ("  T-0001\r\n", ToteCode("T-0001")),
        ("t-123456", ToteCode("T-123456")),
        ("U0001", UserBadge("U0001")),
        ("u0042\t", UserBadge("U0042")),
    ],
)
def test_site_labels(raw, expected):
    assert classify(raw) == expected


def test_site_patterns_are_configurable():
    options = ClassifyOptions(location_pattern=r"^LOC\d{3}$", badge_pattern=r"^EMP-\d+$")
    assert classify("loc123", options) == LocationLabel("LOC123")
    assert classify("EMP-7", options) == UserBadge("EMP-7")
    assert isinstance(classify("A-01-03-2", options), Unrecognised)


@pytest.mark.parametrize(
    ("raw", "gtin"),
    [
        ("4006381333931", "04006381333931"),
        ("036000291452", "00036000291452"),
        ("96385074", "00000096385074"),
        ("425261", "00042100005264"),
        ("04252614", "00042100005264"),
        ("04006381333931", "04006381333931"),
    ],
)
def test_plain_gtins(raw, gtin):
    result = classify(raw)
    assert isinstance(result, ProductCode)
    assert result.gtin == gtin
    assert result.raw == raw


def test_gtin13_of_an_ean13():
    assert classify("4006381333931").gtin13 == "4006381333931"


def test_aim_symbology_identifier_is_stripped_and_recorded():
    result = classify("]E04006381333931")
    assert result == ProductCode(gtin="04006381333931", raw="]E04006381333931", symbology="]E0")


def test_symbology_given_on_the_scan():
    result = classify(Scan(raw="0104006381333931", symbology="]C1", source="serial"))
    assert result.gtin == "04006381333931"
    assert result.symbology == "]C1"


def test_wrong_check_digit_gives_a_message_for_people():
    assert classify("4006381333932") == Unrecognised(
        "4006381333932", "check digit wrong: looks like an EAN-13 with a damaged label; type it in"
    )


def test_gs1_datamatrix_with_group_separator():
    raw = f"]d2010400638133393117270131104711A{GS}21SN-99{GS}3012"
    result = classify(raw)
    assert result == ProductCode(
        gtin="04006381333931",
        raw=raw,
        expiry=date(2027, 1, 31),
        batch="4711A",
        serial="SN-99",
        quantity=12,
        symbology="]d2",
    )


def test_gs1_128_without_symbology_identifier_best_before_and_weight():
    result = classify("0104006381333931152605153103001250")
    assert result.gtin == "04006381333931"
    assert result.best_before == date(2026, 5, 15)
    assert result.net_weight_kg == pytest.approx(1.25)


def test_group_separator_substitute():
    options = ClassifyOptions(gs_substitute="|")
    result = classify("0104006381333931104711|21XYZ", options)
    assert (result.batch, result.serial) == ("4711", "XYZ")


def test_human_readable_form():
    result = classify("(01)04006381333931(10)L42(17)270131")
    assert (result.gtin, result.batch, result.expiry) == ("04006381333931", "L42", date(2027, 1, 31))


def test_sscc_with_product():
    result = classify(f"]C100340123450000000000{GS}0104006381333931")
    assert result.sscc == "340123450000000000"
    assert result.gtin == "04006381333931"


def test_sscc_alone_is_not_a_product():
    result = classify("00340123450000000000")
    assert isinstance(result, Unrecognised)
    assert "SSCC" in result.reason


def test_gs1_gtin_with_wrong_check_digit():
    result = classify("]C10104006381333932")
    assert isinstance(result, Unrecognised)
    assert result.reason.startswith("check digit wrong")


def test_damaged_gs1_message():
    result = classify("]C101040063813339")
    assert isinstance(result, Unrecognised)
    assert result.reason.startswith("GS1 barcode could not be read")


@pytest.mark.parametrize("raw", ["", "   ", "\r\n", "]E0"])
def test_empty(raw):
    assert classify(raw) == Unrecognised(raw, "empty scan")


def test_control_characters_are_refused_with_a_reason():
    result = classify("A-01\x00-03-2")
    assert isinstance(result, Unrecognised)
    assert "control characters (0x00)" in result.reason


def test_anything_else_is_quoted_back_to_the_person():
    assert classify("hello") == Unrecognised("hello", 'Not a code Floorhand knows: "hello"')
    assert classify("  XYZ12\r\n").reason == 'Not a code Floorhand knows: "XYZ12"'  # as it reads on the label


def test_a_long_unknown_scan_is_quoted_by_its_start_and_end():
    reason = classify("HTTPS://EXAMPLE.COM/TRACK/1Z999AA10123456784").reason
    assert reason == 'Not a code Floorhand knows: "HTTPS://EXAMPLE…23456784"'


@given(st.text(min_size=1, max_size=200))
def test_the_quote_of_an_unknown_scan_is_never_longer_than_the_limit(text):
    assert len(echo(text)) <= ECHO_LONGEST
    assert echo(text) == text or "…" in echo(text)


CLASSIFIED_TYPES = get_args(Classified)


@given(st.text())
def test_never_raises_on_any_text(text):
    assert isinstance(classify(text), CLASSIFIED_TYPES)


@given(st.text(alphabet=st.sampled_from("0123456789()]CdEQe123|\x1d\x00\r\n\t -AUT"), max_size=60))
def test_never_raises_on_barcode_like_text(text):
    assert isinstance(classify(text), CLASSIFIED_TYPES)
    assert isinstance(classify(text, ClassifyOptions(gs_substitute="|")), CLASSIFIED_TYPES)


@given(st.from_regex(r"(\][CdEQe][0-9])?[0-9]{1,48}", fullmatch=True))
def test_never_raises_on_digit_strings(text):
    result = classify(text)
    assert isinstance(result, CLASSIFIED_TYPES)
    if isinstance(result, ProductCode):
        assert len(result.gtin) == 14


@given(st.binary(max_size=64))
def test_never_raises_on_binary_noise(data):
    assert isinstance(classify(data.decode("latin-1")), CLASSIFIED_TYPES)
