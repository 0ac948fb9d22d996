"""Floorhand's settings: declared once in SETTINGS, read from layered sources, some locked by IT.

Precedence, lowest to highest: defaults < machine config < user config < environment
FLOORHAND_<NAME> (dots and dashes as underscores, upper case: FLOORHAND_SCANNER_MAX_GAP_MS;
an empty variable counts as not set) < command-line overrides.

The config files are TOML; nested tables map to dotted names (``[scanner]`` ``max_gap_ms = 30``)
and quoted dotted keys (``"scanner.max_gap_ms" = 30``) work too. The machine config may lock
keys with a top-level ``locked = ["server_url", ...]``: a locked key keeps the machine value
(or the default if the machine config does not set it) and Value.overridden names the user
config, environment or command line values that were ignored. The machine config is
/etc/floorhand/config.toml (Linux), %ProgramData%\\Floorhand\\config.toml (Windows) or
/Library/Application Support/Floorhand/config.toml (macOS); the user config is config.toml in
platformdirs' user config folder. FLOORHAND_MACHINE_CONFIG and FLOORHAND_USER_CONFIG point
elsewhere, for IT trying out a config and for tests.

A bad value, an unknown key or an unreadable file never stops the app: it is skipped, and a
message saying what is used instead goes to Settings.problems and to the log.

No setting is a secret and none may become one: the device's credential and key live only in
the OS keyring or its own protected file (sync/credentials.py), so these files can be read,
copied and shown freely.
"""

import difflib
import logging
import math
import os
import socket
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import tomli_w

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Setting:
    """One declared setting: its dotted name, Python type, default and what it is for."""

    name: str
    kind: type  # str, int, float or bool
    default: object
    description: str
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    # Read once at start: a change takes effect after a restart, and the settings dialog says so.
    # The others are applied to the running app on saving (APPLIED_WHEN_SAVED in desktop_app/app.py).
    restart: bool = False

    @property
    def env_name(self) -> str:
        """The environment variable that overrides this setting."""
        return "FLOORHAND_" + self.name.replace(".", "_").replace("-", "_").upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("server_url", str, "", "Base URL of the central order API, e.g. https://orders.example.com.",
            restart=True),
    Setting("device_name", str, socket.gethostname(), "Name this device reports to the server and shows to "
            "supervisors.", restart=True),
    Setting("data_dir", str, "", "Folder of the local cache and queued work; empty means the platform's data folder.",
            restart=True),
    Setting("ca_bundle", str, "", "PEM file with a corporate CA certificate, for networks that inspect TLS. "
            "Certificates are always verified.", restart=True),
    Setting("keyring", str, "", "Where this device's credential and sign-in key are kept: empty picks the platform "
            "keyring, 'module.Class' names a backend, 'none' keeps them in a file only this account may read.",
            restart=True),
    Setting("offline_days", int, 7, "Days after the last online sign-in that a PIN still signs in offline.",
            minimum=0, maximum=90, restart=True),
    Setting("retention_days", int, 30, "Days that sent actions and the local audit trail stay on this device "
            "before they are trimmed (work not yet sent is never trimmed).", minimum=1, maximum=3650, restart=True),
    Setting("ui.layout", str, "auto", "Screen layout: 'auto' picks by screen size; 'desktop' or 'handheld' forces one.",
            choices=("auto", "desktop", "handheld"), restart=True),
    Setting("ui.language", str, "en", "Language of the screens; 'pseudo' shows every text accented and 40% longer "
            "in brackets, to find text that is not translated or does not fit.", choices=("en", "pseudo"),
            restart=True),
    Setting("ui.font_scale", float, 1.0, "Text size relative to the system font.", minimum=0.75, maximum=2.0,
            restart=True),
    Setting("scanner.max_gap_ms", int, 50, "Longest pause between two keys of one scan, in milliseconds; "
            "people type slower than scanners.", minimum=5, maximum=500),
    Setting("scanner.min_length", int, 4, "Shortest fast run of keys taken as a scan; shorter runs are typing.",
            minimum=1, maximum=64),
    Setting("scanner.late_key_ms", int, 150, "Once a run of keys is clearly a scan, how late a key may still "
            "come and belong to it, in milliseconds (a busy machine delivers keys late).", minimum=0, maximum=1000),
    Setting("scanner.prefix", str, "", "Characters the scanner sends before every code, if it is set up to send any."),
    Setting("scanner.suffix", str, "enter", "Key the scanner sends after every code.", choices=("enter", "tab", "none")),
    Setting("scanner.gs_substitute", str, "", "Character the scanner sends instead of the GS1 group separator, "
            "e.g. '|'; empty when it sends GS itself."),
    Setting("picking.location_scan_required", bool, True, "Pickers scan the location label before the product."),
    Setting("picking.claim_ahead", int, 0, "Extra pick batches claimed in advance, for areas without network.",
            minimum=0, maximum=5),
    Setting("packing.auto_close", bool, True, "Scanning the last unit of an order closes its parcel (once it is "
            "weighed)."),
    Setting("packing.weight_gate", str, "warn", "A parcel that weighs more or less than its items and box should: "
            "'off' records the weight only, 'warn' tells the packer, 'block' keeps it from closing.",
            choices=("off", "warn", "block")),
    Setting("packing.weight_tolerance_pct", float, 10.0, "How far a parcel's weight may be from what it should "
            "weigh, in percent of it.", minimum=0.0, maximum=100.0),
    Setting("packing.weight_tolerance_g", int, 50, "The smallest tolerance in grams, for light parcels.",
            minimum=0, maximum=5000),
    Setting("scale.port", str, "", "Serial port of the bench's scale, best its stable name (e.g. "
            "/dev/serial/by-id/... or COM3); empty: no scale, the packer types the weight; 'simulated' for a demo "
            "scale.", restart=True),
    Setting("scale.protocol", str, "mt-sics", "What the scale speaks.",
            choices=("mt-sics", "toledo-8217", "and-continuous", "plain-continuous"), restart=True),
    Setting("scale.baud", int, 9600, "Speed of the scale's serial line.", minimum=1200, maximum=115200,
            restart=True),
    Setting("scale.unit", str, "kg", "Unit the scale sends (protocols whose replies do not name it).",
            choices=("g", "kg", "lb", "oz"), restart=True),
    Setting("printer.label", str, "", "Label printer of this station: tcp://host:9100 (a network thermal "
            "printer), cups:QUEUE (a print queue, sent raw) or folder:/path (each label a file); empty: no printer, "
            "labels wait in the spool.", restart=True),
    Setting("sounds.enabled", bool, True, "Play the accept, reject and done sounds."),
    Setting("sounds.volume", float, 0.8, "Volume of the feedback sounds, from 0 to 1.", minimum=0.0, maximum=1.0),
    Setting("feedback.flash_ms", int, 600, "How long the colour flash after a scan lasts, in milliseconds.",
            minimum=100, maximum=3000),
    Setting("log_level", str, "info", "Least important kind of message written to the log.",
            choices=("debug", "info", "warning", "error"), restart=True),
    Setting("log_dir", str, "", "Folder of the log files; empty means the platform's log folder.", restart=True),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
DEFAULT = "default"
COMMAND_LINE = "command line"


class SettingError(ValueError):
    """A setting that cannot be saved: unknown name, bad value, or a user file that cannot be updated."""


class SettingLocked(SettingError):
    """The machine config locks this setting, so the user cannot change it."""


@dataclass(frozen=True)
class Value:
    """The effective value of one setting, where it came from, and what a lock made the loader ignore."""

    setting: Setting
    value: object
    # "default", "machine config (<path>)", "user config (<path>)", "environment (FLOORHAND_X)" or "command line"
    source: str
    locked: bool = False
    overridden: tuple[str, ...] = ()  # sources ignored because the machine config locks the key


def machine_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the installer or IT puts the machine config on this platform."""
    environ = os.environ if environ is None else environ
    if environ.get("FLOORHAND_MACHINE_CONFIG"):
        return Path(environ["FLOORHAND_MACHINE_CONFIG"])
    if sys.platform == "win32":
        return Path(environ.get("ProgramData", r"C:\ProgramData"), "Floorhand", "config.toml")
    if sys.platform == "darwin":
        return Path("/Library/Application Support/Floorhand/config.toml")
    return Path("/etc/floorhand/config.toml")


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The signed-in OS user's own config file."""
    environ = os.environ if environ is None else environ
    if environ.get("FLOORHAND_USER_CONFIG"):
        return Path(environ["FLOORHAND_USER_CONFIG"])
    return Path(platformdirs.user_config_dir("floorhand", appauthor=False), "config.toml")


def coerce(setting: Setting, raw: object, *, from_text: bool) -> object:
    """`raw` as a valid value of `setting`; strings are parsed when from_text. ValueError says why not."""
    if from_text and isinstance(raw, str) and setting.kind is not str:
        value = _parse_text(setting.kind, raw.strip())
    else:
        value = _check_type(setting.kind, raw)
    if setting.choices is not None and value not in setting.choices:
        raise ValueError(f"is not one of {', '.join(setting.choices)}")
    if setting.minimum is not None and value < setting.minimum:  # type: ignore[operator]
        raise ValueError(f"is below the minimum of {setting.minimum}")
    if setting.maximum is not None and value > setting.maximum:  # type: ignore[operator]
        raise ValueError(f"is above the maximum of {setting.maximum}")
    return value


def _parse_text(kind: type, text: str) -> object:
    if kind is bool:
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ValueError("is not true or false (true/false, yes/no, 1/0, on/off)")
    try:
        value = kind(text)
    except ValueError:
        raise ValueError("is not a whole number" if kind is int else "is not a number") from None
    return _check_type(kind, value)


def _check_type(kind: type, value: object) -> object:
    # bool is an int subclass in Python, but `true` is no answer to "how many milliseconds".
    if kind is bool and isinstance(value, bool) or kind is str and isinstance(value, str):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError("is not a finite number")
        return float(value)
    reasons = {bool: "is not true or false", int: "is not a whole number", float: "is not a number", str: "is not text"}
    raise ValueError(reasons[kind])


@dataclass(frozen=True)
class _Entry:
    name: str
    raw: object
    source: str  # as in Value.source
    subject: str  # how a problem message names it: "<path>: name", "FLOORHAND_X", "command line: name"
    from_text: bool


class Settings:
    """The effective settings of this run: each value with its source, plus what could not be used."""

    def __init__(self, values: dict[str, Value], problems: list[str], *, machine_path: Path, user_path: Path,
                 environ: Mapping[str, str] | None, overrides: Mapping[str, object] | None) -> None:
        self._values = values
        self.problems = problems
        self.machine_path = machine_path
        self.user_path = user_path
        self._environ = environ
        self._overrides = overrides

    @classmethod
    def load(cls, *, machine_path: Path | None = None, user_path: Path | None = None,
             environ: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None,
             log_problems: bool = True) -> "Settings":
        """Read every source in order of precedence; never raises for bad content, see `problems`.

        log_problems=False leaves the problems out of the log, for a first read made before
        the log is set up (its only purpose is to find the log) and for commands that print them.
        """
        env = os.environ if environ is None else environ
        machine_path = machine_path or machine_config_path(env)
        user_path = user_path or user_config_path(env)
        problems: list[str] = []
        machine, locked = _read_file(machine_path, "machine config", problems, may_lock=True)
        user, _ = _read_file(user_path, "user config", problems, may_lock=False)
        layers = [machine, user, list(_environment(env)), list(_command_line(overrides or {}, problems))]
        chosen = {s.name: (s.default, DEFAULT) for s in SETTINGS}
        ignored: dict[str, list[str]] = {s.name: [] for s in SETTINGS}
        bad: list[tuple[str, str]] = []  # (name, what was wrong); the message also says what is used instead
        for layer in layers:
            for entry in layer:
                if entry.name in locked and layer is not machine:
                    ignored[entry.name].append(entry.source)
                    continue
                try:
                    chosen[entry.name] = (coerce(_BY_NAME[entry.name], entry.raw, from_text=entry.from_text),
                                          entry.source)
                except ValueError as reason:
                    bad.append((entry.name, f"{entry.subject} = {_shown(entry.raw)} {reason}"))
        values = {s.name: Value(s, *chosen[s.name], s.name in locked, tuple(ignored[s.name])) for s in SETTINGS}
        for name, wrong in bad:
            value, source = chosen[name]
            problems.append(f"{wrong}; using {_shown(value)} from {'defaults' if source == DEFAULT else source}")
        for problem in problems if log_problems else ():
            log.warning("setting not used: %s", problem)
        return cls(values, problems, machine_path=machine_path, user_path=user_path, environ=environ,
                   overrides=overrides)

    def __getitem__(self, name: str) -> object:
        return self._values[name].value

    def value(self, name: str) -> Value:
        """The effective value of `name` with its source; KeyError for undeclared names."""
        return self._values[name]

    def values(self) -> list[Value]:
        """Every setting's effective value, in declaration order."""
        return [self._values[s.name] for s in SETTINGS]

    def locked(self, name: str) -> bool:
        """Whether the machine config locks `name`."""
        return self._values[name].locked

    def origin(self, name: str) -> str:
        """Where the effective value of `name` came from, with the lock and what it made the loader ignore."""
        value = self._values[name]
        if not value.locked:
            return value.source
        where = "locked by the machine config" if value.source == DEFAULT else "locked"
        ignored = f"; ignored: {', '.join(value.overridden)}" if value.overridden else ""
        return f"{value.source}, {where}{ignored}"

    def save_user(self, changes: Mapping[str, object]) -> "Settings":
        """Write `changes` (None removes a key) into the user config and return the settings read afresh.

        Raises SettingLocked for keys the machine config locks (checked against the machine
        config as it is now, not as it was at start) and SettingError for unknown names, bad
        values, or a user file that cannot be parsed and would be lost by overwriting it.
        """
        current = self._reload()
        checked: dict[str, object] = {}
        for name, raw in changes.items():
            if name not in _BY_NAME:
                raise SettingError(f"there is no setting called {name!r}")
            if current.locked(name):
                raise SettingLocked(f"{name} is set by your IT department in {self.machine_path}; "
                                    "it cannot be changed here")
            try:
                checked[name] = None if raw is None else coerce(_BY_NAME[name], raw, from_text=True)
            except ValueError as reason:
                raise SettingError(f"{name} = {_shown(raw)} {reason}") from None
        document = _read_document(self.user_path)
        for name, value in checked.items():
            _put(document, name, value)
        _write_atomically(self.user_path, document)
        return self._reload()

    def _reload(self) -> "Settings":
        return Settings.load(machine_path=self.machine_path, user_path=self.user_path, environ=self._environ,
                             overrides=self._overrides)


def _read_file(path: Path, kind: str, problems: list[str], *, may_lock: bool) -> tuple[list[_Entry], set[str]]:
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        return [], set()
    except (OSError, ValueError) as error:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        problems.append(f"{path}: cannot be read ({error}); ignoring this file")
        return [], set()
    locked: set[str] = set()
    if "locked" in document:
        names = document.pop("locked")
        if not may_lock:
            problems.append(f"{path}: only the machine config can lock settings; 'locked' is ignored here")
        elif not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            problems.append(f"{path}: locked = {names!r} is not a list of setting names; nothing is locked")
        else:
            locked = {name for name in names if name in _BY_NAME}
            problems.extend(f"{path}: locked names unknown setting {name!r}{_did_you_mean(name)}"
                            for name in names if name not in _BY_NAME)
    entries = []
    for name, raw in _flatten(document):
        if name in _BY_NAME:
            entries.append(_Entry(name, raw, f"{kind} ({path})", f"{path}: {name}", from_text=False))
        else:
            problems.append(f"{path}: unknown setting {name!r}{_did_you_mean(name)}; ignored")
    return entries, locked


def _flatten(table: Mapping[str, object], prefix: str = "") -> Iterator[tuple[str, object]]:
    for key, value in table.items():
        name = prefix + key
        if isinstance(value, dict) and name not in _BY_NAME:
            yield from _flatten(value, name + ".")
        else:
            yield name, value


def _shown(value: object) -> str:
    # As written in TOML for true/false, so the message matches what people typed in the file.
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _did_you_mean(name: str) -> str:
    # A high cutoff: only near-misses ("sound.volume") get a suggestion, not every key in the same group.
    close = difflib.get_close_matches(name, _BY_NAME, n=1, cutoff=0.8)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _environment(environ: Mapping[str, str]) -> Iterator[_Entry]:
    for setting in SETTINGS:
        text = environ.get(setting.env_name)
        if text:
            yield _Entry(setting.name, text, f"environment ({setting.env_name})", setting.env_name, from_text=True)


def _command_line(overrides: Mapping[str, object], problems: list[str]) -> Iterator[_Entry]:
    for name, raw in overrides.items():
        if name not in _BY_NAME:
            problems.append(f"{COMMAND_LINE}: unknown setting {name!r}{_did_you_mean(name)}; ignored")
        elif raw is not None:  # None: the option was not given
            yield _Entry(name, raw, COMMAND_LINE, f"{COMMAND_LINE}: {name}", from_text=True)


def _read_document(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        # Overwriting a file we cannot parse would throw away whatever the person wrote in it.
        raise SettingError(f"{path} cannot be read ({error}); fix or remove it before saving") from None


def _put(document: dict[str, object], name: str, value: object) -> None:
    *tables, key = name.split(".")
    if tables:
        document.pop(name, None)  # a quoted dotted key from a hand-edited file; the nested table replaces it
    table = document
    for part in tables:
        table = table.setdefault(part, {})  # type: ignore[assignment]
        if not isinstance(table, dict):
            raise SettingError(f"cannot save {name}: {part} in the user config is not a table")
    if value is None:
        table.pop(key, None)
    else:
        table[key] = value


def _write_atomically(path: Path, document: dict[str, object]) -> None:
    # A temporary file in the same folder and os.replace: a crash leaves the old file or the new one, never half.
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            tomli_w.dump(document, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
