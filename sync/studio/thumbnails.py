"""Small JPEG pictures of product photos for the studio's grid, each made once per version of its file.

Making one decodes an image, so the caller makes them off the UI thread; a cache may be used
from several threads at once (it keeps no state but its folder, and two threads making the
same thumbnail both write a whole file, the last one replacing the other). A thumbnail's
name is a hash of its source's resolved path, byte size and modification time (and of the
thumbnail size): a changed photo gets a new thumbnail, and the old one is never asked for
again. Each is written to a temporary file in the cache folder, flushed to disk and then
renamed over its name, so a crash or a power cut never leaves half a thumbnail.

Where a thumbnail comes from:
- JPEG: a scaled decode (libjpeg decodes at 1/2, 1/4 or 1/8 of the size: Image.draft),
  turned upright by its EXIF orientation.
- TIFF and the RAW formats built on it (CR2, NEF, ARW, DNG, PEF, SRW, 3FR, ...): the
  largest embedded JPEG preview Pillow can decode, found by walking the file's directories
  (IFDs) and SubIFDs and turned by the file's own orientation; a file without one (a plain
  TIFF) is opened by Pillow, up to MAX_PIXELS.
- Fujifilm RAF: the JPEG preview its header points at.
- PNG, WebP and anything else Pillow reads: opened by Pillow; transparency is shown on white.
- CR3, HEIC and HEIF: Pillow has no decoder for them, so they get no thumbnail (None), and
  neither does a RAW whose preview is kept in its maker notes (ORF, RW2).
"""

from __future__ import annotations  # Image.Image in signatures, with or without Pillow

import hashlib
import io
import logging
import os
import struct
import tempfile
from pathlib import Path
from typing import BinaryIO

try:
    from PIL import ExifTags, Image, ImageOps
except ImportError:  # the desktop bundle leaves Pillow out (its size target): no thumbnails there yet
    ExifTags = Image = ImageOps = None

log = logging.getLogger(__name__)

QUALITY = 85
# A decoded 200-megapixel RGB image takes 600 MB; a larger one gets no thumbnail. (Pillow's own
# limit, Image.MAX_IMAGE_PIXELS, refuses from about 179 megapixels unless it is raised.)
MAX_PIXELS = 200_000_000
# What Pillow and the preview search raise for a file that is not an image, is damaged or cut
# short (OSError includes UnidentifiedImageError), or has too many pixels.
MAKING_FAILURES = (OSError, SyntaxError, ValueError, struct.error, EOFError,
                   Image.DecompressionBombError if Image is not None else OSError)


class NoThumbnail(Exception):
    """Why a photo gets no thumbnail, where Pillow does not say it."""


class ThumbnailCache:
    """A folder of thumbnails of photos, each no larger than size pixels on its longest side."""

    def __init__(self, folder: Path, size: int = 320) -> None:
        self.folder = Path(folder)
        self.size = size

    def thumbnail(self, path: Path) -> Path | None:
        """The thumbnail of the photo at path, made now if it is not in the cache; None when none can be made."""
        if Image is None:
            return None
        try:
            st = path.stat()
            source = os.fsencode(path.resolve())
        except OSError as exc:
            log.info("no thumbnail of %s: %s", path, exc)
            return None
        key = hashlib.sha1(b"\0".join([source, b"%d" % st.st_size, b"%d" % st.st_mtime_ns, b"%d" % self.size]))
        target = self.folder / f"{key.hexdigest()}.jpg"
        if target.is_file():
            return target
        try:
            picture = _small_picture(path, self.size)
        except (NoThumbnail, *MAKING_FAILURES) as exc:
            log.info("no thumbnail of %s: %s", path, exc)
            return None
        try:
            self._write(picture, target)
        except OSError as exc:  # the cache's folder, not the photo: full, gone, not writable
            log.warning("thumbnail of %s not saved in %s: %s", path, self.folder, exc)
            return None
        return target

    def _write(self, picture: Image.Image, target: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                picture.save(f, "JPEG", quality=QUALITY)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _small_picture(path: Path, size: int) -> Image.Image:
    """The photo at path as an RGB picture no larger than size × size, from an embedded preview where it has one."""
    with path.open("rb") as f:
        head = f.read(16)
        if head.startswith(RAF_MAGIC):
            previews, turn = _raf_previews(f), None
        elif head[:2] in BYTE_ORDERS:
            previews, turn = _tiff_previews(f)
        else:
            previews, turn = [], None
        for offset, length in sorted(previews, key=lambda preview: preview[1], reverse=True):
            f.seek(offset)
            try:
                with Image.open(io.BytesIO(f.read(length)), formats=["JPEG"]) as im:
                    return _shrunk(im, size, turn)
            except (NoThumbnail, *MAKING_FAILURES) as exc:  # the next preview, or the file itself, may do
                log.debug("%s: the preview at byte %d cannot be used: %s", path, offset, exc)
    with Image.open(path) as im:
        return _shrunk(im, size, None)


def _shrunk(im: Image.Image, size: int, turn: int | None) -> Image.Image:
    """im made no larger than size × size, turned upright, on white, in RGB.

    turn is the orientation of the file a preview came from, used when the preview has none of its own.
    """
    exif = im.getexif()  # read before the pixels: Pillow may close a TIFF's file once they are loaded
    if turn and ExifTags.Base.Orientation not in exif:
        exif[ExifTags.Base.Orientation] = turn
    im.draft("RGB", (size, size))  # JPEG only: decode at the smallest scale still at least size
    if im.width * im.height > MAX_PIXELS:
        raise NoThumbnail(f"{im.width} × {im.height} pixels is more than a thumbnail is made of")
    im.thumbnail((size, size))  # reduces by whole factors first (Image.reduce), then resamples
    return _flattened(ImageOps.exif_transpose(im))  # turned after shrinking: cheaper on a small picture


def _flattened(picture: Image.Image) -> Image.Image:
    """picture in RGB: transparent parts on white, 16-bit grey scaled to 8 bits (Pillow's conversion clips it)."""
    if picture.mode.startswith("I;16"):
        picture = picture.convert("I").point(lambda v: v / 256).convert("L")
    if picture.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in picture.info:
        picture = picture.convert("RGBA")
        white = Image.new("RGB", picture.size, "white")
        white.paste(picture, mask=picture.getchannel("A"))
        return white
    return picture.convert("RGB")


# --- Embedded previews ------------------------------------------------------------------------

RAF_MAGIC = b"FUJIFILMCCD-RAW"
BYTE_ORDERS = {b"II": "<", b"MM": ">"}
TIFF_MAGIC = 42
MAX_IFDS = 64  # far more than any camera writes; a bound, so a damaged file cannot keep the search busy
MAX_ENTRIES = 1024  # entries of one directory
MAX_VALUES = 16  # values read of one entry: a few SubIFDs pointers, or one strip's offset and byte count
MAX_PREVIEW_BYTES = 64 << 20  # a full-size preview of a 100-megapixel camera is about 30 MB
COMPRESSION, PHOTOMETRIC, STRIP_OFFSETS, ORIENTATION, STRIP_BYTE_COUNTS = 259, 262, 273, 274, 279
SUB_IFDS, JPEG_OFFSET, JPEG_LENGTH = 330, 513, 514  # TIFF Technical Note 1; TIFF 6.0 section 22
WANTED = frozenset({COMPRESSION, PHOTOMETRIC, STRIP_OFFSETS, ORIENTATION, STRIP_BYTE_COUNTS, SUB_IFDS, JPEG_OFFSET,
                    JPEG_LENGTH})
JPEG_COMPRESSIONS = frozenset({6, 7})  # old-style and new-style JPEG (TIFF 6.0 section 22; Technical Note 2)
# A picture, not sensor data: RGB or YCbCr. A RAW's sensor data is JPEG-compressed too (lossless,
# PhotometricInterpretation 32803 CFA or 34892 LinearRaw in DNG; none at all in a CR2's IFD3).
PICTURE_PHOTOMETRICS = frozenset({2, 6})
INT_FORMATS = {3: "H", 4: "I", 13: "I"}  # SHORT, LONG, IFD


def _raf_previews(f: BinaryIO) -> list[tuple[int, int]]:
    """The JPEG preview of a Fujifilm RAF: its offset and length, big-endian, at bytes 84 and 88 of the header."""
    f.seek(84)
    offset, length = struct.unpack(">II", f.read(8))
    return _inside(f, [(offset, length)])


def _tiff_previews(f: BinaryIO) -> tuple[list[tuple[int, int]], int | None]:
    """The (offset, length) of each embedded JPEG preview of a TIFF-based file, and the file's orientation.

    The main chain (IFD0, IFD1, ...) is followed by each directory's next pointer, and every
    SubIFDs pointer is followed one level down, where NEF and DNG keep their large previews;
    a sub-directory's own next pointer is not followed (cameras leave it 0 or junk). A preview
    is a JPEGInterchangeFormat pointer (513, with its length in 514), or a directory holding a
    picture (not sensor data) as a single JPEG-compressed strip, as a CR2's IFD0 and DNG's
    preview directories do.
    """
    f.seek(0)
    head = f.read(8)
    order = BYTE_ORDERS[head[:2]]
    magic, first = struct.unpack(order + "HI", head[2:])
    if magic != TIFF_MAGIC:
        return [], None
    previews, orientation = [], None
    todo, seen = [(first, True)], set[int]()  # (offset, in the main chain)
    while todo and len(seen) < MAX_IFDS:
        offset, in_chain = todo.pop(0)
        if offset == 0 or offset in seen:
            continue
        seen.add(offset)
        tags, next_ifd = _ifd(f, order, offset)
        if offset == first:  # IFD0 describes the photo; the other directories, its previews and sensor data
            orientation = tags.get(ORIENTATION, (None,))[0]
        if JPEG_OFFSET in tags and JPEG_LENGTH in tags:
            previews.append((tags[JPEG_OFFSET][0], tags[JPEG_LENGTH][0]))
        if _is_jpeg_picture(tags) and len(tags.get(STRIP_OFFSETS, ())) == 1 == len(tags.get(STRIP_BYTE_COUNTS, ())):
            previews.append((tags[STRIP_OFFSETS][0], tags[STRIP_BYTE_COUNTS][0]))
        if in_chain:
            todo.extend((sub, False) for sub in tags.get(SUB_IFDS, ()))
            todo.append((next_ifd, True))
    return _inside(f, previews), orientation


def _is_jpeg_picture(tags: dict[int, tuple[int, ...]]) -> bool:
    return (tags.get(COMPRESSION, (0,))[0] in JPEG_COMPRESSIONS
            and tags.get(PHOTOMETRIC, (0,))[0] in PICTURE_PHOTOMETRICS)


def _ifd(f: BinaryIO, order: str, offset: int) -> tuple[dict[int, tuple[int, ...]], int]:
    """The wanted entries of the directory at offset, and the offset of the next directory (0: none)."""
    f.seek(offset)
    count_field = f.read(2)
    if len(count_field) < 2:
        return {}, 0
    (count,) = struct.unpack(order + "H", count_field)
    body = f.read(12 * min(count, MAX_ENTRIES) + 4)
    tags = {}
    for at in range(0, min(count, MAX_ENTRIES, (len(body) - 4) // 12) * 12, 12):
        tag, kind, n = struct.unpack_from(order + "HHI", body, at)
        fmt = INT_FORMATS.get(kind)
        if tag not in WANTED or fmt is None or not 0 < n <= MAX_VALUES:
            continue  # a many-strip image is no preview; nothing else wanted comes in more values
        width = n * struct.calcsize(fmt)
        field = body[at + 8:at + 12]
        if width > 4:
            f.seek(struct.unpack(order + "I", field)[0])
            field = f.read(width)
        if len(field) >= width:
            tags[tag] = struct.unpack_from(f"{order}{n}{fmt}", field)
    whole = count <= MAX_ENTRIES and len(body) == 12 * count + 4
    return tags, struct.unpack(order + "I", body[-4:])[0] if whole else 0


def _inside(f: BinaryIO, previews: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The previews that lie inside the file and are not too large to read: a damaged pointer is not followed."""
    size = f.seek(0, os.SEEK_END)
    return [(offset, length) for offset, length in previews
            if 0 < length <= MAX_PREVIEW_BYTES and offset + length <= size]
