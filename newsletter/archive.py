"""Reads for the public archive of editions and its feeds: a fixed number of queries whatever the size.

Public means approved and not dated in the future: an edition waiting for an editor, or held, is not shown,
and neither is a hidden paper (as in digests).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from newsletter.models import Edition, EditionPaper
from papers.models import Paper

FEED_EDITIONS = 20  # editions in the editions feed
_VISIBLE = Q(paper__is_hidden=False)


def editions_public_plain() -> QuerySet[Edition]:
    """Approved editions up to today, newest first."""
    return Edition.objects.filter(status=Edition.Status.APPROVED, issue_date__lte=timezone.localdate()).order_by(
        "-issue_date"
    )


def editions_public() -> QuerySet[Edition]:
    """editions_public_plain(), each with its number of papers and picks (as subqueries)."""
    return (
        editions_public_plain()
        .annotate(
            paper_count=_count(EditionPaper.objects.filter(_VISIBLE)),
            pick_count=_count(EditionPaper.objects.filter(_VISIBLE, is_featured=True)),
        )
        .order_by("-issue_date")
    )


def _count(rows: QuerySet[EditionPaper]) -> Coalesce:
    counted = rows.filter(edition=OuterRef("pk")).order_by().values("edition").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _entries_in_order() -> QuerySet[EditionPaper]:
    # Editor's picks first, then the edition's order (as the digest shows them).
    return EditionPaper.objects.filter(_VISIBLE).select_related("paper").order_by("-is_featured", "position", "id")


def editions_with_picks(editions: QuerySet[Edition]) -> list[Edition]:
    """The editions with `picks`: their editor's picks (one more query for all of them)."""
    picks = Prefetch("entries", queryset=_entries_in_order().filter(is_featured=True), to_attr="picks")
    return list(editions.prefetch_related(picks))


def edition_public(*, issue_date: date) -> Edition | None:
    return editions_public_plain().filter(issue_date=issue_date).first()


def edition_public_entries(*, edition: Edition) -> list[EditionPaper]:
    """The edition's visible papers: editor's picks first, then in the edition's order."""
    return list(_entries_in_order().filter(edition=edition))


@dataclass(frozen=True, slots=True)
class Neighbours:
    newer: date | None
    older: date | None


def edition_neighbours(*, edition: Edition) -> Neighbours:
    public = editions_public_plain()
    newer = public.filter(issue_date__gt=edition.issue_date).order_by("issue_date").values_list("issue_date", flat=True)
    older = public.filter(issue_date__lt=edition.issue_date).values_list("issue_date", flat=True)
    return Neighbours(newer=newer.first(), older=older.first())


def editions_for_feed(*, limit: int = FEED_EDITIONS) -> list[Edition]:
    """The latest public editions, each with `items`: its visible papers in order (two queries)."""
    entries = Prefetch("entries", queryset=_entries_in_order(), to_attr="items")
    return list(editions_public_plain().prefetch_related(entries)[:limit])


def edition_papers_by_id(*, editions: list[Edition]) -> dict[int, tuple[Paper, Edition]]:
    """Paper id -> (paper, the newest of these editions that holds it), for the interest feed (one query)."""
    newest_first = sorted(editions, key=lambda e: e.issue_date, reverse=True)
    order = {edition.pk: edition for edition in newest_first}
    found: dict[int, tuple[Paper, Edition]] = {}
    rows = _entries_in_order().filter(edition__in=list(order)).order_by("-edition__issue_date", "position", "id")
    for entry in rows:
        found.setdefault(entry.paper_id, (entry.paper, order[entry.edition_id]))
    return found
