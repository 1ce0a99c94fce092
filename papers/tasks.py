"""Celery tasks for papers: thin wrappers that call one service each."""

from __future__ import annotations

from pathlib import Path

from celery import shared_task
from django.conf import settings

from papers import freshness, services
from papers.signals import papers_added


@shared_task(name="papers.tasks.dumps_scan")
def dumps_scan(folder: str | None = None) -> dict[str, int]:
    """Ingest new or changed files of the dumps folder; returns how many files ended in each status."""
    results = services.dumps_scan(folder=Path(folder) if folder else Path(settings.PAPERBOY_DUMPS_DIR))
    summary: dict[str, int] = {}
    for result in results:
        summary[result.status] = summary.get(result.status, 0) + 1
    if any(result.created for result in results):
        papers_added.send(sender=dumps_scan)  # new papers: the newsletter's edition can take them now
        if settings.PAPERBOY_EMBED_PAPERS:
            papers_embed.delay_on_commit()  # type: ignore[attr-defined]
    return summary


@shared_task(name="papers.tasks.papers_embed")
def papers_embed() -> int:
    """Sentence vectors for the papers that have none yet (the matcher's semantic layer)."""
    return services.papers_embed()


@shared_task(name="papers.tasks.sources_check")
def sources_check() -> list[str]:
    """Warnings about the paper sources, logged and mailed to the editors (papers/freshness.py)."""
    return freshness.sources_check()
