"""Whether a product photo meets the style guide, checked on real image files written with Pillow or by hand."""

import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from sync.studio.styleguide import EXPORT_SUFFIXES, UNREADABLE_WORDS, Finding, StyleGuide, check

# LittleCMS's own sRGB profile; its description is "sRGB built-in".
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
# LittleCMS's Lab identity profile ("Lab identity built-in"): not a profile anyone exports an RGB
# photo in, but a real ICC profile whose description does not say sRGB.
LAB = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()


def adobe_rgb_like_profile() -> bytes:
    """An ICC version 2 display profile built by hand with Adobe RGB (1998)'s D50-adapted primaries,
    white point and 2.2 gamma, described as Adobe's own profile is: "Adobe RGB (1998)".

    Pillow ships no RGB profile other than sRGB, and this is the profile photographers most
    often export in by mistake (ICC.1:2001-04: header, tag table, desc/XYZ/curv/text tags).
    """
    def s15fixed16(*values: float) -> bytes:
        return struct.pack(f">{len(values)}i", *(round(v * 65536) for v in values))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + s15fixed16(x, y, z)

    text = b"Adobe RGB (1998)\0"
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, 563)  # u8Fixed8: 563/256 = 2.19921875
    tags = [(b"desc", b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)),
            (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.6097, 0.3111, 0.0195)),
            (b"gXYZ", xyz(0.2053, 0.6257, 0.0609)), (b"bXYZ", xyz(0.1492, 0.0632, 0.7446)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve), (b"cprt", b"text" + bytes(4) + b"none\0")]
    at, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for signature, body in tags:
        table += struct.pack(">4sII", signature, at + len(data), len(body))
        data += body + bytes(-len(body) % 4)
    # size, CMM, version 2.1, display class, RGB data, XYZ connection space, date, signature, platform,
    # flags, maker, model, attributes, rendering intent, the D50 illuminant, creator, reserved
    header = (struct.pack(">I4sI4s4s4s12s4s4sI4s4s8sI", at + len(data), b"", 0x02100000, b"mntr", b"RGB ", b"XYZ ",
                          bytes(12), b"acsp", b"", 0, b"", b"", bytes(8), 0)
              + s15fixed16(0.9642, 1.0, 0.8249) + bytes(4 + 44))
    return header + struct.pack(">I", len(tags)) + table + data


def jpeg(path: Path, width: int, height: int, icc: bytes | None = SRGB, orientation: int | None = None) -> Path:
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    Image.new("RGB", (width, height), (200, 180, 160)).save(path, icc_profile=icc, exif=exif)
    return path


def rgb16_tiff(path: Path, width: int, height: int) -> Path:
    """An uncompressed 16-bit RGB TIFF (BitsPerSample 16,16,16), which Pillow cannot write but opens as "RGB"."""
    pixels = b"\x00\x80" * (3 * width * height)
    entries = [(256, 3, 1, width), (257, 3, 1, height), (258, 3, 3, 8 + 2 + 10 * 12 + 4), (259, 3, 1, 1),
               (262, 3, 1, 2), (273, 4, 1, 8 + 2 + 10 * 12 + 4 + 6), (277, 3, 1, 3), (278, 3, 1, height),
               (279, 4, 1, len(pixels)), (284, 3, 1, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII" if kind == 4 or count > 1 else "<HHIH2x", tag, kind, count, value)
        for tag, kind, count, value in entries) + struct.pack("<I", 0)
    path.write_bytes(b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<3H", 16, 16, 16) + pixels)
    return path


def rgb16_png(path: Path, width: int, height: int) -> Path:
    """A 16-bit RGB PNG with an sRGB chunk, which Pillow cannot write but opens as "RGB"."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + b"\x80\x00" * 3 * width for _ in range(height))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0))
                     + chunk(b"sRGB", b"\0") + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def grey16_tiff(path: Path, width: int, height: int) -> Path:
    Image.new("I;16", (width, height), 30000).save(path)
    return path


PRODUCT = {"sku": "TEE-001", "name": "Tee", "min_width_px": 2000, "min_height_px": 2000}
GUIDE = StyleGuide().for_product(PRODUCT)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_a_large_srgb_jpeg_passes(tmp_path):
    assert check(jpeg(tmp_path / "front.jpg", 2400, 2400), GUIDE) == []


def test_for_product_takes_the_minimum_size_from_the_product_row_and_keeps_the_rest():
    row = {"sku": "MUG-2", "min_width_px": 1600, "min_height_px": 1200}
    guide = StyleGuide(orientation="portrait").for_product(row)

    assert (guide.min_width_px, guide.min_height_px) == (1600, 1200)
    assert guide.orientation == "portrait" and guide.colour_profile == "sRGB"
    assert (StyleGuide().min_width_px, StyleGuide().min_height_px) == (0, 0)


def test_a_small_image_is_too_small_with_both_sizes_in_the_words(tmp_path):
    assert check(jpeg(tmp_path / "front.jpg", 1200, 900), GUIDE) == [
        Finding("too_small", "The image is 1200 × 900 pixels; this product needs at least 2000 × 2000.")]


@pytest.mark.parametrize(("profile", "description"), [(adobe_rgb_like_profile(), "Adobe RGB (1998)"),
                                                      (LAB, "Lab identity built-in")], ids=["adobe-rgb", "lab"])
def test_a_profile_other_than_srgb_is_the_wrong_colour_profile(tmp_path, profile, description):
    assert check(jpeg(tmp_path / "front.jpg", 2400, 2400, icc=profile), GUIDE) == [Finding(
        "wrong_colour_profile",
        f"The image's colour profile is {description}; the style guide asks for sRGB. Export it as sRGB.")]


def test_a_profile_is_matched_by_its_name_containing_the_wanted_one_in_any_case(tmp_path):
    photo = jpeg(tmp_path / "front.jpg", 2400, 2400, icc=adobe_rgb_like_profile())

    assert check(photo, StyleGuide(colour_profile="adobe rgb")) == []
    assert codes(check(jpeg(tmp_path / "back.jpg", 2400, 2400), StyleGuide(colour_profile="SRGB"))) == []


def test_an_image_without_a_profile_has_none_unless_the_guide_asks_for_none(tmp_path):
    photo = jpeg(tmp_path / "front.jpg", 2400, 2400, icc=None)

    assert check(photo, GUIDE) == [
        Finding("no_colour_profile", "The image has no colour profile; the style guide asks for sRGB.")]
    assert check(photo, StyleGuide(colour_profile=None)) == []


def test_a_png_with_an_srgb_chunk_counts_as_srgb(tmp_path):
    chunks = PngImagePlugin.PngInfo()
    chunks.add(b"sRGB", b"\0")  # rendering intent 0: perceptual
    Image.new("RGB", (2400, 2400)).save(tmp_path / "front.png", pnginfo=chunks)

    assert check(tmp_path / "front.png", GUIDE) == []


def test_a_damaged_profile_is_reported_as_unreadable_not_as_an_error(tmp_path):
    photo = jpeg(tmp_path / "front.jpg", 2400, 2400, icc=b"not a profile at all" * 10)

    assert check(photo, GUIDE) == [Finding("wrong_colour_profile", (
        "The image's colour profile cannot be read; the style guide asks for sRGB. Export it as sRGB."))]


@pytest.mark.parametrize("suffix", [".gif", ".bmp"])
def test_a_type_the_guide_does_not_take_is_reported_alone(tmp_path, suffix):
    Image.new("RGB", (100, 100)).save(tmp_path / f"front{suffix}")  # also too small, without a profile

    assert check(tmp_path / f"front{suffix}", GUIDE) == [Finding("type_not_allowed", (
        f"The style guide does not take {suffix} files; "
        "it takes .jpeg, .jpg, .png, .tif, .tiff and camera RAW files."))]


@pytest.mark.parametrize("make", [grey16_tiff, rgb16_tiff, rgb16_png], ids=["grey-tiff", "rgb-tiff", "rgb-png"])
def test_a_16_bit_image_passes_when_16_bits_are_taken_and_not_otherwise(tmp_path, make):
    photo = make(tmp_path / ("front.png" if make is rgb16_png else "front.tif"), 40, 30)

    assert check(photo, StyleGuide(colour_profile=None)) == []
    assert check(photo, StyleGuide(colour_profile=None, bit_depths=frozenset({8}))) == [
        Finding("bit_depth", "The image is 16-bit; the style guide asks for 8-bit.")]


def test_an_8_bit_image_fails_a_guide_that_takes_16_bits_only(tmp_path):
    photo = jpeg(tmp_path / "front.jpg", 40, 30)

    assert codes(check(photo, StyleGuide(bit_depths=frozenset({16})))) == ["bit_depth"]


def test_the_orientation_asked_for_is_checked(tmp_path):
    landscape = jpeg(tmp_path / "wide.jpg", 3000, 2000)

    assert check(landscape, StyleGuide(orientation="portrait")) == [
        Finding("orientation", "The image is landscape (3000 × 2000 pixels); the style guide asks for portrait.")]
    assert check(landscape, StyleGuide(orientation="landscape")) == []
    assert check(jpeg(tmp_path / "square.jpg", 2000, 2000), StyleGuide(orientation="square")) == []
    with pytest.raises(ValueError, match="upright"):
        StyleGuide(orientation="upright")


@pytest.mark.parametrize("orientation", [6, 8])
def test_the_size_and_orientation_are_those_after_the_exif_orientation(tmp_path, orientation):
    photo = jpeg(tmp_path / "front.jpg", 3000, 2000, orientation=orientation)  # stored landscape, shown portrait

    assert check(photo, StyleGuide(orientation="portrait", min_width_px=2000, min_height_px=3000)) == []
    assert check(photo, StyleGuide(min_width_px=3000, min_height_px=2000)) == [
        Finding("too_small", "The image is 2000 × 3000 pixels; this product needs at least 3000 × 2000.")]


def test_findings_come_in_the_order_of_the_rules(tmp_path):
    photo = jpeg(tmp_path / "front.jpg", 1200, 900, icc=None)

    assert codes(check(photo, StyleGuide(orientation="portrait").for_product(PRODUCT))) == [
        "too_small", "no_colour_profile", "orientation"]


def test_random_bytes_named_jpg_are_unreadable_in_plain_words(tmp_path):
    photo = tmp_path / "front.jpg"
    photo.write_bytes(random.Random(7).randbytes(4096))

    assert check(photo, GUIDE) == [Finding("unreadable", UNREADABLE_WORDS)]
    assert UNREADABLE_WORDS == "The file could not be read as an image; it may be damaged or not a photo."


def test_a_check_reads_the_header_only_so_a_jpeg_cut_inside_its_image_data_is_judged_by_its_header(tmp_path):
    # Whether a file is whole is the capture folder's check (sync/studio/decodable.py), not this one.
    whole = jpeg(tmp_path / "whole.jpg", 2400, 2400).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole[:whole.index(b"\xff\xda") + 40])

    assert check(cut, GUIDE) == []


def test_a_raw_file_is_checked_for_its_type_only(tmp_path):
    raw = tmp_path / "IMG_0001.CR2"
    raw.write_bytes(random.Random(8).randbytes(4096))  # not a RAW Pillow or anyone could read

    assert check(raw, GUIDE) == []
    assert check(raw, StyleGuide(allowed_suffixes=EXPORT_SUFFIXES)) == [Finding(
        "type_not_allowed", "The style guide does not take .cr2 files; it takes .jpeg, .jpg, .png, .tif and .tiff.")]


def test_a_file_without_a_type_ending_is_not_taken(tmp_path):
    photo = jpeg(tmp_path / "front.jpg", 2400, 2400).rename(tmp_path / "front")

    assert check(photo, StyleGuide(allowed_suffixes=frozenset({".jpg"}))) == [Finding("type_not_allowed", (
        "The style guide does not take files without a type ending (such as .jpg); it takes .jpg."))]


def test_without_pillow_the_module_loads_finds_nothing_and_says_so(tmp_path):
    # The desktop bundle leaves Pillow out: importing the studio must not fail there, and the
    # commands say once that the style guide was not checked (sync/upload/cli.py, sync/studio/watch.py).
    import subprocess
    import sys

    probe = (
        "import sys; sys.modules['PIL'] = None\n"
        "from pathlib import Path\n"
        "from sync.studio import styleguide, thumbnails\n"
        "import desktop_app.workflows.studio\n"
        f"p = Path({str(tmp_path / 'x.jpg')!r}); p.write_bytes(b'not an image')\n"
        "assert not styleguide.AVAILABLE and styleguide.check(p, styleguide.StyleGuide()) == []\n"
        f"assert thumbnails.ThumbnailCache(Path({str(tmp_path / 'cache')!r})).thumbnail(p) is None\n"
        "print('ok')\n")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr
