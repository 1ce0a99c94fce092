"""The phases of planning and sending, timed for whoever asks: a benchmark installs a recorder, nobody else.

Services mark their phases with `phase("name")` (a block) or `phase_iter("name", iterator)` (the time spent
getting each item). With no recorder both cost next to nothing: `phase` gives back one shared no-op context
manager and `phase_iter` the iterator itself. The recorder is called from whichever thread ran the phase
(the ledger writer's phases come from its own thread).

Phases: planning "due", "index", "match", "waiting for the ledger writer"; in the ledger writer "ledger
writes" and, within them, "of which rows inserted"; sending "claim", "render", "backend" (from the send
window's threads when W > 1), "stamp", "waiting for a free slot", "waiting for the last in flight".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TypeVar

PhaseRecorder = Callable[[str, float], None]  # (phase name, seconds)

_recorder: PhaseRecorder | None = None
_OFF: AbstractContextManager[None] = nullcontext()
_T = TypeVar("_T")


def phase_recorder_set(recorder: PhaseRecorder | None) -> None:
    """Send every phase's duration to `recorder` from now on (None: stop timing)."""
    global _recorder
    _recorder = recorder


def phase(name: str) -> AbstractContextManager[None]:
    """A block of work in phase `name`."""
    recorder = _recorder
    return _OFF if recorder is None else _timed(name, recorder)


@contextmanager
def _timed(name: str, recorder: PhaseRecorder) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        recorder(name, time.perf_counter() - started)


def phase_iter(name: str, items: Iterator[_T]) -> Iterator[_T]:
    """`items`, the time spent producing each one counted in phase `name` (the consumer's time is not)."""
    recorder = _recorder
    return items if recorder is None else _timed_iter(name, items, recorder)


def _timed_iter(name: str, items: Iterator[_T], recorder: PhaseRecorder) -> Iterator[_T]:
    while True:
        started = time.perf_counter()
        try:
            item = next(items)
        except StopIteration:
            return
        finally:
            recorder(name, time.perf_counter() - started)
        yield item
