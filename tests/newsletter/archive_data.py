"""Editions built directly, for the public archive's tests: which papers, in what order, which are picks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from newsletter.models import Edition, EditionPaper
from papers.models import Paper


def edition_make(
    day: date,
    papers: Sequence[Paper],
    *,
    picks: Sequence[Paper] = (),
    status: str = Edition.Status.APPROVED,
) -> Edition:
    """An edition of `papers` in that order; `picks` are editor's picks wherever they stand."""
    through = datetime.combine(day, time(6), tzinfo=UTC)
    edition = Edition.objects.create(
        issue_date=day, status=status, papers_through=through, approved_at=through if status == "approved" else None
    )
    pick_ids = {paper.pk for paper in picks}
    EditionPaper.objects.bulk_create(
        EditionPaper(edition=edition, paper=paper, position=n, is_featured=paper.pk in pick_ids)
        for n, paper in enumerate(papers)
    )
    return edition
