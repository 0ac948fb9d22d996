"""Tests for scanners.gtin: check digits and normalisation to GTIN-14."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanners.gtin import GtinError, check_digit, expand_upc_e, has_valid_check_digit, to_gtin14


@pytest.mark.parametrize(
    ("payload", "digit"),
    [("400638133393", 1), ("03600029145", 2), ("9638507", 4), ("1234567890123", 1)],
)
def test_check_digit(payload, digit):
    assert check_digit(payload) == digit


@pytest.mark.parametrize(
    ("code", "gtin14"),
    [
        ("4006381333931", "04006381333931"),  # EAN-13
        ("036000291452", "00036000291452"),  # UPC-A
        ("96385074", "00000096385074"),  # EAN-8
        ("12345678901231", "12345678901231"),  # GTIN-14
        ("425261", "00042100005264"),  # UPC-E, six digits, number system 0 implied
        ("04252614", "00042100005264"),  # UPC-E with number system and check digit
    ],
)
def test_to_gtin14(code, gtin14):
    assert to_gtin14(code) == gtin14


@pytest.mark.parametrize(
    ("upc_e", "upc_a"),
    [
        # GS1 General Specifications 5.2.2.4.2: the last UPC-E digit selects the expansion rule.
        ("01234505", "012000003455"),  # 0-2: manufacturer digits then 0000
        ("01234531", "012300000451"),  # 3
        ("01234543", "012340000053"),  # 4
        ("01234558", "012345000058"),  # 5-9
    ],
)
def test_upc_e_expansion(upc_e, upc_a):
    assert expand_upc_e(upc_e) == upc_a
    assert has_valid_check_digit(upc_a)


def test_symbology_settles_the_eight_digit_ambiguity():
    # 01234505 is a valid UPC-E; read as an EAN-8 its check digit happens to be wrong.
    assert to_gtin14("01234505") == "00012000003455"
    assert to_gtin14("01234505", symbology="]E0") == "00012000003455"
    with pytest.raises(GtinError, match="EAN-8"):
        to_gtin14("01234505", symbology="]E4")


@pytest.mark.parametrize(
    ("code", "kind"),
    [("4006381333932", "an EAN-13"), ("036000291453", "a UPC-A"), ("96385075", "an EAN-8")],
)
def test_wrong_check_digit_says_what_it_looks_like(code, kind):
    with pytest.raises(GtinError, match=f"check digit wrong: looks like {kind} with a damaged label; type it in"):
        to_gtin14(code)


@pytest.mark.parametrize("code", ["", "12345", "1234567890", "١٢٣٤٥٦٧٨", "40063813339a1", "29123456"])
def test_not_a_gtin(code):
    with pytest.raises(GtinError):
        to_gtin14(code)


def test_upc_e_number_system_must_be_0_or_1():
    with pytest.raises(GtinError, match="number system"):
        expand_upc_e("21234505")


@given(st.from_regex(r"[0-9]{7}|[0-9]{11}|[0-9]{12}|[0-9]{13}", fullmatch=True))
def test_payload_with_its_check_digit_is_always_valid(payload):
    code = payload + str(check_digit(payload))
    assert has_valid_check_digit(code)
    assert len(to_gtin14(code)) == 14
