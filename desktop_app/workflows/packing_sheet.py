"""The bench's command sheet: a 4x6 in label with a barcode per box type and per command, printed on the label printer.

A packer keeps it at the bench and scans "box M" or "next parcel" instead of reaching for
the keyboard. The codes are what scanners.classify reads as a BenchCommand ("FH:BOX:M").
ZPL II: ^BC is Code 128 with the human-readable line below it (ZPL II Programming Guide, ^BC).
"""

from scanners.classify import COMMAND_PREFIX

DOTS_WIDE, DOTS_HIGH = 812, 1218  # 4 x 6 in at 203 dpi
ROW = 100  # dots per barcode row: bars, the text below them, a gap


def _zpl_text(text: str) -> str:
    """Text for a ^FD field: ^ and ~ would start a command; the printer's font has no other trouble."""
    return "".join(" " if c in "^~" else c for c in text)[:40]


def command_sheet(boxes: list[tuple[str, str]], title: str, commands: list[tuple[str, str]]) -> bytes:
    """ZPL of the sheet: `boxes` as (code, name) smallest first (at most 9), then `commands` as (command, words)."""
    rows = [(f"{COMMAND_PREFIX}BOX:{code}", f"{n}  {code}  {name}") for n, (code, name) in
            enumerate(boxes[:9], start=1)]
    rows += [(f"{COMMAND_PREFIX}{command.upper()}", words) for command, words in commands]
    out = ["^XA", "^CI28", f"^PW{DOTS_WIDE}", f"^LL{DOTS_HIGH}", f"^FO40,30^A0N,40,40^FD{_zpl_text(title)}^FS"]
    y = 90
    for code, words in rows:
        if y + ROW > DOTS_HIGH:
            break
        out.append(f"^FO40,{y}^BY2^BCN,60,N,N,N^FD{code}^FS")
        out.append(f"^FO40,{y + 64}^A0N,28,28^FD{_zpl_text(words)}^FS")
        y += ROW
    out.append("^XZ")
    return ("\n".join(out) + "\n").encode("utf-8")
