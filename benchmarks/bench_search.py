"""Benchmark the public search (papers/search.py): PostgreSQL's full-text search through its GIN index, the
same query with the index turned off (what a scan of every paper costs), and the matcher engine.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/bench_search.py [--papers 20000] [--repeat 7]
    DATABASE_URL=postgres://... .venv/bin/python benchmarks/bench_search.py --ingest 10000 [--repeat 5]

It builds a throw-away test database (`test_<name>` of DATABASE_URL), fills it with --papers papers made from
the seed dumps' titles and abstracts (each seed paper again and again, numbered, so the words are real), and
times one results page (count, page, highlights) per query, the variants alternating within each round. The
matcher's index is built once before timing (it is rebuilt only when papers change).

With --ingest N it measures instead what keeping the stored vector costs ingestion: `dump_ingest` of bench_ingest's
generated N-paper dump into empty tables, then of its re-listing (every paper found, upvotes changed, text not),
with the vector's triggers enabled and disabled in turn.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402

QUERIES = ("in-context learning", '"language model" -survey', "diffusion, speech recognition", "transformers")


def papers_fill(count: int) -> None:
    from papers.models import Paper
    from papers.parsers import parse_dump, title_key

    seeds = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        seeds += [(p.title, p.abstract) for p in parse_dump(path.read_bytes(), today=date(2026, 3, 11)).items]
    rows = []
    for n in range(count):
        title, abstract = seeds[n % len(seeds)]
        title = f"{title} ({n})"
        rows.append(Paper(title=title, title_key=title_key(title), abstract=abstract, authors=[f"Author {n}"]))
    Paper.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE papers_paper")


def timed_page(query: str, variant: str) -> float:
    from papers.search import papers_search_page

    started = time.perf_counter()
    with transaction.atomic():
        if variant == "postgres, no index":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_bitmapscan = off")
                cursor.execute("SET LOCAL enable_indexscan = off")
        engine = "matcher" if variant == "matcher" else "postgres"
        papers_search_page(query=query, page=1, per_page=25, engine=engine)  # type: ignore[arg-type]
    return time.perf_counter() - started


def ingest_timed(*, papers: int, triggers: bool) -> tuple[float, float]:
    """Seconds to ingest the dump into empty tables, and to ingest its re-listing."""
    from benchmarks.bench_ingest import generate_dump
    from papers.services import dump_ingest

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE papers_paper, papers_dump CASCADE")
        cursor.execute(f"ALTER TABLE papers_paper {'ENABLE' if triggers else 'DISABLE'} TRIGGER USER")
    first, again = generate_dump(papers=papers, seed=1), generate_dump(papers=papers, seed=1, upvote_offset=5)
    started = time.perf_counter()
    dump_ingest(data=first, name="first.json", today=date(2025, 2, 1))
    ingested = time.perf_counter()
    dump_ingest(data=again, name="again.json", today=date(2025, 2, 2))
    return ingested - started, time.perf_counter() - ingested


def ingest_main(*, papers: int, repeat: int) -> None:
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(repeat):
        for triggers in (True, False):
            times[triggers].append(ingest_timed(papers=papers, triggers=triggers))
    for triggers, runs in times.items():
        first, again = (statistics.median(run[n] for run in runs) for n in (0, 1))
        label = "with the vector's triggers" if triggers else "triggers disabled"
        print(f"{papers} papers, {label:27} ingest {first:.2f} s, re-listing {again:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--ingest", type=int, default=0, help="measure ingestion of this many papers instead")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("set DATABASE_URL to a PostgreSQL server: this compares its full-text search with the matcher")
    settings.PAPERBOY_DUMP_MAX_BYTES = 256 * 1024 * 1024  # the generated dump is over the 20 MB default
    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        if args.ingest:
            ingest_main(papers=args.ingest, repeat=args.repeat)
            return
        papers_fill(args.papers)
        variants = ["postgres", "postgres, no index", "matcher"]
        started = time.perf_counter()
        timed_page(QUERIES[0], "matcher")  # builds the matcher's index once
        print(f"{args.papers} papers; the matcher's index built in {time.perf_counter() - started:.1f} s")
        for query in QUERIES:
            times: dict[str, list[float]] = {variant: [] for variant in variants}
            for _ in range(args.repeat):
                for variant in variants:
                    times[variant].append(timed_page(query, variant))
            medians = ", ".join(f"{v}: {statistics.median(t) * 1000:.1f} ms" for v, t in times.items())
            print(f"{query!r:38} {medians}")
    finally:
        teardown_databases(databases, verbosity=0)


if __name__ == "__main__":
    main()
