"""Editions: gather the papers that arrived since the previous edition; approve or hold them.

An edition is open while no digest has been planned from it: later papers of the same day join it. Once
digests exist, new papers wait for the next day's edition, so no digest ever misses a paper it claims.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from newsletter.models import Delivery, Edition, EditionPaper
from papers.models import Paper

logger = logging.getLogger(__name__)


def edition_prepare(*, at: datetime | None = None) -> Edition | None:
    """Create today's edition, or extend it while still open, with the papers that arrived since the last one."""
    at = at or timezone.now()
    issue_date = timezone.localdate(at)
    with transaction.atomic():
        today = Edition.objects.select_for_update().filter(issue_date=issue_date).first()
        if today is not None and Delivery.objects.filter(edition=today).exists():
            return today  # already going out: newer papers belong to tomorrow's edition
        previous = Edition.objects.filter(issue_date__lt=issue_date).order_by("-issue_date").first()
        after = previous.papers_through if previous else None
        new_papers = _papers_arrived(after=after, through=at)
        if today is None and not new_papers:
            return None  # nothing new: no empty edition
        edition = today or Edition.objects.create(
            issue_date=issue_date, status=_initial_status(), papers_after=after, papers_through=at
        )
        _edition_extend(edition=edition, papers=new_papers, through=at)
    if today is None:
        logger.info("prepared %s with %d papers (%s)", edition, len(new_papers), edition.status)
    return edition


def edition_approve(*, edition: Edition, user: Any = None) -> None:
    edition.status = Edition.Status.APPROVED
    edition.approved_at = timezone.now()
    edition.approved_by = user if getattr(user, "is_authenticated", False) else None
    edition.save(update_fields=["status", "approved_at", "approved_by"])


def edition_hold(*, edition: Edition) -> None:
    edition.status = Edition.Status.HELD
    edition.save(update_fields=["status"])


def edition_feature(*, edition: Edition, paper_ids: list[int], featured: bool) -> int:
    return EditionPaper.objects.filter(edition=edition, paper_id__in=paper_ids).update(is_featured=featured)


def edition_move(*, entry: EditionPaper, offset: int) -> None:
    """Move a paper up (offset < 0) or down within its edition, swapping with its neighbour."""
    entries = list(EditionPaper.objects.filter(edition=entry.edition_id).order_by("position", "id"))
    index = next(i for i, e in enumerate(entries) if e.pk == entry.pk)
    target = min(max(index + offset, 0), len(entries) - 1)
    entries.insert(target, entries.pop(index))
    for position, item in enumerate(entries):
        item.position = position
    EditionPaper.objects.bulk_update(entries, ["position"])


def _initial_status() -> str:
    return Edition.Status.AWAITING_REVIEW if settings.EDITION_REVIEW_REQUIRED else Edition.Status.APPROVED


def _papers_arrived(*, after: datetime | None, through: datetime) -> list[Paper]:
    papers = Paper.objects.filter(is_hidden=False, first_seen_at__lte=through)
    if after is not None:
        papers = papers.filter(first_seen_at__gt=after)
    # Editor's picks first, then the community's (upvotes), then arrival order.
    return list(papers.order_by("-is_featured", "-upvotes", "first_seen_at", "id"))


def _edition_extend(*, edition: Edition, papers: list[Paper], through: datetime) -> None:
    start = EditionPaper.objects.filter(edition=edition).count()
    EditionPaper.objects.bulk_create(
        [
            EditionPaper(edition=edition, paper=paper, position=start + n, is_featured=paper.is_featured)
            for n, paper in enumerate(papers)
        ],
        ignore_conflicts=True,
    )
    if edition.papers_through != through:
        edition.papers_through = through
        edition.save(update_fields=["papers_through"])


def edition_for_date(*, issue_date: date) -> Edition | None:
    return Edition.objects.filter(issue_date=issue_date).first()
