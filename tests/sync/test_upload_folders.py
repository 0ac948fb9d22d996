"""Which files of the paths given to `floorhand upload` are photos to send, and why the others are skipped."""

import os
from pathlib import Path

import pytest

from order_api.blobstore import CONTENT_TYPES
from sync.upload.folders import (EMPTY, HIDDEN, NOT_A_PHOTO, PHOTO_SUFFIXES, SEEN_FOLDER, SYSTEM, TEMPORARY,
                                 Skipped, select_photos)
from sync.upload.transfer import PHOTO_TYPES, content_type_of


def put(root: Path, name: str, data: bytes = b"\xff\xd8photo") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def reasons(skipped: list[Skipped], root: Path) -> dict[str, str]:
    return {str(s.path.relative_to(root)) + ("/" if s.folder else ""): s.reason for s in skipped}


def test_a_folder_gives_its_image_and_raw_files_at_every_depth_in_name_order(tmp_path):
    names = ["a.jpg", "B.JPEG", "c.png", "d.TIF", "e.tiff", "f.webp", "g.HEIC", "h.heif", "sub/i.CR2", "sub/j.cr3",
             "sub/k.NEF", "sub/deeper/l.arw", "sub/deeper/m.RAF", "n.orf", "o.rw2", "p.DNG", "q.pef", "r.srw",
             "s.x3f", "t.IIQ", "u.3fr"]
    for name in names:
        put(tmp_path / "shoot", name)

    found = select_photos([tmp_path / "shoot"])

    assert [str(p.relative_to(tmp_path / "shoot")) for p in found.files] == sorted(
        names, key=lambda n: (n.count("/"), n.casefold()))  # in each folder its files first, then its subfolders
    assert found.skipped == []
    assert {Path(n).suffix.lower() for n in names} == PHOTO_SUFFIXES


def test_every_photo_type_a_folder_gives_is_declared_as_a_type_the_server_takes():
    # Declared from the client's own table, not the platform's mimetypes (a .raf or .heif was
    # "application/octet-stream" on one machine, a type the server refused on another).
    declared = {suffix: content_type_of(f"IMG_0001{suffix.upper()}") for suffix in PHOTO_SUFFIXES}
    assert set(PHOTO_TYPES) == PHOTO_SUFFIXES
    assert {s: t for s, t in declared.items() if t not in CONTENT_TYPES} == {}
    assert {s: t for s, t in declared.items() if CONTENT_TYPES[t] != (".jpg" if s == ".jpeg" else ".tif" if s == ".tiff"
                                                                       else s)} == {}


def test_hidden_temporary_system_empty_and_other_files_in_a_folder_are_skipped_with_the_reason(tmp_path):
    shoot = tmp_path / "shoot"
    keep = put(shoot, "day1/IMG_1.jpg")
    for name in (".hidden.jpg", ".cache/thumb.jpg", "day1/~IMG_2.jpg", "day1/IMG_3.jpg.tmp", "day1/IMG_4.JPG.part",
                 "day1/IMG_5.jpg.crdownload", "day1/IMG_6.jpg.download", "Thumbs.db", ".DS_Store", "day1/desktop.ini",
                 "._IMG_1.jpg", "notes.txt", "day1/IMG_1.xmp", "clip.MOV", "README"):
        put(shoot, name)
    put(shoot, "day1/IMG_7.jpg", b"")

    found = select_photos([shoot])

    assert found.files == [keep]
    assert reasons(found.skipped, shoot) == {
        ".cache/": HIDDEN, ".hidden.jpg": HIDDEN, ".DS_Store": SYSTEM, "._IMG_1.jpg": SYSTEM, "Thumbs.db": SYSTEM,
        "clip.MOV": NOT_A_PHOTO, "notes.txt": NOT_A_PHOTO, "README": NOT_A_PHOTO, "day1/~IMG_2.jpg": TEMPORARY,
        "day1/IMG_3.jpg.tmp": TEMPORARY, "day1/IMG_4.JPG.part": TEMPORARY, "day1/IMG_5.jpg.crdownload": TEMPORARY,
        "day1/IMG_6.jpg.download": TEMPORARY, "day1/desktop.ini": SYSTEM, "day1/IMG_1.xmp": NOT_A_PHOTO,
        "day1/IMG_7.jpg": EMPTY}


def test_a_file_named_on_the_command_line_goes_whatever_its_type_but_never_if_empty_or_never_a_photo(tmp_path):
    odd = put(tmp_path, "L1000123.RWL")  # a RAW type not in the list: the person chose it, the server decides
    hidden = put(tmp_path, ".IMG_9.jpg")
    empty = put(tmp_path, "IMG_0.jpg", b"")
    junk = [put(tmp_path, "Thumbs.db"), put(tmp_path, "IMG_8.jpg.part")]  # what a shell's * also names

    found = select_photos([odd, hidden, empty, *junk])

    assert found.files == [odd, hidden]
    assert found.skipped == [Skipped(empty, EMPTY), Skipped(junk[0], SYSTEM), Skipped(junk[1], TEMPORARY)]


def test_a_link_up_the_tree_is_not_followed_into_a_loop_and_a_linked_folder_elsewhere_is_followed(tmp_path):
    shoot, card = tmp_path / "shoot", tmp_path / "card"
    mine = put(shoot, "IMG_1.jpg")
    on_card = put(card, "DCIM/IMG_2.jpg")
    (shoot / "sub").mkdir()
    (shoot / "sub" / "up").symlink_to("..")
    (shoot / "card").symlink_to(card)
    (shoot / "sub" / "card again").symlink_to(card)

    found = select_photos([shoot])

    assert found.files == [mine, shoot / "card" / "DCIM" / "IMG_2.jpg"]
    assert os.path.realpath(found.files[1]) == os.path.realpath(on_card)
    assert reasons(found.skipped, shoot) == {"sub/card again/": SEEN_FOLDER, "sub/up/": SEEN_FOLDER}


def test_a_file_named_twice_or_also_inside_a_folder_given_goes_once(tmp_path):
    shoot = tmp_path / "shoot"
    a, b = put(shoot, "a.jpg"), put(shoot, "day1/b.jpg")

    found = select_photos([a, shoot, shoot / "day1", a])

    assert found.files == [a, b] and found.skipped == []


def test_a_path_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        select_photos([tmp_path / "no-such-folder"])
