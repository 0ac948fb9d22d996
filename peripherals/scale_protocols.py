"""Serial scale protocols described as data, and the one parser that reads a line of any of them."""

import re
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum


class LineKind(str, Enum):
    """What one line from a scale says."""

    WEIGHT = "weight"
    OVERLOAD = "overload"
    UNDERLOAD = "underload"
    IN_MOTION = "in_motion"  # a status-only answer: the load is moving, no weight given
    BUSY = "busy"  # the scale cannot answer now (taring, or stability not reached in time)
    ERROR = "error"  # the scale refused the command or reports a fault
    ACKNOWLEDGED = "acknowledged"  # a tare or zero answer, or a status with nothing wrong
    GARBAGE = "garbage"  # nothing this protocol sends


class StatusFlag(str, Enum):
    """One condition a scale's status byte reports."""

    MOTION = "motion"
    OVER_CAPACITY = "over_capacity"
    UNDER_ZERO = "under_zero"
    OUTSIDE_ZERO_RANGE = "outside_zero_range"
    CENTER_OF_ZERO = "center_of_zero"
    NET = "net"


@dataclass(frozen=True)
class StatusBit:
    """One bit of a status byte: the condition it reports and, if it decides, what the line means."""

    mask: int
    flag: StatusFlag
    kind: LineKind | None = None  # the first set bit with a kind decides the line's kind


@dataclass(frozen=True)
class LinePattern:
    """One shape of line a protocol sends and what it means.

    The regex must match the whole line (without its terminator and surrounding blanks). Named groups:
    weight (a decimal, optional sign), unit (optional: the protocol's unit otherwise), net (set for a net
    weight) and status (one status byte, decoded with the protocol's status_bits).
    """

    regex: re.Pattern[bytes]
    kind: LineKind
    stable: bool | None = None  # None: this line says nothing about stability


@dataclass(frozen=True)
class ScaleProtocol:
    """How to talk to one family of scales: what to send, what comes back and what it means."""

    name: str
    terminator: bytes
    patterns: tuple[LinePattern, ...]
    request: bytes | None = None  # sent every poll_s; None for scales that stream lines unasked
    tare_command: bytes | None = None
    zero_command: bytes | None = None
    poll_s: float = 0.25
    has_stable_flag: bool = True  # False: the reader decides stability (the same weight for a while)
    unit: str = "kg"  # the unit of weights that arrive without one
    status_bits: tuple[StatusBit, ...] = ()

    def __post_init__(self) -> None:
        if self.unit.lower() not in GRAMS_PER_UNIT:
            raise ValueError(f"scale protocol {self.name}: unknown unit {self.unit!r}")

    def in_unit(self, unit: str) -> "ScaleProtocol":
        """The same protocol for a scale configured to send weights in another unit (lb, g, ...)."""
        return replace(self, unit=unit)


@dataclass(frozen=True)
class ScaleLine:
    """One line from a scale, understood: a weight in grams or a condition, never an exception."""

    kind: LineKind
    grams: int | None = None
    stable: bool | None = None  # None: the protocol does not say; the reader decides
    flags: frozenset[StatusFlag] = frozenset()
    raw: bytes = field(default=b"", compare=False)


# The international avoirdupois pound and ounce (exact since 1959).
GRAMS_PER_UNIT = {
    "mg": Decimal("0.001"),
    "g": Decimal(1),
    "kg": Decimal(1000),
    "lb": Decimal("453.59237"),
    "oz": Decimal("28.349523125"),
}
# A reading past a thousand tonnes is noise, and Qt signals carry a 32-bit int.
MAX_GRAMS = 1_000_000_000

_NUMBER = rb"[+-]?\s*(?:\d{1,12}(?:\.\d{0,9})?|\.\d{1,9})"
_WEIGHT = rb"(?P<weight>" + _NUMBER + rb")"
_UNIT = rb"(?P<unit>[A-Za-z]{1,3})"


def _p(regex: bytes, kind: LineKind, stable: bool | None = None) -> LinePattern:
    return LinePattern(re.compile(regex), kind, stable)


# MT-SICS Reference Manual (Mettler Toledo), "SI - Send weight value immediately", "T - Tare",
# "Z - Zero" and the general error messages: commands and answers end with CR LF.
MT_SICS = ScaleProtocol(
    name="mt-sics",
    terminator=b"\r\n",
    request=b"SI\r\n",
    tare_command=b"T\r\n",
    zero_command=b"Z\r\n",
    poll_s=0.2,
    patterns=(
        _p(rb"S S\s+" + _WEIGHT + rb"\s*" + _UNIT, LineKind.WEIGHT, stable=True),
        _p(rb"S D\s+" + _WEIGHT + rb"\s*" + _UNIT, LineKind.WEIGHT, stable=False),  # dynamic
        _p(rb"S \+", LineKind.OVERLOAD),
        _p(rb"S -", LineKind.UNDERLOAD),
        _p(rb"[STZ] I", LineKind.BUSY),
        _p(rb"T S\s+" + _WEIGHT + rb"\s*" + _UNIT, LineKind.ACKNOWLEDGED),  # the tare weight taken
        _p(rb"Z A", LineKind.ACKNOWLEDGED),
        _p(rb"[TZ] [+-]", LineKind.ERROR),  # load outside the tare or zero range
        _p(rb"E[SLT]", LineKind.ERROR),  # syntax, logical and transmission errors
    ),
)

# Mettler Toledo DIVA Service Manual 72191202, 6.1.4 "8213/8217 Mettler Toledo": the host sends single
# upper-case letters (W weight, Z zero; T then CR, since T followed by digits is a digital tare), the scale
# answers STX, weight digits with a decimal point and no unit (N after a net weight), CR; or, in motion,
# over capacity or under zero, STX "?" and a status byte. The line is 7 data bits, even parity, 1 stop bit;
# the manual asks for 200 ms between commands.
TOLEDO_8217 = ScaleProtocol(
    name="toledo-8217",
    terminator=b"\r",
    request=b"W",
    tare_command=b"T\r",
    zero_command=b"Z",
    poll_s=0.25,
    patterns=(
        _p(rb"\x02(?P<weight>\d{0,6}\.?\d{1,6})(?P<net>N)?", LineKind.WEIGHT, stable=True),
        # Bit 6 of the status byte is always 1; bit 7 is parity when the port reads 8 data bits.
        _p(rb"\x02\?(?P<status>[\x40-\x7f\xc0-\xff])", LineKind.ACKNOWLEDGED),
    ),
    status_bits=(
        StatusBit(0x02, StatusFlag.OVER_CAPACITY, LineKind.OVERLOAD),
        StatusBit(0x04, StatusFlag.UNDER_ZERO, LineKind.UNDERLOAD),
        StatusBit(0x01, StatusFlag.MOTION, LineKind.IN_MOTION),
        StatusBit(0x08, StatusFlag.OUTSIDE_ZERO_RANGE, LineKind.ERROR),
        StatusBit(0x10, StatusFlag.CENTER_OF_ZERO),
        StatusBit(0x20, StatusFlag.NET),
    ),
)

# A&D indicator and balance manuals, "A&D standard format": a header (ST stable, US unstable, OL out of
# range, with the sign telling over from under), an optional data type (GS gross, NT net, TR tare), the
# signed weight and its unit, CR LF; sent continuously in stream mode. QT (piece counts) is not a weight.
AND_CONTINUOUS = ScaleProtocol(
    name="and-continuous",
    terminator=b"\r\n",
    tare_command=b"T\r\n",
    zero_command=b"Z\r\n",
    patterns=(
        _p(rb"ST,(?:(?:GS|NT|TR),)?" + _WEIGHT + rb"\s*" + _UNIT, LineKind.WEIGHT, stable=True),
        _p(rb"US,(?:(?:GS|NT|TR),)?" + _WEIGHT + rb"\s*" + _UNIT, LineKind.WEIGHT, stable=False),
        _p(rb"OL,(?:(?:GS|NT|TR),)?\s*-.*", LineKind.UNDERLOAD),
        _p(rb"OL,.*", LineKind.OVERLOAD),
    ),
)

# Simple scales that print "1.234 kg" (or a bare number in the configured unit) on every line, with no
# stable flag. LF ends the line; a CR before it is trimmed with the blanks.
PLAIN_CONTINUOUS = ScaleProtocol(
    name="plain-continuous",
    terminator=b"\n",
    has_stable_flag=False,
    patterns=(_p(_WEIGHT + rb"\s*(?P<unit>[A-Za-z]{0,3})", LineKind.WEIGHT),),
)

PROTOCOLS: dict[str, ScaleProtocol] = {p.name: p for p in (MT_SICS, TOLEDO_8217, AND_CONTINUOUS, PLAIN_CONTINUOUS)}


def parse_line(protocol: ScaleProtocol, raw: bytes) -> ScaleLine:
    """Read one line (with or without its terminator); anything unrecognised is GARBAGE, never an error."""
    line = raw.strip()
    for pattern in protocol.patterns:
        match = pattern.regex.fullmatch(line)
        if match is not None:
            return _understood(protocol, pattern, match, raw)
    return ScaleLine(LineKind.GARBAGE, raw=raw)


def _understood(protocol: ScaleProtocol, pattern: LinePattern, match: re.Match[bytes], raw: bytes) -> ScaleLine:
    groups = match.groupdict()
    kind = pattern.kind
    flags: set[StatusFlag] = {StatusFlag.NET} if groups.get("net") else set()
    if groups.get("status") is not None:
        status = groups["status"][0] & 0x7F  # bit 7 is parity
        flags |= {bit.flag for bit in protocol.status_bits if status & bit.mask}
        kind = next((bit.kind for bit in protocol.status_bits if bit.kind and status & bit.mask), kind)
    if groups.get("weight") is None:
        return ScaleLine(kind, flags=frozenset(flags), raw=raw)
    grams = to_grams(groups["weight"], (groups.get("unit") or b"").decode("ascii") or protocol.unit)
    if grams is None:
        return ScaleLine(LineKind.GARBAGE, raw=raw)
    return ScaleLine(kind, grams, pattern.stable, frozenset(flags), raw)


def to_grams(number: bytes, unit: str) -> int | None:
    """A decimal weight in a unit, as whole grams (half a gram rounds away from zero); None if not a weight."""
    factor = GRAMS_PER_UNIT.get(unit.lower())
    if factor is None:
        return None
    try:
        value = Decimal(number.replace(b" ", b"").decode("ascii"))
    except (InvalidOperation, UnicodeDecodeError):
        return None
    grams = int((value * factor).to_integral_value(rounding=ROUND_HALF_UP))
    return grams if abs(grams) <= MAX_GRAMS else None
