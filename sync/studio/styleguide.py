"""Whether a product photo meets the company's style guide, and in plain words why not.

A check reads what an image file's header says: Image.open parses headers and decodes no
pixels, so a folder of 50-megapixel exports is checked in moments. It judges the picture
by its header only; whether the file is whole is the capture folder's question
(sync/studio/decodable.py).

A camera RAW file is checked for its type only, even where Pillow could open a TIFF-based
RAW's first directory: that directory holds a preview or a thumbnail, not the picture.
The pixel size, colour profile and bit depth that the style guide speaks of are those of
the developed export, and are checked on that file when it arrives.
"""

from __future__ import annotations  # Image.Image in signatures, with or without Pillow

import io
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sync.upload.folders import RAW_SUFFIXES

try:
    from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError
except ImportError:  # the desktop bundle leaves Pillow out (its size target); see AVAILABLE
    ExifTags = Image = ImageCms = None
    UnidentifiedImageError = OSError

log = logging.getLogger(__name__)

# Whether this installation can read images (Pillow). Without it, check() finds nothing and
# the commands that check photos say once that the style guide was not checked.
AVAILABLE = Image is not None
NOT_AVAILABLE_WORDS = ("The style guide is not checked here: this installation of Floorhand has no image "
                       "library. Structure checks still run.")

EXPORT_SUFFIXES = frozenset({".jpg", ".jpeg", ".tif", ".tiff", ".png"})
ORIENTATIONS = ("any", "landscape", "portrait", "square")
# What Pillow raises for a file it cannot read as an image: not an image (UnidentifiedImageError,
# an OSError), damaged or cut short (OSError, SyntaxError, ValueError, struct.error, EOFError from
# its header parsers), or more pixels than it agrees to open (DecompressionBombError).
_TOO_MANY_PIXELS = Image.DecompressionBombError if AVAILABLE else OSError
READ_FAILURES = (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error, EOFError, _TOO_MANY_PIXELS)
# Bits per channel of each Pillow mode that is not 8 (L, P, RGB, RGBA, CMYK, LAB and the rest).
MODE_BITS = {"1": 1, "I;16": 16, "I;16B": 16, "I;16L": 16, "I;16N": 16, "I": 32, "F": 32}
# EXIF 2.32 Orientation 5 to 8: the stored rows are the picture's columns, so its width is the stored height.
SIDEWAYS = frozenset({5, 6, 7, 8})

UNREADABLE_WORDS = "The file could not be read as an image; it may be damaged or not a photo."
TOO_MANY_PIXELS_WORDS = "The image has too many pixels to be read safely; export it at a smaller size."


@dataclass(frozen=True)
class StyleGuide:
    """What the style guide asks of a product photo; the minimum pixel size comes from the product."""

    allowed_suffixes: frozenset[str] = EXPORT_SUFFIXES | RAW_SUFFIXES  # lower case, with the dot
    colour_profile: str | None = "sRGB"  # a word the profile's description must contain; None: no requirement
    bit_depths: frozenset[int] = frozenset({8, 16})  # bits per channel
    orientation: str = "any"  # one of ORIENTATIONS
    min_width_px: int = 0
    min_height_px: int = 0

    def __post_init__(self) -> None:
        if self.orientation not in ORIENTATIONS:
            raise ValueError(f"orientation {self.orientation!r} is not one of {', '.join(ORIENTATIONS)}")

    def for_product(self, product_row: dict) -> "StyleGuide":
        """This guide with the product's minimum pixel size (its feed row's min_width_px and min_height_px)."""
        return replace(self, min_width_px=int(product_row["min_width_px"]),
                       min_height_px=int(product_row["min_height_px"]))


@dataclass(frozen=True)
class Finding:
    """One way a photo falls short of the style guide: a stable code, and a sentence for the photographer."""

    code: str
    words: str


@dataclass(frozen=True)
class _Photo:
    """What a check needs of an image, read from its header."""

    width: int  # as the picture is seen, after its EXIF orientation
    height: int
    bits: int  # per channel
    profile: str | None  # the colour profile's description; "" for one without a readable name; None: none


def check(path: Path, guide: StyleGuide) -> list[Finding]:
    """How the photo at path falls short of guide; an empty list when it passes."""
    suffix = path.suffix.lower()
    if suffix not in guide.allowed_suffixes:
        # Only the type is reported: the photo is exported again anyway, and the new file is checked.
        return [Finding("type_not_allowed", _type_words(suffix, guide))]
    if suffix in RAW_SUFFIXES or not AVAILABLE:
        return []  # see the module's docstring: the developed export is checked, not the RAW
    try:
        photo = _read(path)
    except _TOO_MANY_PIXELS as exc:
        log.info("%s not checked: %s", path, exc)
        return [Finding("unreadable", TOO_MANY_PIXELS_WORDS)]
    except READ_FAILURES as exc:
        log.info("%s cannot be read as an image: %s", path, exc)
        return [Finding("unreadable", UNREADABLE_WORDS)]
    return [finding for rule in RULES if (finding := rule(photo, guide)) is not None]


def _read(path: Path) -> _Photo:
    with Image.open(path) as im:
        width, height = im.size
        if im.getexif().get(ExifTags.Base.Orientation) in SIDEWAYS:
            width, height = height, width
        return _Photo(width, height, _bits(im, path), _profile(im.info, path))


def _bits(im: Image.Image, path: Path) -> int:
    """Bits per channel the file stores: Pillow opens a 16-bit RGB TIFF or PNG as 8-bit "RGB", so those two
    formats are asked their header."""
    if im.format == "TIFF":
        declared = im.tag_v2.get(258, ())  # BitsPerSample, one value per channel (TIFF 6.0, section 8)
        declared = declared if isinstance(declared, tuple) else (declared,)
    elif im.format == "PNG":
        with path.open("rb") as f:
            declared = tuple(f.read(25)[24:])  # PNG spec 11.2.2: IHDR comes first; its bit depth is byte 24
    else:
        declared = ()
    return max(declared, default=MODE_BITS.get(im.mode, 8))


def _profile(info: dict, path: Path) -> str | None:
    icc = info.get("icc_profile")
    if not icc:
        # A PNG's sRGB chunk says the samples are sRGB without embedding the profile (PNG spec 11.3.3.5).
        return "sRGB" if "srgb" in info else None
    try:
        return (ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.profile_description or "").strip()
    except (OSError, ValueError, TypeError) as exc:  # LittleCMS cannot parse the embedded bytes
        log.info("%s has a colour profile that cannot be read: %s", path, exc)
        return ""


def _type_words(suffix: str, guide: StyleGuide) -> str:
    names = sorted(s for s in guide.allowed_suffixes if s not in RAW_SUFFIXES)
    if guide.allowed_suffixes & RAW_SUFFIXES:
        names.append("camera RAW files")
    allowed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)
    what = f"{suffix} files" if suffix else "files without a type ending (such as .jpg)"
    return f"The style guide does not take {what}; it takes {allowed}."


def _size(photo: _Photo, guide: StyleGuide) -> Finding | None:
    if photo.width >= guide.min_width_px and photo.height >= guide.min_height_px:
        return None
    return Finding("too_small", f"The image is {photo.width} × {photo.height} pixels; this product needs at least "
                                f"{guide.min_width_px} × {guide.min_height_px}.")


def _colour_profile(photo: _Photo, guide: StyleGuide) -> Finding | None:
    wanted = guide.colour_profile
    if wanted is None or (photo.profile and wanted.casefold() in photo.profile.casefold()):
        return None
    if photo.profile is None:
        return Finding("no_colour_profile", f"The image has no colour profile; the style guide asks for {wanted}.")
    profile = f"is {photo.profile}" if photo.profile else "cannot be read"
    return Finding("wrong_colour_profile",
                   f"The image's colour profile {profile}; the style guide asks for {wanted}. Export it as {wanted}.")


def _bit_depth(photo: _Photo, guide: StyleGuide) -> Finding | None:
    if photo.bits in guide.bit_depths:
        return None
    wanted = " or ".join(f"{bits}-bit" for bits in sorted(guide.bit_depths))
    return Finding("bit_depth", f"The image is {photo.bits}-bit; the style guide asks for {wanted}.")


def _orientation(photo: _Photo, guide: StyleGuide) -> Finding | None:
    shape = ("square" if photo.width == photo.height else "landscape" if photo.width > photo.height else "portrait")
    if guide.orientation in ("any", shape):
        return None
    return Finding("orientation", f"The image is {shape} ({photo.width} × {photo.height} pixels); "
                                  f"the style guide asks for {guide.orientation}.")


# The rules a readable export is held to, in the order their findings are listed.
Rule = Callable[[_Photo, StyleGuide], Finding | None]
RULES: tuple[Rule, ...] = (_size, _colour_profile, _bit_depth, _orientation)
