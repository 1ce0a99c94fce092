"""Many messages in flight per send batch: up to PAPERBOY_SEND_IN_FLIGHT ESP API calls open at once.

Why threads. An ESP call is one blocking HTTP request through anymail's backend (requests); what it waits on
(50-300 ms) is the network, during which a thread releases the GIL. anymail offers no async client, and its
backends keep a `requests.Session` that is not documented as safe to share between threads: so each thread
opens a backend of its own (one session, one kept-alive connection) and uses it for every message it sends
in the batch. Rendering stays on the batch's thread, one message at a time, as before.

Why the database stays on the batch's thread. Django gives every thread its own connection; a thread of this
pool that touched the ORM would open one more PostgreSQL session per thread (W sessions per worker process)
and leave it open. Nothing here touches the database: the threads only hand a finished message to the ESP
and return its id. Claiming and stamping stay on the batch's own thread and connection, where the claim and
the prepared stamp statements live, so a stamp is still one statement on one session, committed at once.

Why at most W rows can be in doubt. Messages are started in the batch's id order, and a slot is given back
only after the outcome of the message in it is stamped. So the rows handed to the ESP are always a prefix of
the claimed rows, and at most W of that prefix are unstamped: after a crash, the W lowest unstamped rows of
the claim hold every message that may have reached the ESP without a stamp, and every row after them was
never handed over. The window is written into the claim id (`claim_new`), so recovery knows W whatever the
worker that died was configured with.

Why Python's own thread switch interval (5 ms) is kept. A shorter one (0.5 ms, tried) hands the GIL back to
the batch's thread sooner after each answer, so a stamp waits less; but every switch costs, and the worker
sent 7-10 % fewer messages a second for 7 % more CPU per message (two workers, 64 in flight each, against the
loopback ESP; docs/performance.md). Stamps stay immediate in the sense that matters: before the slot is reused.
"""

from __future__ import annotations

import itertools
import os
import queue
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from uuid import uuid4

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from newsletter.send_rate import SendRate, SendTooLate

# A claim id (Delivery.claim, 32 characters): "w<window>-" then random hex, e.g. "w64-3f2a...".
_CLAIM = re.compile(r"^w(\d{1,4})-[0-9a-f]+$")
# How many times one message is offered again after a 429 (each after the fleet's pause) before the batch
# gives up and puts its rest back for a retry with backoff.
THROTTLED_RETRIES = 3


def claim_new(*, window: int) -> str:
    prefix = f"w{window}-"
    return prefix + uuid4().hex[: 32 - len(prefix)]


def claim_window(claim: str) -> int:
    """The in-flight window of the batch that made `claim`; 1 for a claim made before windows existed."""
    match = _CLAIM.match(claim)
    return int(match.group(1)) if match else 1


def in_flight_window() -> int:
    window = settings.PAPERBOY_SEND_IN_FLIGHT
    if not 1 <= window <= 1000:
        raise ValueError(f"PAPERBOY_SEND_IN_FLIGHT must be between 1 and 1000, not {window}")
    return window


@dataclass
class Outcome:
    """What the ESP said of one message: its id, or the exception it raised (classified by `send`)."""

    key: Any
    message_id: str | None = None
    error: Exception | None = None


Send = Callable[[EmailMessage, Any], "str | None"]


class SendWindow:
    """Hands messages to the ESP with up to `size` calls open; outcomes come back on the caller's thread.

    The caller takes `ready()` (it waits while the window is full and returns every outcome arrived), stamps
    those, and only then `submit`s the next message: a slot is not reused before its outcome is stamped.
    `drain` waits for the rest. With a window of 1 the message is sent on the caller's thread within
    `submit`: no thread at all, as before windows.
    """

    def __init__(self, *, size: int, send: Send, rate: SendRate, longest_wait: float) -> None:
        self.size = size
        self._send = send
        self._rate = rate
        self._longest_wait = longest_wait
        self._taken = 0
        self._done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._local = threading.local()
        self._backends: list[Any] = []
        self._backends_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="esp-send") if size > 1 else None

    def ready(self) -> list[Outcome]:
        """Every outcome arrived so far, waiting for one if the window is full."""
        return self._collect(block=self._taken >= self.size)

    def submit(self, key: Any, message: EmailMessage) -> None:
        if self._taken >= self.size:
            raise RuntimeError("the window is full: take ready() and stamp its outcomes first")
        self._taken += 1
        if self._pool is None:
            self._done.put(self._outcome(key, message))
        else:
            self._pool.submit(self._run, key, message)

    def drain(self) -> list[Outcome]:
        arrived: list[Outcome] = []
        while self._taken:
            arrived += self._collect(block=True)
        return arrived

    def close(self) -> None:
        """Waits for the threads (their calls end by the ESP's answer or anymail's timeout), closes backends."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for backend in self._backends:
            backend.close()

    def __enter__(self) -> SendWindow:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _collect(self, *, block: bool) -> list[Outcome]:
        """Outcomes that have arrived; with `block`, at least one (waiting for it)."""
        arrived: list[Outcome] = []
        if block:
            arrived.append(self._done.get())
        while True:
            try:
                arrived.append(self._done.get_nowait())
            except queue.Empty:
                break
        self._taken -= len(arrived)
        return arrived

    def _run(self, key: Any, message: EmailMessage) -> None:
        self._done.put(self._outcome(key, message))

    def _outcome(self, key: Any, message: EmailMessage) -> Outcome:
        try:
            return Outcome(key, message_id=self._send_paced(message))
        except Exception as exc:  # every outcome goes back to the batch's thread, errors included
            return Outcome(key, error=exc)

    def _send_paced(self, message: EmailMessage) -> str | None:
        """Wait for the fleet's slot, send; after a 429, pause the fleet and offer the message again."""
        from newsletter.emails import TransientSendError

        for attempt in itertools.count():
            try:
                self._rate.acquire(longest_wait=self._longest_wait)
            except SendTooLate as exc:
                raise TransientSendError(str(exc), retry_after=exc.wait) from exc
            try:
                return self._send(message, self._backend())
            except TransientSendError as exc:
                if exc.status != 429:
                    raise
                self._rate.pause(exc.retry_after if exc.retry_after is not None else 1.0)
                if attempt >= THROTTLED_RETRIES or (exc.retry_after or 0) > self._longest_wait:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _backend(self) -> Any:
        """This thread's ESP backend, opened at its first message (one HTTP session per thread)."""
        backend = getattr(self._local, "backend", None)
        if backend is None:
            backend = self._local.backend = get_connection()
            backend.open()
            session = getattr(backend, "session", None)  # anymail's HTTP backends keep a requests.Session
            if session is not None and not requests_environment_used():
                session.trust_env = False
            with self._backends_lock:
                self._backends.append(backend)
        return backend


@cache
def requests_environment_used() -> bool:
    """Whether requests would find anything in the environment: a proxy, a CA bundle, a .netrc.

    With `trust_env` (the default) requests looks for them on every request: 0.4 ms of CPU per message here,
    about a fifth of what anymail and requests spend on one. When there is nothing to find, not looking
    changes nothing; when there is, the session keeps looking.
    """
    names = {name.lower() for name in os.environ}
    if any(name.endswith("_proxy") for name in names) or names & {"requests_ca_bundle", "curl_ca_bundle", "netrc"}:
        return True
    home = Path.home()
    return (home / ".netrc").exists() or (home / "_netrc").exists()
