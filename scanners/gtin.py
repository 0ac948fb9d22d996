"""GTIN check digits and normalisation of EAN-8, EAN-13, UPC-A, UPC-E and GTIN-14 to GTIN-14."""

import re

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.upc import Upc

_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts e.g. Arabic-Indic digits

_NAMES = {6: "UPC-E", 8: "EAN-8", 12: "UPC-A", 13: "EAN-13", 14: "GTIN-14"}

# AIM ISO/IEC 15424 symbology identifiers: ]E4 is EAN-8; ]E0 covers EAN-13, UPC-A and UPC-E.
_EAN8_SYMBOLOGY = "]E4"
_EAN_UPC_SYMBOLOGY = "]E0"


class GtinError(ValueError):
    """A digit string that is not a valid GTIN; the message is for the person holding the scanner."""


def check_digit(payload: str) -> int:
    """The GS1 standard check digit (GS1 General Specifications 7.9.1) for the digits before it."""
    if not _DIGITS.fullmatch(payload):
        raise GtinError(f"not a digit string: {payload!r}")
    return gs1_standard_check_digit(payload)


def has_valid_check_digit(code: str) -> bool:
    """Whether the last digit of an EAN-8/UPC-A/EAN-13/GTIN-14 is its correct check digit."""
    return bool(_DIGITS.fullmatch(code)) and len(code) >= 2 and check_digit(code[:-1]) == int(code[-1])


def expand_upc_e(code: str) -> str:
    """The 12-digit UPC-A that a 6-digit (number system 0) or 8-digit UPC-E stands for.

    GS1 General Specifications 5.2.2.4.2 gives the zero-suppression rules; biip implements them.
    """
    if not _DIGITS.fullmatch(code) or len(code) not in (6, 8):
        raise GtinError("not a UPC-E code: expected 6 or 8 digits")
    if len(code) == 8 and code[0] not in "01":
        raise GtinError("not a UPC-E code: number system must be 0 or 1")
    try:
        return Upc.parse(code).as_upc_a()
    except ParseError as error:
        raise GtinError(_wrong_check_digit("UPC-E")) from error


def to_gtin14(code: str, symbology: str | None = None) -> str:
    """Normalise an EAN-8, UPC-E, UPC-A, EAN-13 or GTIN-14 to GTIN-14 (left-padded with zeros).

    Eight digits are ambiguous: EAN-8 unless the symbology says UPC-E (]E0), or the code is only
    valid read as UPC-E. Raises GtinError with a message for people.
    """
    if not _DIGITS.fullmatch(code):
        raise GtinError("a product code has digits only")
    length = len(code)
    if length == 6:
        return expand_upc_e(code).zfill(14)
    if length == 8 and symbology != _EAN8_SYMBOLOGY:
        could_be_upc_e = code[0] in "01"
        if could_be_upc_e and (symbology == _EAN_UPC_SYMBOLOGY or not has_valid_check_digit(code)):
            return expand_upc_e(code).zfill(14)
    if length not in (8, 12, 13, 14):
        raise GtinError(f"{length} digits is not a product code length (8, 12, 13 or 14)")
    if not has_valid_check_digit(code):
        raise GtinError(_wrong_check_digit(_NAMES[length]))
    return code.zfill(14)


def _wrong_check_digit(kind: str) -> str:
    article = "an" if kind.startswith("E") else "a"
    return f"check digit wrong: looks like {article} {kind} with a damaged label; type it in"
