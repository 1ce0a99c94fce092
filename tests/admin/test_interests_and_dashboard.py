"""The interests report and the dashboard on the admin index: what readers want, and the list's health."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from newsletter.admin.charts import Series, nice_ceiling, stacked_bars
from newsletter.models import Delivery, Edition, Subscriber, TrackingEvent
from newsletter.selectors import (
    _interests_top_in_python,
    deliveries_per_day,
    digest_next_tick,
    interests_top,
    subscribers_over_time,
)
from papers.models import Dump
from tests.newsletter.conftest import subscriber_create

pytestmark = pytest.mark.django_db
REPORT = "/admin/newsletter/subscriber/interests/"


def _readers() -> None:
    for n in range(3):
        subscriber_create(f"icl{n}@example.org", ["in-context learning", "RLHF"] if n < 2 else ["in-context learning"])
    subscriber_create("odd@example.org", ["xylophone restoration"])
    subscriber_create("away@example.org", ["in-context learning"], status="paused")  # not counted: not active


def test_interests_are_counted_over_active_subscribers_in_the_database() -> None:
    _readers()

    top = interests_top(limit=10)

    assert top == [("in-context learning", 3), ("RLHF", 2), ("xylophone restoration", 1)]
    assert top == _interests_top_in_python(limit=10)  # the portable fallback agrees
    assert interests_top(limit=1) == [("in-context learning", 3)]


def test_the_report_shows_how_many_of_todays_papers_each_interest_matches(
    editor_client: Client, edition: Edition
) -> None:
    _readers()

    response = editor_client.get(REPORT)

    rows = {row.interest: (row.subscribers, row.matches) for row in response.context["rows"]}
    assert rows["in-context learning"][0] == 3 and rows["in-context learning"][1] > 0
    assert rows["xylophone restoration"] == (1, 0)
    html = response.content.decode()
    assert 'id="never-matching"' in html and "“xylophone restoration”" in html


def test_without_an_edition_the_report_still_counts_interests(editor_client: Client) -> None:
    _readers()

    response = editor_client.get(REPORT)

    assert response.context["edition"] is None
    assert [row.subscribers for row in response.context["rows"]] == [3, 2, 1]


def test_the_next_send_is_the_next_quarter_hour() -> None:
    at = datetime(2026, 11, 24, 10, 7, 30, tzinfo=UTC)

    assert digest_next_tick(now=at) == datetime(2026, 11, 24, 10, 15, tzinfo=UTC)
    assert digest_next_tick(now=at.replace(minute=0, second=0)) == datetime(2026, 11, 24, 10, 15, tzinfo=UTC)
    assert digest_next_tick(now=at.replace(minute=59)) == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)


def test_with_a_tick_interval_there_is_no_quarter_hour(settings: LazySettings) -> None:
    settings.PAPERBOY_DIGEST_TICK_SECONDS = 2.0

    assert digest_next_tick() is None


def test_subscribers_over_time_accumulate_by_current_status() -> None:
    today = timezone.localdate()
    old = subscriber_create("old@example.org", ["x"])
    recent = subscriber_create("new@example.org", ["x"], status="pending")
    Subscriber.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=90))
    Subscriber.objects.filter(pk=recent.pk).update(created_at=timezone.now() - timedelta(days=2))

    counts = subscribers_over_time(days=7, today=today)

    assert counts.days[-1] == today and len(counts.days) == 7
    assert counts.by_status["active"] == [1] * 7
    assert counts.by_status["pending"] == [0, 0, 0, 0, 1, 1, 1]


def test_deliveries_per_day_count_each_status(edition: Edition) -> None:
    subscriber = subscriber_create("a@example.org", ["x"])
    for n, status in enumerate(["sent", "sent", "failed"]):
        Delivery.objects.create(subscriber=subscriber, period=f"p{n}", edition=edition, status=status)

    counts = deliveries_per_day(days=3)

    assert counts.by_status["sent"] == [0, 0, 2] and counts.by_status["failed"] == [0, 0, 1]
    assert counts.by_status["pending"] == [0, 0, 0]


def test_charts_are_svg_with_text_for_every_bar_and_nothing_unescaped() -> None:
    svg = stacked_bars(
        chart_id="c", title="Mail <b>", labels=["Nov 23", "Nov 24"],
        series=[Series("sent", [3, 5], "#2e7d32"), Series("failed & co", [0, 1], "#c62828")],
    )  # fmt: skip

    assert svg.startswith("<svg") and 'role="img"' in svg and '<title id="c-title">Mail &lt;b&gt;</title>' in svg
    assert "<title>Nov 24: 5 sent</title>" in svg and "<title>Nov 24: 1 failed &amp; co</title>" in svg
    assert svg.count('class="bar"') == 3  # a zero draws nothing
    assert "<b>" not in svg
    assert [nice_ceiling(v) for v in (0, 1, 7, 10, 11, 120, 4999)] == [1, 1, 10, 10, 20, 200, 5000]


def _sent_with_complaints(edition: Edition, *, sent: int, complaints: int) -> None:
    subscriber = subscriber_create("many@example.org", ["x"])
    Delivery.objects.bulk_create(
        Delivery(subscriber=subscriber, period=f"p{n}", edition=edition, status="sent") for n in range(sent)
    )
    TrackingEvent.objects.bulk_create(
        TrackingEvent(event_id=f"c{n}", event_type="complained") for n in range(complaints)
    )
    TrackingEvent.objects.create(event_id="b0", event_type="bounced")


def test_the_dashboard_shows_charts_rates_last_ingestion_and_next_send(editor_client: Client, edition: Edition) -> None:
    _sent_with_complaints(edition, sent=1000, complaints=1)  # 0.1% exactly: not above it

    html = editor_client.get("/admin/").content.decode()

    assert 'id="subscribers-chart"' in html and 'id="deliveries-chart"' in html
    assert re.search(r"<title>\w+ \d+: 1,000 sent</title>", html)
    assert 'id="bounce-rate">0.10%<' in html and 'id="complaint-rate">0.10%<' in html
    assert 'id="complaint-warning"' not in html
    assert Dump.objects.order_by("-ingested_at", "-id").first().name in html  # type: ignore[union-attr]
    assert 'id="next-send"' in html and "1 subscriber due then" in html  # many@: active, hour 0, nothing today
    dashboard = html.split('id="paperboy-dashboard"', 1)[1].split('id="content-main"', 1)[0]
    # Nothing fetched from outside, no script: the SVG namespace is the only URL in it.
    assert "<script" not in dashboard and "src=" not in dashboard
    assert set(re.findall(r"https?://[^\s\"'<>]+", dashboard)) == {"http://www.w3.org/2000/svg"}


def test_complaints_above_a_tenth_of_a_percent_raise_a_warning(editor_client: Client, edition: Edition) -> None:
    _sent_with_complaints(edition, sent=500, complaints=1)

    html = editor_client.get("/admin/").content.decode()

    assert 'id="complaint-warning"' in html and "0.20%" in html


def test_staff_without_the_editors_group_see_no_dashboard(client: Client, edition: Edition) -> None:
    user = User.objects.create_user("visitor", password="pw-123-abc", is_staff=True)
    client.force_login(user)

    html = client.get("/admin/").content.decode()

    assert "paperboy-dashboard" not in html
