"""Planning digests: who is due, what their digest holds, and the ledger rows written before any send.

Due: an active subscriber whose chosen hour has come in their own time zone today (daily) or on their
weekday (weekly), with an approved edition they have not had yet, and no digest yet for this period.
Matching is batched: subscribers are read in chunks, grouped by the editions their digest covers, and each
group is matched at once (every distinct interest evaluated once). No query runs per subscriber.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from newsletter.matching import PaperIndex
from newsletter.models import Delivery, Edition, EditionPaper, Subscriber
from newsletter.services.matching import acronyms_current, paper_index_build, subscriber_picks
from newsletter.services.rendering import DigestRenderer, RenderedDigest
from papers.selectors import paper_texts

logger = logging.getLogger(__name__)

# Subscribers read and planned per transaction: bounds memory and how long rows stay locked.
PLAN_CHUNK = 20_000
WEEKLY_LOOKBACK_DAYS = 7


@dataclass
class PlanReport:
    due: int = 0
    planned: int = 0  # ledger rows with papers, pending
    skipped: int = 0  # ledger rows with nothing matched: no email
    pending_ids: list[int] = field(default_factory=list)


def period_key(*, frequency: str, local: datetime) -> str:
    """The ledger's period: the subscriber's local date (daily) or ISO week (weekly)."""
    if frequency == Subscriber.Frequency.WEEKLY:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.date().isoformat()


def subscribers_due(*, at: datetime, latest: Edition) -> QuerySet[Subscriber]:
    """Active subscribers whose hour has come (in their zone), with something new and no digest this period."""
    active = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
    # order_by() first: Meta.ordering would otherwise make DISTINCT return one "zone" per subscriber.
    zones = active.order_by().values_list("timezone", flat=True).distinct()
    due = Q(pk__in=[])
    for zone in zones:
        local = at.astimezone(_zone(zone))
        for frequency in Subscriber.Frequency.values:
            period = period_key(frequency=frequency, local=local)
            already = Delivery.objects.filter(subscriber=OuterRef("pk"), period=period)
            condition = Q(timezone=zone, frequency=frequency, send_hour__lte=local.hour) & ~Exists(already)
            if frequency == Subscriber.Frequency.WEEKLY:
                condition &= Q(weekday=local.weekday())
            due |= condition
    has_new = Q(last_edition__isnull=True) | Q(last_edition__issue_date__lt=latest.issue_date)
    return Subscriber.objects.filter(due, has_new, status=Subscriber.Status.ACTIVE)


def digest_plan(*, at: datetime | None = None) -> PlanReport:
    """Write a ledger row for every due subscriber. Re-running plans nothing twice (the unique period key)."""
    at = at or timezone.now()
    report = PlanReport()
    latest = Edition.objects.filter(
        status=Edition.Status.APPROVED, issue_date__lte=timezone.localdate(at)
    ).first()
    if latest is None:
        return report
    indexes: dict[int | None, tuple[Edition | None, PaperIndex]] = {}
    acronyms = acronyms_current()
    first_digest_starts_after = {
        frequency: _window_start(frequency, latest) for frequency in Subscriber.Frequency
    }
    for chunk in _chunks(subscribers_due(at=at, latest=latest)):
        report.due += len(chunk)
        by_coverage: dict[int | None, list[_Due]] = defaultdict(list)
        for row in chunk:
            covers_after = (
                row.last_edition_id or first_digest_starts_after[Subscriber.Frequency(row.frequency)]
            )
            by_coverage[covers_after].append(row)
        with transaction.atomic():
            for covers_after_id, rows in by_coverage.items():
                if covers_after_id not in indexes:
                    indexes[covers_after_id] = _coverage_index(latest, covers_after_id, acronyms)
                _plan_group(rows=rows, latest=latest, covers_after_id=covers_after_id,
                            index=indexes[covers_after_id][1], at=at, report=report)  # fmt: skip
    logger.info(
        "planned digests: %d due, %d to send, %d with nothing new", report.due, report.planned, report.skipped
    )
    return report


@dataclass(frozen=True, slots=True)
class _Due:
    id: int
    interests: list[str]
    frequency: str
    timezone: str
    last_edition_id: int | None


def _chunks(due: QuerySet[Subscriber]) -> Iterator[list[_Due]]:
    rows = due.order_by("pk").values_list("pk", "interests", "frequency", "timezone", "last_edition_id")
    chunk: list[_Due] = []
    for row in rows.iterator(chunk_size=PLAN_CHUNK):
        chunk.append(_Due(*row))
        if len(chunk) == PLAN_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _window_start(frequency: Subscriber.Frequency, latest: Edition) -> int | None:
    """Where a subscriber's first digest starts: the latest edition (daily) or the last week's (weekly)."""
    if frequency == Subscriber.Frequency.WEEKLY:
        window_start = latest.issue_date - timedelta(days=WEEKLY_LOOKBACK_DAYS)
        before = Edition.objects.filter(issue_date__lte=window_start).order_by("-issue_date").first()
    else:
        before = Edition.objects.filter(issue_date__lt=latest.issue_date).order_by("-issue_date").first()
    return before.pk if before else None


def _coverage_index(
    latest: Edition, covers_after_id: int | None, acronyms: object, *, approved_only: bool = True
) -> tuple[Edition | None, PaperIndex]:
    entries = EditionPaper.objects.filter(edition__issue_date__lte=latest.issue_date, paper__is_hidden=False)
    if approved_only:
        entries = entries.filter(edition__status=Edition.Status.APPROVED)
    after = Edition.objects.filter(pk=covers_after_id).first() if covers_after_id else None
    if after is not None:
        entries = entries.filter(edition__issue_date__gt=after.issue_date)
    paper_ids = set(entries.values_list("paper_id", flat=True))
    index = paper_index_build(papers=paper_texts(ids=paper_ids), acronyms=acronyms)  # type: ignore[arg-type]
    return after, index


def _plan_group(
    *, rows: list[_Due], latest: Edition, covers_after_id: int | None, index: PaperIndex, at: datetime,
    report: PlanReport,
) -> None:  # fmt: skip
    picks = subscriber_picks(index=index, subscribers=[(row.id, row.interests) for row in rows])
    deliveries = []
    for row in rows:
        papers = picks.get(row.id, [])
        local = at.astimezone(_zone(row.timezone))
        status = Delivery.Status.PENDING if papers else Delivery.Status.SKIPPED
        deliveries.append(
            Delivery(
                subscriber_id=row.id,
                period=period_key(frequency=row.frequency, local=local),
                status=status,
                edition=latest,
                covers_after_id=covers_after_id,
                papers=papers,
            )  # fmt: skip
        )
    Delivery.objects.bulk_create(deliveries, batch_size=2000, ignore_conflicts=True)
    Subscriber.objects.filter(pk__in=[row.id for row in rows]).update(last_edition=latest)
    created = Delivery.objects.filter(subscriber_id__in=[row.id for row in rows], edition=latest)
    pending = list(created.filter(status=Delivery.Status.PENDING).values_list("pk", flat=True))
    report.pending_ids.extend(pending)
    report.planned += len(pending)
    report.skipped += sum(1 for d in deliveries if d.status == Delivery.Status.SKIPPED)


def deliveries_pending_ids() -> list[int]:
    """Pending rows no task is about to pick up (e.g. queued when the broker was down): sent again by the tick."""
    cutoff = timezone.now() - timedelta(seconds=settings.PAPERBOY_PENDING_REDISPATCH_SECONDS)
    return list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):  # validated on input; an unknown zone here means tzdata changed
        return ZoneInfo("UTC")


def digest_preview(*, edition: Edition, subscriber: Subscriber) -> RenderedDigest | None:
    """The digest `subscriber` would get from `edition` (its papers only), rendered as it would be mailed.

    For editors: nothing is written. None when none of the edition's papers match the subscriber.
    """
    previous = Edition.objects.filter(issue_date__lt=edition.issue_date).order_by("-issue_date").first()
    covers_after_id = previous.pk if previous else None
    _, index = _coverage_index(edition, covers_after_id, acronyms_current(), approved_only=False)
    items = subscriber_picks(index=index, subscribers=[(subscriber.pk, list(subscriber.interests))]).get(
        subscriber.pk, []
    )
    if not items:
        return None
    renderer = DigestRenderer.for_coverage(edition=edition, covers_after_id=covers_after_id)
    return renderer.render(delivery_id=0, subscriber=subscriber, items=items)
