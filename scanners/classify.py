"""Turns a scan into what it is: location label, tote, user badge, product (GTIN or GS1 element strings)."""

import logging
import re
import unicodedata
from dataclasses import dataclass

from biip import ParseConfig, ParseError
from biip.gs1_element_strings import GS1ElementStrings
from biip.gs1_messages import GS1Message

from scanners.codes import (
    QT_TRANSLATE_NOOP,
    BenchCommand,
    Classified,
    LocationLabel,
    OrderNumber,
    ProductCode,
    Scan,
    ToteCode,
    Unrecognised,
    UserBadge,
)
from scanners.gtin import GtinError, to_gtin14

log = logging.getLogger(__name__)

# GS1 General Specifications 7.8.5: FNC1 in a symbol arrives as GS (ASCII 0x1d).
GROUP_SEPARATOR = "\x1d"

# AIM ISO/IEC 15424: "]" + symbology character + modifier character.
_AIM_PREFIX = re.compile(r"\][A-Za-z][0-9A-Za-z]")
# GS1 General Specifications 5.1.2 (table of symbology identifiers): symbologies that carry
# GS1 element strings: GS1-128, GS1 DataBar, GS1 DataMatrix, GS1 QR Code, GS1 DotCode.
_GS1_SYMBOLOGIES = frozenset({"]C1", "]e0", "]d2", "]Q3", "]J1"})
# Element strings a product or pallet label starts with: SSCC (AI 00) or GTIN (AI 01/02).
_PLAUSIBLE_ELEMENT_STRING = re.compile(r"00[0-9]{18}|0[12][0-9]{14}")
_HUMAN_READABLE_AI = re.compile(r"\([0-9]{2,4}\)")
_DIGITS = re.compile(r"[0-9]+")
# str.strip() would also remove GS, which Python counts as whitespace.
_EDGE_SPACE = re.compile(r"^[^\S\x1d]+|[^\S\x1d]+$")
# How much of an unknown scan a message quotes: a label's text fits, a scanned page of text does not.
ECHO_LONGEST = 24
# Digit counts scanners.gtin.to_gtin14 reads as a product code (6 and 8: UPC-E).
_GTIN_LENGTHS = (6, 8, 12, 13, 14)

# What scanners.gtin says of a product code with a wrong check digit (GtinError), one sentence
# per kind so that a translator sees it whole: shown translated when the error says it.
_WRONG_CHECK_DIGIT = frozenset({
    QT_TRANSLATE_NOOP("Scans", "check digit wrong: looks like an EAN-13 with a damaged label; type it in"),
    QT_TRANSLATE_NOOP("Scans", "check digit wrong: looks like an EAN-8 with a damaged label; type it in"),
    QT_TRANSLATE_NOOP("Scans", "check digit wrong: looks like a UPC-A with a damaged label; type it in"),
    QT_TRANSLATE_NOOP("Scans", "check digit wrong: looks like a UPC-E with a damaged label; type it in"),
    QT_TRANSLATE_NOOP("Scans", "check digit wrong: looks like a GTIN-14 with a damaged label; type it in"),
})


@dataclass(frozen=True)
class ClassifyOptions:
    """Site settings for classification: GS substitute and the shapes of the site's own labels."""

    gs_substitute: str | None = None  # e.g. "|" when the scanner is set to send "|" for GS
    location_pattern: str = r"^[A-Z]-\d{2}-\d{2}-\d$"
    tote_pattern: str = r"^T-\d{4,}$"
    badge_pattern: str = r"^U\d{4,}$"
    order_pattern: str = r"^SO-\d{4,}$"


# The bench's command sheet (desktop_app/views/packing/command_sheet.py prints it): "FH:" + command
# [+ ":" + value], e.g. FH:BOX:M. Code 128 carries the colon; a prefix no product or label uses.
COMMAND_PREFIX = "FH:"
_COMMAND = re.compile(r"^FH:([A-Z]+)(?::([A-Z0-9-]{1,16}))?$")


def classify(scan: Scan | str, options: ClassifyOptions = ClassifyOptions()) -> Classified:
    """What a scan is; never raises: anything not understood is Unrecognised with a reason for people."""
    raw = scan.raw if isinstance(scan, Scan) else scan
    symbology = scan.symbology if isinstance(scan, Scan) else None
    text = _EDGE_SPACE.sub("", raw)
    aim = _AIM_PREFIX.match(text)
    if aim:
        symbology = aim.group()
        text = text[aim.end() :]
    if options.gs_substitute:
        text = text.replace(options.gs_substitute, GROUP_SEPARATOR)
    text = _EDGE_SPACE.sub("", text)
    if not text:
        return Unrecognised(raw, QT_TRANSLATE_NOOP("Scans", "empty scan"))
    controls = sorted({f"0x{ord(c):02x}" for c in text if c != GROUP_SEPARATOR and unicodedata.category(c) == "Cc"})
    if controls:
        return Unrecognised(raw, QT_TRANSLATE_NOOP("Scans", "scan contains control characters ({codes}); "
                                                            "check the scanner's settings"),
                            {"codes": ", ".join(controls)})

    if _looks_like_gs1(text, symbology):
        return _classify_gs1(raw, text, symbology)
    if _DIGITS.fullmatch(text):
        try:
            return ProductCode(gtin=to_gtin14(text, symbology), raw=raw, symbology=symbology)
        except GtinError as error:
            digit_problem = _not_a_gtin(raw, text, error)
    else:
        digit_problem = None

    upper = text.upper()
    command = _COMMAND.fullmatch(upper)
    if command:
        return BenchCommand(command.group(1).lower(), command.group(2) or "")
    for pattern, kind in (
        (options.location_pattern, LocationLabel),
        (options.tote_pattern, ToteCode),
        (options.badge_pattern, UserBadge),
        (options.order_pattern, OrderNumber),
    ):
        if re.fullmatch(pattern, upper, flags=re.ASCII):
            return kind(upper)
    if digit_problem:
        return digit_problem
    return Unrecognised(raw, QT_TRANSLATE_NOOP("Scans", 'Not a code Floorhand knows: "{scan}"'),
                        {"scan": echo(text)})


def _not_a_gtin(raw: str, digits: str, error: GtinError) -> Unrecognised:
    """Why a digit string is not a product code, in words that can be translated."""
    if len(digits) not in _GTIN_LENGTHS:
        return Unrecognised(raw, QT_TRANSLATE_NOOP("Scans", "not a product code: those have 8, 12, 13 or 14 digits, "
                                                            "not {count}"), {"count": str(len(digits))})
    if str(error) in _WRONG_CHECK_DIGIT:
        return Unrecognised(raw, str(error))
    log.info("product code %s refused: %s", echo(digits), error)
    return Unrecognised(raw, QT_TRANSLATE_NOOP("Scans", "check digit wrong: the product code is damaged; type it in"))


def echo(text: str, longest: int = ECHO_LONGEST) -> str:
    """The scanned text as a message quotes it: a long one keeps its start and its end, which people compare."""
    if len(text) <= longest:
        return text
    tail = longest // 3
    return f"{text[:longest - tail - 1]}…{text[-tail:]}"


def _looks_like_gs1(text: str, symbology: str | None) -> bool:
    return (
        symbology in _GS1_SYMBOLOGIES
        or GROUP_SEPARATOR in text
        or _HUMAN_READABLE_AI.match(text) is not None
        or (len(text) > 14 and _PLAUSIBLE_ELEMENT_STRING.match(text) is not None)
    )


def _classify_gs1(raw: str, text: str, symbology: str | None) -> Classified:
    config = ParseConfig(separator_chars=(GROUP_SEPARATOR,))
    try:
        if text.startswith("("):
            message = GS1Message.parse_hri(text, config=config)
        else:
            message = GS1Message.parse(text.lstrip(GROUP_SEPARATOR), config=config)
    except ParseError as error:
        # biip's words name element strings and offsets: the log gets them, the person plain words.
        log.info("GS1 barcode %s not readable: %s", echo(text), error)
        return Unrecognised(raw, QT_TRANSLATE_NOOP("Scans", "GS1 barcode could not be read: part of it is missing or "
                                                            "damaged; scan it again or type the number in"))
    return _product_from_element_strings(raw, message.element_strings, symbology)


def _product_from_element_strings(raw: str, strings: GS1ElementStrings, symbology: str | None) -> Classified:
    item = strings.get(ai="01") or strings.get(ai="02")  # 02: the GTIN of the trade items inside
    sscc = strings.get(ai="00")
    if sscc is not None and sscc.sscc is None:
        return Unrecognised(raw, QT_TRANSLATE_NOOP("Scans", "check digit wrong in the SSCC (AI 00); type it in"))
    if item is None:
        if sscc is not None:
            return Unrecognised(raw, QT_TRANSLATE_NOOP("Scans", "pallet or parcel label (SSCC {sscc}), not a product; "
                                                                "scan the item"), {"sscc": sscc.value})
        return Unrecognised(raw, QT_TRANSLATE_NOOP("Scans", "GS1 barcode without a product number (AI 01)"))
    if item.gtin is None:
        return Unrecognised(raw, QT_TRANSLATE_NOOP("Scans", "check digit wrong: the GS1 barcode's GTIN (AI 01) is "
                                                            "damaged; type it in"))

    quantity = strings.get(ai="30") or strings.get(ai="37")
    batch = strings.get(ai="10")
    serial = strings.get(ai="21")
    best_before = strings.get(ai="15")
    expiry = strings.get(ai="17")
    # AI 310n: net weight in kg with n decimals; biip applies the decimal point.
    weight = strings.get(ai="310")
    return ProductCode(
        gtin=item.gtin.as_gtin_14(),
        raw=raw,
        quantity=int(quantity.value) if quantity else None,
        batch=batch.value if batch else None,
        serial=serial.value if serial else None,
        best_before=best_before.date if best_before else None,
        expiry=expiry.date if expiry else None,
        net_weight_kg=float(weight.decimal) if weight and weight.decimal is not None else None,
        sscc=sscc.value if sscc else None,
        symbology=symbology,
    )
