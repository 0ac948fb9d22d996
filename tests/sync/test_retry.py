"""Backoff delays and Retry-After parsing."""

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from sync.retry import Backoff, RetryPolicy, parse_retry_after


def test_ceiling_doubles_from_base_until_the_cap():
    backoff = Backoff(base=0.5, cap=60.0)
    assert [backoff.ceiling(a) for a in range(9)] == [0.5, 1, 2, 4, 8, 16, 32, 60, 60]


@pytest.mark.parametrize("attempt", [0, 1, 3, 7, 50, 10_000])
def test_delays_stay_within_zero_and_the_ceiling(attempt):
    backoff = Backoff()
    rng = random.Random(attempt)
    delays = [backoff.delay(attempt, rng) for _ in range(500)]
    assert all(0.0 <= d <= backoff.ceiling(attempt) <= backoff.cap for d in delays)


def test_delays_grow_on_average_and_never_exceed_the_cap():
    backoff = Backoff(base=0.5, cap=60.0)
    rng = random.Random(7)
    means = [sum(backoff.delay(a, rng) for _ in range(2000)) / 2000 for a in range(10)]
    assert all(later > earlier for earlier, later in zip(means[:7], means[1:8]))
    assert max(backoff.delay(a, rng) for a in range(100) for _ in range(50)) <= 60.0


def test_full_jitter_spreads_over_the_whole_range_and_is_reproducible_with_a_seed():
    backoff = Backoff(base=1.0, cap=60.0)
    first = [backoff.delay(3, random.Random(42)) for _ in range(3)]
    assert first == [random.Random(42).uniform(0.0, 8.0)] * 3
    spread = [backoff.delay(3, random.Random(seed)) for seed in range(1000)]
    assert min(spread) < 0.8 and max(spread) > 7.2


def test_retry_after_is_a_floor_and_the_cap_a_ceiling():
    policy = RetryPolicy(attempts=4, backoff=Backoff(base=0.01, cap=60.0))
    assert policy.wait(0, retry_after=3.0, rng=random.Random(1)) == 3.0
    assert policy.wait(0, retry_after=3600.0, rng=random.Random(1)) == 60.0
    assert 0.0 <= policy.wait(0, rng=random.Random(1)) <= 0.01


def test_retry_after_in_seconds():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 120 ") == 120.0
    assert parse_retry_after("-5") == 0.0


def test_retry_after_as_an_http_date_counts_from_the_given_now():
    now = datetime(2025, 3, 4, 10, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf"])
def test_unreadable_retry_after_is_none(value):
    assert parse_retry_after(value) is None
