"""Who is due for a digest, and when: the ledger's periods and the due subscribers (reads only).

Due: an active subscriber whose chosen hour has come in their own time zone today (daily) or on their
weekday (weekly), with an approved edition they have not had yet, and no digest yet for this period.
Planning (services.planning) and the admin's dashboard (selectors) both ask here.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q, QuerySet

from newsletter.models import Delivery, Edition, Subscriber


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
        local = at.astimezone(zone_of(zone))
        for frequency in Subscriber.Frequency.values:
            period = period_key(frequency=frequency, local=local)
            already = Delivery.objects.filter(subscriber=OuterRef("pk"), period=period)
            condition = Q(timezone=zone, frequency=frequency, send_hour__lte=local.hour) & Q(~Exists(already))
            if frequency == Subscriber.Frequency.WEEKLY:
                condition &= Q(weekday=local.weekday())
            due |= condition
    has_new = Q(last_edition__isnull=True) | Q(last_edition__issue_date__lt=latest.issue_date)
    return Subscriber.objects.filter(due, has_new, status=Subscriber.Status.ACTIVE)


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):  # validated on input; an unknown zone here means tzdata changed
        return ZoneInfo("UTC")
