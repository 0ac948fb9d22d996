"""The bandwidth limit's token bucket, on a clock that moves only when a taker sleeps."""

import pytest

from sync.upload.ratelimit import TokenBucket, parse_rate


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def test_bytes_over_time_stay_within_rate_and_burst():
    clock = FakeClock()
    bucket = TokenBucket(1000, burst=500, clock=clock.now, sleep=clock.sleep)
    sent_at: list[tuple[float, int]] = []
    total = 0
    for _ in range(40):
        bucket.take(100)
        total += 100
        sent_at.append((clock.now(), total))

    # At every moment no more than a burst beyond the rate has gone, and never much less.
    for t, sent in sent_at:
        assert sent <= 500 + 1000 * t + 1e-6
        assert sent >= 1000 * t - 1e-6
    assert clock.now() == pytest.approx((4000 - 500) / 1000)
    assert bucket.granted == 4000 and bucket.waited_s == pytest.approx(sum(clock.sleeps))


def test_an_idle_bucket_refills_only_up_to_its_burst():
    clock = FakeClock()
    bucket = TokenBucket(1000, burst=300, clock=clock.now, sleep=clock.sleep)
    clock.t = 100.0  # a long pause: the bucket does not hoard 100 s of traffic
    assert bucket.take(300) == 0
    assert bucket.take(200) == pytest.approx(0.2)


def test_a_body_is_paced_in_slices_and_the_limit_can_change_while_sending():
    clock = FakeClock()
    bucket = TokenBucket(64 * 1024, clock=clock.now, sleep=clock.sleep)
    body = bytes(1024 * 1024)
    pieces = []
    for i, piece in enumerate(bucket.paced(body)):
        pieces.append(bytes(piece))
        if i == 7:
            bucket.set_rate(128 * 1024)
    assert b"".join(pieces) == body and len(pieces) == 16  # 64 KiB slices: the burst of a 64 KiB/s limit
    # Half the body at 64 KiB/s, the other half at 128 KiB/s, less the first burst.
    assert clock.now() == pytest.approx(7 + 4)


@pytest.mark.parametrize(("text", "rate"), [("5M", 5 * 1024**2), ("800k", 800 * 1024), ("1.5G", int(1.5 * 1024**3)),
                                            ("12345", 12345), ("2MiB/s", 2 * 1024**2)])
def test_rates_are_read_as_curl_reads_them(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "fast", "-5M", "0", "5T"])
def test_a_bad_rate_is_a_clear_error(text):
    with pytest.raises(ValueError, match="not a rate"):
        parse_rate(text)
