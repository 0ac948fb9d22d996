"""4x6 inch shipping labels: ZPL II for thermal printers, PDF for office printers.

The tracking number is a stand-in for a courier booking: the reference API books no
carrier, so it makes a number in the shape of a UPU S10 item identifier, "FH" + 8-digit
serial + mod-11 check digit + "DE" (UPU standard S10), derived from the parcel id. Both
label forms carry it as a Code 128 barcode: ZPL lets the printer draw it with ^BC, the PDF
draws the bars from the ISO/IEC 15417 symbol table below, using the same code sets, so
both print the same symbol.

The ship-to block comes from the order's customer column, "Name, Street No, Postcode
Town": each comma-separated part is a line of the address.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone

from fpdf import FPDF

SENDER = ("Floorhand Fulfilment GmbH", "Halle 3, Am Güterbahnhof 12", "04109 Leipzig")

SERVICE, COUNTRY = "FH", "DE"
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
# Multiplying by a number prime to 10 permutes the 10**8 serials, so consecutive parcels
# get unrelated-looking numbers that still never repeat within the first 10**8 parcels.
_SERIAL_SPREAD = 73_939_133
_TRACKING = re.compile(r"^[A-Z]{2}(\d{8})(\d)[A-Z]{2}$")


def s10_check_digit(serial: str) -> str:
    """UPU S10 check digit of an 8-digit serial: weights 8 6 4 2 3 5 9 7, mod 11."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError(f"an S10 serial has 8 digits, not {serial!r}")
    check = 11 - sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS)) % 11
    return {10: "0", 11: "5"}.get(check, str(check))


def tracking_number(parcel_id: int) -> str:
    """The stand-in tracking number of a parcel; the same parcel always gets the same one."""
    if not 0 < parcel_id < 10**8:
        raise ValueError(f"parcel id {parcel_id} is outside the stand-in number range")
    serial = f"{parcel_id * _SERIAL_SPREAD % 10**8:08d}"
    return f"{SERVICE}{serial}{s10_check_digit(serial)}{COUNTRY}"


def is_valid_tracking_number(code: str) -> bool:
    match = _TRACKING.match(code)
    return bool(match) and s10_check_digit(match.group(1)) == match.group(2)


@dataclass(frozen=True)
class ShippingLabel:
    """What a parcel's label shows."""

    tracking_number: str
    order_number: str
    parcel_no: int
    parcel_count: int
    weight_g: int
    box_type: str
    ship_to: tuple[str, ...]
    ship_from: tuple[str, ...] = SENDER


def ship_to_lines(customer: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in customer.split(",") if part.strip())


def _weight(grams: int) -> str:
    return f"{grams / 1000:.2f} kg"


# --- Code 128 (ISO/IEC 15417) -------------------------------------------------------------

# Bar and space widths of symbol values 0-105, then the stop pattern (106).
_PATTERNS = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
    "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
    "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
    "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
    "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
    "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
    "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
    "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
)
_CODE_C, _CODE_B, _START_B, _START_C, _STOP = 99, 100, 104, 105, 106
# ZPL II ^BC invocation characters: start B, start C, switch to B, switch to C.
_ZPL_SWITCH = {("B", True): ">:", ("C", True): ">;", ("B", False): ">6", ("C", False): ">5"}


def code128_segments(text: str) -> list[tuple[str, str]]:
    """Split text into code set B runs and code set C runs (pairs of digits, 4 or more)."""
    if not text or any(not 32 <= ord(c) <= 126 for c in text):
        raise ValueError(f"Code 128 set B/C encodes printable ASCII only, not {text!r}")
    segments: list[tuple[str, str]] = []

    def add_b(chunk: str) -> None:
        if segments and segments[-1][0] == "B":
            segments[-1] = ("B", segments[-1][1] + chunk)
        else:
            segments.append(("B", chunk))

    for n, part in enumerate(re.split(r"(\d{4,})", text)):
        if n % 2 == 0:
            if part:
                add_b(part)
            continue
        if len(part) % 2:  # set C takes pairs: the odd digit goes in set B
            add_b(part[0])
            part = part[1:]
        segments.append(("C", part))
    return segments


def code128_values(text: str) -> list[int]:
    """Symbol values: start, data, mod-103 check character, stop."""
    values: list[int] = []
    for n, (code_set, chunk) in enumerate(code128_segments(text)):
        if n == 0:
            values.append(_START_C if code_set == "C" else _START_B)
        else:
            values.append(_CODE_C if code_set == "C" else _CODE_B)
        if code_set == "C":
            values.extend(int(chunk[i:i + 2]) for i in range(0, len(chunk), 2))
        else:
            values.extend(ord(c) - 32 for c in chunk)
    check = (values[0] + sum(i * v for i, v in enumerate(values[1:], start=1))) % 103
    return values + [check, _STOP]


def code128_widths(text: str) -> list[int]:
    """Element widths in modules, bar first, alternating bar and space."""
    return [int(w) for v in code128_values(text) for w in _PATTERNS[v]]


def zpl_code128_data(text: str) -> str:
    """The ^FD data that makes a ZPL printer (^BC mode N) use the same code sets."""
    out = []
    for n, (code_set, chunk) in enumerate(code128_segments(text)):
        out.append(_ZPL_SWITCH[(code_set, n == 0)])
        out.append(chunk.replace(">", "><"))
    return "".join(out)


# --- ZPL II ------------------------------------------------------------------------------

_DOTS_PER_MM = 8  # 203 dpi, the common thermal label printer
_WIDTH, _HEIGHT, _MARGIN = 812, 1218, 32  # 4 x 6 in


def _zpl_text(text: str) -> str:
    # With ^FH_, "_" introduces a hex byte, so the characters ZPL would read as commands
    # (^ and ~) and the indicator itself are sent as hex (ZPL II Programming Guide, ^FH).
    return "".join(f"_{ord(c):02X}" if c in "^~_" else c for c in text)


def _zpl_line(x: int, y: int, size: int, text: str, max_chars: int) -> str:
    return f"^FO{x},{y}^A0N,{size},{size}^FH_^FD{_zpl_text(text[:max_chars])}^FS"


def zpl(label: ShippingLabel) -> str:
    """The label as ZPL II, UTF-8 text (^CI28), for a 203 dpi 4x6 in printer."""
    m, inner = _MARGIN, _WIDTH - 2 * _MARGIN
    out = ["^XA", "^CI28", f"^PW{_WIDTH}", f"^LL{_HEIGHT}", "^LH0,0"]
    out.append(_zpl_line(m, m, 22, "FROM", 10))
    out += [_zpl_line(m, m + 30 + 30 * i, 26, line, 48) for i, line in enumerate(label.ship_from[:4])]
    out.append(f"^FO{m},200^GB{inner},3,3^FS")
    out.append(_zpl_line(m, 222, 22, "TO", 10))
    to = label.ship_to or ("(no address on file)",)
    out += [_zpl_line(m, 256 + 52 * i, 44, line, 30) for i, line in enumerate(to[:6])]
    out.append(f"^FO{m},580^GB{inner},3,3^FS")
    out.append(_zpl_line(m, 606, 30, f"Order {label.order_number}", 26))
    out.append(_zpl_line(430, 606, 30, f"Parcel {label.parcel_no} of {label.parcel_count}", 22))
    out.append(_zpl_line(m, 654, 30, f"Weight {_weight(label.weight_g)}", 26))
    out.append(_zpl_line(430, 654, 30, f"Box {label.box_type}", 22))
    out.append(f"^FO{m},710^GB{inner},3,3^FS")
    module = 3
    width = sum(code128_widths(label.tracking_number)) * module
    # The number goes under the bars as a large text field, as on the PDF, rather than as
    # the printer's small interpretation line.
    out.append(f"^FO{(_WIDTH - width) // 2},750^BY{module},3,220"
               f"^BCN,220,N,N,N^FD{zpl_code128_data(label.tracking_number)}^FS")
    out.append(f"^FO0,992^A0N,48,48^FB{_WIDTH},1,0,C^FD{label.tracking_number}^FS")
    out.append("^XZ")
    return "\n".join(out) + "\n"


# --- PDF -----------------------------------------------------------------------------------

_PAGE = (101.6, 152.4)  # 4 x 6 in in mm
_PDF_MARGIN = 5.0
_MODULE_MM = 0.38


def _latin1(text: str) -> str:
    """What the PDF core fonts can show: accents kept where Latin-1 has them, else dropped."""
    if all(ord(c) < 256 for c in text):
        return text
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return plain.encode("latin-1", "replace").decode("latin-1")


def pdf(label: ShippingLabel, created: datetime | None = None) -> bytes:
    """The label as a one-page 4x6 in PDF with the tracking number as a Code 128 barcode."""
    doc = FPDF(unit="mm", format=_PAGE)
    doc.set_auto_page_break(False)
    doc.set_margins(_PDF_MARGIN, _PDF_MARGIN, _PDF_MARGIN)
    doc.set_title(f"Shipping label {label.tracking_number}")
    doc.set_creation_date(created or datetime.now(timezone.utc))
    doc.add_page()
    inner = _PAGE[0] - 2 * _PDF_MARGIN

    def lines(y: float, size: float, style: str, texts, gap: float) -> float:
        doc.set_font("Helvetica", style, size)
        for text in texts:
            doc.set_xy(_PDF_MARGIN, y)
            doc.cell(inner, gap, _latin1(text))
            y += gap
        return y

    def rule(y: float) -> None:
        doc.set_line_width(0.5)
        doc.line(_PDF_MARGIN, y, _PAGE[0] - _PDF_MARGIN, y)

    y = lines(_PDF_MARGIN, 7, "B", ["FROM"], 3.5)
    lines(y, 9, "", label.ship_from[:4], 4)
    rule(25)
    y = lines(28, 7, "B", ["TO"], 3.5)
    to = label.ship_to or ("(no address on file)",)
    y = lines(y + 1, 15, "B", to[:1], 7)
    lines(y, 13, "", to[1:6], 6)
    rule(72)
    for row, (left, right) in enumerate((
        (f"Order {label.order_number}", f"Parcel {label.parcel_no} of {label.parcel_count}"),
        (f"Weight {_weight(label.weight_g)}", f"Box {label.box_type}"),
    )):
        doc.set_font("Helvetica", "B", 11)
        doc.set_xy(_PDF_MARGIN, 75 + 7 * row)
        doc.cell(inner / 2, 6, _latin1(left))
        doc.cell(inner / 2, 6, _latin1(right))
    rule(92)
    _draw_code128(doc, label.tracking_number, top=100, height=28)
    doc.set_font("Helvetica", "B", 14)
    doc.set_xy(_PDF_MARGIN, 130)
    doc.cell(inner, 7, label.tracking_number, align="C")
    return bytes(doc.output())


def _draw_code128(doc: FPDF, text: str, top: float, height: float) -> None:
    widths = code128_widths(text)
    x = (_PAGE[0] - sum(widths) * _MODULE_MM) / 2
    doc.set_fill_color(0, 0, 0)
    for n, w in enumerate(widths):
        if n % 2 == 0:  # even elements are bars
            doc.rect(x, top, w * _MODULE_MM, height, style="F")
        x += w * _MODULE_MM
