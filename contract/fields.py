"""Constrained value types of the contract: what an id, a quantity or a scanned code may be.

Strict on purpose: the string "1", `true` and `1.0` are not quantities, and a code may not
hold control characters (a NUL byte from a misconfigured scanner would otherwise be stored
and shown as an empty box).
"""

from typing import Annotated

from msgspec import Meta

# No C0 control characters, no DEL: a code is what a person or a label could show.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"

Id = Annotated[int, Meta(ge=1, le=2**31 - 1, description="row id (the range of an integer column on every database)")]
Qty = Annotated[int, Meta(ge=1, le=10_000, description="a count of units")]
Grams = Annotated[int, Meta(ge=1, le=100_000, description="a weight in grams")]
Pixels = Annotated[int, Meta(ge=1, le=200_000, description="an image side in pixels")]


def code(max_length: int, description: str) -> object:
    """A printable, non-empty code of at most max_length characters (a tote, a barcode, a box type)."""
    return Annotated[str, Meta(min_length=1, max_length=max_length, pattern=PRINTABLE, description=description)]


def text(max_length: int, description: str) -> object:
    """Free text a person typed (may be empty); control characters other than tab and newline refused."""
    return Annotated[str, Meta(max_length=max_length, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*$",
                               description=description)]
