"""The answer of a Zebra printer to ~HS (Host Status Return), read into flags.

ZPL II Programming Guide, ~HS: the printer answers with three strings, each framed
<STX> ... <ETX><CR><LF>, fields separated by commas:

  string 1  aaa,b,c,dddd,eee,f,g,h,iii,j,k,l
            b paper out, c pause, f receive buffer full, h partial format in progress,
            j corrupt RAM, k under temperature, l over temperature (1 = set)
  string 2  mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www
            o head up (open), p ribbon out (1 = set)
  string 3  xxxx,y  (password, static RAM installed)

The same guide notes that some printers do not answer ~HS at all while in media out,
ribbon out, head open, rewinder full or head over-temperature: silence is a problem too
(peripherals.printers.RawTcpPrinter).
"""

import re
from dataclasses import dataclass

HOST_STATUS_QUERY = b"~HS"
STX, ETX = b"\x02", b"\x03"

# Fields of strings 1 and 2 (0-based positions in the comma-separated list), per the guide.
_PAPER_OUT, _PAUSE, _BUFFER_FULL, _PARTIAL_FORMAT, _CORRUPT_RAM, _UNDER_TEMP, _OVER_TEMP = 1, 2, 5, 7, 9, 10, 11
_HEAD_UP, _RIBBON_OUT = 2, 3
_STRING_1_FIELDS, _STRING_2_FIELDS = 12, 11

_FRAME = re.compile(rb"\x02([^\x02\x03]*)\x03")


@dataclass(frozen=True)
class HostStatus:
    """The flags of one ~HS answer that matter for printing a label."""

    paper_out: bool = False
    paused: bool = False
    buffer_full: bool = False
    partial_format: bool = False
    corrupt_ram: bool = False
    under_temperature: bool = False
    over_temperature: bool = False
    head_open: bool = False
    ribbon_out: bool = False

    def raised(self) -> list[str]:
        """Names of the flags that are set, for a log line."""
        return [name for name, value in vars(self).items() if value]


def answer_complete(received: bytes) -> bool:
    """True once all three framed strings of an answer have arrived."""
    return len(_FRAME.findall(received)) >= 3


def parse_host_status(reply: bytes) -> HostStatus:
    """Read a ~HS answer; ValueError when it is not one (garbage, a truncated or foreign reply)."""
    frames = _FRAME.findall(reply)
    if len(frames) < 3:
        raise ValueError(f"expected three framed strings, found {len(frames)}")
    first, second = (_fields(frames[0], _STRING_1_FIELDS, 1), _fields(frames[1], _STRING_2_FIELDS, 2))
    return HostStatus(
        paper_out=_flag(first, _PAPER_OUT), paused=_flag(first, _PAUSE), buffer_full=_flag(first, _BUFFER_FULL),
        partial_format=_flag(first, _PARTIAL_FORMAT), corrupt_ram=_flag(first, _CORRUPT_RAM),
        under_temperature=_flag(first, _UNDER_TEMP), over_temperature=_flag(first, _OVER_TEMP),
        head_open=_flag(second, _HEAD_UP), ribbon_out=_flag(second, _RIBBON_OUT),
    )


def _fields(frame: bytes, least: int, number: int) -> list[str]:
    try:
        text = frame.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError(f"string {number} is not ASCII") from None
    fields = [f.strip() for f in text.split(",")]
    # Later firmware may add fields at the end; fewer than documented is not a ~HS answer.
    if len(fields) < least or not all(f.isdigit() for f in fields[:least]):
        raise ValueError(f"string {number} is not a host status: {text[:80]!r}")
    return fields


def _flag(fields: list[str], position: int) -> bool:
    value = fields[position]
    if value not in ("0", "1"):
        raise ValueError(f"flag {position} is {value!r}, not 0 or 1")
    return value == "1"
