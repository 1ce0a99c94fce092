"""Benchmark: ingest a generated 10,000-paper dump; time and peak memory, against a per-item baseline.

    .venv/bin/python benchmarks/bench_ingest.py [--papers 10000] [--repeat 5]

Each measurement runs in a fresh process on a fresh database (the one DATABASE_URL names, else SQLite), so
peak RSS is that run's own. Reported: the median of the repeats for
  - parse: bytes -> ParsedDump only;
  - ingest: `dump_ingest` of the dump into an empty database (batched upserts, one transaction);
  - re-list: `dump_ingest` of a second dump listing the same papers (every paper found and enriched);
  - baseline: the straightforward way, one get-or-create and one listing insert per item, same data.

    .venv/bin/python benchmarks/bench_ingest.py --embedding [--embed-papers 1000] [--repeat 3]

--embedding measures the ingestion with its embedding step (issue 16), on --embed-papers papers whose abstracts
are sentences as real abstracts have them (5-10 sentences of 12-30 words; the encoder's cost follows tokens):
  - ingest without embedding: `dump_ingest` alone (PAPERBOY_EMBED_PAPERS off);
  - ingest with embedding: `dump_ingest`, then `papers_embed` as the ingestion task runs it (every paper's
    title + abstract, title and each sentence encoded and stored), its own time also shown;
each in a fresh process, so the peak RSS includes the model (loaded once per process).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
WORDS = [
    "sparse",
    "attention",
    "transformer",
    "diffusion",
    "agents",
    "reasoning",
    "retrieval",
    "graph",
    "contrastive",
    "policy",
    "reward",
    "quantization",
    "kernel",
    "benchmark",
    "multimodal",
    "video",
    "speech",
    "protein",
    "robot",
    "planning",
    "memory",
    "scaling",
]


def generate_dump(*, papers: int, seed: int, upvote_offset: int = 0, sentences: bool = False) -> bytes:
    """An HF-API-format dump: realistic field sizes, arXiv ids, authors and upvotes (`sentences`: abstracts
    made of 5-10 sentences, as the encoder sees real ones)."""
    rng = random.Random(seed)
    items = []
    for n in range(papers):
        title = " ".join(rng.choice(WORDS).capitalize() for _ in range(rng.randint(6, 14))) + f" {n}"
        summary = " ".join(rng.choice(WORDS) for _ in range(rng.randint(150, 250))) + "."
        if sentences:
            summary = " ".join(
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30))).capitalize() + "."
                for _ in range(rng.randint(5, 10))
            )
        paper = {
            "id": f"2501.{n:05d}",
            "title": title,
            "summary": summary,
            "upvotes": n % 97 + upvote_offset,
            "authors": [{"name": f"Author {rng.randint(1, 5000)}"} for _ in range(rng.randint(1, 8))],
            "publishedAt": "2025-01-15T00:00:00.000Z",
        }
        items.append({"paper": paper, "title": title, "publishedAt": "2025-01-16T00:00:00.000Z"})
    return json.dumps(items).encode()


def _setup_django_on_a_fresh_database() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    # 10,000 papers with full author lists are ~21 MB of JSON, over the 20 MB default limit for one dump.
    os.environ.setdefault("PAPERBOY_DUMP_MAX_BYTES", str(256 * 1024 * 1024))
    sys.path.insert(0, str(REPO_DIR))
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    # A database of its own, so a benchmark never clobbers the test suite's.
    sqlite = connection.vendor == "sqlite"
    name = str(settings.VAR_DIR / "bench.sqlite3") if sqlite else "paperboy_bench"
    connection.settings_dict["TEST"] = {**connection.settings_dict.get("TEST", {}), "NAME": name}
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)


def _baseline_ingest(data: bytes) -> None:
    """What a first version would do: a query or two per paper, one row at a time."""
    from django.db import transaction

    from papers.models import Dump, Listing, Paper
    from papers.parsers import parse_dump, title_key

    parsed = parse_dump(data, today=date(2025, 2, 1), max_bytes=len(data))
    with transaction.atomic():
        dump = Dump.objects.create(name="baseline", sha256="0" * 64, size_bytes=len(data), status="ingested")
        for item in parsed.items:
            paper = Paper.objects.filter(arxiv_id=item.arxiv_id).first()
            if paper is None:
                paper = Paper.objects.create(
                    title=item.title,
                    abstract=item.abstract,
                    arxiv_id=item.arxiv_id,
                    title_key=title_key(item.title),
                    authors=list(item.authors),
                )
            Listing.objects.create(dump=dump, paper=paper, rank=item.rank, listed_on=date(2025, 1, 16))


def run_once(*, phase: str, papers: int) -> dict[str, float]:
    """One measurement in this (fresh) process."""
    _setup_django_on_a_fresh_database()
    from papers.parsers import parse_dump
    from papers.services import dump_ingest

    if phase in ("plain", "embed"):
        return _run_embedding(phase=phase, papers=papers)
    data = generate_dump(papers=papers, seed=1)
    today = date(2025, 2, 1)
    if phase == "relist":
        dump_ingest(data=data, name="first.json", today=today)
        data = generate_dump(papers=papers, seed=1, upvote_offset=5)
    started = time.perf_counter()
    if phase == "parse":
        parse_dump(data, today=today, max_bytes=len(data))
    elif phase == "baseline":
        _baseline_ingest(data)
    else:
        result = dump_ingest(data=data, name=f"{phase}.json", today=today)
        assert result.items == papers, result
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_rss_mb": peak_mb, "dump_mb": len(data) / 1e6}


def _run_embedding(*, phase: str, papers: int) -> dict[str, float]:
    from papers.services import dump_ingest, papers_embed

    data = generate_dump(papers=papers, seed=2, sentences=True)
    started = time.perf_counter()
    result = dump_ingest(data=data, name=f"{phase}.json", today=date(2025, 2, 1))
    assert result.items == papers, result
    ingested = time.perf_counter()
    embedded = papers_embed() if phase == "embed" else 0
    assert embedded == (papers if phase == "embed" else 0)
    finished = time.perf_counter()
    return {
        "seconds": finished - started,
        "embed_seconds": finished - ingested,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "dump_mb": len(data) / 1e6,
    }


def main_embedding(*, papers: int, repeat: int) -> None:
    database = os.environ.get("DATABASE_URL", "sqlite (default)").split(":", 1)[0]
    print(f"database: {database}, papers: {papers:,}, repeats: {repeat} (median shown), alternating")
    runs: dict[str, list[dict[str, float]]] = {"plain": [], "embed": []}
    for _ in range(repeat):
        for phase in runs:
            runs[phase].append(_measure(phase=phase, papers=papers))
    for phase, label in (("plain", "ingest without embedding"), ("embed", "ingest with embedding")):
        m = {key: statistics.median(run[key] for run in runs[phase]) for key in runs[phase][0]}
        line = f"{label:>26}: {m['seconds']:7.2f} s  {papers / m['seconds']:8,.1f} papers/s  "
        line += f"peak RSS {m['peak_rss_mb']:6.0f} MB"
        if phase == "embed":
            line += f"  (embedding step {m['embed_seconds']:.2f} s, {papers / m['embed_seconds']:,.1f} papers/s)"
        print(line + f"  runs {[round(run['seconds'], 2) for run in runs[phase]]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--embedding", action="store_true", help="ingest with and without the embedding step")
    parser.add_argument("--embed-papers", type=int, default=1_000, help="papers for --embedding")
    choices = ["parse", "ingest", "relist", "baseline", "plain", "embed"]
    parser.add_argument("--one-run", choices=choices, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        print(json.dumps(run_once(phase=args.one_run, papers=args.papers)))
        return
    if args.embedding:
        main_embedding(papers=args.embed_papers, repeat=args.repeat)
        return
    database = os.environ.get("DATABASE_URL", "sqlite (default)").split(":", 1)[0]
    print(f"database: {database}, papers: {args.papers:,}, repeats: {args.repeat} (median shown)")
    medians = {}
    for phase in ("parse", "ingest", "relist", "baseline"):
        runs = [_measure(phase=phase, papers=args.papers) for _ in range(args.repeat)]
        medians[phase] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        m = medians[phase]
        print(
            f"{phase:>9}: {m['seconds']:7.2f} s  {args.papers / m['seconds']:9,.0f} papers/s  "
            f"peak RSS {m['peak_rss_mb']:6.0f} MB  (dump {m['dump_mb']:.1f} MB)"
        )
    ratio = medians["baseline"]["seconds"] / medians["ingest"]["seconds"]
    print(f"ingest is {ratio:.1f}x faster than the per-item baseline")


def _measure(*, phase: str, papers: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--one-run", phase, "--papers", str(papers)]
    output = subprocess.run(command, cwd=REPO_DIR, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
