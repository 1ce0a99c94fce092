"""Benchmark: what a digest's signed links cost its rendering, per digest, once the shared parts are built.

    .venv/bin/python benchmarks/bench_render_links.py --subscribers 2000 --passes 5

On a throw-away SQLite database: the five seed dumps, today's edition, N daily subscribers with 1-4 interests
drawn from a fixed list (seeded RNG), planned by `digest_plan`. Then `DigestRenderer.render` over every planned
delivery: one warm-up pass (it builds the shell, each paper's block skeleton and each (paper, interest) block),
then --passes timed passes (CPU time), which are assembly only: the per-digest work, where each signed link is a token
made and joined. Prints the median microseconds per digest and the mean HTML size. Run it in two checkouts
(before and after a change to the links), alternating, to compare: it uses only APIs both have.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO_DIR = Path.cwd()
INTERESTS = [
    "in-context learning", "diffusion models", "chain-of-thought", "large language models", "agents",
    "reinforcement learning", "retrieval-augmented generation", "vision-language models", "knowledge distillation",
    "mixture of experts", "code generation", "speech recognition", "graph neural networks", "RLHF",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()
    database = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings_test",
        DATABASE_URL=f"sqlite:///{database}",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    sys.path.insert(0, str(REPO_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    deliveries = _planned(args.subscribers, random.Random(args.seed))
    from newsletter.services.sending import renderer_for

    def render_all() -> tuple[float, int]:
        began = time.process_time()  # CPU time: a shared machine's load moves wall time far more
        size = 0
        for delivery in deliveries:
            rendered = renderer_for(delivery).render(
                delivery_id=delivery.pk, subscriber=delivery.subscriber, items=delivery.papers
            )
            size += len(rendered.html)
        return time.process_time() - began, size

    render_all()  # warm-up: the shared parts
    timings = [render_all() for _ in range(args.passes)]
    per_digest = statistics.median(seconds for seconds, _ in timings) / len(deliveries) * 1e6
    print(f"{REPO_DIR.name}: {len(deliveries)} digests, render {per_digest:.1f} µs CPU per digest (median of "
          f"{args.passes} passes), HTML {timings[0][1] / len(deliveries) / 1000:.1f} KB per digest")  # fmt: skip


def _planned(subscribers: int, rng: random.Random) -> list:
    from newsletter.models import Delivery, Subscriber
    from newsletter.services.editions import edition_prepare
    from newsletter.services.planning import digest_plan
    from papers.services import dump_ingest_file

    for path in sorted((REPO_DIR / "seeds").glob("*.txt")):
        dump_ingest_file(path=path, today=date(2026, 11, 24))
    edition_prepare()
    Subscriber.objects.bulk_create(
        Subscriber(
            email=f"reader{n}@example.org",
            status="active",
            interests=rng.sample(INTERESTS, rng.randint(1, 4)),
            send_hour=0,
            timezone="UTC",
        )
        for n in range(subscribers)
    )
    digest_plan()
    return list(Delivery.objects.filter(status="pending").select_related("subscriber", "edition").order_by("pk"))


if __name__ == "__main__":
    main()
