"""The dashboard on the admin index: the list's health at a glance, from a few aggregate queries.

Paperboy keeps Django's default admin site (no settings of its own to swap it), so the dashboard is given to
the index page by wrapping the site's index view, once, when the admin modules load.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.utils.safestring import mark_safe

from newsletter.admin.charts import Series, stacked_bars
from newsletter.admin.history import subscribers_over_time
from newsletter.feedback_selectors import feedback_counts
from newsletter.models import Delivery, Subscriber
from newsletter.selectors import (
    DailyCounts,
    deliveries_per_day,
    delivery_health,
    digest_next_tick,
    edition_latest,
    subscribers_due_count,
)
from papers.freshness import freshness_warnings, sources_freshness
from papers.selectors import dump_latest

DAYS = 30
# Told apart by more than hue: the legend, the tooltips and the tables say the same in words.
SUBSCRIBER_COLORS = {"active": "#2e7d32", "pending": "#f9a825", "paused": "#1e88e5", "unsubscribed": "#9e9e9e"}
DELIVERY_COLORS = {
    "sent": "#2e7d32",
    "pending": "#f9a825",
    "sending": "#1e88e5",
    "skipped": "#9e9e9e",
    "failed": "#c62828",
    "suppressed": "#6a1b9a",
}


def install(site: AdminSite) -> None:
    index: Callable[..., HttpResponse] = site.index

    def index_with_dashboard(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        context = dict(extra_context or {})
        if request.user.has_perms(["newsletter.view_subscriber", "newsletter.view_delivery"]):
            context["dashboard"] = dashboard_build()
        return index(request, extra_context=context)

    site.index = index_with_dashboard  # type: ignore[method-assign,assignment]


def dashboard_build(*, days: int = DAYS) -> dict[str, Any]:
    subscribers = subscribers_over_time(days=days)
    deliveries = deliveries_per_day(days=days)
    tick = digest_next_tick()
    health = delivery_health(days=days)
    source_days, sources = sources_freshness()
    return {
        "days": days,
        "subscribers": _chart(
            "subscribers-chart", f"Subscribers over the last {days} days, by status at each day's end", subscribers,
            SUBSCRIBER_COLORS, dict(Subscriber.Status.choices),
        ),
        "deliveries": _chart(
            "deliveries-chart", f"Deliveries per day over the last {days} days, by status", deliveries,
            DELIVERY_COLORS, dict(Delivery.Status.choices),
        ),
        "health": health,
        "bounce_rate": f"{health.bounce_rate:.2%}",
        "complaint_rate": f"{health.complaint_rate:.2%}",
        "last_dump": dump_latest(),
        "source_days": source_days,
        "sources": sources,
        "source_warnings": freshness_warnings(),
        "edition": edition_latest(),
        "next_tick": tick,
        "tick_seconds": settings.PAPERBOY_DIGEST_TICK_SECONDS,
        "due_next": subscribers_due_count(at=tick) if tick is not None else None,
        "feedback": feedback_counts(days=days),
    }  # fmt: skip


def _chart(
    chart_id: str, title: str, counts: DailyCounts, colors: dict[str, str], names: dict[str, str]
) -> dict[str, Any]:
    labels = [f"{day:%b} {day.day}" for day in counts.days]
    series = [Series(names[status], values, colors[status]) for status, values in counts.by_status.items()]
    svg = stacked_bars(chart_id=chart_id, title=title, labels=labels, series=series)
    return {
        "id": chart_id,
        "title": title,
        "svg": mark_safe(svg),  # stacked_bars escapes every text it writes
        "columns": [s.name for s in series],
        "rows": [(label, [s.values[i] for s in series]) for i, label in enumerate(labels)][::-1],
    }
