"""What a catalogue entry holds: an action's predicted effects and its words."""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from contract.actions import Args

log = logging.getLogger(__name__)

Rows = dict[int, dict]
Earlier = Mapping[str, Any]  # queued or settled mutations by id, for an action that refers to another one


@dataclass(frozen=True)
class Effect:
    """What an action does to one entity: the rows whose `field` equals its argument `arg`, changed by `apply`."""

    field: str
    arg: str
    apply: Callable[[Any, Rows, Earlier], None]  # (typed args, rows by id, earlier mutations)


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 (the name Qt's lupdate looks for)
    """Mark a text for translation where it is declared; it is translated where it is shown."""
    return text


WORDS = "Actions"  # the translation context of every text in the catalogue


@dataclass(frozen=True)
class Words:
    """A text for people, still to be translated: `{field}`s are the action's arguments (and a few
    words derived from them, see desktop_app/workflows/exceptions.py); `%n` is `n`, for plurals."""

    text: str
    n: int = -1


def _no_words(args: dict) -> list[Words]:
    return []


@dataclass(frozen=True)
class Entry:
    """One action as the client knows it."""

    args: type[Args]
    label: str  # the exception card's title: what the person did, in a few words
    effects: dict[str, Effect] = field(default_factory=dict)  # entity -> effect
    describe: Callable[[dict], list[Words]] = _no_words  # the parts of a one-line description
    advice: dict[str, str] = field(default_factory=dict)  # a supervisor's next step for a code, where special
    refers_to: str | None = None  # the argument naming an earlier mutation whose effect this one takes back

    def __post_init__(self) -> None:
        fields = set(self.args.__struct_fields__)
        for e in self.effects.values():
            if e.arg not in fields:
                raise ValueError(f"{self.name}: effect on argument {e.arg!r}, which the action does not have")

    @property
    def name(self) -> str:
        return self.args.NAME

    def typed(self, args: dict) -> Args | None:
        """The queued arguments as the contract's struct; None for a malformed one (it predicts nothing)."""
        try:
            return msgspec.convert(args, self.args)
        except msgspec.ValidationError as exc:
            log.warning("a queued %s has arguments the contract does not allow: %s", self.name, exc)
            return None
