"""Tests for peripherals.scale_protocols: every protocol's lines, units, and no exception on any bytes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peripherals.scale_protocols import (
    AND_CONTINUOUS,
    MT_SICS,
    PLAIN_CONTINUOUS,
    PROTOCOLS,
    TOLEDO_8217,
    LineKind,
    ScaleLine,
    StatusFlag,
    parse_line,
    to_grams,
)

K = LineKind
STX = b"\x02"

LINES = [
    # MT-SICS: SI answers, tare and zero answers, errors
    (MT_SICS, b"S S      100.00 g\r\n", ScaleLine(K.WEIGHT, 100, True)),
    (MT_SICS, b"S D      100.00 g", ScaleLine(K.WEIGHT, 100, False)),
    (MT_SICS, b"S S     1.2345 kg", ScaleLine(K.WEIGHT, 1235, True)),
    (MT_SICS, b"S S      -12.4 g", ScaleLine(K.WEIGHT, -12, True)),
    (MT_SICS, b"S +", ScaleLine(K.OVERLOAD)),
    (MT_SICS, b"S -", ScaleLine(K.UNDERLOAD)),
    (MT_SICS, b"S I", ScaleLine(K.BUSY)),
    (MT_SICS, b"T S      250.00 g", ScaleLine(K.ACKNOWLEDGED, 250)),
    (MT_SICS, b"Z A", ScaleLine(K.ACKNOWLEDGED)),
    (MT_SICS, b"Z I", ScaleLine(K.BUSY)),
    (MT_SICS, b"T +", ScaleLine(K.ERROR)),
    (MT_SICS, b"ES", ScaleLine(K.ERROR)),
    (MT_SICS, b"ET", ScaleLine(K.ERROR)),
    (MT_SICS, b"EL", ScaleLine(K.ERROR)),
    (MT_SICS, b"S S      100.00 ct", ScaleLine(K.GARBAGE)),  # carats: a unit the bench does not use
    (MT_SICS, b"S X 12 g", ScaleLine(K.GARBAGE)),
    (MT_SICS, b"", ScaleLine(K.GARBAGE)),
    # Toledo 8217: STX weight CR, or STX ? status CR
    (TOLEDO_8217, STX + b"01.234\r", ScaleLine(K.WEIGHT, 1234, True)),
    (TOLEDO_8217, STX + b"12.345N", ScaleLine(K.WEIGHT, 12345, True, frozenset({StatusFlag.NET}))),
    (TOLEDO_8217, STX + b"?A", ScaleLine(K.IN_MOTION, flags=frozenset({StatusFlag.MOTION}))),
    (TOLEDO_8217, STX + b"?B", ScaleLine(K.OVERLOAD, flags=frozenset({StatusFlag.OVER_CAPACITY}))),
    (TOLEDO_8217, STX + b"?D", ScaleLine(K.UNDERLOAD, flags=frozenset({StatusFlag.UNDER_ZERO}))),
    (TOLEDO_8217, STX + b"?E", ScaleLine(K.UNDERLOAD, flags=frozenset({StatusFlag.UNDER_ZERO, StatusFlag.MOTION}))),
    (TOLEDO_8217, STX + b"?H", ScaleLine(K.ERROR, flags=frozenset({StatusFlag.OUTSIDE_ZERO_RANGE}))),
    (TOLEDO_8217, STX + b"?P", ScaleLine(K.ACKNOWLEDGED, flags=frozenset({StatusFlag.CENTER_OF_ZERO}))),
    (TOLEDO_8217, STX + b"?" + bytes([0x80 | 0x42]), ScaleLine(K.OVERLOAD, flags=frozenset({StatusFlag.OVER_CAPACITY}))),
    (TOLEDO_8217, STX + b"?1", ScaleLine(K.GARBAGE)),  # bit 6 of a status byte is always set
    (TOLEDO_8217, b"01.234", ScaleLine(K.GARBAGE)),  # no STX
    (TOLEDO_8217, STX + b"1.2.3", ScaleLine(K.GARBAGE)),
    # A&D standard format, streamed
    (AND_CONTINUOUS, b"ST,GS,+00001.234kg\r\n", ScaleLine(K.WEIGHT, 1234, True)),
    (AND_CONTINUOUS, b"US,GS,+00001.234kg", ScaleLine(K.WEIGHT, 1234, False)),
    (AND_CONTINUOUS, b"ST,NT,-0000012.5  g", ScaleLine(K.WEIGHT, -13, True)),
    (AND_CONTINUOUS, b"ST,+00123.45 g", ScaleLine(K.WEIGHT, 123, True)),
    (AND_CONTINUOUS, b"OL,GS,+9999E+19", ScaleLine(K.OVERLOAD)),
    (AND_CONTINUOUS, b"OL,GS,-9999E+19", ScaleLine(K.UNDERLOAD)),
    (AND_CONTINUOUS, b"QT,+00000012 PC", ScaleLine(K.GARBAGE)),  # piece counts are no weight
    (AND_CONTINUOUS, b"ST,GS,kg", ScaleLine(K.GARBAGE)),
    # plain: a number and a unit, no stable flag
    (PLAIN_CONTINUOUS, b"   1.234 kg\r", ScaleLine(K.WEIGHT, 1234, None)),
    (PLAIN_CONTINUOUS, b"-0.250kg", ScaleLine(K.WEIGHT, -250, None)),
    (PLAIN_CONTINUOUS, b"850 g", ScaleLine(K.WEIGHT, 850, None)),
    (PLAIN_CONTINUOUS, b"2.5", ScaleLine(K.WEIGHT, 2500, None)),  # no unit: the protocol's (kg)
    (PLAIN_CONTINUOUS, b"1.234 kN", ScaleLine(K.GARBAGE)),
    (PLAIN_CONTINUOUS, b"\xff\xfe", ScaleLine(K.GARBAGE)),
]


@pytest.mark.parametrize(("protocol", "raw", "expected"), LINES, ids=[f"{p.name}:{r!r}" for p, r, _ in LINES])
def test_each_protocol_line_means_what_its_spec_says(protocol, raw, expected):
    line = parse_line(protocol, raw)
    assert line == expected
    assert line.raw == raw


@pytest.mark.parametrize(
    ("number", "unit", "grams"),
    [
        (b"1.000", "kg", 1000),
        (b"0.0005", "kg", 1),  # half a gram rounds away from zero
        (b"-0.0005", "kg", -1),
        (b"0.0004", "kg", 0),
        (b"250", "g", 250),
        (b"1500", "mg", 2),
        (b"1", "lb", 454),  # 453.59237 g
        (b"2.20", "LB", 998),
        (b"16", "oz", 454),  # 28.349523125 g each
        (b"0.5", "OZ", 14),
        (b"- 3.5", "g", -4),
        (b"1", "stone", None),
        (b"2000", "kg", 2_000_000),
        (b"2000000", "kg", None),  # past a thousand tonnes
    ],
)
def test_weights_become_whole_grams(number, unit, grams):
    assert to_grams(number, unit) == grams


def test_a_toledo_8217_scale_set_to_pounds_reports_grams():
    pounds = TOLEDO_8217.in_unit("lb")
    assert parse_line(pounds, STX + b"002.20\r") == ScaleLine(K.WEIGHT, 998, True)
    assert parse_line(TOLEDO_8217, STX + b"002.20\r") == ScaleLine(K.WEIGHT, 2200, True)


def test_a_protocol_in_an_unknown_unit_is_refused_when_configured():
    with pytest.raises(ValueError, match="stone"):
        PLAIN_CONTINUOUS.in_unit("stone")


def test_every_protocol_is_listed_under_its_name_and_says_how_it_is_read():
    assert set(PROTOCOLS) == {"mt-sics", "toledo-8217", "and-continuous", "plain-continuous"}
    assert all(PROTOCOLS[name].name == name for name in PROTOCOLS)
    assert MT_SICS.request == b"SI\r\n" and MT_SICS.tare_command == b"T\r\n" and MT_SICS.zero_command == b"Z\r\n"
    assert TOLEDO_8217.request == b"W" and TOLEDO_8217.terminator == b"\r"
    assert AND_CONTINUOUS.request is None and PLAIN_CONTINUOUS.request is None
    assert not PLAIN_CONTINUOUS.has_stable_flag and MT_SICS.has_stable_flag


@pytest.mark.parametrize("protocol", list(PROTOCOLS.values()), ids=list(PROTOCOLS))
@given(raw=st.binary(max_size=64))
def test_any_bytes_give_a_line_never_an_exception(protocol, raw):
    line = parse_line(protocol, raw)
    assert isinstance(line.kind, LineKind)
    if line.kind is K.WEIGHT:
        assert isinstance(line.grams, int) and abs(line.grams) <= 1_000_000_000


@pytest.mark.parametrize("protocol", list(PROTOCOLS.values()), ids=list(PROTOCOLS))
@given(text=st.text(alphabet="0123456789.+- ,SDTZIEOLUGNkglboz?\x02", max_size=32))
def test_near_miss_text_gives_a_line_never_an_exception(protocol, text):
    assert isinstance(parse_line(protocol, text.encode()).kind, LineKind)
