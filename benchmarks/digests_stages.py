"""The daily-run benchmark's timed stages (bench_digests.py), each run in a process of its own: plan, render,
one send worker, and the ledger's final check. Phases are timed through the services' own timing hook
(newsletter.services.timing), never by patching their private names.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from benchmarks.digests_world import cpu_seconds, django_on_bench_db, peak_rss_mb


class PhaseTimer:
    """Wall seconds by phase, from the services' timing hook (newsletter.services.timing): nothing patched."""

    def __init__(self, *, only: set[str] | None = None, besides: set[str] | None = None) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._only, self._besides = only, besides or set()

    def __call__(self, name: str, seconds: float) -> None:
        if (self._only is None or name in self._only) and name not in self._besides:
            self.seconds[name] += seconds


class PhaseTimers:
    """Routes each phase to one of several timers (the planner's own, the ledger writer's thread)."""

    def __init__(self, *timers: PhaseTimer) -> None:
        self._timers = timers

    def __call__(self, name: str, seconds: float) -> None:
        for timer in self._timers:
            timer(name, seconds)


def stage_plan(*, at: str, dispatch: bool = False) -> dict[str, Any]:
    """`digest_plan`; with `dispatch`, each committed chunk's pending ids are printed as send chunks ("chunk
    [ids]" lines), as `digest_tick` queues them, for the send workers of an overlapped run."""
    django_on_bench_db(create=False)
    from django.conf import settings

    from newsletter.services import planning
    from newsletter.services.timing import phase_recorder_set

    def dispatched(ids: list[int]) -> None:
        size = settings.PAPERBOY_SEND_CHUNK
        for start in range(0, len(ids), size):
            print("chunk", json.dumps(ids[start : start + size]), flush=True)

    # In the writer's thread (overlapping the planner's phases on PostgreSQL): not part of the sum.
    writer_phases = {"ledger writes", "of which rows inserted"}
    timer, overlapped = PhaseTimer(besides=writer_phases), PhaseTimer(only=writer_phases)
    phase_recorder_set(PhaseTimers(timer, overlapped))
    cpu, started = cpu_seconds(), time.perf_counter()
    report = planning.digest_plan(at=datetime.fromisoformat(at), on_written=dispatched if dispatch else None)
    seconds = time.perf_counter() - started
    phases = dict(timer.seconds)
    phases["rest (ledger rows built, JSON)"] = seconds - sum(phases.values())
    return {
        "writer_thread": dict(overlapped.seconds),
        "due": report.due,
        "planned": report.planned,
        "skipped": report.skipped,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds() - cpu,
        "phases": phases,
        "peak_rss_mb": peak_rss_mb(),
    }


def stage_render(*, sample: int) -> dict[str, Any]:
    """DigestRenderer over `sample` planned deliveries in one process (one core), twice (nothing is sent).

    The first pass also renders what is shared (the shell; each paper's block skeleton; each (paper, interest)
    block with the matcher's explanation, once per edition and process); the second is assembly only.
    """
    django_on_bench_db(create=False)
    from newsletter.models import Delivery
    from newsletter.services.sending import renderer_for

    planned = Delivery.objects.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.SENT])
    ids = list(planned.order_by("pk").values_list("pk", flat=True))
    step = max(1, len(ids) // sample)
    ids = ids[::step][:sample]
    began = time.perf_counter()
    deliveries = list(Delivery.objects.filter(pk__in=ids).select_related("subscriber", "edition").order_by("pk"))
    load_seconds = time.perf_counter() - began
    passes = []
    for _ in range(2):
        size = 0
        cpu, began = cpu_seconds(), time.perf_counter()
        for delivery in deliveries:
            digest = renderer_for(delivery).render(
                delivery_id=delivery.pk, subscriber=delivery.subscriber, items=delivery.papers
            )
            size += len(digest.html) + len(digest.text)
        passes.append((time.perf_counter() - began, cpu_seconds() - cpu, size))
    (first, first_cpu, size), (second, second_cpu, _) = passes
    return {
        "rendered": len(deliveries),
        "render_seconds": first,
        "render_cpu_seconds": first_cpu,
        "assembly_seconds": second,
        "assembly_cpu_seconds": second_cpu,
        "load_seconds": load_seconds,
        "mean_digest_kb": size / max(len(deliveries), 1) / 1024,
        "peak_rss_mb": peak_rss_mb(),
    }


def stage_send_worker(*, worker: int, workers: int, queued: bool = False) -> dict[str, Any]:
    """Like a Celery worker process: `deliveries_send` on every `workers`-th chunk of the pending ids, or
    (`queued`) on each chunk given on standard input ("ids [...]"; answers "done"), until "stop"."""
    django_on_bench_db(create=False)
    from django.conf import settings

    from newsletter.models import Delivery
    from newsletter.services import sending
    from newsletter.services.timing import phase_recorder_set

    if queued:
        _renderers_warm()  # a worker that has sent before: the shared parts rendered (not a phase's first seconds)
    # "backend" comes from the window's threads when W > 1
    timer = PhaseTimer(only={"claim", "backend", "stamp", "render", *SEND_WINDOW_PHASES})
    phase_recorder_set(timer)
    if queued:
        chunks: Iterator[list[int]] = _chunks_from_stdin()
    else:
        ids = list(Delivery.objects.filter(status=Delivery.Status.PENDING).order_by("pk").values_list("pk", flat=True))
        size = settings.PAPERBOY_SEND_CHUNK
        chunks = iter([ids[start : start + size] for start in range(0, len(ids), size)][worker::workers])
    print("ready", flush=True)
    if not queued:
        sys.stdin.readline()  # the parent starts every worker at once
    totals = dict.fromkeys(("sent", "failed", "suppressed", "retry"), 0)  # a worker may get no chunk (tiny runs)
    cpu, started = cpu_seconds(), time.time()
    for chunk in chunks:
        report = sending.deliveries_send(delivery_ids=chunk)
        totals["sent"] += report.sent
        totals["failed"] += report.failed
        totals["suppressed"] += report.suppressed
        totals["retry"] += len(report.retry_ids)
        if queued:
            print("done", flush=True)
    ended = time.time()
    return {
        **totals,
        "started": started,
        "ended": ended,
        "cpu_seconds": cpu_seconds() - cpu,
        "phases": dict(timer.seconds),
        "peak_rss_mb": peak_rss_mb(),
    }


SEND_WINDOW_PHASES = ("waiting for a free slot", "waiting for the last in flight")


def _renderers_warm() -> None:
    """Render one pending digest of each coverage (nothing is sent or stamped): a long-running worker process
    keeps the renderers' shared parts, rendered once per edition (docs/performance.md)."""
    from newsletter.models import Delivery
    from newsletter.services.sending import renderer_for

    pending = Delivery.objects.filter(status=Delivery.Status.PENDING).select_related("subscriber", "edition")
    for coverage in pending.order_by().values_list("edition_id", "covers_after_id").distinct():
        delivery = pending.filter(edition_id=coverage[0], covers_after_id=coverage[1]).first()
        if delivery is not None:
            renderer_for(delivery).render(
                delivery_id=delivery.pk, subscriber=delivery.subscriber, items=delivery.papers
            )


def _chunks_from_stdin() -> Iterator[list[int]]:
    for line in sys.stdin:
        if not line.startswith("ids "):
            return
        yield json.loads(line[4:])


def stage_check() -> dict[str, Any]:
    """What the run left in the ledger: every row settled, none twice."""
    django_on_bench_db(create=False)
    from django.db.models import Count

    from newsletter.models import Delivery

    counts = dict(Delivery.objects.values_list("status").annotate(n=Count("id")))
    counts["failed in doubt"] = Delivery.objects.filter(status="failed", error__startswith="in doubt").count()
    return counts


def stage_pending() -> list[int]:
    django_on_bench_db(create=False)
    from newsletter.models import Delivery

    return list(Delivery.objects.filter(status=Delivery.Status.PENDING).order_by("pk").values_list("pk", flat=True))


def stage_recover() -> dict[str, int]:
    """The recovery job, as it runs once the lease of a dead worker's rows is over (here: at once)."""
    django_on_bench_db(create=False)
    from newsletter.services.sending import deliveries_recover

    return deliveries_recover(lease_seconds=0)
