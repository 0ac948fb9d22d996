"""What the picker hears and sees once the app has judged a scan: a distinct sound, a colour flash, large text.

The scanner's own beep only means "decoded"; these tell accept, reject and batch-done apart for
someone in gloves who is not looking at the screen (ARCHITECTURE.md §5).
"""

import logging
import math
import os
import struct
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import platformdirs
from PySide6.QtCore import QObject, QRect, QSize, Qt, QtMsgType, QTimer, QUrl, Signal, qInstallMessageHandler
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from desktop_app.i18n import translate

log = logging.getLogger(__name__)

# Bump when the synthesis below changes: file names carry it, so caches regenerate.
SOUND_VERSION = 1
RATE = 44_100
# overscan: one unit too many of a right item (packing), told apart by ear from a wrong item.
KINDS = ("accept", "reject", "overscan", "done", "info")
SOUND_KINDS = ("accept", "reject", "overscan", "done")
_FADE_S = 0.005  # a few ms of ramp at every edge, otherwise the speaker clicks


def default_sound_folder() -> Path:
    """Where the app keeps its generated sounds: they are derived data, so the user cache."""
    return Path(platformdirs.user_cache_dir("floorhand", appauthor=False)) / "sounds"


def _segment(seconds: float, voice: Callable[[float], float]) -> list[float]:
    n = int(RATE * seconds)
    fade = RATE * _FADE_S
    return [voice(i / RATE) * min(1.0, i / fade, (n - 1 - i) / fade) for i in range(n)]


def _accept() -> list[float]:
    # One short bright beep: high enough to cut through conveyor noise, short enough for fast scanning.
    return _segment(0.12, lambda t: 0.8 * math.sin(2 * math.pi * 1500 * t) + 0.2 * math.sin(2 * math.pi * 3000 * t))


def _buzz(t: float, freq: float = 240.0) -> float:
    # Band-limited square wave: the odd harmonics make a low tone audible on a noisy floor
    # without the aliasing a naive square would have.
    return 0.75 * sum(math.sin(2 * math.pi * k * freq * t) / k for k in (1, 3, 5, 7, 9))


def _reject() -> list[float]:
    return _segment(0.15, _buzz) + [0.0] * int(RATE * 0.06) + _segment(0.15, _buzz)


def _done() -> list[float]:
    # Rising C6-E6-G6 chime: "finished", unmistakable from both the beep and the buzz.
    notes: list[float] = []
    for freq in (1046.5, 1318.5, 1568.0):
        notes += _segment(
            0.15,
            lambda t, f=freq: math.exp(-8 * t) * (0.8 * math.sin(2 * math.pi * f * t) + 0.2 * math.sin(4 * math.pi * f * t)),
        )
    return notes


def _overscan() -> list[float]:
    # Three fast falling warbles, high then low: "too many", where the reject's buzz says "wrong".
    notes: list[float] = []
    for _ in range(3):
        notes += _segment(0.07, lambda t: 0.8 * math.sin(2 * math.pi * 1200 * t)) + _segment(0.07, _buzz)
    return notes


_SYNTHS = {"accept": _accept, "reject": _reject, "overscan": _overscan, "done": _done}


def _write_wav(path: Path, samples: list[float]) -> None:
    pcm = struct.pack(f"<{len(samples)}h", *(round(max(-1.0, min(1.0, s)) * 0.7 * 32767) for s in samples))
    # Write aside, then rename: a crash mid-write must not leave a truncated file that looks current.
    tmp = path.with_name(f".{path.name}.tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm)
    os.replace(tmp, path)


def ensure_sounds(folder: Path | None = None) -> dict[str, Path]:
    """Write the accept / reject / done WAVs into `folder` unless this version is there already."""
    folder = default_sound_folder() if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, synth in _SYNTHS.items():
        path = folder / f"{kind}-v{SOUND_VERSION}.wav"
        if not path.exists():
            _write_wav(path, synth())
        for stale in folder.glob(f"{kind}-v*.wav"):
            if stale != path:
                stale.unlink(missing_ok=True)
        paths[kind] = path
    return paths


# kind: (flash background, flash text, settled background, settled text)
_COLOURS = {
    "accept": ("#1b8a3a", "#ffffff", "#dff3e4", "#0f5223"),
    "reject": ("#c62828", "#ffffff", "#fbe4e4", "#8e1c1c"),
    "overscan": ("#c62828", "#ffffff", "#fbe4e4", "#8e1c1c"),
    "done": ("#1565c0", "#ffffff", "#e1ecf8", "#0d3c73"),
    "info": ("#424242", "#ffffff", "#ececec", "#303030"),
}


class FlashBanner(QLabel):
    """Full-width banner with the last verdict in large text: a strong flash, then a calm tint.

    Its height is fixed (two lines of the base size), so the task below never jumps when a
    message is longer or shorter; a long message is set in a smaller type to fit instead.
    """

    BASE_PIXEL_SIZE = 28
    SMALLEST_PIXEL_SIZE = 14
    PADDING = 10

    def __init__(self, parent: QWidget | None = None, *, font_scale: float = 1.0, lines: int = 2) -> None:
        super().__init__(parent)
        self.setAccessibleName(translate("Feedback", "Scan feedback"))  # what a screen reader calls it
        # The scanner types into the focused widget: the banner must never take that focus.
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Messages can quote scanned text; a "<" in a barcode must not be read as markup.
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._lines = lines
        self._kind = "info"
        self._settled = True
        self._pixel_size = self.BASE_PIXEL_SIZE
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.timeout.connect(self._settle)
        self.set_scale(font_scale)

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def settled(self) -> bool:
        return self._settled

    @property
    def background(self) -> str:
        colours = _COLOURS[self._kind]
        return colours[2] if self._settled else colours[0]

    @property
    def pixel_size(self) -> int:
        """The type size the current message is shown in."""
        return self._pixel_size

    def set_scale(self, factor: float) -> None:
        self._base_size = max(1, round(self.BASE_PIXEL_SIZE * factor))
        font = QFont(self.font())
        font.setBold(True)
        font.setPixelSize(self._base_size)
        self.setFixedHeight(QFontMetrics(font).lineSpacing() * self._lines + 2 * self.PADDING)
        self._fit()

    def flash(self, kind: str, message: str, flash_ms: int) -> None:
        if kind not in _COLOURS:
            raise ValueError(f"unknown feedback kind {kind!r}")
        self._kind = kind
        self.setText(message)
        self._settled = flash_ms <= 0
        self._fit()
        if self._settled:
            self._settle_timer.stop()
        else:
            self._settle_timer.start(flash_ms)  # restarts: a new scan gets its full flash

    # Fixed height, any width: a long message must never widen the window (it is set smaller instead).
    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return False

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        """The height the message takes at this width in the type it is drawn in (a layout check asks)."""
        return self._text_height(self.text_font(), width) + 2 * self.PADDING

    def _text_height(self, font: QFont, width: int) -> int:
        room = QRect(0, 0, max(width - 2 * self.PADDING, 1), 100_000)
        return QFontMetrics(font).boundingRect(room, Qt.TextFlag.TextWordWrap, self.text()).height()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(0, self.height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(0, self.height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()

    def text_font(self) -> QFont:
        """The type the message is drawn in: bold, at pixel_size."""
        font = QFont(self.font())
        font.setBold(True)
        font.setPixelSize(self._pixel_size)
        return font

    def _fit(self) -> None:
        """The largest type, down to SMALLEST_PIXEL_SIZE, in which the message fits the banner."""
        height = self.height() - 2 * self.PADDING
        font = QFont(self.font())
        font.setBold(True)
        size = self._base_size
        while size > self.SMALLEST_PIXEL_SIZE:
            font.setPixelSize(size)
            if self._text_height(font, self.width()) <= height:
                break
            size -= 2
        self._pixel_size = size
        self.update()

    def _settle(self) -> None:
        self._settled = True
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        # Drawn here rather than through a style sheet: a new style sheet on every scan (colours and
        # size) re-polishes the banner, which costs the scan's verdict a millisecond or more.
        flash_bg, flash_fg, calm_bg, calm_fg = _COLOURS[self._kind]
        bg, fg = (calm_bg, calm_fg) if self._settled else (flash_bg, flash_fg)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(bg))
        painter.setPen(QColor(fg))
        painter.setFont(self.text_font())
        inner = self.rect().adjusted(self.PADDING, self.PADDING, -self.PADDING, -self.PADDING)
        painter.drawText(inner, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.text())
        painter.end()


class Player(Protocol):
    """The part of QSoundEffect that Feedback uses; tests pass a recording stand-in."""

    def setVolume(self, volume: float) -> None: ...
    def isPlaying(self) -> bool: ...
    def stop(self) -> None: ...
    def play(self) -> None: ...


PlayerFactory = Callable[[Path], Player]


@contextmanager
def _qt_messages_as_log(notes: list[str]) -> Iterator[None]:
    """Route Qt's messages to the log while the audio backend starts, keeping the warnings in `notes`.

    Without a sound server Qt Multimedia warns ("PulseAudioService: pa_context_connect() failed"),
    which for a headless till or CI box is an expected answer, not a fault.
    """

    def keep(mode: QtMsgType, context, message: str) -> None:
        log.debug("Qt audio start-up [%s]: %s", context.category, message)
        if mode in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg):
            notes.append(message)

    previous = qInstallMessageHandler(keep)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)


def _sound_effect_factory(parent: QObject) -> PlayerFactory | None:
    """QSoundEffect players on the default output, or None (logged once) when there is no output."""
    notes: list[str] = []
    with _qt_messages_as_log(notes):
        try:
            from PySide6.QtMultimedia import QMediaDevices, QSoundEffect
        except ImportError as exc:
            log.info("Scan sounds are off: Qt Multimedia is not available (%s)", exc)
            return None
        outputs = QMediaDevices.audioOutputs()
    if not outputs:
        log.info("Scan sounds are off: no audio output device (%s)", notes[-1] if notes else "none reported")
        return None

    def make(path: Path) -> Player:
        effect = QSoundEffect(parent)

        def on_status() -> None:
            if effect.status() == QSoundEffect.Status.Error:
                log.info("Cannot play sound file %s on this output", path)

        effect.statusChanged.connect(on_status)
        effect.setSource(QUrl.fromLocalFile(str(path)))
        return effect

    return make


class Feedback(QObject):
    """Tells the picker the app's verdict on a scan: a distinct sound and a flash of the banner."""

    shown = Signal(str, str)  # kind, message; after the banner is updated

    def __init__(
        self,
        banner: FlashBanner,
        *,
        sound_folder: Path | None = None,
        sounds_enabled: bool = True,
        volume: float = 0.8,
        flash_ms: int = 500,
        player_factory: PlayerFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.banner = banner
        self._sound_folder = sound_folder
        self._player_factory = player_factory
        self._players: dict[str, Player] | None = None  # None: not loaded yet
        self._sounds_enabled = sounds_enabled
        self._volume = 0.0
        self._flash_ms = flash_ms
        self.configure(volume=volume)

    @property
    def sounds_enabled(self) -> bool:
        return self._sounds_enabled

    @property
    def volume(self) -> float:
        return self._volume

    @property
    def flash_ms(self) -> int:
        return self._flash_ms

    def configure(self, sounds_enabled: bool | None = None, volume: float | None = None, flash_ms: int | None = None) -> None:
        """Apply changed settings at run time; None leaves a setting as it is."""
        if sounds_enabled is not None:
            self._sounds_enabled = sounds_enabled
        if volume is not None:
            self._volume = max(0.0, min(1.0, float(volume)))
        if flash_ms is not None:
            self._flash_ms = max(0, int(flash_ms))
        if self._sounds_enabled:
            # Load now rather than on the first scan, which would otherwise wait for the audio backend.
            for player in self._load_players().values():
                player.setVolume(self._volume)

    def accept(self, message: str) -> None:
        self.show("accept", message)

    def reject(self, message: str) -> None:
        self.show("reject", message)

    def done(self, message: str) -> None:
        self.show("done", message)

    def show(self, kind: str, message: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown feedback kind {kind!r}")
        self.banner.flash(kind, message, self._flash_ms)
        if self._sounds_enabled and kind in SOUND_KINDS:
            self._play(kind)
        self.shown.emit(kind, message)

    def _play(self, kind: str) -> None:
        player = self._load_players().get(kind)
        if player is None:
            return
        try:
            # The newest verdict is the one to hear, so cut off any sound still going. Also, on Qt 6.12
            # with PulseAudio, play() on an effect still playing (or finished but not yet reporting it)
            # leaves a dead QSocketNotifier spinning a core; stopping first avoids that.
            for other in self._players.values():
                if other.isPlaying():
                    other.stop()
            player.play()  # asynchronous in QSoundEffect: returns at once
        except Exception:
            # A broken player must not cost the picker the flash; drop it so this is logged once.
            log.info("Cannot play the %s sound; it stays off", kind, exc_info=True)
            del self._players[kind]

    def _load_players(self) -> dict[str, Player]:
        if self._players is None:
            self._players = {}
            try:
                files = ensure_sounds(self._sound_folder)
            except OSError as exc:
                log.info("Scan sounds are off: cannot write the sound files (%s)", exc)
                return self._players
            factory = self._player_factory or _sound_effect_factory(self)
            if factory is not None:
                self._players = {kind: factory(path) for kind, path in files.items()}
        return self._players
