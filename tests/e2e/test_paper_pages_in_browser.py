"""The public paper pages in a real browser, at phone and desktop width."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from papers.services import dump_ingest_file
from tests.e2e.browser import DESKTOP, PHONE, chromium

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.usefixtures("allow_sync_orm_in_event_loop")
def test_papers_read_well_on_a_phone_and_search_works(
    live_server: object, seed_files: list[Path], test_output_dir: Path
) -> None:
    dump_ingest_file(path=seed_files[0], today=date(2026, 11, 24))
    base = str(live_server)

    with chromium() as browser:
        for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
            page.goto(f"{base}/papers/")
            assert page.locator("article.paper-card").count() == 25
            # Nothing wider than the screen: no sideways scrolling on a phone.
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.screenshot(path=str(test_output_dir / f"papers-{name}.png"), full_page=False)
            page.close()

        page = browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
        page.goto(f"{base}/papers/")
        page.fill("input[name=q]", "in-context")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        titles = page.locator("article.paper-card h2").all_inner_texts()
        assert titles and len(titles) < 25
        page.locator("article.paper-card h2 a").first.click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == titles[0]
