"""The reader's loop in a real browser: a digest goes out by the real send path (to the locmem backend), the
reader says "Not for me" on a paper, sees what each proposed edit would have changed over the last 30 days,
applies one (and undoes it, and applies it again), and the next digest follows it; a mail scanner's GET of
the same link records nothing. Then the reader's archive page and its private Atom feed."""

from __future__ import annotations

import re
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from django.conf import LazySettings
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from newsletter.models import Delivery, Edition, Feedback, InterestEdit, Subscriber
from newsletter.services import sending
from newsletter.services.editions import edition_prepare
from newsletter.services.planning import digest_plan, digest_preview
from newsletter.services.sending import deliveries_send
from papers.models import Paper
from papers.services import dump_ingest_file
from tests.e2e.browser import DESKTOP, PHONE, chromium
from tests.newsletter.conftest import subscriber_create

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
INTERESTS = ["in-context learning", "diffusion models"]
_LINK = re.compile(r"https?://[^\s\"'<>]+")
# A scanner fetches links as a plain client: no cookies, no JavaScript, a user agent of its own.
SCANNER_HEADERS = {"User-Agent": "Mozilla/5.0 (compatible; SafeLinks-Scanner/1.0)"}
# A feedback page percolates its proposals over 30 days of papers: well under a second alone, but the machine
# that runs the suite may be loaded many times over, so waits are long (a wait ends as soon as it is met).
WAIT_MS = 60_000


@pytest.fixture
def reader(settings: LazySettings, live_server: Any, seed_files: list[Path]) -> Subscriber:
    """A reader whose first digest was sent (seed dumps 0-2, today's edition), with tomorrow's edition ready
    (dumps 3-4): the papers of both are within the feedback page's 30 days."""
    settings.SITE_URL = live_server.url
    sending._renderers.clear()  # a renderer kept from another test would carry another site's links
    for path in seed_files[:3]:
        dump_ingest_file(path=path, today=date(2026, 11, 24))
    assert edition_prepare() is not None
    subscriber = subscriber_create("reader@example.org", list(INTERESTS))
    assert deliveries_send(delivery_ids=digest_plan().pending_ids).sent == 1
    for path in seed_files[3:]:
        dump_ingest_file(path=path, today=date(2026, 11, 25))
    assert edition_prepare(at=_tomorrow()) is not None
    return subscriber


def _tomorrow() -> Any:
    return timezone.now() + timedelta(days=1)


def _links(message: Any, part: str) -> list[str]:
    return [url for url in _LINK.findall(str(message.body)) if part in url]


def _scanner_get(url: str) -> int:
    with urllib.request.urlopen(
        urllib.request.Request(url, headers=SCANNER_HEADERS), timeout=WAIT_MS / 1000
    ) as response:
        assert "Set-Cookie" not in response.headers
        return int(response.status)


@pytest.mark.usefixtures("allow_sync_orm_in_event_loop")
def test_not_for_me_proposes_edits_with_their_effect_and_the_next_digest_follows_the_one_applied(
    reader: Subscriber, test_output_dir: Path
) -> None:
    (first,) = mail.outbox
    delivery = Delivery.objects.get(subscriber=reader)
    diffusion = next(item["paper_id"] for item in delivery.papers if item["interests"] == ["diffusion models"])
    (not_for_me,) = [url for url in _links(first, "/not-for-me/") if f"/{diffusion}/" in url]
    tomorrow_edition = Edition.objects.order_by("-issue_date").first()
    assert tomorrow_edition is not None
    would_have = digest_preview(edition=tomorrow_edition, subscriber=reader)
    assert would_have is not None and _diffusion_only(would_have.text)  # tomorrow has diffusion papers

    # Mail scanners open every link first: a GET shows the page and records nothing.
    for url in [not_for_me, *_links(first, "/more-like-this/")[:2]]:
        assert _scanner_get(url) == 200
    assert not Feedback.objects.exists() and not InterestEdit.objects.exists()
    reader.refresh_from_db()
    assert reader.interests == INTERESTS

    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)  # type: ignore[arg-type]
        page.set_default_timeout(WAIT_MS)
        page.goto(not_for_me)
        expect(page.locator("h1")).to_have_text("Not for me", timeout=WAIT_MS)
        drop = page.locator("li.proposal[data-kind=drop]")
        expect(drop.locator("h3")).to_have_text("Drop the interest “diffusion models”", timeout=WAIT_MS)
        expect(drop.locator(".effect")).to_contain_text("Would have left out this paper, and", timeout=WAIT_MS)
        expect(drop.locator(".effect-papers.lost mark").first).to_be_visible()  # highlighted as in the preview
        expect(page.locator("li.proposal[data-kind=exclude]").first).to_be_visible(timeout=WAIT_MS)
        _screenshots(page, test_output_dir, "feedback-not-for-me")

        drop.locator("button").click()
        expect(page.locator(".flash")).to_contain_text(
            "Done: your interests are now in-context learning.", timeout=WAIT_MS
        )
        _assert_interests(reader, ["in-context learning"])
        page.locator("ul.applied button").click()  # one click undoes
        expect(page.locator(".flash")).to_contain_text("Undone", timeout=WAIT_MS)
        _assert_interests(reader, INTERESTS)
        page.locator("li.proposal[data-kind=drop] button").click()  # and one applies again
        expect(page.locator(".flash")).to_contain_text("Done", timeout=WAIT_MS)
        _screenshots(page, test_output_dir, "feedback-applied")
        more = next(url for url in _links(first, "/more-like-this/") if f"/{diffusion}/" not in url)
        page.goto(more)
        expect(page.locator("h1")).to_have_text("More like this", timeout=WAIT_MS)
        expect(page.locator("li.proposal[data-kind=add]").first).to_be_visible(timeout=WAIT_MS)
        _screenshots(page, test_output_dir, "feedback-more-like-this")
        page.close()

    _assert_interests(reader, ["in-context learning"])
    (feedback,) = Feedback.objects.all()
    assert (feedback.paper_id, feedback.verdict, feedback.interest) == (diffusion, "less", "diffusion models")
    assert [e.undone_at is None for e in InterestEdit.objects.order_by("pk")] == [False, True]

    # The next digest, planned and sent as the beat job would, follows the edit.
    assert deliveries_send(delivery_ids=digest_plan(at=_tomorrow()).pending_ids).sent == 1
    second = Delivery.objects.filter(subscriber=reader).order_by("-pk").first()
    assert second is not None and second.edition == tomorrow_edition
    assert {tuple(item["interests"]) for item in second.papers} == {("in-context learning",)}
    dropped = Paper.objects.filter(pk__in=_diffusion_only(would_have.text)).values_list("title", flat=True)
    assert dropped and not any(title in str(mail.outbox[-1].body) for title in dropped)


def _assert_interests(reader: Subscriber, expected: list[str]) -> None:
    reader.refresh_from_db()
    assert reader.interests == expected


def _diffusion_only(text: str) -> list[int]:
    """The papers a rendered digest's text says matched "diffusion models"."""
    blocks = text.split("\n* ")
    return [
        int(m.group(1))
        for block in blocks
        if "Matched your interest diffusion models:" in block and (m := re.search(r"/papers/(\d+)/", block))
    ]


def _screenshots(page: Page, folder: Path, name: str) -> None:
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    page.screenshot(path=str(folder / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing runs off a phone
    page.screenshot(path=str(folder / f"{name}-phone.png"), full_page=True)
    print(f"screenshots: {folder / name}-desktop.png, {folder / name}-phone.png")


@pytest.mark.usefixtures("allow_sync_orm_in_event_loop")
def test_the_readers_archive_and_its_private_atom_feed(reader: Subscriber, test_output_dir: Path) -> None:
    assert deliveries_send(delivery_ids=digest_plan(at=_tomorrow()).pending_ids).sent == 1
    (archive_url,) = _links(mail.outbox[-1], "/archive/")
    sent = list(Delivery.objects.filter(subscriber=reader, status="sent").order_by("-sent_at"))
    assert len(sent) == 2

    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)  # type: ignore[arg-type]
        page.set_default_timeout(WAIT_MS)
        page.goto(archive_url)
        expect(page.locator("h1")).to_have_text("Your past digests", timeout=WAIT_MS)
        expect(page.locator("article.digest")).to_have_count(2, timeout=WAIT_MS)
        expect(page.locator("article.digest").first).to_have_attribute("id", f"digest-{sent[0].pk}", timeout=WAIT_MS)
        expect(page.locator("article.digest .why").first).to_contain_text("Matched your interest", timeout=WAIT_MS)
        expect(page.locator("article.digest mark").first).to_be_visible(timeout=WAIT_MS)
        _screenshots(page, test_output_dir, "reader-archive")
        feed_url = page.locator("a.feed-link").evaluate("a => a.href")
        feed = feedparser.parse(page.request.get(feed_url).body())
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.version == "atom10" and len(feed.entries) == 2
        page.goto(feed.entries[-1].link)  # an entry opens that digest in the archive, its mailed form a click on
        expect(page.locator(f"#digest-{sent[-1].pk}")).to_be_in_viewport(timeout=WAIT_MS)
        page.locator(f"#digest-{sent[-1].pk} .meta a").click()
        expect(page.locator("h1")).to_contain_text("new papers for you", timeout=WAIT_MS)
        page.close()
    titles = [entry.title for entry in feed.entries]
    assert titles == [f"{len(d.papers)} papers for you, {_day(d.period)}" for d in sent]


def _day(period: str) -> str:
    day = date.fromisoformat(period)
    return f"{day:%B} {day.day}, {day.year}"
