"""Photos for upload tests: real, checkable files of an exact size, each with bytes of its own.

`floorhand upload` checks every photo before sending it (whole structure, style guide), so
a test file must be a real image of its type: a small JPEG or TIFF with an embedded sRGB
profile made by Pillow, a TIFF-based RAW (one strip) or an ISO-media RAW (ftyp + mdat) built
here, padded with random bytes to the size a test needs (after a JPEG's end marker, after a
TIFF's data, inside the RAW's strip or mdat), so two files never share a SHA-256.
"""

import io
import os
import struct

from PIL import Image, ImageCms

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
_TIFF_RAW = {".cr2", ".nef", ".arw", ".dng", ".pef", ".srw", ".3fr", ".iiq"}
_MEDIA_RAW = {".cr3", ".heic", ".heif"}


def photo_bytes(suffix: str, size: int) -> bytes:
    """A file of `size` bytes that is a whole, style-conforming photo of type `suffix`."""
    suffix = suffix.lower()
    if suffix in (".jpg", ".jpeg", ".tif", ".tiff", ".png"):
        head = _pillow_image({".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}.get(suffix, "TIFF"))
    elif suffix in _MEDIA_RAW:
        return _iso_media(size)
    elif suffix in _TIFF_RAW:
        return _tiff_strip(size)
    else:
        raise ValueError(f"no test photo of type {suffix}")
    if size < len(head):
        raise ValueError(f"a {suffix} test photo needs at least {len(head)} bytes")
    return head + os.urandom(size - len(head))


def _pillow_image(kind: str) -> bytes:
    out = io.BytesIO()
    colour = tuple(os.urandom(3))
    Image.new("RGB", (16, 16), colour).save(out, kind, icc_profile=_SRGB)
    return out.getvalue()


def _tiff_strip(size: int) -> bytes:
    """Little-endian TIFF, one IFD, one strip of random bytes filling the file to `size`."""
    entries = [(256, 4, 1, 1), (257, 4, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 0), (277, 3, 1, 1), (278, 4, 1, 1), (279, 4, 1, 0)]
    data_at = 8 + 2 + 12 * len(entries) + 4
    if size <= data_at:
        raise ValueError(f"a TIFF-based test RAW needs more than {data_at} bytes")
    fixed = {273: data_at, 279: size - data_at}
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = fixed.get(tag, value)
        ifd += struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3
                                                        else struct.pack("<I", value))
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + os.urandom(size - data_at)


def _iso_media(size: int) -> bytes:
    """ftyp, then one mdat box of random bytes filling the file to `size`."""
    ftyp = struct.pack(">I", 20) + b"ftypcrx " + struct.pack(">I", 1) + b"crx "
    if size < len(ftyp) + 8:
        raise ValueError("an ISO-media test RAW needs at least 28 bytes")
    mdat = struct.pack(">I", size - len(ftyp)) + b"mdat" + os.urandom(size - len(ftyp) - 8)
    return ftyp + mdat
