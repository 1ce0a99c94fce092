"""The editors' desk in a real browser (issue 20): an editor opens today's edition, searches it, moves a paper to
the top in one step, sees how many readers each paper reaches, previews a reader's digest, and sees the
dashboard warn once the dumps folder has brought no new papers for longer than allowed. Screenshots of each
step, and the preview's time by the test's own clock (reported, never asserted), go to test-output/."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Page, expect

from newsletter.models import Edition, EditionPaper, Subscriber
from newsletter.services.editions import edition_prepare
from papers.services import dumps_scan
from tests.admin.conftest import editors_group_ensure
from tests.e2e.browser import DESKTOP, chromium

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-editor-password"  # a test account, in a throwaway database
QUIET_SECONDS = 3  # "no new papers for this long" is the warning's threshold here (hours in production)
READERS = {"reader@example.org": ["in-context learning"], "second@example.org": ["in-context learning", "agents"]}


@pytest.mark.usefixtures("allow_sync_orm_in_event_loop")
def test_an_editor_works_the_edition_desk_and_hears_of_a_quiet_source(
    live_server: object, seed_files: list[Path], test_output_dir: Path, tmp_path: Path, settings: LazySettings
) -> None:
    settings.PAPERBOY_STALE_AFTER_HOURS = QUIET_SECONDS / 3600
    settings.PAPERBOY_STALE_WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)  # the suite runs on weekends too
    folder = tmp_path / "dumps"
    folder.mkdir()
    shutil.copy(seed_files[0], folder / seed_files[0].name)
    assert dumps_scan(folder=folder)[0].created == 56
    edition = edition_prepare()
    assert edition is not None
    for email, interests in READERS.items():
        Subscriber.objects.create(email=email, interests=interests, status="active", confirmed_at=timezone.now())
    editor = User.objects.create_user("editor", email="editor@paperboy.example", password=PASSWORD, is_staff=True)
    editor.groups.add(editors_group_ensure())
    base, shots = str(live_server), test_output_dir

    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)  # type: ignore[arg-type]
        try:
            _log_in(page, base)
            _open_and_search(page, base, shots, edition)
            entry = _move_to_top(page, shots, edition)
            _reach(page, shots, entry)
            _preview(page, shots, entry)
            _quiet_source_warning(page, base, shots, folder)
        finally:
            connections.close_all()  # the ORM's connection in Playwright's context: PostgreSQL must drop the db


def _log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()


def _open_and_search(page: Page, base: str, shots: Path, edition: Edition) -> None:
    page.goto(f"{base}/admin/newsletter/edition/{edition.pk}/change/")
    expect(page.locator("#papers-heading")).to_have_text("Papers (56)")
    expect(page.locator("#sources")).to_contain_text("000_672c293092104e7e.txt: 56 of its papers, listed on")
    page.screenshot(path=str(shots / "desk-1-edition.png"))
    page.fill("#entries-q", "in-context")
    page.click(".paperboy-desk-search button[type=submit]")
    expect(page.locator("#entries-found")).to_contain_text("of 56 papers shown.")
    titles = page.locator(".paperboy-entries tbody tr td:nth-child(2) a").all_inner_texts()
    assert titles and len(titles) < 56
    page.screenshot(path=str(shots / "desk-2-searched.png"), full_page=True)


def _move_to_top(page: Page, shots: Path, edition: Edition) -> EditionPaper:
    """The last paper the search found that reaches readers goes to the top of the edition with one click."""
    row = page.locator(".paperboy-entries tbody tr", has=page.locator('.paperboy-reach:not([data-readers="0"])')).last
    entry = EditionPaper.objects.select_related("paper").get(pk=int(str(row.get_attribute("id")).split("-")[1]))
    assert _order(edition)[0] != entry.pk
    row.get_by_role("button", name="Move to the top").click()
    expect(page.locator(".messagelist .success")).to_have_text(f"“{entry.paper.title}” is now first in the edition.")
    assert _order(edition)[0] == entry.pk
    expect(page.locator("#entries-q")).to_have_value("in-context")  # the search is kept
    expect(page.locator(f"#entry-{entry.pk} td").first).to_have_text("1")
    page.screenshot(path=str(shots / "desk-3-moved-to-top.png"))
    return entry


def _order(edition: Edition) -> list[int]:
    return list(EditionPaper.objects.filter(edition=edition).order_by("position", "id").values_list("pk", flat=True))


def _reach(page: Page, shots: Path, entry: EditionPaper) -> None:
    """Before any digest is planned the readers are estimated from interests: both readers have this one."""
    reach = page.locator(f"#entry-{entry.pk} .paperboy-reach")
    expect(reach).to_have_attribute("data-readers", "2")
    expect(page.locator(f"#entry-{entry.pk}")).to_contain_text("matched: in-context learning")
    expect(page.locator("#papers .help").first).to_contain_text("estimated from the active subscribers")
    page.screenshot(path=str(shots / "desk-4-reach.png"))


def _preview(page: Page, shots: Path, entry: EditionPaper) -> None:
    page.fill("#preview-subscriber", "second@example.org")
    started = time.monotonic()
    page.click("#preview button[type=submit]")
    expect(page.frame_locator("#preview-html").locator("h3").first).to_be_visible()
    elapsed = time.monotonic() - started
    assert entry.paper.title in page.locator("#preview-text").inner_text()
    (shots / "desk-preview-timing.txt").write_text(f"preview as a subscriber, click to digest shown: {elapsed:.3f} s\n")
    page.screenshot(path=str(shots / "desk-5-preview.png"), full_page=True)


def _quiet_source_warning(page: Page, base: str, shots: Path, folder: Path) -> None:
    """The folder brings nothing new (a scan finds the same file): once the threshold passes, the dashboard warns."""
    assert all(result.created == 0 for result in dumps_scan(folder=folder))
    page.goto(f"{base}/admin/")
    time.sleep(QUIET_SECONDS)
    page.reload()
    expect(page.locator(".paperboy-source-warning")).to_contain_text("No new papers have arrived since")
    expect(page.locator('#sources tr[data-source="hf_text"]')).to_be_visible()
    page.screenshot(path=str(shots / "desk-6-quiet-source-warning.png"), full_page=True)
