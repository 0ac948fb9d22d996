"""Whether a capture's file is whole: real files written by Pillow, and headers built by hand for the RAW formats."""

import io
import random
import struct
import time
from pathlib import Path

import pytest
from PIL import Image

from sync.studio import decodable
from sync.studio.decodable import CHECKS, EMPTY, UNOPENABLE, why_not_decodable
from sync.upload.folders import PHOTO_SUFFIXES


def noise(seed: int, size=(64, 48), mode: str = "RGB") -> Image.Image:
    """An image of random pixels: it compresses badly, so its files have plenty of data to cut."""
    depth = {"RGB": 3, "I;16B": 2}[mode]
    return Image.frombytes(mode, size, random.Random(seed).randbytes(size[0] * size[1] * depth))


def encoded(fmt: str, seed: int = 1, mode: str = "RGB", **options) -> bytes:
    out = io.BytesIO()
    noise(seed, mode=mode).save(out, fmt, **options)
    return out.getvalue()


def with_thumbnail(jpeg: bytes) -> bytes:
    """The JPEG with a small JPEG inside an APP1 segment after its start marker, as cameras put an Exif thumbnail."""
    inner = b"Exif\0\0" + encoded("JPEG", seed=2)
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", 2 + len(inner)) + inner + jpeg[2:]


def put(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def tiff(entries: list[tuple[int, int, list[int]]], *, next_ifd: int = 0, length: int = 400, magic: int = 42) -> bytes:
    """A little-endian TIFF with one directory at offset 8, padded to length bytes.

    entries are (tag, type, values) with type 3 (SHORT) or 4 (LONG); values longer than
    4 bytes are written just after the directory.
    """
    fmt = {3: "H", 4: "I"}
    data_at = 8 + 2 + 12 * len(entries) + 4
    ifd, data = struct.pack("<H", len(entries)), b""
    for tag, kind, values in entries:
        packed = struct.pack(f"<{len(values)}{fmt[kind]}", *values)
        if len(packed) <= 4:
            field = packed.ljust(4, b"\0")
        else:
            field = struct.pack("<I", data_at + len(data))
            data += packed
        ifd += struct.pack("<HHI", tag, kind, len(values)) + field
    return (b"II" + struct.pack("<HI", magic, 8) + ifd + struct.pack("<I", next_ifd) + data).ljust(length, b"\x55")


def box(kind: bytes, payload: bytes = b"", *, large: bool = False, to_end: bool = False) -> bytes:
    """An ISO base media box: 32-bit size, or 1 and a 64-bit size, or 0 for "to the end of the file"."""
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 0 if to_end else 8 + len(payload), kind) + payload


FTYP = box(b"ftyp", b"heic" + b"\0\0\0\0" + b"mif1heic")


def raf(jpeg: tuple[int, int] = (160, 100), cfa: tuple[int, int] = (260, 200), length: int = 460) -> bytes:
    """A Fujifilm RAF header: the embedded JPEG's and the sensor data's offset and length at 84 and 100."""
    head = b"FUJIFILMCCD-RAW 0201FF383501".ljust(84, b"\0")
    head += struct.pack(">IIII", *jpeg, 0, 0) + struct.pack(">II", *cfa)
    return head.ljust(length, b"\x55")


@pytest.mark.parametrize(("name", "data"), [
    ("baseline.jpg", encoded("JPEG")),
    ("progressive.JPEG", encoded("JPEG", progressive=True)),
    ("with-thumbnail.jpg", with_thumbnail(encoded("JPEG"))),
    ("trailing-bytes.jpg", encoded("JPEG") + b"camera data after the end marker"),
    ("lossless.png", encoded("PNG")),
    ("strips.tif", encoded("TIFF")),
    ("big-endian.tiff", encoded("TIFF", mode="I;16B")),
    ("lzw-by-libtiff.tif", encoded("TIFF", compression="tiff_lzw")),
    ("lossy.webp", encoded("WEBP")),
])
def test_whole_files_written_by_pillow_pass(tmp_path, name, data):
    assert why_not_decodable(put(tmp_path, name, data)) is None


def test_a_jpeg_cut_short_by_100_bytes_is_refused_as_cut_short(tmp_path):
    data = encoded("JPEG")

    assert why_not_decodable(put(tmp_path, "cut.jpg", data[:-100])) == decodable.JPEG_CUT
    assert why_not_decodable(put(tmp_path, "one-byte-short.jpg", data[:-1])) == decodable.JPEG_CUT
    # the thumbnail's own end marker is inside its segment: not taken for the photo's
    assert why_not_decodable(put(tmp_path, "thumbnail.jpg", with_thumbnail(data)[:-100])) == decodable.JPEG_CUT


def test_a_jpeg_is_walked_the_same_when_read_in_tiny_pieces(tmp_path, monkeypatch):
    """A marker's FF byte at the edge of a piece is found with the byte after it."""
    whole = put(tmp_path, "whole.jpg", encoded("JPEG", seed=7, progressive=True))
    cut = put(tmp_path, "cut.jpg", whole.read_bytes()[:-3])
    for piece in (2, 3, 7, 64):
        monkeypatch.setattr(decodable, "PIECE", piece)
        assert why_not_decodable(whole) is None
        assert why_not_decodable(cut) == decodable.JPEG_CUT


def test_a_tiff_cut_so_a_strip_lies_past_the_end_is_refused(tmp_path):
    data = encoded("TIFF")
    assert struct.unpack("<I", data[4:8])[0] < len(data) - 100  # Pillow writes the directory first, strips after

    reason = why_not_decodable(put(tmp_path, "cut.tif", data[:-100]))

    assert reason == decodable.DATA_CUT
    assert "cut short" in reason


def test_a_png_with_a_damaged_chunk_is_refused(tmp_path):
    data = bytearray(encoded("PNG"))
    data[data.index(b"IDAT") + 20] ^= 0xFF

    reason = why_not_decodable(put(tmp_path, "damaged.png", bytes(data)))

    assert reason is not None and "checksum" in reason


def test_a_png_cut_short_is_refused(tmp_path):
    assert why_not_decodable(put(tmp_path, "cut.png", encoded("PNG")[:-20])) == decodable.PNG_CUT


def test_a_webp_cut_short_is_refused(tmp_path):
    reason = why_not_decodable(put(tmp_path, "cut.webp", encoded("WEBP")[:-50]))

    assert reason is not None and "cut short" in reason


@pytest.mark.parametrize("name", ["empty.jpg", "empty.cr3", "empty.nef", "empty.x3f"])
def test_an_empty_file_is_refused(tmp_path, name):
    assert why_not_decodable(put(tmp_path, name, b"")) == EMPTY


def test_random_bytes_named_jpg_are_refused_as_not_a_jpeg(tmp_path):
    data = random.Random(3).randbytes(5000)
    assert data[:2] != b"\xff\xd8"

    reason = why_not_decodable(put(tmp_path, "noise.jpg", data))

    assert reason is not None and "not a JPEG" in reason


def test_a_file_that_cannot_be_opened_is_refused(tmp_path):
    assert why_not_decodable(tmp_path / "gone.jpg") == UNOPENABLE
    assert why_not_decodable(tmp_path) == UNOPENABLE  # a folder named like a photo


@pytest.mark.parametrize("boxes", [
    [FTYP, box(b"mdat", b"\x01" * 500)],
    [FTYP, box(b"meta", b"\0" * 40), box(b"mdat", b"\x01" * 500, large=True)],
    [FTYP, box(b"moov", b"\0" * 40), box(b"mdat", b"\x01" * 500, to_end=True)],
])
def test_iso_media_files_whose_boxes_fit_pass(tmp_path, boxes):
    data = b"".join(boxes)

    assert why_not_decodable(put(tmp_path, "shot.heic", data)) is None
    assert why_not_decodable(put(tmp_path, "shot.CR3", data)) is None


def test_iso_media_files_cut_short_or_without_their_parts_are_refused(tmp_path):
    whole = FTYP + box(b"mdat", b"\x01" * 500)

    assert why_not_decodable(put(tmp_path, "cut.cr3", whole[:-10])) == decodable.BOXES_CUT
    assert why_not_decodable(put(tmp_path, "header-cut.cr3", whole[:len(FTYP) + 5])) == decodable.BOXES_CUT
    assert "no image data" in why_not_decodable(put(tmp_path, "no-mdat.heic", FTYP + box(b"meta", b"\0" * 8)))
    assert "not a HEIF or CR3" in why_not_decodable(put(tmp_path, "no-ftyp.heif", box(b"mdat", b"\x01" * 50)))


def test_a_raf_passes_when_its_jpeg_and_sensor_data_lie_inside(tmp_path):
    assert why_not_decodable(put(tmp_path, "whole.raf", raf())) is None
    assert why_not_decodable(put(tmp_path, "cut.raf", raf()[:400])) == decodable.DATA_CUT
    assert why_not_decodable(put(tmp_path, "jpeg-past-end.raf", raf(jpeg=(160, 400)))) == decodable.DATA_CUT
    assert "cut short" in why_not_decodable(put(tmp_path, "header-cut.raf", raf()[:90]))
    assert "not a Fujifilm RAF" in why_not_decodable(put(tmp_path, "other.raf", b"X" * 460))


@pytest.mark.parametrize(("suffix", "magic"), [(".orf", b"RO"), (".orf", b"RS"), (".rw2", b"\x55\x00"),
                                                 (".nef", b"*\x00"), (".cr2", b"*\x00")])
def test_tiff_based_raw_formats_with_their_own_magic_pass(tmp_path, suffix, magic):
    data = encoded("TIFF")
    data = data[:2] + magic + data[4:]

    assert why_not_decodable(put(tmp_path, "shot" + suffix, data)) is None
    assert why_not_decodable(put(tmp_path, "cut" + suffix, data[:-100])) == decodable.DATA_CUT


def test_a_file_with_an_unknown_magic_is_not_a_tiff(tmp_path):
    data = encoded("TIFF")

    assert "not a TIFF-based" in why_not_decodable(put(tmp_path, "odd.dng", data[:2] + b"\x07\x00" + data[4:]))


def test_tiles_and_strips_must_lie_inside_the_file(tmp_path):
    tiles = [(256, 3, [32]), (324, 4, [200, 250]), (325, 4, [50, 50])]
    strips = [(256, 3, [32]), (273, 4, [200]), (279, 4, [150])]

    assert why_not_decodable(put(tmp_path, "tiles.tif", tiff(tiles, length=300))) is None
    assert why_not_decodable(put(tmp_path, "tiles-cut.tif", tiff(tiles, length=299))) == decodable.DATA_CUT
    assert why_not_decodable(put(tmp_path, "strip.dng", tiff(strips, length=350))) is None
    assert why_not_decodable(put(tmp_path, "strip-cut.dng", tiff(strips, length=349))) == decodable.DATA_CUT


def test_sub_directories_and_the_exif_directory_must_lie_inside_the_file(tmp_path):
    pointing = [(256, 3, [32]), (330, 4, [300]), (34665, 4, [8])]  # the Exif pointer back at IFD0: seen already
    data = tiff(pointing, length=300) + struct.pack("<HI", 0, 0)  # the sub-directory: no entries, no next

    assert why_not_decodable(put(tmp_path, "sub.nef", data)) is None
    assert why_not_decodable(put(tmp_path, "sub-cut.nef", data[:-1])) == decodable.TIFF_INDEX_CUT
    assert why_not_decodable(
        put(tmp_path, "exif-cut.arw", tiff([(34665, 4, [5000])]))) == decodable.TIFF_INDEX_CUT


def test_a_tiff_whose_directories_loop_is_refused_without_hanging(tmp_path):
    looping = put(tmp_path, "loop.tif", tiff([(256, 3, [32])], next_ifd=8))
    started = time.monotonic()

    reason = why_not_decodable(looping)

    assert time.monotonic() - started < 1.0
    assert reason is not None and "loops back" in reason


def test_a_tiff_whose_next_directory_lies_past_the_end_is_cut_short(tmp_path):
    assert why_not_decodable(put(tmp_path, "next.tif", tiff([(256, 3, [32])], next_ifd=9000))) == \
        decodable.TIFF_INDEX_CUT


def test_formats_without_a_rule_pass_when_they_can_be_read_to_their_end(tmp_path):
    assert why_not_decodable(put(tmp_path, "sigma.x3f", b"FOVb" + b"\0" * 3000)) is None
    assert why_not_decodable(put(tmp_path, "older.iiq", b"IIII" + b"\0" * 3000)) is None


def test_every_photo_suffix_the_studio_takes_has_its_check():
    assert set(CHECKS) == PHOTO_SUFFIXES
