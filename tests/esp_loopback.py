"""A loopback ESP stand-in for load: Postmark's /email API answered after 100 ms +- 30 ms, an account rate.

    python -m tests.esp_loopback --delay 0.1 --jitter 0.03 --rate 200

Run as a process of its own (it prints "listening <port>" when ready), so a benchmark can count its CPU apart
from what it measures. Unlike tests/esp_standin.py (a thread per request, one connection per request: fine for
tests), it is one asyncio loop with HTTP/1.1 keep-alive and no JSON decoding of what it accepts (the address
and delivery id are read with a pattern), so hundreds of requests per second cost it a few percent of a core.

- POST /email: 200 with a MessageID after the delay (uniform within +- jitter), as Postmark answers; over the
  account rate (a token bucket of `--rate` per second holding `--burst` seconds of it) 429 with Retry-After at
  once, as ESPs do.
- GET /stats[?since=N]: JSON of what it saw: accepted and throttled counts, addresses that got more than one
  message, the most accepted in any 1 s and any 10 s (sliding windows), its own CPU seconds, and the arrival
  times (time.monotonic(): the machine's clock, comparable across processes) and delivery ids from the Nth on.
- POST /reset: forget everything seen; POST /config with {"rate": ..., "burst": ...} changes the account.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import random
import re
import resource
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_TO = re.compile(rb'"To":\s*"([^"]*)"')
_DELIVERY_ID = re.compile(rb'"delivery_id":\s*"(\d+)"')


@dataclass
class Account:
    rate: float = 0.0  # messages per second; 0: no limit
    burst: float = 1.0  # seconds of the rate the bucket holds
    tokens: float = 0.0
    at: float = field(default_factory=time.monotonic)

    def take(self) -> float | None:
        """None when a message may go now; else seconds until one may (the Retry-After)."""
        if self.rate <= 0:
            return None
        now = time.monotonic()
        capacity = max(1.0, self.rate * self.burst)
        self.tokens = min(capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


@dataclass
class Seen:
    arrivals: list[float] = field(default_factory=list)  # monotonic, of accepted messages
    addresses: Counter[bytes] = field(default_factory=Counter)
    delivery_ids: list[int] = field(default_factory=list)
    throttled: int = 0
    in_flight: int = 0
    most_in_flight: int = 0


class LoopbackEsp:
    def __init__(self, *, delay: float, jitter: float, rate: float, burst: float, seed: int = 1) -> None:
        self.delay, self.jitter = delay, jitter
        self.account = Account(rate=rate, burst=burst, tokens=max(1.0, rate * burst))
        self.seen = Seen()
        self.random = random.Random(seed)

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path, headers = _head(head)
                body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
                status, extra, payload = await self.answer(method, path, body)
                writer.write(_response(status, extra, payload))
                await writer.drain()
                if headers.get(b"connection", b"").lower() == b"close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def answer(self, method: bytes, path: bytes, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if method == b"POST" and path.startswith(b"/email"):
            return await self.email(body)
        if method == b"GET" and path.startswith(b"/stats"):
            since = int(path.partition(b"since=")[2] or b"0")
            return 200, {}, json.dumps(self.stats(since=since)).encode()
        if method == b"POST" and path.startswith(b"/reset"):
            self.seen = Seen()
            return 200, {}, b"{}"
        if method == b"POST" and path.startswith(b"/config"):
            config = json.loads(body or b"{}")
            rate, burst = float(config.get("rate", 0)), float(config.get("burst", 1.0))
            self.account = Account(rate=rate, burst=burst, tokens=max(1.0, rate * burst))
            return 200, {}, b"{}"
        return 404, {}, b'{"ErrorCode": 404, "Message": "not found"}'

    async def email(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        wait = self.account.take()
        if wait is not None:
            self.seen.throttled += 1
            retry_after = str(max(1, int(wait + 0.999)))  # whole seconds, as ESPs send it
            return 429, {"Retry-After": retry_after}, b'{"ErrorCode": 429, "Message": "Rate limit exceeded"}'
        seen = self.seen
        seen.arrivals.append(time.monotonic())
        to = _TO.search(body)
        seen.addresses[to.group(1) if to else b""] += 1
        delivery = _DELIVERY_ID.search(body)
        if delivery:
            seen.delivery_ids.append(int(delivery.group(1)))
        seen.in_flight += 1
        seen.most_in_flight = max(seen.most_in_flight, seen.in_flight)
        try:
            await asyncio.sleep(self.random.uniform(self.delay - self.jitter, self.delay + self.jitter))
        finally:
            seen.in_flight -= 1
        answer = {"To": (to.group(1) if to else b"").decode(), "SubmittedAt": "2026-11-24T07:00:00Z",
                  "MessageID": str(uuid.uuid4()), "ErrorCode": 0, "Message": "OK"}  # fmt: skip
        return 200, {}, json.dumps(answer).encode()

    def stats(self, *, since: int = 0) -> dict[str, Any]:
        """What it saw; the arrival times and delivery ids of the accepted messages from the `since`-th on."""
        seen = self.seen
        arrivals = seen.arrivals
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "accepted": len(arrivals),
            "throttled": seen.throttled,
            "addresses_with_two_or_more": sum(1 for n in seen.addresses.values() if n > 1),
            "most_in_1s": most_within(arrivals, 1.0),
            "most_in_10s": most_within(arrivals, 10.0),
            "first": arrivals[0] if arrivals else None,
            "last": arrivals[-1] if arrivals else None,
            "now": time.monotonic(),
            "most_in_flight": seen.most_in_flight,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "arrivals": arrivals[since:],
            "delivery_ids": seen.delivery_ids[since:],
        }


def most_within(arrivals: list[float], seconds: float) -> int:
    """The most arrivals in any window of `seconds` (arrivals sorted: they are appended in time order)."""
    most = 0
    for start, at in enumerate(arrivals):
        most = max(most, bisect.bisect_right(arrivals, at + seconds - 1e-9, lo=start) - start)
    return most


def accepted_between(arrivals: list[float], start: float, end: float) -> int:
    return bisect.bisect_left(arrivals, end) - bisect.bisect_left(arrivals, start)


def _head(head: bytes) -> tuple[bytes, bytes, dict[bytes, bytes]]:
    lines = head.split(b"\r\n")
    method, path, _ = lines[0].split(b" ", 2)
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, path, headers


_REASONS = {200: b"OK", 404: b"Not Found", 429: b"Too Many Requests"}


def _response(status: int, headers: dict[str, str], body: bytes) -> bytes:
    lines = [b"HTTP/1.1 %d %s" % (status, _REASONS.get(status, b"Status")), b"Content-Type: application/json",
             b"Content-Length: %d" % len(body)]  # fmt: skip
    lines += [f"{name}: {value}".encode() for name, value in headers.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def serve(esp: LoopbackEsp, *, port: int) -> None:
    server = await asyncio.start_server(esp.connection, "127.0.0.1", port, backlog=1024, limit=1 << 22)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--jitter", type=float, default=0.03)
    parser.add_argument("--rate", type=float, default=0.0, help="the account's messages per second (0: none)")
    parser.add_argument("--burst", type=float, default=1.0, help="seconds of the rate the account may burst")
    args = parser.parse_args()
    esp = LoopbackEsp(delay=args.delay, jitter=args.jitter, rate=args.rate, burst=args.burst)
    asyncio.run(serve(esp, port=args.port))


if __name__ == "__main__":
    main()
