"""Reads about readers' feedback, for the admin: which papers readers reject most, per interest, and counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone

from newsletter.models import Feedback, InterestEdit


@dataclass(slots=True)
class RejectedPaper:
    paper_id: int
    title: str
    rejections: int


@dataclass(slots=True)
class InterestRejections:
    interest: str
    rejections: int  # over all its papers
    papers: list[RejectedPaper] = field(default_factory=list)  # the most rejected first


def feedback_rejections_by_interest(*, interests: int = 20, papers_per_interest: int = 5) -> list[InterestRejections]:
    """The interests whose papers readers mark "Not for me" most, each with its most rejected papers: one
    grouped query (a row per interest and paper that has any rejection)."""
    rows = (
        Feedback.objects.filter(verdict=Feedback.Verdict.LESS)
        .values("interest", "paper_id", "paper__title")
        .annotate(n=Count("id"))
        .order_by("interest", "-n", "paper_id")
    )
    grouped: dict[str, InterestRejections] = {}
    for row in rows:
        group = grouped.setdefault(row["interest"], InterestRejections(interest=row["interest"], rejections=0))
        group.rejections += row["n"]
        if len(group.papers) < papers_per_interest:
            group.papers.append(RejectedPaper(row["paper_id"], row["paper__title"], row["n"]))
    return sorted(grouped.values(), key=lambda g: (-g.rejections, g.interest))[:interests]


def subscriber_feedback_export(*, subscriber_id: int) -> list[dict[str, Any]]:
    """A reader's verdicts and the edits they applied with them, oldest first, for their data export."""
    rows = (
        Feedback.objects.filter(delivery__subscriber_id=subscriber_id)
        .select_related("paper", "delivery")
        .prefetch_related("edits")
        .order_by("created_at", "pk")
    )
    return [
        {
            "digest": row.delivery.period,
            "paper": row.paper.title,
            "verdict": row.get_verdict_display(),
            "at": row.created_at.isoformat(),
            "edits": [_edit_export(edit) for edit in row.edits.all()],
        }
        for row in rows
    ]


def _edit_export(edit: InterestEdit) -> dict[str, Any]:
    undone = edit.undone_at.isoformat() if edit.undone_at else None
    return {"kind": edit.kind, "before": edit.before, "after": edit.after, "applied_at": edit.applied_at.isoformat(),
            "undone_at": undone}  # fmt: skip


def feedback_counts(*, days: int) -> dict[str, int]:
    """Verdicts recorded over the last `days` days: {"more": n, "less": m}."""
    since = timezone.now() - timedelta(days=days)
    counts = dict(
        Feedback.objects.filter(created_at__gte=since).values_list("verdict").annotate(n=Count("id")).order_by()
    )
    return {verdict: counts.get(verdict, 0) for verdict in Feedback.Verdict.values}
