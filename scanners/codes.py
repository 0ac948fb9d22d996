"""What a scan can turn out to be, after classification (scanners.classify)."""

from dataclasses import dataclass, field
from datetime import date, datetime


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


@dataclass(frozen=True)
class Unrecognised:
    """Anything else; reason is a message for the person holding the scanner."""

    raw: str
    reason: str


Classified = LocationLabel | ToteCode | UserBadge | ProductCode | Unrecognised
