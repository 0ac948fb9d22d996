"""Which files of the paths given to `floorhand upload` are photos to send, and why the others are skipped.

A folder is searched through, subfolders included, for image and camera RAW files by
extension, as photographers expect of rclone and every uploader: hidden files and folders,
the temporary and partial files of downloads and editors, and the files operating systems
leave in photo folders (Thumbs.db, .DS_Store, desktop.ini) are skipped, and so are empty
files. A linked folder is followed once: a link back up the tree cannot loop.

A file named on the command line is the person's choice and is taken whatever its extension
(the server says whether it takes that type; a RAW type missing from the list below still
goes); only what is never a photo is skipped there too: empty files, temporary or partial
files and the operating systems' own files, which a shell's `*` names as readily as photos.
"""

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif"})
RAW_SUFFIXES = frozenset({".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".dng", ".pef", ".srw", ".x3f",
                          ".iiq", ".3fr"})
PHOTO_SUFFIXES = IMAGE_SUFFIXES | RAW_SUFFIXES
# Browsers' and copy tools' unfinished downloads, editors' scratch files.
TEMPORARY_SUFFIXES = frozenset({".tmp", ".temp", ".part", ".partial", ".crdownload", ".download"})
TEMPORARY_PREFIX = "~"  # Office's and some editors' lock and scratch files (~$name, ~name.tmp)
# What Windows (thumbnail caches, folder settings) and macOS (Finder's folder settings, the
# AppleDouble "._" companions it writes next to photos on FAT cards) leave in photo folders.
SYSTEM_NAMES = frozenset({"thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", "desktop.ini", ".ds_store", "icon\r"})
APPLE_DOUBLE_PREFIX = "._"

# Why a path is not uploaded: each a phrase that follows "skipped:" in the summary.
HIDDEN = "hidden"
TEMPORARY = "temporary or partial file"
SYSTEM = "system file"
NOT_A_PHOTO = "not an image or RAW type"
EMPTY = "empty (0 bytes)"
NOT_A_FILE = "not a regular file"
UNREADABLE = "cannot be read"
SEEN_FOLDER = "folder linked in a second time"


@dataclass(frozen=True)
class Skipped:
    """A file or folder not uploaded, and why."""

    path: Path
    reason: str
    folder: bool = False


@dataclass
class Selection:
    """The photos to upload, in order and each once, and what was skipped."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def select_photos(paths: Iterable[Path]) -> Selection:
    """The photos among paths, folders searched through; ValueError for a path that does not exist."""
    selection, taken, seen_folders = Selection(), set[str](), set[tuple[int, int]]()

    def take(path: Path) -> None:
        real = os.path.realpath(path)
        if real not in taken:  # named twice, or named and found in a folder given too: sent once
            taken.add(real)
            selection.files.append(path)

    for path in map(Path, paths):
        try:
            st = path.stat()
        except FileNotFoundError:
            raise ValueError(f"Cannot upload {path}: it does not exist.") from None
        except OSError:
            selection.skipped.append(Skipped(path, UNREADABLE))
            continue
        if stat.S_ISDIR(st.st_mode):
            if (st.st_dev, st.st_ino) not in seen_folders:  # else searched already, as a folder given before
                seen_folders.add((st.st_dev, st.st_ino))
                _search(path, selection, take, seen_folders)
        elif not stat.S_ISREG(st.st_mode):
            raise ValueError(f"Cannot upload {path}: it is not a regular file or a folder.")
        else:
            reason = never_a_photo(path.name) or (EMPTY if st.st_size == 0 else None)
            if reason:
                selection.skipped.append(Skipped(path, reason))
            else:
                take(path)
    return selection


def _search(top: Path, selection: Selection, take: Callable[[Path], None],
            seen_folders: set[tuple[int, int]]) -> None:
    """Walk a folder depth first in name order, without following a linked folder twice."""
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: (e.name.casefold(), e.name))
        except OSError:
            selection.skipped.append(Skipped(folder, UNREADABLE, folder=True))
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            try:
                own = entry.stat(follow_symlinks=False)
                is_dir = entry.is_dir()  # a link to a folder counts as a folder
                st = entry.stat() if entry.is_symlink() else own
            except OSError:  # a broken link, or a file gone or locked meanwhile
                selection.skipped.append(Skipped(path, UNREADABLE))
                continue
            reason = never_a_photo(entry.name) or (HIDDEN if is_hidden(entry.name, own) else None)
            if is_dir:
                key = (st.st_dev, st.st_ino)
                if reason is None and key in seen_folders:
                    if not entry.is_symlink():
                        continue  # a folder also given on the command line, searched already
                    reason = SEEN_FOLDER  # a link back up the tree, or a second link to one folder
                if reason:
                    selection.skipped.append(Skipped(path, reason, folder=True))
                else:
                    seen_folders.add(key)
                    subfolders.append(path)
                continue
            if reason is None and not stat.S_ISREG(st.st_mode):
                reason = NOT_A_FILE
            if reason is None and path.suffix.lower() not in PHOTO_SUFFIXES:
                reason = NOT_A_PHOTO
            if reason is None and st.st_size == 0:
                reason = EMPTY
            if reason:
                selection.skipped.append(Skipped(path, reason))
            else:
                take(path)
        stack.extend(reversed(subfolders))


def never_a_photo(name: str) -> str | None:
    """SYSTEM or TEMPORARY for the names that are never photos, wherever they come from; else None."""
    lower = name.lower()
    if lower in SYSTEM_NAMES or lower.startswith(APPLE_DOUBLE_PREFIX):
        return SYSTEM
    if lower.startswith(TEMPORARY_PREFIX) or os.path.splitext(lower)[1] in TEMPORARY_SUFFIXES:
        return TEMPORARY
    return None


def is_hidden(name: str, st: os.stat_result) -> bool:
    """A leading dot, or the hidden flag of Windows (file attributes) or macOS (UF_HIDDEN)."""
    if name.startswith("."):
        return True
    if getattr(st, "st_file_attributes", 0) & getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0):
        return True
    return bool(getattr(st, "st_flags", 0) & getattr(stat, "UF_HIDDEN", 0))
