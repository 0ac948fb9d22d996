"""Tests for peripherals.scale_reading: when a reading counts as stable, with a clock the test moves."""

from peripherals.scale_protocols import LineKind, ScaleLine
from peripherals.scale_reading import STEADY_FOR_S, StableWeight, Weighing


class FakeClock:
    """Seconds that the test advances by hand, so no test waits for real time to pass."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def plain(grams):
    return ScaleLine(LineKind.WEIGHT, grams, None)


def test_the_scale_stable_flag_decides_when_the_protocol_has_one():
    judge = StableWeight(FakeClock())
    assert judge.judge(ScaleLine(LineKind.WEIGHT, 1200, False)) == Weighing(1200, False)
    assert judge.judge(ScaleLine(LineKind.WEIGHT, 1200, True)) == Weighing(1200, True)
    assert judge.judge(ScaleLine(LineKind.WEIGHT, 1250, True)) == Weighing(1250, True)
    assert judge.settles_in() is None


def test_without_a_flag_the_same_weight_for_half_a_second_is_stable():
    clock = FakeClock()
    judge = StableWeight(clock)
    assert judge.judge(plain(1200)) == Weighing(1200, False)
    clock.now += STEADY_FOR_S / 2
    assert judge.judge(plain(1200)) == Weighing(1200, False)
    assert judge.settles_in() == STEADY_FOR_S / 2
    clock.now += STEADY_FOR_S / 2
    assert judge.judge(plain(1200)) == Weighing(1200, True)
    assert judge.settles_in() == 0.0


def test_a_change_of_one_gram_starts_the_wait_again():
    clock = FakeClock()
    judge = StableWeight(clock)
    judge.judge(plain(1200))
    clock.now += 0.375
    assert judge.judge(plain(1201)) == Weighing(1201, False)
    clock.now += 0.375
    assert judge.judge(plain(1201)) == Weighing(1201, False)
    clock.now += 0.125
    assert judge.judge(plain(1201)) == Weighing(1201, True)


def test_a_weight_sent_only_once_settles_when_rechecked():
    clock = FakeClock()
    judge = StableWeight(clock)
    judge.judge(plain(800))
    assert judge.recheck() == Weighing(800, False)
    clock.now += STEADY_FOR_S
    assert judge.recheck() == Weighing(800, True)


def test_a_line_that_is_no_weight_restarts_the_wait():
    clock = FakeClock()
    judge = StableWeight(clock)
    judge.judge(plain(500))
    clock.now += 0.4
    assert judge.judge(ScaleLine(LineKind.OVERLOAD)) is None
    assert judge.recheck() is None
    clock.now += 0.2
    assert judge.judge(plain(500)) == Weighing(500, False)


def test_the_wait_is_a_setting_of_the_judge():
    clock = FakeClock()
    judge = StableWeight(clock, steady_for_s=2.0)
    judge.judge(plain(10))
    clock.now += 1.0
    assert judge.judge(plain(10)) == Weighing(10, False)
    clock.now += 1.0
    assert judge.judge(plain(10)) == Weighing(10, True)
