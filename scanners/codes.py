"""What a scan can turn out to be, after classification (scanners.classify)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

# The translation context of what people are told of a scan (lupdate reads the literal "Scans", not this name).
SCANS = "Scans"


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 (the name Qt's lupdate looks for)
    """Mark a text for translation where it is declared; it is translated where it is shown."""
    return text


@dataclass(frozen=True)
class Scan:
    """One read of a barcode: raw text, AIM symbology identifier if sent, where it came from, when."""

    raw: str
    symbology: str | None = None  # AIM identifier such as "]E0" (EAN-13), "]C1" (GS1-128), "]d2" (GS1 DataMatrix)
    source: str = "manual"  # "wedge", "serial", "camera", "manual"
    at: datetime = field(default_factory=datetime.now)


@dataclass(frozen=True)
class LocationLabel:
    """A bin label, route key form zone-aisle-bay-level, e.g. A-01-03-2."""

    label: str


@dataclass(frozen=True)
class ToteCode:
    """A tote, e.g. T-0001."""

    code: str


@dataclass(frozen=True)
class UserBadge:
    """A user's badge, e.g. U0001."""

    code: str


@dataclass(frozen=True)
class OrderNumber:
    """A customer order's number, e.g. SO-100001, from a packing slip or a tote's ticket."""

    number: str


@dataclass(frozen=True)
class BenchCommand:
    """A barcode of the bench's command sheet (printed by the app): "FH:BOX:M" is command "box", value "M"."""

    command: str
    value: str = ""


@dataclass(frozen=True)
class ProductCode:
    """A product by GTIN (always 14 digits here, check digit verified), with GS1 extras when present."""

    gtin: str
    raw: str
    quantity: int | None = None  # GS1 AI 30 (variable count)
    batch: str | None = None  # AI 10
    serial: str | None = None  # AI 21
    best_before: date | None = None  # AI 15
    expiry: date | None = None  # AI 17
    net_weight_kg: float | None = None  # AI 310x
    sscc: str | None = None  # AI 00
    symbology: str | None = None  # AIM identifier the scan came with, e.g. "]d2" for GS1 DataMatrix

    @property
    def gtin13(self) -> str | None:
        """The EAN-13 form when the GTIN-14 starts with 0 (how the catalogue stores most GTINs)."""
        return self.gtin[1:] if self.gtin.startswith("0") else None


@dataclass(frozen=True, eq=False)
class Unrecognised:
    """Anything else, with what to tell the person holding the scanner.

    The message is kept untranslated: `template`, an English text marked with
    QT_TRANSLATE_NOOP("Scans", ...) whose values are its {named} `fields`; the screen shows
    `said(translate)`. Two are equal when they say the same of the same scan.
    """

    raw: str
    template: str
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        """The message in English (tests, the log)."""
        return self.template.format_map(self.fields)

    def said(self, translate: Callable[[str, str], str]) -> str:
        """The message in the person's language: `said(desktop_app.i18n.translate)`."""
        return translate(SCANS, self.template).format_map(self.fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Unrecognised):
            return NotImplemented
        return (self.raw, self.reason) == (other.raw, other.reason)

    def __hash__(self) -> int:
        return hash((self.raw, self.reason))


Classified = LocationLabel | ToteCode | UserBadge | OrderNumber | BenchCommand | ProductCode | Unrecognised
