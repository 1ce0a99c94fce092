"""Benchmark the matcher: N synthetic subscribers against 1,000 papers, percolation vs. per-subscriber.

    .venv/bin/python benchmarks/bench_matching.py --subscribers 100000,1000000,3000000 --repeat 3

Papers: the seed dumps' unique papers, topped up to --papers with synthetic ones whose titles and abstracts
recombine real titles and real abstract sentences. Interests: n-grams (1-3 words, no stop word at either end) of the
real titles and abstracts, drawn with Zipf-like popularity, so tens of thousands are distinct; a few are "quoted",
and some subscribers add a -exclusion. Everything comes from a seeded RNG.

Each (size, repeat) runs in a fresh subprocess, so its peak RSS (ru_maxrss) is its own. "match all" is percolate()
plus every subscriber's matched paper set; "explained digest" is a subscriber's ranked digest with its first 20
papers explained, timed on a sample (that cost is paid per email, when rendering). The baseline compiles and
evaluates each subscriber's interests for that subscriber alone (one query per subscriber), timed on a sample in the
same process and extrapolated; its results are checked equal to percolation's. The baseline runs after percolation,
so it finds the stemmer and unit caches warm: that makes it faster than a cold per-subscriber run, and the speed-up
conservative.

    .venv/bin/python benchmarks/bench_matching.py --semantic --subscribers 100000,1000000,3000000 --repeat 3

--semantic runs each size twice per repeat, lexical-only and with the semantic layer (the fused matcher of issue
16), alternately, each in its own subprocess, and reports both and their ratio. The corpus is synthetic, so are its
vectors: random unit vectors (384 dimensions, float32) for each paper's title + abstract, title and each abstract
sentence, and for each distinct interest, made before the clock starts (as the planner finds them stored:
InterestVector). The matrix products, feature assembly and decisions are the real ones; which pairs the fused
matcher picks on random vectors is not meaningful, only what it costs."""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.matching_vectors import DIMENSION, synthetic_layer  # noqa: E402
from newsletter.matching import (  # noqa: E402
    PaperIndex,
    PaperText,
    build_index,
    compile_interest,
    learn_acronyms,
    percolate,
)
from newsletter.matching.index import iter_bits  # noqa: E402
from newsletter.matching.scoring import excluded, score_interest  # noqa: E402
from newsletter.matching.text import STOP_WORDS  # noqa: E402
from papers.parsers import parse_dump  # noqa: E402

SEEDS = ROOT / "seeds"
DIGEST_PAPERS = 20  # papers explained per sampled digest (an email lists the best few)
_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def seed_papers() -> list[tuple[str, str]]:
    unique: dict[str, str] = {}
    for path in sorted(SEEDS.glob("*.txt")):
        dump = parse_dump(path.read_bytes(), today=date(2025, 1, 1))
        for item in dump.items:
            unique.setdefault(item.title, item.abstract)
    return list(unique.items())


def make_papers(real: list[tuple[str, str]], count: int, rng: random.Random) -> list[PaperText]:
    sentences = [s for _, abstract in real for s in _SENTENCES.split(abstract) if len(s) > 20]
    papers = [PaperText(id=n, title=t, abstract=a) for n, (t, a) in enumerate(real[:count])]
    while len(papers) < count:
        first, second = rng.choice(real)[0].split(), rng.choice(real)[0].split()
        title = " ".join(first[: len(first) // 2] + second[len(second) // 2 :])
        abstract = " ".join(rng.sample(sentences, rng.randint(5, 10)))
        papers.append(PaperText(id=len(papers), title=title, abstract=abstract))
    return papers


def interest_pool(real: list[tuple[str, str]], rng: random.Random) -> list[str]:
    grams: set[str] = set()
    for title, abstract in real:
        for text in (title, *_SENTENCES.split(abstract)):
            words = [w.lower() for w in _WORDS.findall(text)]
            for size in (1, 2, 3):
                for i in range(len(words) - size + 1):
                    gram = words[i : i + size]
                    if gram[0] in STOP_WORDS or gram[-1] in STOP_WORDS or len(" ".join(gram)) < 4:
                        continue
                    grams.add(" ".join(gram))
    pool = sorted(grams)
    rng.shuffle(pool)  # popularity rank is random, so popular interests are any length and topic
    return pool


def make_subscribers(pool: list[str], count: int, rng: random.Random) -> list[tuple[int, tuple[str, ...]]]:
    # Zipf-like popularity (weight 1/(rank+10)); a few quoted phrases and exclusions, as people type them.
    weights = [1.0 / (rank + 10) for rank in range(len(pool))]
    quoted = {text: f'"{text}"' for text in pool[::40] if " " in text}
    pool = [quoted.get(text, text) for text in pool]
    sizes = [rng.randint(1, 8) for _ in range(count)]
    drawn = rng.choices(pool, weights=weights, k=sum(sizes))
    exclusions = [text for text in pool[:2000] if " " not in text]
    subscribers: list[tuple[int, tuple[str, ...]]] = []
    at = 0
    for key, size in enumerate(sizes):
        interests = drawn[at : at + size]
        at += size
        if rng.random() < 0.02:
            interests.append("-" + rng.choice(exclusions))
        subscribers.append((key, tuple(interests)))
    return subscribers


def per_subscriber_baseline(
    index: PaperIndex, subscribers: list[tuple[int, tuple[str, ...]]]
) -> tuple[float, dict[int, int]]:
    """The straightforward way: for each subscriber, compile and run each of their interests."""
    found: dict[int, int] = {}
    started = time.perf_counter()
    for key, interests in subscribers:
        positive = negative = 0
        for text in interests:
            compiled = compile_interest(text, acronyms=index.acronyms)
            if compiled.clauses:
                for number, _ in score_interest(index, compiled):
                    positive |= 1 << number
            else:
                negative |= excluded(index, compiled)
        found[key] = positive & ~negative if positive else 0
    return time.perf_counter() - started, found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _world(size: int, papers_count: int, seed: int) -> tuple[list[Any], list[Any], Any]:
    """Papers, subscribers, acronyms learned (seeded)."""
    rng = random.Random(seed)
    real = seed_papers()
    papers = make_papers(real, papers_count, rng)
    subscribers = make_subscribers(interest_pool(real, rng), size, rng)
    return papers, subscribers, learn_acronyms(texts=(f"{p.title}\n{p.abstract}" for p in papers))


def child(size: int, papers_count: int, seed: int, sample: int, workers: int, semantic: int = 0) -> dict[str, Any]:
    """One measurement; `semantic`: the vectors' dimension (0: lexical-only)."""
    papers, subscribers, table = _world(size, papers_count, seed)
    started = time.perf_counter()
    index = build_index(papers=papers, acronyms=table)
    layer = synthetic_layer(papers, subscribers, seed, semantic) if semantic else None
    index_seconds = time.perf_counter() - started
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    load_before = os.getloadavg()[0]
    cpu_started = time.process_time() + _children_cpu()
    started = time.perf_counter()
    result = percolate(index=index, subscribers=subscribers, workers=workers, semantic=layer)
    percolate_seconds = time.perf_counter() - started
    total_matches = 0
    for _, bits in result.iter_paper_bits():
        total_matches += bits.bit_count()
    match_all_seconds = time.perf_counter() - started
    match_all_cpu = time.process_time() + _children_cpu() - cpu_started
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    picked, digest_seconds, baseline_seconds, mismatches = _sampled(
        result, index, subscribers, seed=seed, sample=1 if semantic else sample, semantic=semantic
    )  # with `semantic` the baseline and explanations are the lexical mode's figures: one subscriber
    stats = result.stats
    return {
        "subscribers": size,
        "mode": f"semantic {semantic}-dim" if semantic else "lexical",
        "dimension": semantic,
        "papers": len(index),
        "interest_uses": stats.interest_uses,
        "distinct_interests": stats.distinct_interests,
        "interest_matches": stats.interest_matches,
        "subscriber_matches": total_matches,
        "index_seconds": index_seconds,
        "percolate_seconds": percolate_seconds,
        "match_all_seconds": match_all_seconds,
        "match_all_cpu_seconds": match_all_cpu,
        "load_average_before": load_before,
        "rss_loaded_mb": rss_loaded / 1024,
        "rss_peak_mb": rss_peak / 1024,
        "rss_worker_peak_mb": rss_workers / 1024,
        "workers": workers,
        "digest_ms_per_subscriber": digest_seconds * 1000,
        "baseline_ms_per_subscriber": baseline_seconds / len(picked) * 1000,
        "baseline_sample": len(picked),
        "baseline_mismatches": mismatches,
        "first_paper_of_sample": next(iter_bits(result.paper_bits(picked[0][0])), -1),
    }


def _sampled(
    result: Any, index: Any, subscribers: list[Any], *, seed: int, sample: int, semantic: int
) -> tuple[list[Any], float, float, int]:
    """Sampled digests and the per-subscriber baseline: (sample, seconds a digest, baseline seconds, mismatches)."""
    picked = random.Random(seed + 1).sample(subscribers, min(sample, len(subscribers)))
    started = time.perf_counter()
    for key, _ in picked:
        result.matches(key, limit=DIGEST_PAPERS)
    digest_seconds = (time.perf_counter() - started) / len(picked)
    baseline_seconds, baseline = per_subscriber_baseline(index, picked)
    mismatches = 0 if semantic else sum(1 for key, _ in picked if baseline[key] != result.paper_bits(key))
    return picked, digest_seconds, baseline_seconds, mismatches


def run(
    sizes: list[int],
    repeat: int,
    papers: int,
    seed: int,
    sample: int,
    workers: int,
    dimensions: tuple[int, ...] = (),
    repeat_large: int | None = None,
) -> list[dict[str, Any]]:
    """Each size `repeat` times (sizes of 3,000,000 and more `repeat_large` times), lexical-only and then with
    the semantic layer at each dimension, alternately, each run in its own process."""
    rows = []
    modes = (0, *dimensions)
    for size in sizes:
        by_mode: dict[int, list[dict[str, Any]]] = {mode: [] for mode in modes}
        repeat = repeat if repeat_large is None or size < 3_000_000 else repeat_large
        for attempt in range(repeat):
            for mode in modes:  # alternately, so both modes see the same load
                command = [sys.executable, __file__, "--child", str(size), "--papers", str(papers)]
                command += ["--seed", str(seed), "--sample", str(sample), "--workers", str(workers)]
                command += ["--dimension", str(mode)] if mode else []
                output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                by_mode[mode].append(json.loads(output.strip().splitlines()[-1]))
                last = by_mode[mode][-1]
                print(
                    f"  {size:>9,} subscribers, {last['mode']}, run {attempt + 1}: {last['match_all_seconds']:.2f} s "
                    f"({last['match_all_cpu_seconds']:.2f} s CPU, load average before "
                    f"{last['load_average_before']:.2f}, peak RSS {last['rss_peak_mb']:,.0f} MB)",
                    flush=True,
                )
        for mode in modes:
            rows.append(_summary(by_mode[mode], size, repeat))
    return rows


def _summary(runs: list[dict[str, Any]], size: int, repeat: int) -> dict[str, Any]:
    row = dict(runs[0])
    for name in (
        "index_seconds",
        "percolate_seconds",
        "match_all_seconds",
        "match_all_cpu_seconds",
        "digest_ms_per_subscriber",
    ):
        row[name] = statistics.median(r[name] for r in runs)
    row["baseline_ms_per_subscriber"] = statistics.median(r["baseline_ms_per_subscriber"] for r in runs)
    row["rss_peak_mb"] = max(r["rss_peak_mb"] for r in runs)
    row["rss_loaded_mb"] = max(r["rss_loaded_mb"] for r in runs)
    row["rss_worker_peak_mb"] = max(r["rss_worker_peak_mb"] for r in runs)
    row["baseline_extrapolated_seconds"] = row["baseline_ms_per_subscriber"] * size / 1000
    row["speedup"] = row["baseline_extrapolated_seconds"] / row["match_all_seconds"]
    row["repeats"] = repeat
    row["runs_seconds"] = [round(r["match_all_seconds"], 2) for r in runs]
    row["load_average_before"] = max(r["load_average_before"] for r in runs)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| subscribers | distinct interests | interest-paper matches | subscriber-paper matches "
        "| match all (median) | peak RSS | per-subscriber baseline (extrapolated) | speed-up | mode |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['subscribers']:,} | {r['distinct_interests']:,} | {r['interest_matches']:,} "
            f"| {r['subscriber_matches']:,} | {r['match_all_seconds']:.2f} s "
            f"(percolate {r['percolate_seconds']:.2f} s) | {r['rss_peak_mb']:,.0f} MB "
            f"| {r['baseline_ms_per_subscriber']:.2f} ms/subscriber → "
            f"{r['baseline_extrapolated_seconds']:,.0f} s "
            f"| {r['speedup']:,.0f}× | {r['mode']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", default="100000,1000000,3000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20250311)
    parser.add_argument("--sample", type=int, default=300, help="subscribers timed for baseline and digest")
    parser.add_argument("--workers", type=int, default=2, help="processes evaluating interests (cores)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--semantic", action="store_true", help="also run with the semantic layer (synthetic vectors)")
    parser.add_argument(
        "--dimensions", default=str(DIMENSION), help="with --semantic: vector widths to run, e.g. 384,768"
    )
    parser.add_argument("--dimension", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--repeat-large", type=int, help="repeats at 3,000,000 subscribers and more")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.papers, args.seed, args.sample, args.workers, args.dimension)))
        return
    sizes = [int(size) for size in args.subscribers.split(",")]
    dimensions = tuple(int(d) for d in args.dimensions.split(",")) if args.semantic else ()
    rows = run(sizes, args.repeat, args.papers, args.seed, args.sample, args.workers, dimensions, args.repeat_large)
    print(table(rows))
    lexical_rows = {r["subscribers"]: r for r in rows if not r["dimension"]}
    for fused in (r for r in rows if r["dimension"]):
        lexical = lexical_rows[fused["subscribers"]]
        print(
            f"{fused['subscribers']:,}: {fused['mode']} / lexical-only = "
            f"{fused['match_all_seconds'] / lexical['match_all_seconds']:.2f}× time "
            f"({fused['match_all_cpu_seconds'] / lexical['match_all_cpu_seconds']:.2f}× CPU), "
            f"peak RSS {fused['rss_peak_mb']:,.0f} + {fused['rss_worker_peak_mb']:,.0f} MB "
            f"vs {lexical['rss_peak_mb']:,.0f} + {lexical['rss_worker_peak_mb']:,.0f} MB"
        )
    for r in rows:
        print(
            f"{r['subscribers']:,}: index {r['index_seconds']:.2f} s, "
            f"loaded RSS {r['rss_loaded_mb']:,.0f} MB, "
            f"explained digest {r['digest_ms_per_subscriber']:.3f} ms/subscriber, "
            f"runs {r['runs_seconds']} s, CPU {r['match_all_cpu_seconds']:.2f} s, "
            f"worker peak RSS {r['rss_worker_peak_mb']:,.0f} MB, "
            f"baseline mismatches {r['baseline_mismatches']}/{r['baseline_sample']}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
