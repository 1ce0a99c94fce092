"""One sending rate for the fleet: the schedule of send slots in Redis (or in the process), and a 429's pause."""

from __future__ import annotations

import pytest
from django.conf import LazySettings, settings
from django.core.exceptions import ImproperlyConfigured

from newsletter.send_rate import SendRate, SendRateConfig, SendTooLate, esp_name, rate_parse

BACKENDS = ["local", "redis"]


@pytest.fixture(params=BACKENDS)
def make_rate(request: pytest.FixtureRequest) -> object:
    """SendRate instances on one schedule: in this process, or in Redis (as two hosts would share it)."""
    if request.param == "redis" and not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    url = settings.REDIS_URL if request.param == "redis" else ""
    made: list[SendRate] = []

    def make(per_second: float, burst_seconds: float = 0.0, headroom: float = 0.0) -> SendRate:
        config = SendRateConfig(esp="test-esp", per_second=per_second, burst_seconds=burst_seconds, headroom=headroom)
        rate = SendRate(config, redis_url=url)
        made.append(rate)
        return rate

    yield make
    for rate in made:
        rate.reset()


def test_rates_are_read_for_the_configured_esp() -> None:
    assert rate_parse("", esp="postmark") == 0
    assert rate_parse("200", esp="postmark") == 200
    assert rate_parse("postmark=200, amazon_ses=14", esp="amazon_ses") == 14
    assert rate_parse("postmark=200", esp="sendgrid") == 0  # not listed: no limit
    assert esp_name("anymail.backends.amazon_ses.EmailBackend") == "amazon_ses"
    for bad in ("fast", "postmark=", "-5"):
        with pytest.raises(ImproperlyConfigured, match="PAPERBOY_SEND_RATE"):
            rate_parse(bad, esp="postmark")


def test_two_hosts_share_one_schedule_spaced_at_the_rate(make_rate: object) -> None:
    first, second = make_rate(100), make_rate(100)  # type: ignore[operator]
    first._take_slot(longest_wait=60)
    started = _next_slot(first)
    for n in range(39):  # the hosts take turns
        (first if n % 2 else second)._take_slot(longest_wait=60)

    # 40 messages never within less than 39 intervals, whichever host took each (more if the loop was slow).
    assert _next_slot(second) - started >= 39 * 0.01 - 1e-5


def _next_slot(rate: SendRate) -> float:
    """When the schedule lets the next message go (its own clock: Redis's, or this process's)."""
    from newsletter.send_rate import _local_schedule

    if rate._redis is not None:
        return float(rate._redis.client.get(rate._schedule_key))
    return _local_schedule(rate.config.esp)._tat


def test_the_headroom_spaces_slots_under_the_account_limit(make_rate: object) -> None:
    rate = make_rate(100, headroom=0.2)  # type: ignore[operator]  # 80 a second: 12.5 ms apart
    rate._take_slot(longest_wait=60)
    started = _next_slot(rate)
    for _ in range(20):
        rate._take_slot(longest_wait=60)

    assert _next_slot(rate) - started == pytest.approx(20 * 0.0125, abs=1e-4)


def test_a_headroom_outside_zero_to_a_half_is_refused(settings: LazySettings) -> None:
    from newsletter.send_rate import send_rate_config

    settings.PAPERBOY_SEND_RATE = "200"
    settings.PAPERBOY_SEND_RATE_HEADROOM = 0.02
    assert send_rate_config().interval == pytest.approx(1 / 196)
    for bad in (-0.1, 0.5, 2.0):
        settings.PAPERBOY_SEND_RATE_HEADROOM = bad
        with pytest.raises(ImproperlyConfigured, match="PAPERBOY_SEND_RATE_HEADROOM"):
            send_rate_config()


def test_a_burst_lets_that_many_go_at_once_and_no_more(make_rate: object) -> None:
    rate = make_rate(10, burst_seconds=0.5)  # type: ignore[operator]
    waits = [rate._take_slot(longest_wait=60) for _ in range(8)]
    assert waits[:5] == [0.0] * 5  # five (half a second of the rate) at once
    assert 0 < waits[7] <= 0.3  # the eighth waits its turn (the loop taking less than 0.3 s)


def test_a_slot_further_than_the_caller_waits_is_refused_and_not_taken(make_rate: object) -> None:
    rate = make_rate(1)  # type: ignore[operator]
    assert rate._take_slot(longest_wait=5) == 0
    with pytest.raises(SendTooLate) as first:
        rate._take_slot(longest_wait=0.2)
    with pytest.raises(SendTooLate) as again:
        rate._take_slot(longest_wait=0.2)
    assert 0.5 < again.value.wait <= first.value.wait <= 1.0  # the refused one took no slot


def test_a_pause_holds_every_sender_and_slots_after_it_keep_the_rate(make_rate: object) -> None:
    one, other = make_rate(50), make_rate(50)  # type: ignore[operator]
    one.pause(3)
    with pytest.raises(SendTooLate) as refused:
        other._take_slot(longest_wait=1)
    assert 2 < refused.value.wait <= 3
    waits = [other._take_slot(longest_wait=10) for _ in range(3)]
    assert waits[0] > 2 and waits[2] - waits[0] > 0.03  # after the pause, spaced at the rate again
    one.reset()
    assert make_rate(50)._take_slot(longest_wait=1) == 0  # type: ignore[operator]


def test_without_a_rate_only_a_pause_holds_senders(make_rate: object) -> None:
    rate = make_rate(0)  # type: ignore[operator]
    assert [rate._take_slot(longest_wait=1) for _ in range(100)] == [0.0] * 100
    rate.pause(2)
    with pytest.raises(SendTooLate):
        rate._take_slot(longest_wait=1)
