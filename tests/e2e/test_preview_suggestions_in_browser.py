"""A person types an interest, sees related terms from the papers, clicks one, and it is added as an interest."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from papers.services import dump_ingest, papers_embed
from tests.e2e.browser import DESKTOP, chromium
from tests.factories import seed_dump
from tests.newsletter.test_fused_matching import ON_TOPIC, OTHER_TOPICS

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.usefixtures("allow_sync_orm_in_event_loop")
def test_a_suggested_term_is_one_click_from_being_an_interest(live_server: object) -> None:
    cache.clear()
    dump_ingest(data=seed_dump(*OTHER_TOPICS, *ON_TOPIC), name="day.txt", today=date(2026, 11, 24))
    papers_embed()

    with chromium() as browser:
        context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(str(live_server) + "/")
        page.fill("textarea[name=interests]", "multimodal")
        suggestion = page.locator("#preview button.suggestion").first
        expect(suggestion).to_be_visible(timeout=15_000)
        term = suggestion.get_attribute("data-term")
        assert term and "multimodal" not in term.lower()

        suggestion.click()

        expect(page.locator("textarea[name=interests]")).to_have_value(f"multimodal\n{term}")
        # The preview follows: the added term is previewed as an interest of its own.
        expect(page.locator("#preview h3").filter(has_text=term)).to_be_visible(timeout=15_000)
        context.close()
