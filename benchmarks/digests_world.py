"""The daily-run benchmark's world (bench_digests.py): its database, the seed papers and edition, the
subscribers written with COPY, the straightforward way it is compared against, and how it measures.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")
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


def django_on_bench_db(*, create: bool) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    os.environ["DATABASE_URL"] = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/paperboy"
    os.environ["EMAIL_BACKEND"] = os.environ.get("BENCH_EMAIL_BACKEND") or DISCARD_BACKEND
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


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    return time.process_time()


def postgres_cpu() -> float:
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


def machine_idle() -> float:
    """Idle CPU seconds of the whole machine so far, all cores."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()
    return (int(fields[4]) + int(fields[5])) / _TICKS


def stage_setup(*, size: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    django_on_bench_db(create=True)
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


def stage_baseline(*, sample: int, seed: int) -> dict[str, Any]:
    """A query per subscriber and per interest, render_to_string, .send(), a row per subscriber; undone after."""
    django_on_bench_db(create=False)
    from newsletter.models import Delivery, Edition, Subscriber

    edition = Edition.objects.get()
    ids = list(Subscriber.objects.order_by("pk").values_list("pk", flat=True))
    picked = sorted(random.Random(seed + 1).sample(ids, min(sample, len(ids))))
    cpu, started = cpu_seconds(), time.perf_counter()
    sent = 0
    for pk in picked:
        sent += _baseline_one(subscriber_id=pk, edition=edition)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    Delivery.objects.filter(subscriber_id__in=picked).delete()  # the real run plans these subscribers too
    return {"sample": len(picked), "sent": sent, "seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": peak_rss_mb()}


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
