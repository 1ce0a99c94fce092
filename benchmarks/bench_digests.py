"""Benchmark: the whole daily digest run on PostgreSQL, phase by phase, against the straightforward way.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/paperboy \\
        .venv/bin/python benchmarks/bench_digests.py --subscribers 100000,1000000 --repeat 3

Each (size, repeat) builds a database of its own (`paperboy_digestbench`, recreated through Django's test
database creation): the five seed dumps ingested through `dump_ingest_file`, an approved edition from
`edition_prepare`, and N active daily subscribers (send hour 0, four time zones) written with COPY, each with
1-8 interests drawn with Zipf-like popularity from the 1-3 word n-grams of the real titles and abstracts
(seeded RNG). Then the real services run, each stage in a fresh process so its peak RSS is its own:

  - baseline: the straightforward way on a sample of the same subscribers (a query for the subscriber and
    one per interest, `render_to_string` of the full digest templates, CSS inlined, `.send()` through the
    configured backend, a `Delivery` created and saved per subscriber); its rows are deleted afterwards;
  - plan: `digest_plan(at=...)`, its steps timed through the services' timing hook (due query, paper index,
    `subscriber_picks`, the rest is the ledger write);
  - render only: `DigestRenderer.render` over a sample of the pending deliveries, in one process (one core);
  - hand-off: `deliveries_send` on chunks of PAPERBOY_SEND_CHUNK ids, in --workers processes started at once
    (as the Celery workers would), handing each message to a backend that discards it (Django's dummy
    backend) and stamping each; render, hand-off and stamp times are summed inside the workers.

The daily run is plan + hand-off (hand-off includes rendering). Figures printed are medians over repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
BENCH_DB = os.environ.get("PAPERBOY_BENCH_DB", "paperboy_digestbench")  # one per worktree when several run at once
DISCARD_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo")
TODAY = date(2026, 11, 24)  # the listing date given to the seed dumps
_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
# Interests never start or end with one of these (people type "graph neural networks", not "of the").
_STOP = frozenset(
    ("a", "an", "and", "are", "as", "at", "be", "by", "can", "for", "from", "has", "have", "in", "into", "is",
     "it", "its", "of", "on", "or", "our", "over", "that", "the", "their", "these", "this", "to", "via", "we",
     "which", "while", "with", "without", "both", "more", "most", "than", "such", "using", "use", "used",
     "based", "new", "show")
)  # fmt: skip


# --- Django on the benchmark's database ------------------------------------------------------------------


def _django(*, create: bool) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    os.environ["DATABASE_URL"] = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/paperboy"
    os.environ["EMAIL_BACKEND"] = DISCARD_BACKEND
    sys.path.insert(0, str(REPO_DIR))
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("this benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    if create:
        connection.settings_dict["TEST"] = {**connection.settings_dict.get("TEST", {}), "NAME": BENCH_DB}
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    else:
        connection.close()
        connection.settings_dict["NAME"] = BENCH_DB


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    return time.process_time()


_TICKS = os.sysconf("SC_CLK_TCK")


def _postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL server process on this machine, the ended ones included (a backend that
    exits adds its time to the postmaster's children's time). The benchmark's database is on this machine."""
    processes: dict[str, tuple[str, str, list[str]]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        fields = text[text.rindex(")") + 2 :].split()
        processes[stat.parent.name] = (text[text.index("(") + 1 : text.rindex(")")], fields[1], fields)
    ticks = 0
    for name, parent, fields in processes.values():
        if name != "postgres":
            continue
        ticks += int(fields[11]) + int(fields[12])
        if processes.get(parent, ("",))[0] != "postgres":  # the postmaster: its ended children's time too
            ticks += int(fields[13]) + int(fields[14])
    return ticks / _TICKS


def _machine_idle() -> float:
    """Idle CPU seconds of the whole machine so far, all cores."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()
    return (int(fields[4]) + int(fields[5])) / _TICKS


# --- stage: setup (database, papers, edition, subscribers) -----------------------------------------------


def stage_setup(*, size: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    _django(create=True)
    from django.db import connection
    from django.utils import timezone

    from newsletter.models import Edition
    from newsletter.services.editions import edition_approve, edition_prepare
    from papers.models import Paper
    from papers.services import dump_ingest_file

    for path in sorted((REPO_DIR / "seeds").glob("*.txt")):
        dump_ingest_file(path=path, today=TODAY)
    at = timezone.now()
    edition = edition_prepare(at=at)
    assert edition is not None, "the seed dumps gave no edition"
    if edition.status != Edition.Status.APPROVED:
        edition_approve(edition=edition)
    created = time.perf_counter()
    rng = random.Random(seed)
    pool = _interest_pool(list(Paper.objects.values_list("title", "abstract")), rng)
    distinct = _subscribers_copy(size=size, pool=pool, rng=rng, at=at)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "at": at.isoformat(),
        "papers": edition.papers.count(),
        "interest_pool": len(pool),
        "distinct_interests": distinct,
        "database_seconds": created - started,
        "subscribers_seconds": time.perf_counter() - created,
    }


def _interest_pool(papers: list[tuple[str, str]], rng: random.Random) -> list[str]:
    """1-3 word n-grams of the real titles and abstract sentences, no stop word at either end."""
    grams: set[str] = set()
    for title, abstract in papers:
        for text in (title, *_SENTENCES.split(abstract)):
            words = [w.lower() for w in _WORDS.findall(text)]
            for size in (1, 2, 3):
                for i in range(len(words) - size + 1):
                    gram = words[i : i + size]
                    if gram[0] in _STOP or gram[-1] in _STOP or len(" ".join(gram)) < 4:
                        continue
                    grams.add(" ".join(gram))
    pool = sorted(grams)
    rng.shuffle(pool)  # popularity rank is random: popular interests are of any length and topic
    return pool


def _subscribers_copy(*, size: int, pool: list[str], rng: random.Random, at: datetime) -> int:
    """N active, confirmed daily subscribers due at hour 0, written with one COPY."""
    from django.db import connection

    weights = list(_zipf_cumulative(len(pool)))
    columns = (
        "email, status, interests, frequency, weekday, send_hour, timezone, link_nonce, created_at, updated_at, "
        "confirmed_at, consent_at, consent_text"
    )
    distinct: set[str] = set()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY newsletter_subscriber ({columns}) FROM STDIN") as copy,
    ):
        for n in range(size):
            interests = list(dict.fromkeys(rng.choices(pool, cum_weights=weights, k=rng.randint(1, 8))))
            distinct.update(interests)
            nonce = f"{rng.getrandbits(64):016x}"
            copy.write_row(
                (f"reader{n:07d}@example.org", "active", json.dumps(interests), "daily", 0, 0,
                 ZONES[n % len(ZONES)], nonce, at, at, at, at, "I agree.")
            )  # fmt: skip
    return len(distinct)


def _zipf_cumulative(count: int) -> Iterator[float]:
    total = 0.0
    for rank in range(count):
        total += 1.0 / (rank + 10)
        yield total


# --- stage: the straightforward way -------------------------------------------------------------------------


def stage_baseline(*, sample: int, seed: int) -> dict[str, Any]:
    """A query per subscriber and per interest, render_to_string, .send(), a row per subscriber; undone after."""
    _django(create=False)
    from newsletter.models import Delivery, Edition, Subscriber

    edition = Edition.objects.get()
    ids = list(Subscriber.objects.order_by("pk").values_list("pk", flat=True))
    picked = sorted(random.Random(seed + 1).sample(ids, min(sample, len(ids))))
    cpu, started = _cpu(), time.perf_counter()
    sent = 0
    for pk in picked:
        sent += _baseline_one(subscriber_id=pk, edition=edition)
    seconds = time.perf_counter() - started
    cpu = _cpu() - cpu
    Delivery.objects.filter(subscriber_id__in=picked).delete()  # the real run plans these subscribers too
    return {"sample": len(picked), "sent": sent, "seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": _peak_rss_mb()}


def _baseline_one(*, subscriber_id: int, edition: Any) -> int:
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives
    from django.db.models import Q
    from django.template.loader import render_to_string
    from django.utils import timezone

    from newsletter import links
    from newsletter.emails import inline_css, one_line
    from newsletter.models import Delivery, Subscriber
    from papers.models import Paper

    subscriber = Subscriber.objects.get(pk=subscriber_id)
    found: dict[int, tuple[Paper, list[str]]] = {}
    for interest in subscriber.interests:
        wanted = Q(title__icontains=interest) | Q(abstract__icontains=interest)
        for paper in Paper.objects.filter(wanted, editions=edition, is_hidden=False).order_by("-upvotes", "pk"):
            found.setdefault(paper.pk, (paper, []))[1].append(interest)
    period = timezone.localtime(timezone.now()).date().isoformat()
    if not found:
        Delivery.objects.create(subscriber=subscriber, period=period, edition=edition, status="skipped")
        return 0
    ranked = sorted(found.values(), key=lambda pair: -len(pair[1]))
    delivery = Delivery.objects.create(
        subscriber=subscriber,
        period=period,
        edition=edition,
        papers=[{"paper_id": p.pk, "score": len(i), "interests": i, "words": i} for p, i in ranked],
    )
    html_context, text_context = _baseline_contexts(
        subscriber=subscriber, delivery=delivery, ranked=ranked, edition=edition
    )
    html = inline_css(render_to_string("newsletter/email/digest.html", html_context))
    text = render_to_string("newsletter/email/digest.txt", text_context)
    subject = render_to_string(
        "newsletter/email/digest.subject.txt", {"count": len(ranked), "best_title": ranked[0][0].title}
    )
    headers = {**links.list_unsubscribe_headers(subscriber), "List-Id": settings.PAPERBOY_LIST_ID}
    message = EmailMultiAlternatives(
        one_line(subject), text, settings.DEFAULT_FROM_EMAIL, [subscriber.email], headers=headers
    )
    message.attach_alternative(html, "text/html")
    message.send()
    delivery.status, delivery.sent_at = Delivery.Status.SENT, timezone.now()
    delivery.save()
    return 1


def _baseline_contexts(
    *, subscriber: Any, delivery: Any, ranked: list[Any], edition: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The full contexts of digest.html and digest.txt, each paper block rendered with render_to_string."""
    from django.template.loader import render_to_string
    from django.utils.safestring import mark_safe

    from newsletter import links
    from newsletter.links import digest_view_url

    html_blocks, text_blocks = [], []
    for paper, interests in ranked[:60]:  # the fast path also lists the rest by title only
        block = {
            "url": links.absolute(paper.get_absolute_url()),
            "authors": ", ".join(paper.authors[:4]),
            "title": [(paper.title, False)],
            "snippet": [(paper.abstract[:320], False)],
            "title_text": paper.title,
            "snippet_text": paper.abstract[:320],
            "words": ", ".join(interests),
            "slots": {"interests": ", ".join(interests)},
        }
        html_blocks.append(render_to_string("newsletter/email/digest_paper.html", block))
        text_blocks.append(render_to_string("newsletter/email/digest_paper.txt", block))
    picks = [
        {"url": links.absolute(entry.paper.get_absolute_url()), "title": entry.paper.title, "authors": "", "note": ""}
        for entry in edition.entries.filter(is_featured=True).select_related("paper")
    ]
    slots = {
        "heading": f"{len(ranked)} new papers for you",
        "papers": mark_safe("".join(html_blocks)),  # rendered by the templates above
        "more": "",
        "interests": ", ".join(subscriber.interests),
        "manage_url": links.manage_url(subscriber),
        "unsubscribe_url": links.unsubscribe_url(subscriber),
        "view_url": digest_view_url(delivery_id=delivery.pk, subscriber=subscriber),
    }
    period_label = f"{edition.issue_date:%B} {edition.issue_date.day}, {edition.issue_date.year}"
    html_context: dict[str, Any] = {"slots": slots, "picks": picks, "period_label": period_label}
    text_context = {**html_context, "slots": {**slots, "papers": "".join(text_blocks)}}
    return html_context, text_context


# --- stage: plan -----------------------------------------------------------------------------------------


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
    _django(create=False)
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
    cpu, started = _cpu(), time.perf_counter()
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
        "cpu_seconds": _cpu() - cpu,
        "phases": phases,
        "peak_rss_mb": _peak_rss_mb(),
    }


# --- stage: render only ----------------------------------------------------------------------------------


def stage_render(*, sample: int) -> dict[str, Any]:
    """DigestRenderer over `sample` planned deliveries in one process (one core), twice (nothing is sent).

    The first pass also renders what is shared (the shell; each paper's block skeleton; each (paper, interest)
    block with the matcher's explanation, once per edition and process); the second is assembly only.
    """
    _django(create=False)
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
        cpu, began = _cpu(), time.perf_counter()
        for delivery in deliveries:
            digest = renderer_for(delivery).render(
                delivery_id=delivery.pk, subscriber=delivery.subscriber, items=delivery.papers
            )
            size += len(digest.html) + len(digest.text)
        passes.append((time.perf_counter() - began, _cpu() - cpu, size))
    (first, first_cpu, size), (second, second_cpu, _) = passes
    return {
        "rendered": len(deliveries),
        "render_seconds": first,
        "render_cpu_seconds": first_cpu,
        "assembly_seconds": second,
        "assembly_cpu_seconds": second_cpu,
        "load_seconds": load_seconds,
        "mean_digest_kb": size / max(len(deliveries), 1) / 1024,
        "peak_rss_mb": _peak_rss_mb(),
    }


# --- stage: hand-off (one of the send workers) ------------------------------------------------------------


def stage_send_worker(*, worker: int, workers: int, queued: bool = False) -> dict[str, Any]:
    """Like a Celery worker process: `deliveries_send` on every `workers`-th chunk of the pending ids, or
    (`queued`) on each chunk given on standard input ("ids [...]"; answers "done"), until "stop"."""
    _django(create=False)
    from django.conf import settings

    from newsletter.models import Delivery
    from newsletter.services import sending
    from newsletter.services.timing import phase_recorder_set

    timer = PhaseTimer(only={"claim", "backend", "stamp", "render"})
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
    cpu, started = _cpu(), time.time()
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
        "cpu_seconds": _cpu() - cpu,
        "phases": dict(timer.seconds),
        "peak_rss_mb": _peak_rss_mb(),
    }


def _chunks_from_stdin() -> Iterator[list[int]]:
    for line in sys.stdin:
        if not line.startswith("ids "):
            return
        yield json.loads(line[4:])


def _run_send_workers(workers: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--stage", "send-worker", "--workers", str(workers)]
    processes = [
        subprocess.Popen([*command, "--worker", str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for n in range(workers)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = []
    for process in processes:
        output, _ = process.communicate()
        if process.returncode:
            raise SystemExit(f"send worker failed with {process.returncode}")
        results.append(json.loads(output.strip().splitlines()[-1]))
    return {"seconds": max(r["ended"] for r in results) - min(r["started"] for r in results), **_summed(results)}


def _summed(results: list[dict[str, Any]]) -> dict[str, Any]:
    phases: dict[str, float] = defaultdict(float)
    for result in results:
        for name, seconds in result["phases"].items():
            phases[name] += seconds
    return {
        "sent": sum(r["sent"] for r in results),
        "failed": sum(r["failed"] for r in results),
        "suppressed": sum(r["suppressed"] for r in results),
        "retry": sum(r["retry"] for r in results),
        "cpu_seconds": sum(r["cpu_seconds"] for r in results),
        "phases_summed_over_workers": dict(phases),
        "peak_rss_mb_per_worker": [r["peak_rss_mb"] for r in results],
    }


Events = queue.Queue[tuple[int, str | None]]  # (0: the planner, n + 1: sender n; a line, or None at its end)


def _run_daily_overlapped(*, at: str, workers: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Plan and send at once, as `digest_tick` runs them: each committed chunk of the ledger is queued at once
    and sent while planning goes on. The Celery process running the tick sends nothing until it is done, so
    `workers - 1` processes send meanwhile, all of them after. Returns (plan, hand-off); the hand-off's
    "seconds" is the daily run's: from the start of planning to the last digest handed over."""
    command = [sys.executable, __file__, "--stage"]
    senders = [_piped([*command, "send-worker", "--queued", "--workers", str(workers), "--worker", str(n)])
               for n in range(workers)]  # fmt: skip
    processes = list(senders)
    try:
        for sender in senders:
            assert sender.stdout is not None and sender.stdout.readline().strip() == "ready"
        started, postgres, idle = time.time(), _postgres_cpu(), _machine_idle()
        processes.append(planner := _piped([*command, "plan", "--at", at, "--dispatch"]))
        events: Events = queue.Queue()
        for source, process in enumerate([planner, *senders]):
            threading.Thread(target=_lines_into, args=(process.stdout, source, events), daemon=True).start()
        plan, plan_ended = _senders_fed(events, senders)
        ended, postgres, idle = time.time(), _postgres_cpu() - postgres, _machine_idle() - idle
        reports = _sender_reports(events, senders)
    except BaseException:
        for process in processes:  # none left behind when a stage fails
            process.kill()
        raise
    hand_off = {"seconds": ended - started, "plan_ended_at": plan_ended - started, "postgres_cpu_seconds": postgres,
                "machine_idle_seconds": idle, **_summed(reports)}  # fmt: skip
    return plan, hand_off


def _senders_fed(events: Events, senders: list[subprocess.Popen[str]]) -> tuple[Any, float]:
    """Give each idle sender the next chunk the planner queued (all but the first sender while it plans) until
    the plan is done and every chunk sent; the plan's report and when it came."""
    chunks: deque[str] = deque()
    idle, busy, plan, plan_ended = list(range(1, len(senders))), 0, None, 0.0
    while plan is None or chunks or busy:
        source, line = events.get()
        if line is None and source == 0 and plan is not None:
            continue  # the planner's end, after its report
        if line is None:
            raise SystemExit(f"{'planner' if source == 0 else 'send worker'} stopped early")
        if source == 0 and line.startswith("chunk "):
            chunks.append(line[len("chunk ") :].strip())
        elif source == 0 and line.startswith("{"):
            plan, plan_ended = json.loads(line), time.time()
            idle.append(0)  # the planning process is free: it sends too
        elif source > 0 and line.strip() == "done":
            busy -= 1
            idle.append(source - 1)
        while chunks and idle:
            _tell(senders[idle.pop()], f"ids {chunks.popleft()}")
            busy += 1
    return plan, plan_ended


def _sender_reports(events: Events, senders: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    for sender in senders:
        _tell(sender, "stop")
    results: dict[int, dict[str, Any]] = {}
    while len(results) < len(senders):
        source, line = events.get()
        if line is None and source - 1 in results:
            continue  # a sender's end, after its report
        if line is None:
            raise SystemExit("send worker stopped early")
        if source > 0 and line.startswith("{"):
            results[source - 1] = json.loads(line)
    return list(results.values())


def _piped(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_DIR)


def _lines_into(stream: Any, source: int, events: Events) -> None:
    for line in stream:
        events.put((source, line))
    events.put((source, None))


def _tell(process: subprocess.Popen[str], line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()


def stage_check() -> dict[str, Any]:
    """What the run left in the ledger: every row settled, none twice."""
    _django(create=False)
    from django.db.models import Count

    from newsletter.models import Delivery

    return dict(Delivery.objects.values_list("status").annotate(n=Count("id")))


# --- orchestration --------------------------------------------------------------------------------------


def _stage(name: str, *extra: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--stage", name, *extra]
    output = subprocess.run(command, cwd=REPO_DIR, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_once(
    *, size: int, seed: int, workers: int, render_sample: int, baseline_sample: int, sequential: bool
) -> dict[str, Any]:
    load = os.getloadavg()[0]  # other work on the machine skews every figure: recorded with them
    setup = _stage("setup", "--size", str(size), "--seed", str(seed))
    print(f"    setup: {json.dumps(setup)}", flush=True)
    baseline = _stage("baseline", "--sample", str(baseline_sample), "--seed", str(seed))
    print(f"    baseline: {json.dumps(baseline)}", flush=True)
    if sequential:  # plan, then send: the tick before it queued each chunk as soon as it was written
        plan = _stage("plan", "--at", setup["at"])
        print(f"    plan: {json.dumps(plan)}", flush=True)
        send = _run_send_workers(workers)
        daily = plan["seconds"] + send["seconds"]
    else:
        plan, send = _run_daily_overlapped(at=setup["at"], workers=workers)
        print(f"    plan (while sending): {json.dumps(plan)}", flush=True)
        daily = send["seconds"]
    print(f"    hand-off: {json.dumps(send)}", flush=True)
    render = _stage("render", "--sample", str(render_sample))
    print(f"    render only: {json.dumps(render)}", flush=True)
    ledger = _stage("check")
    print(f"    ledger after: {json.dumps(ledger)}", flush=True)
    assert send["sent"] == plan["planned"] and ledger.get("pending", 0) == 0, (send, plan, ledger)
    return {
        "size": size,
        "load_average_before": load,
        "setup": setup,
        "baseline": baseline,
        "plan": plan,
        "render": render,
        "send": send,
        "daily_seconds": daily,
    }


def summarize(size: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    def median(get: Callable[[dict[str, Any]], float]) -> float:
        return statistics.median(get(run) for run in runs)

    def medians(stage: str, key: str) -> dict[str, float]:
        return {name: statistics.median(run[stage][key].get(name, 0.0) for run in runs) for name in runs[0][stage][key]}

    plan_phases = medians("plan", "phases")
    send_phases = medians("send", "phases_summed_over_workers")
    total = median(lambda r: r["daily_seconds"])
    baseline_rate = median(lambda r: r["baseline"]["sent"] / r["baseline"]["seconds"])
    return {
        "subscribers": size,
        "repeats": len(runs),
        "papers": runs[0]["setup"]["papers"],
        "distinct_interests": runs[0]["setup"]["distinct_interests"],
        "planned": runs[0]["plan"]["planned"],
        "skipped": runs[0]["plan"]["skipped"],
        "plan_seconds": median(lambda r: r["plan"]["seconds"]),
        "plan_phases": plan_phases,
        "plan_peak_rss_mb": max(r["plan"]["peak_rss_mb"] for r in runs),
        "plan_writer_thread": medians("plan", "writer_thread"),
        "load_average_before": max(r["load_average_before"] for r in runs),
        "send_seconds": median(lambda r: r["send"]["seconds"]),
        "send_phases_summed_over_workers": send_phases,
        "send_cpu_seconds": median(lambda r: r["send"]["cpu_seconds"]),
        "postgres_cpu_seconds": median(lambda r: r["send"].get("postgres_cpu_seconds", 0.0)),
        "machine_idle_seconds": median(lambda r: r["send"].get("machine_idle_seconds", 0.0)),
        "send_peak_rss_mb": max(max(r["send"]["peak_rss_mb_per_worker"]) for r in runs),
        "total_seconds": total,
        "digests_per_second": median(lambda r: r["plan"]["planned"] / r["daily_seconds"]),
        "render_per_second_one_core": median(lambda r: r["render"]["rendered"] / r["render"]["render_seconds"]),
        "assembly_per_second_one_core": median(lambda r: r["render"]["rendered"] / r["render"]["assembly_seconds"]),
        "render_mean_kb": median(lambda r: r["render"]["mean_digest_kb"]),
        "render_peak_rss_mb": max(r["render"]["peak_rss_mb"] for r in runs),
        "baseline_per_second": baseline_rate,
        "baseline_sample": runs[0]["baseline"]["sample"],
        "baseline_peak_rss_mb": max(r["baseline"]["peak_rss_mb"] for r in runs),
        "runs_total_seconds": [round(r["daily_seconds"], 1) for r in runs],
        "plan_ended_at": median(lambda r: r["send"].get("plan_ended_at", r["plan"]["seconds"])),
    }


def report(row: dict[str, Any], workers: int, *, sequential: bool) -> None:
    ratio = row["digests_per_second"] / row["baseline_per_second"]
    plan_label = "plan" if sequential else f"plan (while {workers - 1} of {workers} processes send)"
    hand_off_label = f"hand-off ({workers} processes)" if sequential else "planning and sending, overlapped,"
    print(
        f"\n{row['subscribers']:,} subscribers ({row['planned']:,} digests, {row['skipped']:,} with nothing new; "
        f"{row['papers']} papers, {row['distinct_interests']:,} distinct interests), median of {row['repeats']}:\n"
        f"  {plan_label} {row['plan_seconds']:.1f} s "
        + " ".join(f"[{k} {v:.1f} s]" for k, v in row["plan_phases"].items())
        + f", peak RSS {row['plan_peak_rss_mb']:,.0f} MB; in the writer's thread, overlapped: "
        + " ".join(f"[{k} {v:.1f} s]" for k, v in row["plan_writer_thread"].items())
        + "\n"
        f"  {hand_off_label} {row['send_seconds']:.1f} s, summed over workers: "
        + " ".join(f"[{k} {v:.1f} s]" for k, v in row["send_phases_summed_over_workers"].items())
        + f", CPU {row['send_cpu_seconds']:.1f} s, peak RSS per worker {row['send_peak_rss_mb']:,.0f} MB\n"
        f"  PostgreSQL's CPU over the run {row['postgres_cpu_seconds']:.1f} s, machine idle "
        f"{row['machine_idle_seconds']:.1f} s of all cores (0 with --sequential: not measured)\n"
        f"  daily run {row['total_seconds']:.1f} s = {row['digests_per_second']:,.0f} digests/s "
        f"(runs {row['runs_total_seconds']}; {'plan + hand-off' if sequential else 'overlapped'}, planning ended "
        f"at {row['plan_ended_at']:.1f} s)\n"
        f"  render only: {row['render_per_second_one_core']:,.0f} digests/s on one core, shared parts included; "
        f"{row['assembly_per_second_one_core']:,.0f} digests/s once they are rendered "
        f"(mean {row['render_mean_kb']:.1f} KB per digest), peak RSS {row['render_peak_rss_mb']:,.0f} MB\n"
        f"  baseline: {row['baseline_per_second']:,.1f} digests/s on one core ({row['baseline_sample']:,} sampled), "
        f"peak RSS {row['baseline_peak_rss_mb']:,.0f} MB\n"
        f"  ratio {ratio:,.0f}x (against the baseline on {workers} cores, {ratio / workers:,.0f}x); "
        f"load average before a run at most {row['load_average_before']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="send processes (the machine's cores)")
    parser.add_argument("--render-sample", type=int, default=20_000)
    parser.add_argument("--baseline-sample", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--json", type=Path, help="also write every run and the summaries here")
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="plan everything, then send (as the tick did before it queued each chunk)",
    )
    parser.add_argument("--dispatch", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--queued", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sample", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--at", help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(_run_stage(args)))
        return
    print(f"started {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}", flush=True)
    everything: list[dict[str, Any]] = []
    for size in (int(s) for s in args.subscribers.split(",")):
        runs = []
        for attempt in range(args.repeat):
            print(f"  {size:,} subscribers, run {attempt + 1}:", flush=True)
            runs.append(
                run_once(size=size, seed=args.seed, workers=args.workers, render_sample=args.render_sample,
                         baseline_sample=args.baseline_sample, sequential=args.sequential)
            )  # fmt: skip
        row = summarize(size, runs)
        report(row, args.workers, sequential=args.sequential)
        everything.append({"summary": row, "runs": runs})
        if args.json:
            args.json.write_text(json.dumps(everything, indent=2))


def _run_stage(args: argparse.Namespace) -> dict[str, Any]:
    if args.stage == "setup":
        return stage_setup(size=args.size, seed=args.seed)
    if args.stage == "baseline":
        return stage_baseline(sample=args.sample, seed=args.seed)
    if args.stage == "plan":
        return stage_plan(at=args.at, dispatch=args.dispatch)
    if args.stage == "render":
        return stage_render(sample=args.sample)
    if args.stage == "send-worker":
        return stage_send_worker(worker=args.worker, workers=args.workers, queued=args.queued)
    if args.stage == "check":
        return stage_check()
    raise SystemExit(f"unknown stage {args.stage}")


if __name__ == "__main__":
    main()
