"""Benchmark: the editors' previews and interests report in the admin, before and after the kept index.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/paperboy REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python benchmarks/bench_admin_previews.py --papers 0,50000 --subscribers 5,100000 --repeat 5

Each size builds a database of its own (DATABASE_URL's name + `_previewbench`, by Django's test database creation):
`--papers` extra papers of an older edition (texts made of the seed papers' sentences, shuffled), then the
five seed dumps ingested and today's edition prepared (287 papers), and `--subscribers` active subscribers
with 1-8 interests drawn from the seed papers' n-grams (as bench_digests.py). The pages are fetched with
Django's test client as a logged-in superuser, the whole request timed (session, permissions, template):

  - before: the plain way, patched back in (`digests.digest_preview`: the index built twice per preview;
    the interests report builds the edition's index and explains every match);
  - after, cold: the first click in a process that has nothing kept (memo and shared cache empty);
  - after, another process: a third reader's preview with nothing in memory (the index from the cache);
  - after, warm: another reader's preview in the same process (the index kept);
  - after, shared: the same reader again, or "Send this preview to me" right after it (the finished
    preview from Django's cache, as another gunicorn worker would find it).

Before and after alternate within each repeat; figures are medians over repeats, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
BENCH_SUFFIX = "_previewbench"  # after the name in DATABASE_URL: helpers on one server do not share it


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    os.environ["DATABASE_URL"] = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/paperboy"
    sys.path.insert(0, str(REPO_DIR))
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    if connection.vendor != "postgresql":
        raise SystemExit("this benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    setup_test_environment()  # the test client's host, and email to memory
    bench_db = connection.settings_dict["NAME"] + BENCH_SUFFIX
    connection.settings_dict["TEST"] = {**connection.settings_dict.get("TEST", {}), "NAME": bench_db}


def setup(*, papers: int, subscribers: int, seed: int) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from benchmarks.digests_world import _interest_pool, _subscribers_copy
    from newsletter.models import Edition
    from newsletter.services.editions import edition_prepare
    from papers.models import Paper
    from papers.services import dump_ingest_file

    for path in sorted((REPO_DIR / "seeds").glob("*.txt")):
        dump_ingest_file(path=path)
    rng = random.Random(seed)
    seed_texts = list(Paper.objects.values_list("title", "abstract"))
    if papers:
        _older_papers(count=papers, texts=seed_texts, rng=rng)
    edition = edition_prepare()
    assert edition is not None
    pool = _interest_pool(seed_texts, rng)
    _subscribers_copy(size=subscribers, pool=pool, rng=rng, at=timezone.now())
    User.objects.create_superuser("bench", "bench@example.org", "bench-password-1")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "papers": Paper.objects.count(),
        "edition_papers": edition.entries.count(),
        "editions": Edition.objects.count(),
    }


def _older_papers(*, count: int, texts: list[tuple[str, str]], rng: random.Random) -> None:
    """`count` papers first seen two days ago, in yesterday's edition: today's edition does not hold them."""
    from django.utils import timezone

    from newsletter.models import Edition, EditionPaper
    from papers.models import Paper

    then = timezone.now() - timedelta(days=2)
    sentences = [s for _, abstract in texts for s in abstract.split(". ") if s]
    rows = []
    for n in range(count):
        title = f"{rng.choice(texts)[0][:150]} ({n})"
        abstract = ". ".join(rng.sample(sentences, 6))
        rows.append(Paper(title=title, title_key=title.lower(), abstract=abstract, first_seen_at=then, updated_at=then))
    Paper.objects.bulk_create(rows, batch_size=5000)
    yesterday = Edition.objects.create(
        issue_date=timezone.localdate() - timedelta(days=1), status="approved", papers_through=then + timedelta(hours=1)
    )
    ids = Paper.objects.order_by("-id").values_list("pk", flat=True)[:300]
    EditionPaper.objects.bulk_create(
        EditionPaper(edition=yesterday, paper_id=pk, position=n) for n, pk in enumerate(ids)
    )


# --- the plain way, as it was -------------------------------------------------------------------------------


@contextmanager
def plain_way() -> Iterator[None]:
    """The preview and the report as before the kept index: patched back in for the baseline."""
    from newsletter.models import EditionPaper
    from newsletter.paper_indexes import paper_index_build
    from newsletter.services import curation, edition_index
    from newsletter.services.indexing import interest_matches
    from newsletter.services.planning import digest_preview
    from papers.selectors import paper_texts

    def preview(*, edition: Any, subscriber: Any, finish: Callable[[Any], Any]) -> Any:
        rendered = digest_preview(edition=edition, subscriber=subscriber)
        return finish(rendered) if rendered is not None else None

    def counts(*, edition: Any, interests: list[str]) -> dict[str, int | None]:
        ids = EditionPaper.objects.filter(edition=edition).values_list("paper_id", flat=True)
        index = paper_index_build(papers=paper_texts(ids=list(ids)))
        found: dict[str, int | None] = {}
        for text in interests:
            try:
                found[text] = len(interest_matches(index=index, interest=text))
            except Exception:
                found[text] = None
        return found

    saved = (curation.preview_shared, edition_index.interest_match_counts)
    curation.preview_shared, edition_index.interest_match_counts = preview, counts
    try:
        yield
    finally:
        curation.preview_shared, edition_index.interest_match_counts = saved


# --- measuring -----------------------------------------------------------------------------------------------


def _forget_all() -> None:
    from django.core.cache import cache

    from newsletter.services.edition_index import edition_index_forget

    edition_index_forget()
    cache.clear()  # the benchmark's own Redis database (or the file cache): as a process that starts cold


def measure(*, repeat: int) -> dict[str, float]:
    from django.core.cache import cache
    from django.test import Client

    from newsletter.models import Edition, Subscriber
    from newsletter.services.edition_index import edition_index_forget

    client = Client()
    client.login(username="bench", password="bench-password-1")
    edition = Edition.objects.order_by("-issue_date").first()
    assert edition is not None
    readers = list(Subscriber.objects.filter(status="active").order_by("pk").values_list("pk", flat=True)[:400])
    preview = f"/admin/newsletter/edition/{edition.pk}/preview/"
    send = f"/admin/newsletter/edition/{edition.pk}/preview/send/"
    report = "/admin/newsletter/subscriber/interests/"
    page = f"/admin/newsletter/edition/{edition.pk}/change/"
    client.get(report)  # content types, templates: the steady state of a running process
    times: dict[str, list[float]] = {}

    def timed(name: str, method: Callable[..., Any], url: str, data: dict[str, Any] | None = None) -> None:
        started = time.perf_counter()
        response = method(url, data or {})
        times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 302), response.status_code

    for round_ in range(repeat):
        a, b, c = (readers[(3 * round_ + n) % len(readers)] for n in range(3))
        with plain_way():
            timed("before: preview", client.get, preview, {"subscriber": a})
            timed("before: send this preview to me", client.post, send, {"subscriber": a})
            timed("before: interests report", client.get, report)
        _forget_all()
        timed("after: preview, cold process", client.get, preview, {"subscriber": a})
        timed("after: send this preview to me (shared)", client.post, send, {"subscriber": a})
        edition_index_forget()  # another process: nothing in memory, the index in the shared cache
        timed("after: preview, another process (index shared)", client.get, preview, {"subscriber": c})
        timed("after: another reader's preview (warm)", client.get, preview, {"subscriber": b})
        timed("after: the same preview again (shared)", client.get, preview, {"subscriber": b})
        cache.clear()  # the report's counts not shared yet: from the kept index
        timed("after: interests report (warm)", client.get, report)
        timed("after: interests report (shared)", client.get, report)
        cache.clear()  # the edition page's reach not counted yet (the index is kept)
        timed("edition page, reach counted (new)", client.get, page)
        timed("edition page, reach shared (new)", client.get, page)
        timed("edition page, search (new)", client.get, page, {"q": "agents"})
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", default="0", help="extra papers in an older edition, comma-separated sizes")
    parser.add_argument("--subscribers", default="5", help="active subscribers, one per --papers size")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    _django()
    for papers, subscribers in zip(
        [int(v) for v in args.papers.split(",")], [int(v) for v in args.subscribers.split(",")], strict=True
    ):
        from django.db import connection

        if connection.settings_dict["NAME"].endswith(BENCH_SUFFIX):  # the previous size's: back to the server's
            connection.close()
            connection.settings_dict["NAME"] = connection.settings_dict["NAME"][: -len(BENCH_SUFFIX)]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)  # a fresh one per size
        started = time.perf_counter()
        sizes = setup(papers=papers, subscribers=subscribers, seed=args.seed)
        print(f"\n{sizes} and {subscribers:,} subscribers (set up in {time.perf_counter() - started:.0f} s)")
        for name, median in measure(repeat=args.repeat).items():
            print(f"  {name:<45} {median:8.0f} ms")


if __name__ == "__main__":
    main()
