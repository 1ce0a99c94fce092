"""The public archive in a real browser: the editions, a day's edition with the editor's pick first, on to a
paper's page, a highlighted search, and both Atom feeds fetched over HTTP and read with feedparser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import feedparser
import pytest

from newsletter.models import Edition, EditionPaper
from newsletter.services.editions import edition_approve, edition_prepare
from tests.e2e.browser import DESKTOP, PHONE, chromium

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _edition_with_a_pick() -> tuple[Edition, str]:
    """Today's edition of the seed papers, its fourth paper made the editor's pick; the pick's title."""
    edition = edition_prepare()
    assert edition is not None
    entry = EditionPaper.objects.filter(edition=edition).select_related("paper").order_by("position")[3]
    EditionPaper.objects.filter(edition=edition).update(is_featured=False)
    EditionPaper.objects.filter(pk=entry.pk).update(is_featured=True)
    edition_approve(edition=edition)
    return edition, entry.paper.title


def _atom(response_body: bytes) -> feedparser.FeedParserDict:
    feed = feedparser.parse(response_body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.id and feed.feed.updated and feed.feed.title
    assert {link.rel for link in feed.feed.links} >= {"alternate", "self"}
    for entry in feed.entries:
        assert entry.id and entry.updated and entry.title and entry.link
    return feed


@pytest.mark.usefixtures("allow_sync_orm_in_event_loop", "seed_papers")
def test_a_reader_browses_the_editions_reaches_a_paper_and_reads_both_feeds(
    live_server: object, test_output_dir: Path, settings: Any
) -> None:
    edition, pick_title = _edition_with_a_pick()
    base = str(live_server)
    settings.SITE_URL = base  # feeds link on the public address

    with chromium() as browser:
        for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
            page.goto(f"{base}/")
            page.click("header nav >> text=Editions")
            assert page.locator("h1").inner_text() == "Editions"
            assert page.locator("article.edition-card").count() == 1
            page.screenshot(path=str(test_output_dir / f"editions-{name}.png"), full_page=True)

            page.locator("article.edition-card h2 a").first.click()
            page.wait_for_load_state()
            first_card = page.locator("article.paper-card").first
            assert first_card.locator("h3").inner_text() == pick_title
            assert "Editor's pick" in first_card.locator(".badge").inner_text()
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.screenshot(path=str(test_output_dir / f"edition-day-{name}.png"), full_page=False)

            first_card.locator("h3 a").click()
            page.wait_for_load_state()
            assert page.locator("h1").inner_text() == pick_title
            assert page.locator("section.listings li").count() >= 1
            page.screenshot(path=str(test_output_dir / f"paper-page-{name}.png"), full_page=True)
            page.close()

        page = browser.new_page(viewport=DESKTOP)  # type: ignore[arg-type]
        page.goto(f"{base}/papers/?q=" + "in-context learning -survey")
        assert page.locator("article.search-hit").count() >= 1
        assert page.locator("article.search-hit mark").count() >= 1
        page.screenshot(path=str(test_output_dir / "search-highlighted.png"), full_page=False)

        editions_feed = page.request.get(f"{base}/feeds/editions/")
        assert editions_feed.ok and editions_feed.headers["content-type"].startswith("application/atom+xml")
        feed = _atom(editions_feed.body())
        assert [entry.link for entry in feed.entries] == [f"{base}/editions/{edition.issue_date.isoformat()}/"]

        interest_feed = page.request.get(f"{base}/feeds/interest/?q=in-context+learning")
        assert interest_feed.ok
        titles = [entry.title for entry in _atom(interest_feed.body()).entries]
        assert titles and all(title for title in titles)

        refused = page.request.get(f"{base}/feeds/interest/?q=%22unclosed")
        assert refused.status == 400
        page.close()
