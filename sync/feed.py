"""A page of the pull feed, decoded in one pass, each row's data kept as the server's JSON.

An initial sync decodes hundreds of thousands of rows. Turning every row into Python
dicts and encoding it again for the replica cost more than storing it
(docs/benchmarks.md, "Client core"), so the page is decoded with msgspec into typed
entries whose `data` stays the JSON text the server sent: the replica stores that text
as it is and reads only its few indexed columns out of it.
"""

from dataclasses import dataclass
from typing import Any, Literal

import msgspec
import orjson

_NULL = b"null"


class Change(msgspec.Struct, frozen=True, gc=False):
    """One entry of the pull feed: an entity's new state, or its tombstone.

    `data` is the row as the server's JSON (a bytes-like msgspec.Raw; `null` for most
    tombstones), stored in the replica as it is.
    """

    entity: str
    id: str
    op: Literal["upsert", "delete"]
    version: int
    audience: str  # the slice of data it arrived through ("floor", "user:17"); the replica keeps one bit per audience
    data: msgspec.Raw = msgspec.Raw(_NULL)


class _Page(msgspec.Struct, gc=False):
    changes: list[Change]
    cursor: int
    has_more: bool
    reset: bool
    audiences: list[str]


@dataclass(frozen=True)
class PullPage:
    """One page of the pull feed and the cursor to store with it, for the audiences the server served."""

    changes: list[Change]
    cursor: int
    has_more: bool
    reset: bool
    audiences: list[str]


class FeedError(ValueError):
    """The page does not have the feed's shape; the message names the first thing wrong."""


_DECODER = msgspec.json.Decoder(_Page)
_OPEN_BRACE, _LETTER_N = ord("{"), ord("n")


def decode_page(body: bytes) -> PullPage:
    """The page in body, checked: every entry typed, an upsert's data an object.

    Each row's fields are checked against its entity (contract.entities) when the replica
    stores the page and reads the row's indexed columns: one decode for both.
    """
    try:
        page = _DECODER.decode(body)
    except msgspec.MsgspecError as exc:
        raise FeedError(_explain(body) or str(exc)) from None
    for change in page.changes:
        first = memoryview(change.data)[0]
        if first != _OPEN_BRACE and (change.op == "upsert" or first != _LETTER_N):
            raise FeedError(_explain(body) or "a change's data is not an object")
    if page.cursor < 0:
        raise FeedError("cursor is negative")
    return PullPage(page.changes, page.cursor, page.has_more, page.reset, page.audiences)


# --- precise messages for a page that failed the fast decode --------------------------------

_KINDS = {int: "an integer", str: "a string", bool: "a boolean", list: "a list", dict: "an object"}


def _is(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))  # bool is no int here


def _explain(body: bytes) -> str | None:
    """What is wrong with the page, in the contract's words (slow; only after a failure)."""
    try:
        page = orjson.loads(body)
    except ValueError as exc:
        return f"the body is not JSON ({exc})"
    if not isinstance(page, dict):
        return "the body is not an object"
    for key, kind in (("changes", list), ("cursor", int), ("has_more", bool), ("reset", bool), ("audiences", list)):
        if key not in page:
            return f"{key} is missing"
        if not _is(page[key], kind):
            return f"{key} is not {_KINDS[kind]}"
    for i, audience in enumerate(page["audiences"]):
        if not isinstance(audience, str):
            return f"audiences[{i}] is not a string"
    for i, item in enumerate(page["changes"]):
        where = f"changes[{i}]"
        if not isinstance(item, dict):
            return f"{where} is not an object"
        for key, kind in (("entity", str), ("id", str), ("op", str), ("version", int), ("audience", str)):
            if key not in item:
                return f"{where}.{key} is missing"
            if not _is(item[key], kind):
                return f"{where}.{key} is not {_KINDS[kind]}"
        if item["op"] not in ("upsert", "delete"):
            return f"{where}.op {item['op']!r} is neither upsert nor delete"
        data = item.get("data")
        if item["op"] == "upsert" and data is None:
            return f"{where}.data is missing for an upsert"
        if data is not None and not isinstance(data, dict):
            return f"{where}.data is not an object"
    return None
