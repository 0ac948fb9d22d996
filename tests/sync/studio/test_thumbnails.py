"""Thumbnails of product photos, made from real files written with Pillow or, for RAW-like TIFFs, by hand."""

import io
import logging
import os
import random
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from sync.studio.thumbnails import ThumbnailCache

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 30), (30, 30, 220)


def jpeg_bytes(width: int, height: int, colour=RED, orientation: int | None = None, bottom=None) -> bytes:
    """A JPEG of one colour, or of colour above and bottom below; with an EXIF orientation if given."""
    im = Image.new("RGB", (width, height), colour)
    if bottom is not None:
        im.paste(bottom, (0, height // 2, width, height))
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def put(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


class LittleEndianTiff:
    """A TIFF written piece by piece: data first, then the directories that point at it, IFD0 last."""

    def __init__(self) -> None:
        self.data = bytearray(b"II*\0\0\0\0\0")  # the first IFD's offset is filled in by first()

    def blob(self, data: bytes) -> int:
        self.data += bytes(len(self.data) % 2)  # TIFF 6.0: values begin on a word boundary
        offset = len(self.data)
        self.data += data
        return offset

    def ifd(self, entries: dict[int, list[int]], next_ifd: int = 0, long_tags=(273, 279, 330, 513, 514)) -> int:
        """A directory of SHORT values (LONG for offsets and byte counts); returns its offset."""
        fields = []
        for tag, values in sorted(entries.items()):
            kind, fmt = (4, "I") if tag in long_tags else (3, "H")
            packed = struct.pack(f"<{len(values)}{fmt}", *values)
            if len(packed) > 4:
                packed = struct.pack("<I", self.blob(packed))
            fields.append(struct.pack("<HHI", tag, kind, len(values)) + packed.ljust(4, b"\0"))
        offset = self.blob(b"")
        self.data += struct.pack("<H", len(fields)) + b"".join(fields) + struct.pack("<I", next_ifd)
        return offset

    def link(self, ifd: int, next_ifd: int) -> None:
        """Point the directory at ifd to next_ifd as the next one in the chain."""
        (count,) = struct.unpack_from("<H", self.data, ifd)
        struct.pack_into("<I", self.data, ifd + 2 + 12 * count, next_ifd)

    def strip_image(self, width: int, height: int, colour) -> dict[int, list[int]]:
        """The entries of an uncompressed RGB image of one colour, stored here as one strip."""
        pixels = bytes(colour) * (width * height)
        return {256: [width], 257: [height], 258: [8, 8, 8], 259: [1], 262: [2], 273: [self.blob(pixels)],
                277: [3], 278: [height], 279: [len(pixels)]}

    def write(self, path: Path, first_ifd: int) -> Path:
        struct.pack_into("<I", self.data, 4, first_ifd)
        path.write_bytes(self.data)
        return path


def size_of(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def colour_at(path: Path, x: float = 0.5, y: float = 0.5) -> tuple[int, ...]:
    with Image.open(path) as im:
        assert (im.format, im.mode) == ("JPEG", "RGB")
        return im.getpixel((int(im.width * x), int(im.height * y)))


def near(colour: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    return all(abs(a - b) <= 24 for a, b in zip(colour, expected, strict=True))


@pytest.fixture
def cache(tmp_path):
    return ThumbnailCache(tmp_path / "thumbnails")


def test_a_large_jpeg_gets_a_thumbnail_made_once_and_again_when_the_photo_changes(tmp_path, cache):
    photo = put(tmp_path / "front.jpg", jpeg_bytes(4000, 3000))

    first = cache.thumbnail(photo)
    made_at = first.stat().st_mtime_ns
    again = cache.thumbnail(photo)

    assert size_of(first) == (320, 240) and near(colour_at(first), RED)
    assert again == first and first.stat().st_mtime_ns == made_at  # taken from the cache, not written again

    put(photo, jpeg_bytes(2000, 3000, BLUE))
    os.utime(photo, ns=(made_at, photo.stat().st_mtime_ns + 2_000_000_000))  # a later time, on any file system
    changed = cache.thumbnail(photo)

    assert changed != first and size_of(changed) == (213, 320) and near(colour_at(changed), BLUE)
    assert sorted(p.name for p in cache.folder.iterdir()) == sorted([first.name, changed.name])


def test_an_exif_rotated_photo_gets_an_upright_thumbnail(tmp_path, cache):
    # Stored 3000 × 2000, red above and blue below; orientation 6 shows it turned a quarter clockwise.
    photo = put(tmp_path / "front.jpg", jpeg_bytes(3000, 2000, RED, orientation=6, bottom=BLUE))

    thumbnail = cache.thumbnail(photo)

    assert size_of(thumbnail) == (213, 320)
    assert near(colour_at(thumbnail, x=0.8), RED) and near(colour_at(thumbnail, x=0.2), BLUE)


def test_two_sizes_of_thumbnail_of_one_photo_are_kept_apart(tmp_path, cache):
    photo = put(tmp_path / "front.jpg", jpeg_bytes(1600, 1200))

    large, small = cache.thumbnail(photo), ThumbnailCache(cache.folder, size=100).thumbnail(photo)

    assert large != small and (size_of(large), size_of(small)) == ((320, 240), (100, 75))


@pytest.mark.parametrize(("orientation", "size"), [(None, (320, 240)), (6, (240, 320))])
def test_a_tiff_with_an_embedded_jpeg_preview_gets_its_thumbnail_from_the_preview(tmp_path, cache, orientation, size):
    # IFD0 holds an 8 × 8 red picture as a strip and points at a 640 × 480 blue JPEG (tags 513 and 514),
    # as a Sony ARW does; the preview has no EXIF, so it is turned by the file's own orientation.
    tiff = LittleEndianTiff()
    preview = jpeg_bytes(640, 480, BLUE)
    entries = {**tiff.strip_image(8, 8, RED), 513: [tiff.blob(preview)], 514: [len(preview)]}
    if orientation is not None:
        entries[274] = [orientation]
    photo = tiff.write(tmp_path / "DSC00001.ARW", tiff.ifd(entries))

    thumbnail = cache.thumbnail(photo)

    assert size_of(thumbnail) == size and near(colour_at(thumbnail), BLUE)
    plain = tiff.write(tmp_path / "same.tif", tiff.ifd({k: v for k, v in entries.items() if k not in (513, 514)}))
    assert near(colour_at(cache.thumbnail(plain)), RED)  # without the preview, Pillow's reading of the strip


def test_the_largest_picture_preview_in_the_subifds_is_used_and_jpeg_sensor_data_is_not(tmp_path, cache):
    # Laid out as a DNG or NEF: a small thumbnail in IFD0, then SubIFDs with a preview (one JPEG strip,
    # YCbCr) and the sensor data (JPEG-compressed too, CFA); the sensor data here is a larger red JPEG.
    tiff = LittleEndianTiff()
    thumb, preview, sensor = jpeg_bytes(160, 120, GREEN), jpeg_bytes(1024, 768, BLUE), jpeg_bytes(2048, 1536, RED)
    jpeg_strip = {258: [8, 8, 8], 259: [7], 277: [3]}
    preview_ifd = tiff.ifd({256: [1024], 257: [768], **jpeg_strip, 262: [6], 273: [tiff.blob(preview)],
                            279: [len(preview)]})
    sensor_ifd = tiff.ifd({256: [2048], 257: [1536], **jpeg_strip, 262: [32803], 273: [tiff.blob(sensor)],
                           279: [len(sensor)]})
    thumb_at = tiff.blob(thumb)
    ifd0 = tiff.ifd({**tiff.strip_image(4, 4, GREEN), 330: [sensor_ifd, preview_ifd], 513: [thumb_at],
                     514: [len(thumb)]})

    thumbnail = cache.thumbnail(tiff.write(tmp_path / "IMG_0001.DNG", ifd0))

    assert size_of(thumbnail) == (320, 240) and near(colour_at(thumbnail), BLUE)


def test_a_damaged_preview_falls_back_to_the_next_one(tmp_path, cache):
    tiff = LittleEndianTiff()
    good, damaged = jpeg_bytes(400, 300, BLUE), b"\xff\xd8" + random.Random(3).randbytes(20_000)
    damaged_ifd = tiff.ifd({513: [tiff.blob(damaged)], 514: [len(damaged)]})
    ifd0 = tiff.ifd({**tiff.strip_image(4, 4, RED), 513: [tiff.blob(good)], 514: [len(good)]}, next_ifd=damaged_ifd)

    thumbnail = cache.thumbnail(tiff.write(tmp_path / "IMG_0001.NEF", ifd0))

    assert size_of(thumbnail) == (320, 240) and near(colour_at(thumbnail), BLUE)


def test_a_tiff_whose_directories_point_back_at_themselves_is_searched_once(tmp_path, cache):
    # IFD0 -> IFD1 -> IFD0 in the main chain, and IFD1's SubIFDs pointer leads back to IFD0 as well.
    tiff = LittleEndianTiff()
    ifd0 = tiff.ifd(tiff.strip_image(8, 8, RED))
    tiff.link(ifd0, tiff.ifd({330: [ifd0]}, next_ifd=ifd0))

    thumbnail = cache.thumbnail(tiff.write(tmp_path / "loop.tif", ifd0))

    assert near(colour_at(thumbnail), RED)


def test_a_fujifilm_raf_gets_its_thumbnail_from_the_preview_its_header_points_at(tmp_path, cache):
    preview = jpeg_bytes(1600, 1200, BLUE)
    header = bytearray(b"FUJIFILMCCD-RAW 0201FF383501".ljust(160, b"\0"))
    struct.pack_into(">II", header, 84, len(header), len(preview))

    thumbnail = cache.thumbnail(put(tmp_path / "DSCF0001.RAF", bytes(header) + preview + bytes(1000)))

    assert size_of(thumbnail) == (320, 240) and near(colour_at(thumbnail), BLUE)


def test_a_plain_rgb_tiff_gets_its_thumbnail_through_pillow(tmp_path, cache):
    Image.new("RGB", (1200, 800), GREEN).save(tmp_path / "front.tif")

    thumbnail = cache.thumbnail(tmp_path / "front.tif")

    assert size_of(thumbnail) == (320, 213) and near(colour_at(thumbnail), GREEN)


def test_a_16_bit_grey_tiff_is_scaled_to_8_bits_not_clipped_to_white(tmp_path, cache):
    Image.new("I;16", (640, 480), 0x8000).save(tmp_path / "front.tif")

    thumbnail = cache.thumbnail(tmp_path / "front.tif")

    assert size_of(thumbnail) == (320, 240) and near(colour_at(thumbnail), (128, 128, 128))


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_transparent_parts_of_a_png_or_webp_are_shown_on_white(tmp_path, cache, suffix):
    im = Image.new("RGBA", (800, 600), (0, 0, 0, 0))
    im.paste((30, 30, 220, 255), (0, 0, 400, 600))  # the left half blue, the right half transparent
    im.save(tmp_path / f"cutout{suffix}", lossless=True)

    thumbnail = cache.thumbnail(tmp_path / f"cutout{suffix}")

    assert size_of(thumbnail) == (320, 240)
    assert near(colour_at(thumbnail, x=0.25), BLUE) and near(colour_at(thumbnail, x=0.75), (255, 255, 255))


# Pillow warns of the damaged TIFF's directory before it refuses the file.
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
@pytest.mark.parametrize("name", ["cut.jpg", "noise.jpg", "IMG_0001.CR3", "IMG_0002.HEIC", "noise.tif", "gone.jpg"])
def test_a_file_that_cannot_be_made_a_thumbnail_of_gets_none_and_a_line_in_the_log(tmp_path, cache, caplog, name):
    whole = jpeg_bytes(1600, 1200)
    contents = {"cut.jpg": whole[:len(whole) // 2], "noise.jpg": random.Random(1).randbytes(8192),
                "IMG_0001.CR3": b"\0\0\0\x18ftypcrx " + random.Random(2).randbytes(8192),
                "IMG_0002.HEIC": b"\0\0\0\x18ftypheic" + random.Random(3).randbytes(8192),
                "noise.tif": b"II*\0" + random.Random(4).randbytes(8192)}
    photo = tmp_path / name
    if name in contents:
        photo.write_bytes(contents[name])

    with caplog.at_level(logging.INFO, logger="sync.studio.thumbnails"):
        assert cache.thumbnail(photo) is None

    assert [(r.levelname, r.getMessage().startswith(f"no thumbnail of {photo}")) for r in caplog.records
            if r.levelno >= logging.INFO] == [("INFO", True)]
    assert not cache.folder.exists() or list(cache.folder.iterdir()) == []


def test_a_cache_folder_that_cannot_be_written_gives_none_and_a_warning(tmp_path, caplog):
    blocked = put(tmp_path / "thumbnails", b"a file where the folder should be")
    photo = put(tmp_path / "front.jpg", jpeg_bytes(640, 480))

    assert ThumbnailCache(blocked).thumbnail(photo) is None
    assert [r.levelname for r in caplog.records] == ["WARNING"]


def test_thumbnails_of_different_photos_are_made_at_once_from_several_threads(tmp_path, cache):
    colours = [(30 * i, 255 - 30 * i, 100) for i in range(8)]
    photos = [put(tmp_path / f"{i}.jpg", jpeg_bytes(1200, 900, colour)) for i, colour in enumerate(colours)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        thumbnails = list(pool.map(cache.thumbnail, photos + photos))

    assert thumbnails[:8] == thumbnails[8:] and len(set(thumbnails)) == 8
    assert all(near(colour_at(t), c) for t, c in zip(thumbnails, colours))
    assert sorted(p.suffix for p in cache.folder.iterdir()) == [".jpg"] * 8  # no temporary file left behind
