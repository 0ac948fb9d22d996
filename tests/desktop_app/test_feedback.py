"""Tests of desktop_app/feedback.py: the generated sounds, which sound each verdict plays, the flash."""

import itertools
import logging
import struct
import wave

import pytest
from PySide6.QtCore import Qt, QtMsgType

from desktop_app import feedback as fb
from desktop_app.feedback import Feedback, FlashBanner, ensure_sounds

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


class RecordingPlayer:
    """Stands in for QSoundEffect: records which file was played, at what volume."""

    def __init__(self, path, played):
        self.path = path
        self.volume = None
        self.stopped = False
        self._played = played

    def setVolume(self, volume):
        self.volume = volume

    def isPlaying(self):
        return bool(self._played) and self._played[-1] == self.path and not self.stopped

    def stop(self):
        self.stopped = True

    def play(self):
        self.stopped = False
        self._played.append(self.path)


@pytest.fixture
def played():
    return []


@pytest.fixture
def players(played):
    made = {}

    def factory(path):
        made[path] = RecordingPlayer(path, played)
        return made[path]

    factory.made = made
    return factory


@pytest.fixture
def banner(qtbot):
    widget = FlashBanner()
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def feedback(banner, players, tmp_path):
    return Feedback(banner, sound_folder=tmp_path, player_factory=players, flash_ms=50)


def _frames(path):
    with wave.open(str(path), "rb") as wav:
        return wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.readframes(wav.getnframes())


def test_sounds_are_short_distinct_mono_wavs(tmp_path):
    sounds = ensure_sounds(tmp_path)

    assert set(sounds) == {"accept", "reject", "overscan", "done"}
    durations = {}
    for kind, path in sounds.items():
        assert path.parent == tmp_path and f"-v{fb.SOUND_VERSION}" in path.name
        channels, width, rate, frames = _frames(path)
        assert (channels, width, rate) == (1, 2, 44_100)
        samples = struct.unpack(f"<{len(frames) // 2}h", frames)
        assert max(abs(s) for s in samples) > 10_000, "loud enough to hear on the floor"
        # Faded in and out: no click at either end.
        assert abs(samples[0]) < 200 and abs(samples[-1]) < 200
        durations[kind] = len(samples) / rate
    assert 0.10 <= durations["accept"] <= 0.15
    assert 0.30 <= durations["reject"] <= 0.45
    assert 0.40 <= durations["done"] <= 0.50
    assert 0.40 <= durations["overscan"] <= 0.45
    for a, b in itertools.combinations(sounds.values(), 2):
        assert _frames(a)[3] != _frames(b)[3]


def test_sounds_are_written_only_when_missing(tmp_path):
    first = ensure_sounds(tmp_path)
    mtimes = {kind: path.stat().st_mtime_ns for kind, path in first.items()}
    first["reject"].unlink()

    second = ensure_sounds(tmp_path)

    assert second == first
    assert second["reject"].exists()
    assert second["accept"].stat().st_mtime_ns == mtimes["accept"]
    assert second["done"].stat().st_mtime_ns == mtimes["done"]


def test_new_generator_version_replaces_old_files(tmp_path, monkeypatch):
    old = ensure_sounds(tmp_path)
    monkeypatch.setattr(fb, "SOUND_VERSION", fb.SOUND_VERSION + 1)

    new = ensure_sounds(tmp_path)

    assert all(path.exists() for path in new.values())
    assert not any(path.exists() for path in old.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in new.values())


def test_reject_flashes_red_with_the_message_and_plays_the_reject_sound(qtbot, feedback, banner, played, tmp_path):
    with qtbot.waitSignal(feedback.shown) as signal:
        feedback.reject("Wrong product: 4006381333931")

    assert signal.args == ["reject", "Wrong product: 4006381333931"]
    assert banner.kind == "reject"
    assert banner.text() == "Wrong product: 4006381333931"
    assert banner.background == "#c62828"
    assert played == [ensure_sounds(tmp_path)["reject"]]


@pytest.mark.parametrize(("kind", "colour"), [("accept", "#1b8a3a"), ("done", "#1565c0")])
def test_accept_and_done_play_their_own_sound(feedback, banner, played, tmp_path, kind, colour):
    getattr(feedback, kind)("ok")

    assert (banner.kind, banner.background) == (kind, colour)
    assert played == [ensure_sounds(tmp_path)[kind]]


def test_info_is_neutral_and_silent(feedback, banner, played):
    feedback.show("info", "Scan the tote")

    assert (banner.kind, banner.background, banner.text()) == ("info", "#424242", "Scan the tote")
    assert played == []


def test_unknown_kind_is_refused(feedback):
    with pytest.raises(ValueError, match="unknown feedback kind"):
        feedback.show("warning", "?")


def test_a_new_verdict_cuts_off_the_sound_still_playing(feedback, players, played, tmp_path):
    sounds = ensure_sounds(tmp_path)
    feedback.accept("ok")
    feedback.reject("Wrong product")

    assert played == [sounds["accept"], sounds["reject"]]
    assert players.made[sounds["accept"]].stopped
    assert not players.made[sounds["reject"]].stopped


def test_muted_flashes_without_sound_and_unmuting_brings_it_back(feedback, banner, played, tmp_path):
    feedback.configure(sounds_enabled=False)
    feedback.reject("Wrong tote")

    assert (banner.kind, banner.text()) == ("reject", "Wrong tote")
    assert played == []

    feedback.configure(sounds_enabled=True)
    feedback.accept("Right tote")
    assert played == [ensure_sounds(tmp_path)["accept"]]


def test_volume_reaches_every_player_and_is_clamped(feedback, players):
    feedback.configure(volume=0.3)
    assert {p.volume for p in players.made.values()} == {0.3}

    feedback.configure(volume=1.7)
    assert feedback.volume == 1.0
    assert {p.volume for p in players.made.values()} == {1.0}


def test_flash_settles_to_a_calm_tint_after_flash_ms(qtbot, feedback, banner):
    feedback.reject("Location empty")
    assert not banner.settled

    qtbot.waitUntil(lambda: banner.settled, timeout=2000)
    assert banner.kind == "reject"
    assert banner.background == "#fbe4e4"
    assert banner.text() == "Location empty"


def test_zero_flash_ms_shows_the_calm_tint_at_once(feedback, banner):
    feedback.configure(flash_ms=0)
    feedback.accept("ok")

    assert banner.settled and banner.background == "#dff3e4"


def test_banner_never_takes_focus_and_shows_markup_as_text(qtbot, banner):
    assert banner.focusPolicy() == Qt.FocusPolicy.NoFocus
    assert banner.accessibleName() == "Scan feedback"
    assert banner.textFormat() == Qt.TextFormat.PlainText


def test_banner_text_scales(banner):
    banner.resize(1200, banner.height())
    banner.set_scale(1.0)
    base = banner.pixel_size
    short_height = banner.height()
    banner.set_scale(2.0)

    assert base >= 28
    assert banner.pixel_size == 2 * base
    assert banner.height() > short_height
    assert banner.text_font().bold() and banner.text_font().pixelSize() == banner.pixel_size


def test_a_long_message_is_set_smaller_in_the_same_height(banner):
    banner.resize(480, banner.height())
    height = banner.height()
    banner.flash("reject", "Wrong", 0)
    big = banner.pixel_size
    banner.flash("reject", "Wrong product: scanned 4006381333931, pick Tidewater Suede Desert Boots, "
                           "Dark Brown, 40 (4324808000229)", 0)

    assert banner.height() == height
    assert banner.pixel_size < big


def test_a_failing_player_costs_the_sound_not_the_flash(qtbot, banner, tmp_path, caplog):
    class Broken(RecordingPlayer):
        def play(self):
            raise RuntimeError("device gone")

    feedback = Feedback(banner, sound_folder=tmp_path, player_factory=lambda path: Broken(path, []))
    with caplog.at_level(logging.INFO, logger="desktop_app.feedback"):
        feedback.reject("x")
        feedback.reject("y")

    assert banner.text() == "y"
    assert [r.getMessage() for r in caplog.records].count("Cannot play the reject sound; it stays off") == 1


def test_unwritable_sound_folder_leaves_the_flash_working(banner, tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")

    with caplog.at_level(logging.INFO, logger="desktop_app.feedback"):
        feedback = Feedback(banner, sound_folder=blocked / "sounds")
        feedback.accept("ok")

    assert banner.kind == "accept"
    assert any("cannot write the sound files" in r.getMessage() for r in caplog.records)


def test_without_an_audio_device_feedback_flashes_and_logs_why(qtbot, qtlog, banner, tmp_path, caplog, monkeypatch):
    # Point PulseAudio at nothing so this means the same on a workstation with speakers.
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-such-socket")

    with caplog.at_level(logging.INFO, logger="desktop_app.feedback"):
        feedback = Feedback(banner, sound_folder=tmp_path)
        with qtbot.waitSignal(feedback.shown):
            feedback.reject("Wrong product")

    assert (banner.kind, banner.text()) == ("reject", "Wrong product")
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(infos) == 1 and infos[0].startswith("Scan sounds are off: no audio output device")
    assert not [r for r in qtlog.records if r.type in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg)]
