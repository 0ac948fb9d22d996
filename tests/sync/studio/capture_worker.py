"""A child process for the kill test of the capture ledger: takes every capture of a folder, one after the other.

    python -m tests.sync.studio.capture_worker DATA_DIR CAPTURE_DIR SESSION_DIR [--no-hard-links]

It first finishes what an earlier run left in flight (recover()), then takes the captures
in name order. --no-hard-links makes os.link fail as on FAT and exFAT (EPERM). Every line
on stdout is whole and flushed:

    TAKING <name>          about to take this capture
    TOOK <id> <new name>   take() returned
    DONE                   the folder is empty

The SKU and angle of a capture follow from its number, so every run assigns the same:
IMG_0007.JPG is for SKUS[7 % 4] at ANGLES[7 % 3]; a SKU of None goes to the tray.
"""

import errno
import hashlib
import os
import sys
from pathlib import Path

from sync.store.database import LocalStore
from sync.studio.captures import CaptureLedger
from sync.studio.hotfolder import Capture

SKUS = ("SKU-1", "SKU-2", None, "SKU/3")
ANGLES = ("front", "back", None)


def say(*words: object) -> None:
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def capture_of(path: Path) -> Capture:
    st = path.stat()
    return Capture(path, st.st_size, st.st_mtime_ns, st.st_ino, hashlib.sha256(path.read_bytes()).hexdigest())


def no_hard_links(src, dst, *args, **kwargs):
    raise OSError(errno.EPERM, "Operation not permitted", str(src))


def main() -> None:
    data_dir, capture_dir, session_dir = (Path(arg) for arg in sys.argv[1:4])
    if "--no-hard-links" in sys.argv[4:]:
        os.link = no_hard_links
    store = LocalStore.open(data_dir)
    ledger = CaptureLedger(store, session_dir)
    ledger.recover()
    for path in sorted(capture_dir.glob("IMG_*.JPG")):
        number = int(path.stem.split("_")[1])
        say("TAKING", path.name)
        taken = ledger.take(capture_of(path), SKUS[number % len(SKUS)], ANGLES[number % len(ANGLES)])
        say("TOOK", taken.id, taken.path.name)
    say("DONE")
    store.close()


if __name__ == "__main__":
    main()
