"""What a person reads when this device could not save something: plain words, never a file name or SQLite's text."""

from desktop_app.i18n import translate
from sync.store.database import WriteFailed

CTX = "Saving"


def write_problem(exc: WriteFailed) -> str:
    """The reason, as part of a sentence ("Could not save this on the device: {why}."); the detail is for the log."""
    if exc.disk_full:
        return translate(CTX, "the disk of this device is full (call IT to free space)")
    return translate(CTX, "this device cannot write to its disk (call IT)")
