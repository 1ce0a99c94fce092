"""The editors' admin in a real browser: log in as an editor, upload a dump, feature a paper, preview a reader's
digest with it on top, and see the dashboard's charts. Screenshots of each step go to test-output/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Page, expect

from newsletter.models import Edition, EditionPaper, Subscriber
from newsletter.services.editions import edition_prepare
from newsletter.services.subscriber_events import subscriber_event_record
from papers.models import Dump
from tests.admin.conftest import editors_group_ensure
from tests.e2e.browser import DESKTOP, chromium

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-editor-password"  # a test account, in a throwaway database


@pytest.mark.usefixtures("allow_sync_orm_in_event_loop")
def test_an_editor_uploads_features_previews_and_sees_the_dashboard(
    live_server: object, seed_files: list[Path], test_output_dir: Path
) -> None:
    editor = User.objects.create_user("editor", email="editor@paperboy.example", password=PASSWORD, is_staff=True)
    editor.groups.add(editors_group_ensure())
    assert not editor.is_superuser
    base, shots = str(live_server), test_output_dir

    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)  # type: ignore[arg-type]
        try:
            _log_in(page, base, shots)
            _upload(page, base, shots, seed_files[0])
            edition = edition_prepare()
            assert edition is not None
            entry = _feature(page, base, shots, edition)
            _preview(page, shots, entry)
            _dashboard(page, base, shots, seed_files[0].name)
        finally:
            # In Playwright's block the ORM runs in another context, with a connection of its own: close it, or
            # PostgreSQL cannot drop the test database at the end of the run.
            connections.close_all()


def _log_in(page: Page, base: str, shots: Path) -> None:
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()
    page.screenshot(path=str(shots / "admin-1-logged-in.png"), full_page=True)


def _upload(page: Page, base: str, shots: Path, dump_file: Path) -> None:
    """A seed dump through the upload page: the same ingestion as the dumps folder."""
    page.goto(f"{base}/admin/papers/dump/upload/")
    page.set_input_files("input[name=file]", str(dump_file))
    page.click("input[type=submit][value='Upload and ingest']")
    expect(page.locator(".messagelist .success")).to_contain_text("56 papers, 56 new")
    page.screenshot(path=str(shots / "admin-2-dump-uploaded.png"), full_page=True)
    assert Dump.objects.get().status == Dump.Status.INGESTED


def _feature(page: Page, base: str, shots: Path, edition: Edition) -> EditionPaper:
    """Feature, from the edition's page, a paper on in-context learning that is far down the list."""
    entry = (
        EditionPaper.objects.filter(edition=edition, paper__title__icontains="in-context")
        .select_related("paper")
        .order_by("-position")
        .first()
    )
    assert entry is not None and entry.position > 0
    page.goto(f"{base}/admin/newsletter/edition/{edition.pk}/change/")
    page.locator(f"#entry-{entry.pk} button", has_text="Feature").click()
    expect(page.locator(".messagelist .success")).to_contain_text("is an editor's pick")
    expect(page.locator(f"#entry-{entry.pk}")).to_contain_text("★ pick")
    page.locator(f"#entry-{entry.pk}").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "admin-3-paper-featured.png"))
    return entry


def _preview(page: Page, shots: Path, entry: EditionPaper) -> None:
    """A reader whose interest matches the paper: their digest opens with it, as an editor's pick."""
    reader = Subscriber.objects.create(
        email="reader@example.org", interests=["in-context learning"], status=Subscriber.Status.ACTIVE,
        confirmed_at=timezone.now(),
    )  # fmt: skip
    # Made directly, active at once: its arrival is recorded as an event (the dashboard counts from them).
    subscriber_event_record(subscriber=reader, kind="subscribed", previous="", cause="made active by the test")
    page.fill("#preview-subscriber", reader.email)
    page.click("#preview button[type=submit]")
    expect(page.frame_locator("#preview-html").locator(".pick h3").first).to_have_text(entry.paper.title)
    picks, _, papers = page.locator("#preview-text").inner_text().partition("YOUR PAPERS")
    assert picks.split("EDITOR'S PICKS")[1].lstrip().startswith(f"* {entry.paper.title}")
    assert "in-context" in papers.lower()
    page.screenshot(path=str(shots / "admin-4-preview.png"), full_page=True)


def _dashboard(page: Page, base: str, shots: Path, dump_name: str) -> None:
    """The admin index: its two charts, drawn as SVG by the server, and the last ingestion."""
    page.goto(f"{base}/admin/")
    for chart in ("#subscribers-chart", "#deliveries-chart"):
        expect(page.locator(f"svg{chart}")).to_be_visible()
    assert page.locator("svg#subscribers-chart rect.bar").count() >= 1
    expect(page.locator("#last-ingestion")).to_contain_text(dump_name)
    page.screenshot(path=str(shots / "admin-5-dashboard.png"), full_page=True)
