"""Tests for peripherals.scale on real tty pairs: a thread plays the scale on the master side."""

import dataclasses
import os

import pytest

from peripherals.scale import SerialScale
from peripherals.scale_protocols import MT_SICS, PLAIN_CONTINUOUS, TOLEDO_8217
from peripherals.scale_reading import ScaleState
from peripherals.simulated_scale import SimulatedScale
from tests.peripherals.wired_scale import MtSicsScale, OnChangeScale, PlainStreamingScale, Toledo8217Scale, WiredScale

FAST_MT_SICS = dataclasses.replace(MT_SICS, poll_s=0.05)


@pytest.fixture
def port_path(tmp_path):
    """A stable path, like /dev/serial/by-id/..., that the test points at a tty of its choosing."""
    path = tmp_path / "usb-Bench_Scale-if00"
    scales: list[WiredScale] = []

    def plug(scale: WiredScale) -> WiredScale:
        link = tmp_path / "link.new"
        link.symlink_to(scale.name)
        os.replace(link, path)
        scales.append(scale)
        return scale

    plug.path = str(path)
    yield plug
    for scale in scales:
        if scale._thread.is_alive():
            scale.unplug()


@pytest.fixture
def reader(port_path):
    """Factory of SerialScales on the stable path, recording what they announce; stopped at the end."""
    readers: list[SerialScale] = []

    def make(protocol=FAST_MT_SICS, silent_after_s=1.0) -> SerialScale:
        scale = SerialScale(port_path.path, protocol, retry_s=0.1, silent_after_s=silent_after_s)
        scale.seen = []  # (grams, stable, last_stable as it was then)
        scale.states = []
        scale.weighed.connect(lambda grams, stable: scale.seen.append((grams, stable, scale.last_stable)))
        scale.state_changed.connect(scale.states.append)
        readers.append(scale)
        return scale

    yield make
    for scale in readers:
        scale.stop()


def test_an_mt_sics_scale_reports_moving_then_stable_weight(qtbot, port_path, reader):
    wired = port_path(MtSicsScale())
    wired.place(1234)
    scale = reader()
    scale.start()
    qtbot.waitUntil(lambda: (1234, True, 1234) in scale.seen)
    assert scale.seen[0] == (1234, False, None)  # moving: no stable weight to take yet
    assert scale.states == [ScaleState.CONNECTED]
    assert scale.last_stable == 1234
    assert wired.received[0] == b"SI"


def test_tare_and_zero_go_to_the_scale_and_the_net_weight_follows(qtbot, port_path, reader):
    wired = port_path(MtSicsScale(grams=300))
    scale = reader()
    scale.start()
    qtbot.waitUntil(lambda: scale.last_stable == 300)
    assert scale.tare()
    qtbot.waitUntil(lambda: scale.last_stable == 0)
    assert b"T" in wired.received
    wired.place(1300)
    qtbot.waitUntil(lambda: scale.last_stable == 1000)
    assert scale.zero()
    qtbot.waitUntil(lambda: scale.last_stable == 0)
    assert b"Z" in wired.received


def test_an_unplugged_scale_is_disconnected_and_read_again_once_plugged_back(qtbot, port_path, reader):
    first = port_path(MtSicsScale(grams=700))
    scale = reader()
    scale.start()
    qtbot.waitUntil(lambda: scale.last_stable == 700)
    with qtbot.waitSignal(scale.state_changed, check_params_cb=lambda state: state is ScaleState.DISCONNECTED):
        first.unplug()
    assert scale.last_stable is None

    with qtbot.waitSignal(scale.state_changed, check_params_cb=lambda state: state is ScaleState.CONNECTED):
        port_path(MtSicsScale(grams=950))  # a new tty behind the same stable path
    qtbot.waitUntil(lambda: scale.last_stable == 950)
    assert scale.states[0] == ScaleState.CONNECTED and ScaleState.DISCONNECTED in scale.states


def test_a_missing_scale_is_not_found_until_it_appears(qtbot, port_path, reader):
    scale = reader()
    with qtbot.waitSignal(scale.state_changed, check_params_cb=lambda state: state is ScaleState.NOT_FOUND):
        scale.start()
    assert not scale.tare()  # nothing to send it to
    port_path(MtSicsScale(grams=120))
    qtbot.waitUntil(lambda: scale.last_stable == 120)
    assert scale.state is ScaleState.CONNECTED


def test_an_overloaded_scale_says_so_and_offers_no_weight(qtbot, port_path, reader):
    wired = port_path(MtSicsScale(grams=400))
    scale = reader()
    scale.start()
    qtbot.waitUntil(lambda: scale.last_stable == 400)
    wired.fixed_answer = b"S +\r\n"
    qtbot.waitUntil(lambda: scale.state is ScaleState.OVERLOAD)
    assert scale.last_stable is None
    wired.fixed_answer = None
    qtbot.waitUntil(lambda: scale.last_stable == 400)
    assert scale.state is ScaleState.CONNECTED


def test_a_scale_that_sends_nothing_understood_has_no_reading(qtbot, port_path, reader):
    wired = port_path(MtSicsScale())
    wired.fixed_answer = b"\x15\x7f noise\r\n"  # a wrong baud rate looks like this
    scale = reader()
    with qtbot.waitSignal(scale.state_changed, check_params_cb=lambda state: state is ScaleState.NO_READING):
        scale.start()
    assert scale.seen == []


def test_a_silent_scale_has_no_reading_and_is_opened_again(qtbot, port_path, reader):
    wired = port_path(WiredScale())  # answers nothing
    scale = reader()
    with qtbot.waitSignal(scale.state_changed, check_params_cb=lambda state: state is ScaleState.NO_READING):
        scale.start()
    qtbot.waitUntil(lambda: wired.received.count(b"SI") > 30)  # still polling after reopening
    assert scale.states == [ScaleState.NO_READING]


def test_a_plain_scale_is_stable_after_the_same_weight_for_half_a_second(qtbot, port_path, reader):
    wired = port_path(PlainStreamingScale(grams=2000))
    scale = reader(PLAIN_CONTINUOUS)
    scale.start()
    qtbot.waitUntil(lambda: (2000, True, 2000) in scale.seen)
    assert scale.seen[0] == (2000, False, None)
    wired.grams = 2500
    qtbot.waitUntil(lambda: (2500, True, 2500) in scale.seen)
    assert (2500, False, 2000) in scale.seen  # moving again: the last stable weight is the previous one
    assert scale.seen.index((2500, False, 2000)) < scale.seen.index((2500, True, 2500))


def test_a_weight_sent_once_becomes_stable_without_another_line(qtbot, port_path, reader):
    wired = port_path(OnChangeScale(grams=640))
    scale = reader(PLAIN_CONTINUOUS, silent_after_s=None)
    scale.start()
    qtbot.waitUntil(lambda: (640, True, 640) in scale.seen)
    assert scale.seen == [(640, False, None), (640, True, 640)]
    assert wired.received == []  # a streaming scale is never asked
    wired.grams = 710
    qtbot.waitUntil(lambda: (710, True, 710) in scale.seen)
    assert scale.states == [ScaleState.CONNECTED]


def test_a_toledo_8217_scale_in_motion_gives_no_stable_weight(qtbot, port_path, reader):
    wired = port_path(Toledo8217Scale())
    wired.place(1500)
    scale = reader(dataclasses.replace(TOLEDO_8217, poll_s=0.05))
    scale.start()
    qtbot.waitUntil(lambda: (1500, True, 1500) in scale.seen)
    assert scale.seen == [(1500, True, 1500)]  # motion answers carry no weight to show
    wired.place(0)
    qtbot.waitUntil(lambda: (0, True, 0) in scale.seen)
    assert scale.seen[1:] == [(1500, False, 1500), (0, True, 0)]  # moving again: the parcel is coming off
    wired.status = b"B"  # 0x42: over capacity
    qtbot.waitUntil(lambda: scale.state is ScaleState.OVERLOAD)
    assert scale.last_stable is None
    asked = len(wired.received)
    assert scale.tare() and scale.zero()
    qtbot.waitUntil(lambda: [c for c in wired.received[asked:] if c != b"W"] == [b"T", b"Z"])


def test_a_simulated_scale_settles_then_lifts_to_zero(qtbot):
    scale = SimulatedScale(settle_s=0.05)
    seen = []
    scale.weighed.connect(lambda grams, stable: seen.append((grams, stable)))
    scale.start()
    assert scale.state is ScaleState.CONNECTED and seen == [(0, True)]
    with qtbot.waitSignal(scale.weighed, check_params_cb=lambda grams, stable: stable):
        scale.place(1800)
    assert seen[-2:] == [(1800, False), (1800, True)] and scale.last_stable == 1800
    assert scale.tare()
    assert seen[-1] == (0, True)
    with qtbot.waitSignal(scale.weighed, check_params_cb=lambda grams, stable: stable):
        scale.lift()
    assert seen[-2:] == [(-1800, False), (-1800, True)]
    scale.stop()
    assert scale.state is ScaleState.STOPPED and scale.last_stable is None and not scale.tare()
