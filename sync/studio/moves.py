"""Moving a capture's file to its new name: never over another file, durable before the journal says so.

The filesystem half of the capture ledger's protocol (sync/studio/captures.py): os.link()
to the new name, then unlink of the old one, so that an existing name makes the move fail
instead of being overwritten; where the filesystem has no hard links (FAT, exFAT, some
shares) a check that the name is free and os.rename() stand in; to another filesystem, a
synced copy under a hidden temporary name, put in place the same way, then the source
unlinked. The folders are synced after each move.
"""

import errno
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

COPY_PREFIX, COPY_SUFFIX = ".capture-", ".copying"  # hidden, never a photo: the hot folder and uploads skip it
_PIECE = 1 << 20
# What link() says on a filesystem without hard links: Linux's vfat and exFAT EPERM, others
# ENOTSUP/EOPNOTSUPP or ENOSYS; EMLINK is a file with too many links already.
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK})
_WINDOWS_INVALID_FUNCTION = 1  # CreateHardLinkW on FAT and exFAT volumes


def move(source: Path, target: Path, capture_id: int) -> None:
    """Move source to target without overwriting (FileExistsError when target exists); the folders synced.

    When it raises anything else, the file is at source only, as far as the cleanup could.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:  # a file where the folder should be: not a name clash to step past
        raise NotADirectoryError(errno.ENOTDIR, "a file stands where the folder should be", str(target.parent)) from exc
    try:
        linked = put(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        copy_across(source, target, capture_id)
        return
    if linked:
        drop_source(source, target)
    sync_folder(target.parent)
    if source.parent != target.parent:
        sync_folder(source.parent)


def put(source: Path, target: Path) -> bool:
    """Give the file at source the name target, never over an existing file; True when source still names it."""
    try:
        os.link(source, target)
        return True
    except FileExistsError:
        raise
    except OSError as exc:
        if not no_hard_links(exc):
            raise
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, "a file of that name exists", str(target))
    os.rename(source, target)
    return False


def copy_across(source: Path, target: Path, capture_id: int) -> None:
    """To another filesystem: a synced copy under a temporary name, put in place, then the source unlinked."""
    temp = copy_name(target, capture_id)
    remove_if_there(temp)
    try:
        with open(source, "rb") as src, open(temp, "xb") as dst:
            while piece := src.read(_PIECE):
                dst.write(piece)
            dst.flush()
            os.fsync(dst.fileno())
        st = os.stat(source)
        os.utime(temp, ns=(st.st_atime_ns, st.st_mtime_ns))  # the time it was shot orders the session
        put(temp, target)
    finally:
        remove_if_there(temp)
    sync_folder(target.parent)
    drop_source(source, target)
    sync_folder(source.parent)


def drop_source(source: Path, target: Path) -> None:
    """Unlink the source once the target holds the file; if that fails, take the target back and raise."""
    try:
        os.unlink(source)
    except FileNotFoundError:
        return  # gone meanwhile: the target holds the file
    except OSError:
        try:
            os.unlink(target)  # made by this move a moment ago: the file stays at its source only
        except OSError as cleanup:
            log.error("Could not take back %s after the move failed (%s)", target, cleanup)
        raise


def no_hard_links(exc: OSError) -> bool:
    return exc.errno in _NO_HARD_LINKS or getattr(exc, "winerror", None) == _WINDOWS_INVALID_FUNCTION


def sync_folder(folder: Path) -> None:
    """Make the folder's new and removed names durable before the journal says the move happened."""
    if os.name != "posix":
        return  # Windows cannot open a folder to sync it; NTFS journals its names itself
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise  # some shares cannot sync a folder; they write names through at once
    finally:
        os.close(fd)


def copy_name(target: Path, capture_id: int) -> Path:
    return target.parent / f"{COPY_PREFIX}{capture_id}{COPY_SUFFIX}"


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def remove_if_there(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
