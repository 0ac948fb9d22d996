"""Whether a capture's file is whole, judged by the structure of its format without decoding the image.

The capture folder takes a file only when this finds it whole: a photo the camera software
is still writing, or one cut short by a copy or a network share that gave up, is held
instead. Each check walks the index the format keeps of its own contents (JPEG markers,
TIFF directories, ISO boxes, PNG chunks) and asks whether everything it points at lies
inside the file. Reads are small and bounded, so a 300 MB RAW costs a few reads, not its
size in memory; only JPEG (its end marker comes after the image data) and PNG (each
chunk's checksum) are read through to the end, in pieces.

It is a check of structure, not of pixels: damage inside a JPEG's image data passes. It
answers the capture folder's question: has the camera finished writing this file? A
format without a rule here (Sigma's X3F, any suffix not in CHECKS) passes when the file is
not empty and can be read to its end: that proves the bytes are there, not that they
make an image.
"""

import os
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

PIECE = 1 << 20  # the most read at once

EMPTY = "the file is empty (0 bytes)"
UNOPENABLE = "the file cannot be opened"
UNREADABLE = "the file cannot be read to its end"
DATA_CUT = "image data lies past the end of the file (the file is cut short)"


class _NotWhole(Exception):
    """Why a file is not whole, raised deep inside a check and answered by why_not_decodable."""


def why_not_decodable(path: Path) -> str | None:
    """None when the file's structure is whole, else why not, in words a photographer understands."""
    check = CHECKS.get(path.suffix.lower(), _readable_to_end)
    try:
        f = open(path, "rb")
    except OSError:
        return UNOPENABLE
    with f:
        try:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                return EMPTY
            check(f, size)
        except _NotWhole as why:
            return str(why)
        except OSError:  # a network share dropped, a disk error
            return UNREADABLE
    return None


def _cut_short(kind: str) -> str:
    return f"the {kind} ends before all of its data (the file is cut short)"


def _not_a(kind: str) -> str:
    return f"it is not a {kind} file (it does not start like one)"


def _damaged(kind: str, detail: str) -> str:
    return f"the {kind} file is damaged ({detail})"


def _read(f: BinaryIO, offset: int, n: int, short: str) -> bytes:
    """n bytes at offset; _NotWhole(short) when the file ends before them."""
    f.seek(offset)
    data = f.read(n)
    if len(data) < n:
        raise _NotWhole(short)
    return data


def _readable_to_end(f: BinaryIO, size: int) -> None:
    """Every byte the file's size promises can be read (for formats without a rule of their own)."""
    f.seek(0)
    got = 0
    while piece := f.read(PIECE):
        got += len(piece)
    if got < size:
        raise _NotWhole(UNREADABLE)


# --- JPEG (ITU T.81) --------------------------------------------------------------------

JPEG_CUT = "the JPEG ends before its end marker (the file is cut short)"
# Inside entropy-coded data an FF byte is followed by 00 (a stuffed FF), D0-D7 (a restart
# marker) or another FF (fill); any other byte after FF is a marker (T.81 B.1.1.2, F.1.2.3).
_MARKER_AFTER_DATA = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn stand alone (T.81 B.1.1.4)


def _jpeg(f: BinaryIO, size: int) -> None:
    """SOI, marker segments by their lengths, each scan's data up to the next marker, until EOI.

    What follows EOI is not looked at: some cameras append data after the image.
    Progressive JPEGs have several scans with tables between them; each is walked the same.
    """
    if _read(f, 0, 2, _not_a("JPEG")) != b"\xff\xd8":
        raise _NotWhole(_not_a("JPEG"))
    pos, scanned = 2, False
    while True:
        head = _read(f, pos, 2, JPEG_CUT)
        if head[0] != 0xFF:
            raise _NotWhole(_damaged("JPEG", "a marker is missing where one should be"))
        marker = head[1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
        elif marker == 0xD9:
            if not scanned:
                raise _NotWhole(_damaged("JPEG", "it ends before any image data"))
            return
        elif marker == 0xD8:
            raise _NotWhole(_damaged("JPEG", "a second start marker inside the image"))
        elif marker in _NO_LENGTH:
            pos += 2
        else:
            (length,) = struct.unpack(">H", _read(f, pos + 2, 2, JPEG_CUT))
            if length < 2:
                raise _NotWhole(_damaged("JPEG", "a marker segment has an impossible length"))
            pos += 2 + length
            if pos > size:
                raise _NotWhole(JPEG_CUT)
            if marker == 0xDA:  # start of scan: the entropy-coded data follows
                pos = _marker_after_scan(f, pos)
                scanned = True


def _marker_after_scan(f: BinaryIO, pos: int) -> int:
    """Where the first marker after a scan's entropy-coded data starts; _NotWhole when the file ends first."""
    while True:
        f.seek(pos)
        data = f.read(PIECE)
        found = _MARKER_AFTER_DATA.search(data)
        if found:
            return pos + found.start()
        if len(data) < PIECE:
            raise _NotWhole(JPEG_CUT)
        # An FF at the edge of a piece is looked at again together with the byte after it.
        pos += len(data) - 1 if data.endswith(b"\xff") else len(data)


# --- TIFF and the RAW formats built on it (TIFF 6.0, TIFF Technote 1, Exif 2.3) --------------

TIFF_INDEX_CUT = "the file's index of images lies past its end (the file is cut short)"
_BYTE_ORDERS = {b"II": "<", b"MM": ">"}
# 42 is TIFF's own; Olympus ORF writes "RO" or "RS" there (IIRO, MMOR, IIRS), Panasonic RW2 0x55.
_TIFF_MAGICS = frozenset({42, 0x4F52, 0x5352, 0x55})
_DATA_TAGS = ((273, 279), (324, 325))  # StripOffsets with StripByteCounts, TileOffsets with TileByteCounts
_SUB_IFDS, _EXIF_IFD = 330, 34665
_INT_FORMATS = {3: "H", 4: "I", 13: "I"}  # SHORT, LONG, IFD: the types offsets and counts are written in
_WANTED = frozenset({273, 279, 324, 325, _SUB_IFDS, _EXIF_IFD})
MAX_IFDS = 256  # far more than any camera writes; a bound, so a damaged file cannot keep the check busy
MAX_VALUES = 1 << 20  # strips or tiles of one image


def _tiff(f: BinaryIO, size: int) -> None:
    """Header, then every directory (IFD) the file reaches: its entries, strips, tiles and sub-directories.

    The main chain (IFD0, IFD1, ...) is followed by each directory's next pointer; a chain
    that comes back to a directory already seen is damage (libtiff refuses it too). The
    directories a SubIFDs or Exif pointer leads to are checked, but their next pointer is
    not followed: both standards leave it 0, and some cameras write junk there.
    """
    head = _read(f, 0, 8, _not_a("TIFF-based"))
    order = _BYTE_ORDERS.get(head[:2])
    if order is None or struct.unpack(order + "H", head[2:4])[0] not in _TIFF_MAGICS:
        raise _NotWhole(_not_a("TIFF-based"))
    (first,) = struct.unpack(order + "I", head[4:])
    if first == 0:
        raise _NotWhole(_damaged("TIFF-based", "it lists no images"))
    todo, seen = [(first, True)], set[int]()  # (offset, in the main chain)
    while todo:
        offset, in_chain = todo.pop()  # the main chain is walked to its end before any sub-directory
        if offset in seen:
            if in_chain:
                raise _NotWhole(_damaged("TIFF-based", "its list of images loops back on itself"))
            continue
        if len(seen) == MAX_IFDS:
            raise _NotWhole(_damaged("TIFF-based", "it lists too many images"))
        seen.add(offset)
        next_ifd, children = _ifd(f, size, order, offset)
        todo.extend((child, False) for child in children if child)
        if in_chain and next_ifd:
            todo.append((next_ifd, True))


def _ifd(f: BinaryIO, size: int, order: str, offset: int) -> tuple[int, list[int]]:
    """Check one directory and the image data it points at; its next pointer and sub-directories."""
    (count,) = struct.unpack(order + "H", _read(f, offset, 2, TIFF_INDEX_CUT))
    body = _read(f, offset + 2, 12 * count + 4, TIFF_INDEX_CUT)
    values: dict[int, list[int]] = {}
    for i in range(count):
        tag, kind, n = struct.unpack_from(order + "HHI", body, 12 * i)
        if tag in _WANTED:
            values[tag] = _ints(f, order, kind, n, body[12 * i + 8:12 * i + 12])
    for offsets_tag, counts_tag in _DATA_TAGS:
        starts, lengths = values.get(offsets_tag, []), values.get(counts_tag)
        # Without byte counts, each start at least must lie inside the file.
        ends = [start + length for start, length in zip(starts, lengths)] if lengths else [s + 1 for s in starts]
        if any(end > size for end in ends):
            raise _NotWhole(DATA_CUT)
    (next_ifd,) = struct.unpack(order + "I", body[-4:])
    return next_ifd, values.get(_SUB_IFDS, []) + values.get(_EXIF_IFD, [])


def _ints(f: BinaryIO, order: str, kind: int, n: int, field: bytes) -> list[int]:
    """An entry's values when they are offsets or counts; those over 4 bytes are read where the field points."""
    fmt = _INT_FORMATS.get(kind)
    if fmt is None or n == 0:
        return []  # not a type an offset is written in: nothing to check
    if n > MAX_VALUES:
        raise _NotWhole(_damaged("TIFF-based", "an image has an impossible number of parts"))
    width = n * struct.calcsize(fmt)
    data = field if width <= 4 else _read(f, struct.unpack(order + "I", field)[0], width, TIFF_INDEX_CUT)
    return list(struct.unpack_from(f"{order}{n}{fmt}", data))


def _iiq(f: BinaryIO, size: int) -> None:
    """Phase One: TIFF-based since the IQ backs; older backs' files start with Phase One's own block ("IIII")."""
    if _read(f, 0, 4, _not_a("IIQ")) in (b"IIII", b"MMMM"):
        _readable_to_end(f, size)
    else:
        _tiff(f, size)


# --- ISO base media file format: CR3, HEIC, HEIF (ISO/IEC 14496-12 4.2) -------------------

BOXES_CUT = "a part of the file runs past its end (the file is cut short)"
MAX_BOXES = 10_000  # top-level boxes; cameras write fewer than ten


def _iso_boxes(f: BinaryIO, size: int) -> None:
    """Top-level boxes one after another to the end of the file, ftyp first, an mdat among them."""
    pos, kinds = 0, list[bytes]()
    while pos < size:
        if len(kinds) == MAX_BOXES:
            raise _NotWhole(_damaged("HEIF or CR3", "it has too many parts"))
        box_size, kind = struct.unpack(">I4s", _read(f, pos, 8, BOXES_CUT))
        header = 8
        if box_size == 1:  # the real size follows as 64 bits
            (box_size,) = struct.unpack(">Q", _read(f, pos + 8, 8, BOXES_CUT))
            header = 16
        elif box_size == 0:  # the last box, running to the end of the file
            box_size = size - pos
        if not kinds and kind != b"ftyp":
            raise _NotWhole(_not_a("HEIF or CR3"))
        if box_size < header:
            raise _NotWhole(_damaged("HEIF or CR3", "a part has an impossible size"))
        if pos + box_size > size:
            raise _NotWhole(BOXES_CUT)
        kinds.append(kind)
        pos += box_size
    if b"mdat" not in kinds:
        raise _NotWhole(_damaged("HEIF or CR3", "it holds no image data"))


# --- Fujifilm RAF ---------------------------------------------------------------------------

_RAF_MAGIC = b"FUJIFILMCCD-RAW"
_RAF_HEADER = 108  # up to the CFA length at 104


def _raf(f: BinaryIO, size: int) -> None:
    """The header's embedded JPEG and sensor (CFA) data, big-endian offset and length pairs, lie inside."""
    head = _read(f, 0, _RAF_HEADER, _cut_short("RAF"))
    if not head.startswith(_RAF_MAGIC):
        raise _NotWhole(_not_a("Fujifilm RAF"))
    jpeg_at, jpeg_length = struct.unpack_from(">II", head, 84)
    cfa_at, cfa_length = struct.unpack_from(">II", head, 100)
    if jpeg_at + jpeg_length > size or cfa_at + cfa_length > size:
        raise _NotWhole(DATA_CUT)


# --- PNG (ISO/IEC 15948 5.3) ----------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_CUT = "the PNG ends before its end chunk (the file is cut short)"


def _png(f: BinaryIO, size: int) -> None:
    """Chunks one after another, each checksum right, up to IEND."""
    if _read(f, 0, 8, _not_a("PNG")) != _PNG_SIGNATURE:
        raise _NotWhole(_not_a("PNG"))
    pos = 8
    while True:
        length, kind = struct.unpack(">I4s", _read(f, pos, 8, PNG_CUT))
        if length > 0x7FFF_FFFF:
            raise _NotWhole(_damaged("PNG", "a chunk has an impossible length"))
        if pos + 12 + length > size:
            raise _NotWhole(PNG_CUT)
        crc, left = zlib.crc32(kind), length
        while left:
            piece = f.read(min(PIECE, left))
            if not piece:
                raise _NotWhole(PNG_CUT)
            crc, left = zlib.crc32(piece, crc), left - len(piece)
        if struct.unpack(">I", _read(f, pos + 8 + length, 4, PNG_CUT))[0] != crc:
            raise _NotWhole(_damaged("PNG", "a chunk's checksum does not match its data"))
        if kind == b"IEND":
            return
        pos += 12 + length


# --- WebP (RIFF) ----------------------------------------------------------------------------

def _webp(f: BinaryIO, size: int) -> None:
    """The RIFF header's size fits in the file."""
    riff, length, webp = struct.unpack("<4sI4s", _read(f, 0, 12, _not_a("WebP")))
    if riff != b"RIFF" or webp != b"WEBP":
        raise _NotWhole(_not_a("WebP"))
    if 8 + length > size:
        raise _NotWhole(_cut_short("WebP"))


_TIFF_BASED = (".tif", ".tiff", ".cr2", ".nef", ".arw", ".dng", ".pef", ".srw", ".3fr", ".orf", ".rw2")

# The check of each suffix the studio takes; any other suffix is read to its end.
CHECKS: dict[str, Callable[[BinaryIO, int], None]] = {
    ".jpg": _jpeg, ".jpeg": _jpeg,
    ".png": _png,
    ".webp": _webp,
    ".heic": _iso_boxes, ".heif": _iso_boxes, ".cr3": _iso_boxes,
    ".raf": _raf,
    ".iiq": _iiq,
    ".x3f": _readable_to_end,
    **dict.fromkeys(_TIFF_BASED, _tiff),
}
