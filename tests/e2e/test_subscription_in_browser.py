"""A person subscribes in a real browser: live preview, confirmation email, manage page, unsubscribe."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import Page, expect

from newsletter.models import Subscriber
from papers.services import dump_ingest_file
from tests.e2e.browser import DESKTOP, PHONE, chromium

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _confirm_path(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/confirm/[^\s]+/)", body)
    assert match, body
    return match.group(1)


def _fill_form(page: Page, *, email: str, interests: str) -> None:
    page.fill("input[name=email]", email)
    page.fill("textarea[name=interests]", interests)


@pytest.mark.usefixtures("allow_sync_orm_in_event_loop")
def test_subscribe_preview_confirm_manage_and_unsubscribe(
    live_server: object, seed_files: list[Path], test_output_dir: Path
) -> None:
    cache.clear()
    for path in seed_files:
        dump_ingest_file(path=path, today=date(2026, 11, 24))
    base = str(live_server)

    with chromium() as browser:
        for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            context = browser.new_context(viewport=viewport, timezone_id="Asia/Tokyo")  # type: ignore[arg-type]
            page = context.new_page()
            page.goto(base + "/")
            _fill_form(page, email=f"{name}@example.org", interests="chain-of-thought")
            expect(page.locator("#preview mark").first).to_be_visible(timeout=10_000)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.screenshot(path=str(test_output_dir / f"subscribe-form-{name}.png"), full_page=True)
            context.close()

        context = browser.new_context(viewport=DESKTOP, timezone_id="Asia/Tokyo")  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(base + "/")
        assert page.locator("select[name=timezone]").input_value() == "Asia/Tokyo"  # prefilled by the browser
        _fill_form(page, email="reader@example.org", interests="in-context learning\nRLHF")
        page.select_option("select[name=frequency]", "weekly")
        expect(page.locator("#field-weekday")).to_be_visible()
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Check your inbox")

        subscriber = Subscriber.objects.get(email="reader@example.org")
        assert (subscriber.status, subscriber.timezone, subscriber.frequency) == (
            "pending",
            "Asia/Tokyo",
            "weekly",
        )
        confirmation = next(m for m in mail.outbox if m.to == ["reader@example.org"])
        page.goto(base + _confirm_path(str(confirmation.body)))
        subscriber.refresh_from_db()
        assert subscriber.status == "pending"  # opening the link alone changes nothing
        page.click("button[type=submit]")
        expect(page.locator(".flash")).to_contain_text("You're subscribed")
        subscriber.refresh_from_db()
        assert subscriber.status == "active"

        page.fill("textarea[name=interests]", "diffusion models\n-survey")
        page.click("form.subscribe button[type=submit]")
        expect(page.locator(".flash")).to_contain_text("Saved")
        subscriber.refresh_from_db()
        assert subscriber.interests == ["diffusion models", "-survey"]
        page.screenshot(path=str(test_output_dir / "manage-desktop.png"), full_page=True)

        page.click("button[value=unsubscribe]")
        expect(page.locator("h1")).to_have_text("You're unsubscribed")
        subscriber.refresh_from_db()
        assert subscriber.status == "unsubscribed"
        context.close()


@pytest.mark.usefixtures("allow_sync_orm_in_event_loop")
def test_the_form_works_without_javascript(live_server: object) -> None:
    cache.clear()
    with chromium() as browser:
        context = browser.new_context(java_script_enabled=False, viewport=PHONE)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(str(live_server) + "/")
        _fill_form(page, email="nojs@example.org", interests="")
        page.click("button[type=submit]")
        expect(page.locator("#field-interests .errors")).to_be_visible()  # the message is next to the field

        page.fill("textarea[name=interests]", "graph neural networks")
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Check your inbox")
        assert Subscriber.objects.filter(email="nojs@example.org", status="pending").exists()
        context.close()
