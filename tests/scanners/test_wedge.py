"""Tests for scanners.wedge: scanner bursts versus human typing, on synthetic timestamps."""

from scanners.wedge import Scanned, Typed, WedgeDetector, WedgeSettings


def type_keys(detector, text, start_ms, gap_ms):
    """Feed text one char every gap_ms; returns all outcomes and the time of the last key."""
    out = []
    at = start_ms
    for index, char in enumerate(text):
        at = start_ms + index * gap_ms
        out += detector.feed(char, at, payload=index)
    return out, at


def test_scanner_speed_with_enter_is_a_scan():
    detector = WedgeDetector()
    out, _ = type_keys(detector, "4006381333931\r", 0, 8)
    assert out == [Scanned("4006381333931", list(range(14)))]
    assert not detector.holding


def test_scanner_speed_with_varying_gaps_and_tab_suffix():
    detector = WedgeDetector()
    out = []
    for at, char in zip([0, 5, 20, 27, 42, 50], "T-001\t"):
        out += detector.feed(char, at)
    assert [o.text for o in out] == ["T-001"]


def test_burst_without_suffix_ends_on_pause():
    detector = WedgeDetector()
    out, _ = type_keys(detector, "U0001", 0, 10)
    assert out == []
    assert detector.holding and detector.wait_ms == 150  # a late key would still belong to it
    assert detector.pause() == [Scanned("U0001", [0, 1, 2, 3, 4])]


def test_scanners_without_a_suffix_end_on_the_short_pause():
    detector = WedgeDetector(WedgeSettings(suffixes=()))
    out, _ = type_keys(detector, "U0001", 0, 10)
    assert out == [] and detector.wait_ms == 50
    assert detector.pause() == [Scanned("U0001", [0, 1, 2, 3, 4])]


def test_burst_without_suffix_is_typing_when_end_on_pause_is_off():
    detector = WedgeDetector(WedgeSettings(end_on_pause=False))
    type_keys(detector, "U0001", 0, 10)
    assert detector.pause() == [Typed("U0001", [0, 1, 2, 3, 4])]


def test_human_typing_is_let_through_key_by_key():
    detector = WedgeDetector()
    out, last = type_keys(detector, "hello\r", 0, 150)
    out += detector.pause()
    assert "".join(o.text for o in out) == "hello\r"
    assert all(isinstance(o, Typed) for o in out)


def test_fast_human_rollover_below_minimum_length_is_typing():
    detector = WedgeDetector()
    out, _ = type_keys(detector, "ab", 0, 20)
    out += detector.feed("\r", 40)
    assert out == [Typed("ab\r", [0, 1, None])]


def test_enter_alone_is_typing_at_once():
    assert WedgeDetector().feed("\r", 0) == [Typed("\r", [None])]


def test_person_types_then_a_scan_arrives():
    detector = WedgeDetector()
    out, last = type_keys(detector, "12", 0, 200)
    out += type_keys(detector, "A-01-03-2\r", last + 900, 6)[0]
    assert out == [Typed("1", [0]), Typed("2", [1]), Scanned("A-01-03-2", list(range(10)))]


def test_scan_then_person_types():
    detector = WedgeDetector()
    out, last = type_keys(detector, "T-0001", 0, 10)
    out += detector.feed("x", last + 300)
    out += detector.pause()
    assert out == [Scanned("T-0001", list(range(6))), Typed("x", [None])]


def test_slow_gap_inside_a_burst_splits_it():
    detector = WedgeDetector()
    out, last = type_keys(detector, "40", 0, 10)
    out += type_keys(detector, "06381\r", last + 120, 10)[0]
    assert out == [Typed("40", [0, 1]), Scanned("06381", list(range(6)))]


def test_a_scan_delivered_late_by_a_busy_machine_stays_one_scan():
    detector = WedgeDetector()
    out, last = type_keys(detector, "400638", 0, 8)  # scanner speed: the run is a scan already
    out += type_keys(detector, "1333931\r", last + 120, 8)[0]  # then the machine stalls 120 ms
    assert out == [Scanned("4006381333931", list(range(6)) + list(range(8)))]


def test_a_stall_longer_than_late_key_ms_still_splits_a_scan():
    detector = WedgeDetector(WedgeSettings(late_key_ms=100))
    out, last = type_keys(detector, "400638", 0, 8)
    assert detector.wait_ms == 100
    out += detector.pause()  # no key for 100 ms: the run ends there
    out += type_keys(detector, "1\r", last + 200, 8)[0]
    assert out == [Scanned("400638", list(range(6))), Typed("1\r", [0, 1])]


def test_people_typing_never_get_the_late_key_allowance():
    detector = WedgeDetector()
    out, _ = type_keys(detector, "anna", 0, 120)
    assert out[:3] == [Typed("a", [0]), Typed("n", [1]), Typed("n", [2])]
    assert detector.wait_ms == 50


def test_prefix_makes_a_scan_however_slow():
    detector = WedgeDetector(WedgeSettings(prefix="\x02", min_length=1))
    out, _ = type_keys(detector, "\x02T-0001\r", 0, 120)  # a slow Bluetooth scanner
    assert out == [Scanned("T-0001", list(range(8)))]


def test_prefix_mode_lets_typing_through_immediately():
    detector = WedgeDetector(WedgeSettings(prefix="##"))
    out, _ = type_keys(detector, "abcdef\r", 0, 5)  # fast, but no prefix: typing
    assert "".join(o.text for o in out) == "abcdef\r"
    assert not detector.holding


def test_partial_prefix_is_given_back():
    detector = WedgeDetector(WedgeSettings(prefix="##"))
    out, _ = type_keys(detector, "#a", 0, 100)
    assert out == [Typed("#a", [0, 1])]


def test_stalled_prefixed_burst_is_typing():
    detector = WedgeDetector(WedgeSettings(prefix="##"))
    type_keys(detector, "##12", 0, 100)
    assert detector.wait_ms == 500
    assert detector.pause() == [Typed("##12", [0, 1, 2, 3])]
