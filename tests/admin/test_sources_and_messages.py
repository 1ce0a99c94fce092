"""No silent misses (sources on the dashboard, warnings, the beat task's email) and admin messages that say
what happens, in sentences (issue 20 items 4 and 5)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.conf import LazySettings
from django.contrib.staticfiles import finders
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Max
from django.test import Client
from django.utils import timezone

from newsletter.models import Delivery, Edition
from papers import tasks
from papers.freshness import freshness_warnings, sources_freshness
from papers.models import Dump, Listing, Paper
from papers.services import dump_ingest
from tests.admin.conftest import messages_of
from tests.factories import a_paper_text, seed_dump
from tests.newsletter.conftest import subscriber_create

pytestmark = pytest.mark.django_db
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


@pytest.fixture(autouse=True)
def _every_day_is_a_weekday(settings: LazySettings) -> None:
    settings.PAPERBOY_STALE_WEEKDAYS = EVERY_DAY  # the suite runs on weekends too
    settings.PAPERBOY_STALE_AFTER_HOURS = 26
    cache.clear()  # the once-a-day memory of warnings mailed


def _papers_age(hours: float) -> None:
    Paper.objects.update(first_seen_at=timezone.now() - timedelta(hours=hours))


def test_each_source_shows_its_newest_listing_and_new_papers_per_day(seed_papers: None) -> None:
    days, sources = sources_freshness()

    [source] = sources
    newest = Listing.objects.aggregate(on=Max("listed_on"))["on"]
    assert source.source == "hf_text" and source.last_listed_on == newest and isinstance(newest, date)
    assert days[-1] == timezone.localdate() and source.new_per_day[-1] == Paper.objects.count() == 287


def test_no_new_papers_for_too_long_is_a_warning(seed_papers: None) -> None:
    assert freshness_warnings() == []

    _papers_age(30)

    [warning] = freshness_warnings()
    assert warning.startswith("No new papers have arrived since ") and "more than 26 hours" in warning


def test_no_warning_on_a_day_without_listings(seed_papers: None, settings: LazySettings) -> None:
    _papers_age(60)
    settings.PAPERBOY_STALE_WEEKDAYS = ()

    assert freshness_warnings() == []


def test_a_dump_repeating_the_previous_ones_papers_is_a_warning() -> None:
    papers = [a_paper_text(n) for n in range(3)]
    dump_ingest(data=seed_dump(*papers, date="Mar 11"), name="monday.txt")
    dump_ingest(data=seed_dump(*papers, date="Mar 12"), name="tuesday.txt")  # other bytes, the same papers

    [warning] = freshness_warnings()
    assert "tuesday.txt" in warning and "the same 3 papers as the one before it, monday.txt" in warning


def test_the_beat_task_logs_and_mails_the_editors_once_a_day(
    seed_papers: None, settings: LazySettings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.PAPERBOY_EDITOR_EMAILS = ["desk@paperboy.example"]
    _papers_age(30)

    first = tasks.sources_check()
    again = tasks.sources_check()

    assert len(first) == 1 and again == first
    [message] = mail.outbox  # the second run logged it again but did not mail it again
    assert message.to == ["desk@paperboy.example"] and first[0] in message.body
    assert sum("No new papers" in record.getMessage() for record in caplog.records) == 2


def test_the_dashboard_warns_and_lists_the_sources(editor_client: Client, seed_papers: None) -> None:
    _papers_age(30)

    html = editor_client.get("/admin/").content.decode()

    assert 'class="paperboy-warning paperboy-source-warning"' in html and "No new papers have arrived" in html
    newest = Listing.objects.aggregate(on=Max("listed_on"))["on"]
    assert 'data-source="hf_text"' in html and f"{newest:%b} {newest.day}, {newest.year}" in html


def test_an_upload_after_sending_began_says_it_goes_to_tomorrows_edition(editor_client: Client) -> None:
    today = timezone.localdate()
    edition = Edition.objects.create(issue_date=today, status="approved", papers_through=timezone.now())
    Delivery.objects.create(subscriber=subscriber_create("r@example.org", ["x"]), period="p", edition=edition)
    upload = SimpleUploadedFile("late.txt", seed_dump(a_paper_text(), a_paper_text()))

    response = editor_client.post("/admin/papers/dump/upload/", {"file": upload}, follow=True)

    tomorrow = today + timedelta(days=1)
    assert messages_of(response)[-1] == (
        f"Today's edition ({today:%b} {today.day}, {today.year}) is already going out: the 2 new papers go to "
        f"tomorrow's edition ({tomorrow:%b} {tomorrow.day}, {tomorrow.year})."
    )


def test_a_delivery_is_titled_in_words(edition: Edition) -> None:
    reader = subscriber_create("r@example.org", ["x"])
    daily = Delivery(subscriber=reader, period="2026-12-02", edition=edition, status="sent")
    weekly = Delivery(subscriber=reader, period="2026-W49", edition=edition, status="skipped")

    assert str(daily) == "Daily digest of 2026-12-02 (sent)"
    assert str(weekly) == "Weekly digest of 2026-W49 (skipped (nothing matched))"


def test_the_favicon_is_linked_and_served(client: Client, editor_client: Client) -> None:
    response = client.get("/favicon.ico")

    assert response.status_code == 301 and response["Location"].endswith("favicon.ico")
    assert finders.find("favicon.ico") and finders.find("img/favicon.svg")
    assert 'rel="icon"' in client.get("/").content.decode()
    assert 'rel="icon"' in editor_client.get("/admin/").content.decode()


def test_a_failed_dump_uploaded_again_names_the_earlier_one(editor_client: Client) -> None:
    broken = seed_dump(a_paper_text()) + b"\nA Title Whose Abstract Never Arrived\n"
    editor_client.post("/admin/papers/dump/upload/", {"file": SimpleUploadedFile("b.txt", broken)})

    response = editor_client.post(
        "/admin/papers/dump/upload/", {"file": SimpleUploadedFile("b2.txt", broken)}, follow=True
    )

    text = messages_of(response)[-1]  # the first upload's message comes along (not followed)
    assert text.startswith("This file is the same as b.txt on ") and "#" not in text
    assert Dump.objects.count() == 1
