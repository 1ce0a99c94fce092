"""One sending rate for the whole fleet: a shared schedule of send slots, and a shared pause after a 429.

`PAPERBOY_SEND_RATE` (messages per second; "" for no limit; "200", or per ESP "postmark=200,amazon_ses=14") is
held across every worker process on every host by one schedule in Redis, the "generic cell rate algorithm":
the key holds the time the next message may go (`tat`). Taking a slot moves it on by 1/rate and tells the
caller how long to sleep before its send. An atomic Lua script reads and moves it, on Redis's own clock, so
hosts whose clocks disagree still share one schedule. Reserving a slot (instead of asking again and again
until a token is there) means one round trip per message whatever the number of waiting threads, and the
waiting threads wake spaced by 1/rate, not all at once.

The schedule runs a little under the configured rate (PAPERBOY_SEND_RATE_HEADROOM, 2 % by default), because
the ESP counts a message when it arrives, not when its slot began: a thread wakes a few milliseconds late, a
request takes a little longer than the one before, and slots spaced exactly at the account's rate reach the
ESP unevenly, a few more than `rate * T` inside some windows of T seconds (4 in 10 s at 200/s, measured). With
the headroom, at most `r * (T + burst + spread) + 1` messages arrive in any T seconds (r the rate less its
headroom, burst = PAPERBOY_SEND_BURST_SECONDS, spread: how unevenly they arrive), which for T = 10 s stays under
the account's `rate * T` while burst + spread stay under 0.2 s; the fleet still sends within 5 % of it (3.5-4.5 %
under at 200/s, measured: docs/performance.md).
The burst lets a batch that starts late (its predecessor drained, its rows claimed) take up the slots it
missed, instead of losing them.

A 429 pauses the fleet: its Retry-After (or a second) is written to a pause key that every slot waits past,
so the slots taken during the pause are spaced at the rate after it, not fired together.

Without Redis (the embedded default: one host) the same schedule is kept in the process.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# KEYS[1]: the schedule (next free slot, seconds on Redis's clock); KEYS[2]: the pause (a key with a TTL).
# ARGV: interval (1/rate, 0: no limit), burst tolerance (seconds), longest wait the caller accepts (seconds).
# Returns the wait in microseconds; negative (minus the wait) when it is longer than accepted: nothing taken.
_TAKE_SLOT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval, tolerance, longest = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local earliest = now
local paused_ms = redis.call('PTTL', KEYS[2])
if paused_ms > 0 then earliest = now + paused_ms / 1000 end
if interval <= 0 then
  local wait = earliest - now
  if wait > longest then return -math.ceil(wait * 1000000) end
  return math.ceil(wait * 1000000)
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(tat, earliest - tolerance)
local wait = math.max(0, slot - now)
if wait > longest then return -math.ceil(wait * 1000000) end
redis.call('SET', KEYS[1], string.format('%.6f', slot + interval), 'PX', math.ceil((wait + interval) * 1000) + 60000)
return math.ceil(wait * 1000000)
"""

# KEYS[1]: the pause. ARGV[1]: milliseconds. Only lengthens a pause: a shorter Retry-After never shortens one.
_PAUSE = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 0
"""


class SendTooLate(Exception):
    """The next send slot (after a pause, or behind a long queue) is further away than the caller will wait."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"the fleet's next send slot is {wait:.1f} s away")
        self.wait = wait


@dataclass(frozen=True)
class SendRateConfig:
    esp: str
    per_second: float  # the account's limit; 0: no limit
    burst_seconds: float
    headroom: float = 0.0  # the fraction of `per_second` the schedule leaves unused

    @property
    def interval(self) -> float:
        """Seconds between two slots of the schedule: the rate less its headroom."""
        return 1.0 / (self.per_second * (1.0 - self.headroom)) if self.per_second > 0 else 0.0

    @property
    def tolerance(self) -> float:
        """How far behind now a slot may be taken: the burst beyond one message, in seconds of the rate."""
        if self.per_second <= 0:
            return 0.0
        return max(0.0, self.burst_seconds - self.interval)


def esp_name(backend: str) -> str:
    """ "anymail.backends.postmark.EmailBackend" -> "postmark"; any other backend is named by its path."""
    parts = backend.split(".")
    if len(parts) >= 4 and parts[0] == "anymail" and parts[1] == "backends":
        return parts[2]
    return backend


def rate_parse(value: str, *, esp: str) -> float:
    """The rate for `esp` from "", "200" or "postmark=200,amazon_ses=14" (an ESP not listed: no limit)."""
    value = value.strip()
    if not value:
        return 0.0
    try:
        if "=" not in value:
            rate = float(value)
        else:
            rates = {name.strip(): float(number) for name, number in (p.split("=", 1) for p in value.split(","))}
            rate = rates.get(esp, 0.0)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f'PAPERBOY_SEND_RATE must be messages per second, "200" or "postmark=200,amazon_ses=14": {value!r}'
        ) from exc
    if rate < 0:
        raise ImproperlyConfigured(f"PAPERBOY_SEND_RATE cannot be negative: {value!r}")
    return rate


def send_rate_config() -> SendRateConfig:
    esp = esp_name(settings.EMAIL_BACKEND)
    return SendRateConfig(
        esp=esp,
        per_second=rate_parse(settings.PAPERBOY_SEND_RATE, esp=esp),
        burst_seconds=settings.PAPERBOY_SEND_BURST_SECONDS,
        headroom=headroom_parse(settings.PAPERBOY_SEND_RATE_HEADROOM),
    )


def headroom_parse(value: float) -> float:
    if not 0 <= value < 0.5:
        raise ImproperlyConfigured(f"PAPERBOY_SEND_RATE_HEADROOM is a fraction of the rate, 0 to 0.5: {value!r}")
    return value


class SendRate:
    """Waits for this message's slot in the fleet's schedule; records a 429's pause for the fleet."""

    def __init__(self, config: SendRateConfig, *, redis_url: str = "") -> None:
        self.config = config
        self._schedule_key = f"paperboy:send-rate:{config.esp}"
        self._pause_key = f"paperboy:send-pause:{config.esp}"
        self._redis = _redis_scripts(redis_url) if redis_url else None

    def acquire(self, *, longest_wait: float) -> float:
        """Sleep until this message may go; the seconds slept. SendTooLate if that would be over `longest_wait`."""
        wait = self._take_slot(longest_wait)
        if wait > 0:
            time.sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """The ESP asked every sender to wait (429 + Retry-After): no slot starts before `seconds` from now."""
        milliseconds = max(1, int(seconds * 1000))
        if self._redis is not None:
            self._redis.pause(keys=[self._pause_key], args=[milliseconds])
        else:
            _local_schedule(self.config.esp).pause(seconds)

    def reset(self) -> None:
        """Forget the schedule and any pause (tests; an operator after changing the ESP account)."""
        if self._redis is not None:
            self._redis.client.delete(self._schedule_key, self._pause_key)
        else:
            _local_schedule(self.config.esp).reset()

    def _take_slot(self, longest_wait: float) -> float:
        config = self.config
        if self._redis is not None:
            args = [repr(config.interval), repr(config.tolerance), repr(longest_wait)]
            micros = int(self._redis.take_slot(keys=[self._schedule_key, self._pause_key], args=args))
            wait = abs(micros) / 1_000_000
            if micros < 0:
                raise SendTooLate(wait)
            return wait
        return _local_schedule(config.esp).take_slot(config, longest_wait)


def send_rate() -> SendRate:
    """The fleet's rate for the configured ESP: in Redis when REDIS_URL is set, else in this process."""
    return SendRate(send_rate_config(), redis_url=settings.REDIS_URL)


@dataclass
class _RedisScripts:
    client: Any
    take_slot: Any
    pause: Any


@cache
def _redis_scripts(url: str) -> _RedisScripts:
    """One client (a thread-safe connection pool, reset by redis-py itself after a fork) per URL and process."""
    import redis

    client = redis.Redis.from_url(url)
    return _RedisScripts(
        client=client, take_slot=client.register_script(_TAKE_SLOT), pause=client.register_script(_PAUSE)
    )


class _LocalSchedule:
    """The same schedule as the Lua script, for one process (the embedded default has one host)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tat = 0.0
        self._paused_until = 0.0

    def take_slot(self, config: SendRateConfig, longest_wait: float) -> float:
        with self._lock:
            now = time.monotonic()
            earliest = max(now, self._paused_until)
            if config.interval <= 0:
                wait = earliest - now
            else:
                slot = max(self._tat, earliest - config.tolerance)
                wait = max(0.0, slot - now)
                if wait <= longest_wait:
                    self._tat = slot + config.interval
            if wait > longest_wait:
                raise SendTooLate(wait)
            return wait

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def reset(self) -> None:
        with self._lock:
            self._tat = self._paused_until = 0.0


_local_schedules: dict[str, _LocalSchedule] = {}
_local_lock = threading.Lock()


def _local_schedule(esp: str) -> _LocalSchedule:
    with _local_lock:
        return _local_schedules.setdefault(esp, _LocalSchedule())
