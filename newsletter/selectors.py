"""Reads for the newsletter's admin: edition contents, a subscriber's history, interests and list health.

Everything here is a handful of aggregate queries whatever the number of subscribers or deliveries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from newsletter.addresses import email_normalize
from newsletter.models import (
    Delivery,
    DigestExplanation,
    Edition,
    EditionPaper,
    Subscriber,
    TrackingEvent,
)
from newsletter.schedule import subscribers_due
from papers.selectors import paper_titles

# --- editions -------------------------------------------------------------------------------------------


def edition_list_admin() -> QuerySet[Edition]:
    """Editions with their paper and delivery counts, as subqueries: joins would multiply one by the other."""
    return Edition.objects.select_related("approved_by").annotate(
        paper_count=_count_per_edition(EditionPaper.objects.all()),
        pick_count=_count_per_edition(EditionPaper.objects.filter(is_featured=True)),
        delivery_count=_count_per_edition(Delivery.objects.all()),
        sent_count=_count_per_edition(Delivery.objects.filter(status=Delivery.Status.SENT)),
    )


def _count_per_edition(rows: QuerySet[Any]) -> Coalesce:
    counted = rows.filter(edition=OuterRef("pk")).order_by().values("edition").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def edition_entries(*, edition: Edition) -> list[EditionPaper]:
    """The edition's papers in their order (editor's picks are shown first in digests, in this order)."""
    return list(EditionPaper.objects.filter(edition=edition).select_related("paper").order_by("position", "id"))


def edition_delivery_counts(*, edition: Edition) -> dict[str, int]:
    """Deliveries of the edition by status, every status present (one query)."""
    rows = Delivery.objects.filter(edition=edition).order_by().values_list("status").annotate(n=Count("pk"))
    counts = dict.fromkeys(Delivery.Status.values, 0)
    counts.update(dict(rows))
    return counts


def edition_latest() -> Edition | None:
    return Edition.objects.order_by("-issue_date").first()


# --- subscribers ----------------------------------------------------------------------------------------


def subscriber_find(*, query: str) -> Subscriber | None:
    """A subscriber by id or exact address."""
    query = query.strip()
    if query.isdigit():
        return Subscriber.objects.filter(pk=int(query)).first()
    return Subscriber.objects.filter(email=email_normalize(query)).first() if query else None


@dataclass(frozen=True, slots=True)
class DeliveredPaper:
    paper_id: int
    title: str  # empty when the paper was merged away or deleted since
    score: float
    interests: list[str]
    words: list[str]


@dataclass(frozen=True, slots=True)
class DeliveryView:
    delivery: Delivery
    papers: list[DeliveredPaper]


def subscriber_recent_deliveries(*, subscriber: Subscriber, limit: int = 10) -> list[DeliveryView]:
    """The latest deliveries with what each held and why, in two queries."""
    deliveries = list(subscriber.deliveries.select_related("edition").order_by("-created_at", "-pk")[:limit])
    contents = delivered_papers(deliveries=deliveries)
    return [DeliveryView(delivery=d, papers=papers) for d, papers in zip(deliveries, contents, strict=True)]


def delivered_papers(*, deliveries: Sequence[Delivery]) -> list[list[DeliveredPaper]]:
    """Each delivery's papers with their titles and the words found: two queries for all of them."""
    titles = paper_titles(ids={item["paper_id"] for d in deliveries for item in d.papers})
    words = delivery_item_words(deliveries=deliveries)
    return [
        [
            DeliveredPaper(
                paper_id=item["paper_id"],
                title=titles.get(item["paper_id"], ""),
                score=item.get("score", 0.0),
                interests=list(item.get("interests", [])),
                words=item_words,
            )
            for item, item_words in zip(d.papers, d_words, strict=True)
        ]
        for d, d_words in zip(deliveries, words, strict=True)
    ]


# --- interests ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InterestRow:
    interest: str
    subscribers: int
    matches: int | None  # papers of the latest edition it matches; None: the matcher cannot read it


def interests_top(*, limit: int = 50) -> list[tuple[str, int]]:
    """The most common interests of active subscribers, counted in the database (JSON arrays unnested)."""
    table = connection.ops.quote_name(Subscriber._meta.db_table)
    if connection.vendor == "postgresql":
        source = f"{table} s CROSS JOIN LATERAL jsonb_array_elements_text(s.interests) AS i(value)"
        where = "jsonb_typeof(s.interests) = 'array'"
    elif connection.vendor == "sqlite":
        source = f"{table} s, json_each(s.interests) AS i"
        where = "json_type(s.interests) = 'array'"
    else:
        return _interests_top_in_python(limit=limit)
    sql = (
        f"SELECT i.value, COUNT(DISTINCT s.id) AS n FROM {source} "  # only constants: no user input
        f"WHERE {where} AND s.status = %s GROUP BY i.value ORDER BY n DESC, i.value LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Subscriber.Status.ACTIVE, limit])
        return [(str(value), int(n)) for value, n in cursor.fetchall()]


def _interests_top_in_python(*, limit: int) -> list[tuple[str, int]]:
    counts: dict[str, int] = defaultdict(int)
    active = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).values_list("interests", flat=True)
    for interests in active.iterator(chunk_size=5000):
        for interest in set(interests or ()):
            counts[str(interest)] += 1
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:limit]


# --- the dashboard --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DailyCounts:
    days: list[date]
    by_status: dict[str, list[int]]  # every status, one count per day


def subscribers_over_time(*, days: int = 30, today: date | None = None) -> DailyCounts:
    """Subscribers on each day, by their current status (the list keeps no status history): cumulative."""
    days_list, start = _window(days=days, today=today)
    before = Subscriber.objects.filter(created_at__lt=start).order_by().values_list("status").annotate(n=Count("pk"))
    running = dict.fromkeys(Subscriber.Status.values, 0)
    running.update(dict(before))
    new = _per_day(Subscriber.objects.filter(created_at__gte=start), "created_at")
    series: dict[str, list[int]] = {status: [] for status in Subscriber.Status.values}
    for day in days_list:
        for status in series:
            running[status] += new.get((day, status), 0)
            series[status].append(running[status])
    return DailyCounts(days_list, series)


def deliveries_per_day(*, days: int = 30, today: date | None = None) -> DailyCounts:
    """Deliveries planned on each day, by status."""
    days_list, start = _window(days=days, today=today)
    counts = _per_day(Delivery.objects.filter(created_at__gte=start), "created_at")
    series = {status: [counts.get((day, status), 0) for day in days_list] for status in Delivery.Status.values}
    return DailyCounts(days_list, series)


def _window(*, days: int, today: date | None) -> tuple[list[date], datetime]:
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    return [first + timedelta(days=n) for n in range(days)], timezone.make_aware(datetime.combine(first, time()))


def _per_day(rows: QuerySet[Any], field: str) -> dict[tuple[date, str], int]:
    grouped = rows.order_by().annotate(day=TruncDate(field)).values_list("day", "status").annotate(n=Count("pk"))
    return {(day, status): n for day, status, n in grouped}


# Gmail's and Yahoo's sender rules: above 0.1% spam complaints, mail starts going to the spam folder.
COMPLAINT_RATE_WARNING = 0.001


@dataclass(frozen=True, slots=True)
class DeliveryHealth:
    days: int
    sent: int
    bounced: int
    complained: int

    @property
    def bounce_rate(self) -> float:
        return self.bounced / self.sent if self.sent else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complained / self.sent if self.sent else 0.0

    @property
    def complaints_too_high(self) -> bool:
        return self.complaint_rate > COMPLAINT_RATE_WARNING


def delivery_health(*, days: int = 30) -> DeliveryHealth:
    """Digests sent, and bounces and complaints the ESP reported, over the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    # created_at, not sent_at: it is indexed, and a digest goes out within minutes of being planned.
    sent = Delivery.objects.filter(status=Delivery.Status.SENT, created_at__gte=since).count()
    events = dict(
        TrackingEvent.objects.filter(received_at__gte=since, event_type__in=["bounced", "complained"])
        .order_by()
        .values_list("event_type")
        .annotate(n=Count("pk"))
    )
    return DeliveryHealth(days, sent, events.get("bounced", 0), events.get("complained", 0))


def digest_next_tick(*, now: datetime | None = None) -> datetime | None:
    """When the beat's digest job runs next (minutes 0, 15, 30 and 45); None when set to an interval instead."""
    if settings.PAPERBOY_DIGEST_TICK_SECONDS:
        return None
    now = now or timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    return hour + timedelta(minutes=(now.minute // 15 + 1) * 15)


def subscribers_due_count(*, at: datetime) -> int | None:
    """How many subscribers the digest job at `at` would plan; None when no approved edition exists."""
    latest = Edition.objects.filter(status=Edition.Status.APPROVED, issue_date__lte=timezone.localdate(at)).first()
    return subscribers_due(at=at, latest=latest).count() if latest is not None else None


# --- what a digest showed -------------------------------------------------------------------------------


def delivery_item_words(*, deliveries: Sequence[Delivery]) -> list[list[list[str]]]:
    """Per delivery, per item: the words found, as its digest showed them (those of the item's best interest).

    Rows planned before explanations were stored per edition carry their own "words"; for the others, one
    query reads the explanations of all of them. An item whose pair was not stored (past the papers a digest
    explains, or merged into another paper) has no words.
    """
    wanted: dict[int, set[tuple[int, str]]] = {}
    for delivery in deliveries:
        for item in delivery.papers:
            if "words" not in item and item.get("interests"):
                wanted.setdefault(delivery.edition_id, set()).add((item["paper_id"], item["interests"][0]))
    found: dict[tuple[int, int, str], list[str]] = {}
    if wanted:
        rows = DigestExplanation.objects.filter(
            edition_id__in=wanted,
            paper_id__in={paper for pairs in wanted.values() for paper, _ in pairs},
            interest__in={interest for pairs in wanted.values() for _, interest in pairs},
        ).values_list("edition_id", "paper_id", "interest", "words")
        found = {(edition, paper, interest): words for edition, paper, interest, words in rows}
    return [[_words_of(delivery.edition_id, item, found) for item in delivery.papers] for delivery in deliveries]


def _words_of(edition_id: int, item: dict[str, Any], found: dict[tuple[int, int, str], list[str]]) -> list[str]:
    if "words" in item:
        return list(item["words"])
    interests = item.get("interests") or []
    return list(found.get((edition_id, item["paper_id"], interests[0]), [])) if interests else []
