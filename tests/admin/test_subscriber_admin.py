"""Subscribers, deliveries and suppressions in the admin: find, understand, and the care actions."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client

from newsletter.models import ConfirmationRequest, Delivery, Edition, Subscriber, Suppression
from newsletter.services.suppressions import email_hash, email_is_suppressed
from papers.models import Paper
from tests.admin.conftest import messages_of
from tests.newsletter.conftest import subscriber_create

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/newsletter/subscriber/"


def _emails(response: object) -> set[str]:
    return {s.email for s in response.context["cl"].result_list}  # type: ignore[attr-defined]


def _act(client: Client, action: str, subscribers: list[Subscriber], **extra: str) -> object:
    data = {"action": action, "_selected_action": [str(s.pk) for s in subscribers], **extra}
    return client.post(CHANGELIST, data, follow=True)


def test_subscribers_are_found_by_address_and_filtered_by_status_and_frequency(editor_client: Client) -> None:
    subscriber_create("ada@lab.example", ["x"])
    subscriber_create("alan@lab.example", ["x"], status="paused", frequency="weekly")
    subscriber_create("grace@navy.example", ["x"], status="pending")

    assert _emails(editor_client.get(CHANGELIST, {"q": "lab.example"})) == {"ada@lab.example", "alan@lab.example"}
    assert _emails(editor_client.get(CHANGELIST, {"status__exact": "pending"})) == {"grace@navy.example"}
    assert _emails(editor_client.get(CHANGELIST, {"frequency__exact": "weekly"})) == {"alan@lab.example"}


def test_a_subscribers_page_shows_interests_consent_and_what_each_digest_held_and_why(
    editor_client: Client, edition: Edition
) -> None:
    paper = Paper.objects.order_by("id").first()
    assert paper is not None
    subscriber = subscriber_create(
        "ada@lab.example", ["in-context learning", "RLHF"], consent_text="I agree to get the digest.",
    )  # fmt: skip
    Delivery.objects.create(
        subscriber=subscriber, period="2026-11-24", edition=edition, status="sent",
        papers=[{"paper_id": paper.pk, "score": 3.25, "interests": ["in-context learning"], "words": ["in-context"]},
                {"paper_id": 999_999, "score": 1.0, "interests": ["RLHF"], "words": ["rlhf"]}],
    )  # fmt: skip

    html = editor_client.get(f"{CHANGELIST}{subscriber.pk}/change/").content.decode()

    assert "<li>in-context learning</li>" in html and "<li>RLHF</li>" in html
    assert "I agree to get the digest." in html
    assert paper.title in html and "score 3.25" in html and "words found: in-context" in html
    assert "paper #999999 (merged or removed since)" in html
    assert f"/admin/newsletter/edition/{edition.pk}/preview/?subscriber={subscriber.pk}" in html
    assert subscriber.link_nonce not in html


def test_resend_confirmation_queues_a_new_email_for_waiting_subscribers_only(
    editor_client: Client, django_capture_on_commit_callbacks: Callable
) -> None:
    waiting = subscriber_create("wait@example.org", ["x"], status="pending")
    active = subscriber_create("done@example.org", ["x"])

    with django_capture_on_commit_callbacks(execute=True):
        response = _act(editor_client, "resend_confirmation", [waiting, active])

    assert messages_of(response) == ["1 confirmation email queued; 1 skipped (not waiting for confirmation)."]
    assert ConfirmationRequest.objects.filter(subscriber=waiting).count() == 1
    assert not ConfirmationRequest.objects.filter(subscriber=active).exists()
    assert [m.to for m in mail.outbox] == [["wait@example.org"]]


def test_suppress_keeps_only_a_hash_of_the_address(editor_client: Client) -> None:
    subscriber = subscriber_create("spam-trap@example.org", ["x"])

    response = _act(editor_client, "suppress", [subscriber])
    again = _act(editor_client, "suppress", [subscriber])

    assert messages_of(response) == ["1 address suppressed (0 already were)."]
    assert messages_of(again) == ["0 addresses suppressed (1 already were)."]
    assert email_is_suppressed(email="spam-trap@example.org")
    suppression = Suppression.objects.get()
    assert suppression.reason == Suppression.Reason.MANUAL and "@" not in suppression.email_hash


def test_export_downloads_everything_held_about_the_subscriber_as_json(editor_client: Client) -> None:
    subscriber = subscriber_create("ada@lab.example", ["in-context learning"], consent_text="Yes.")

    response = editor_client.post(CHANGELIST, {"action": "export", "_selected_action": [subscriber.pk]})

    assert response["Content-Disposition"] == f'attachment; filename="paperboy-subscriber-{subscriber.pk}.json"'
    data = json.loads(response.content)
    assert data["email"] == "ada@lab.example" and data["interests"] == ["in-context learning"]
    assert data["consent"]["wording"] == "Yes."


def test_erase_asks_first_then_deletes_everything_but_a_suppression_hash(editor_client: Client) -> None:
    subscriber = subscriber_create("leave-me@example.org", ["x"])

    confirm = _act(editor_client, "erase", [subscriber])
    assert Subscriber.objects.filter(pk=subscriber.pk).exists()
    assert b"This cannot be undone" in confirm.content  # type: ignore[attr-defined]

    done = _act(editor_client, "erase", [subscriber], post="yes")

    assert messages_of(done) == ["Erased the data of 1 subscriber."]
    assert not Subscriber.objects.filter(pk=subscriber.pk).exists()
    assert Suppression.objects.get().reason == Suppression.Reason.ERASED


def test_the_subscribers_page_offers_the_actions_for_that_one_subscriber(editor_client: Client) -> None:
    subscriber = subscriber_create("wait@example.org", ["x"], status="pending")

    html = editor_client.get(f"{CHANGELIST}{subscriber.pk}/change/").content.decode()

    for action in ("resend_confirmation", "suppress", "export", "erase"):
        assert f'name="action" value="{action}"' in html
    assert f'name="_selected_action" value="{subscriber.pk}"' in html


def test_the_admins_own_delete_is_off_so_no_address_escapes_suppression(editor_client: Client) -> None:
    subscriber = subscriber_create("ada@lab.example", ["x"])

    response = editor_client.post(f"{CHANGELIST}{subscriber.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Subscriber.objects.filter(pk=subscriber.pk).exists()


def test_deliveries_list_with_their_subscriber_and_edition_and_explain_their_papers(
    editor_client: Client, edition: Edition
) -> None:
    paper = Paper.objects.order_by("id").first()
    assert paper is not None
    subscriber = subscriber_create("ada@lab.example", ["x"])
    delivery = Delivery.objects.create(
        subscriber=subscriber, period="2026-11-24", edition=edition, status="failed", error="refused by the ESP",
        papers=[{"paper_id": paper.pk, "score": 2.5, "interests": ["x"], "words": ["x"]}],
    )  # fmt: skip

    listing = editor_client.get("/admin/newsletter/delivery/", {"q": "ada@"})
    page = editor_client.get(f"/admin/newsletter/delivery/{delivery.pk}/change/").content.decode()

    assert list(listing.context["cl"].result_list) == [delivery]
    assert paper.title in page and "refused by the ESP" in page and "score 2.50" in page
    assert editor_client.post(f"/admin/newsletter/delivery/{delivery.pk}/change/", {}).status_code == 403


def test_suppressions_show_hashes_never_addresses_and_are_found_by_address(editor_client: Client) -> None:
    add = editor_client.post("/admin/newsletter/suppression/add/", {"email": "Gone@Example.org"}, follow=True)

    listing = editor_client.get("/admin/newsletter/suppression/")
    found = editor_client.get("/admin/newsletter/suppression/", {"q": "gone@example.org"})
    missed = editor_client.get("/admin/newsletter/suppression/", {"q": "other@example.org"})

    assert messages_of(add) == ["The address is suppressed: Paperboy will never mail it again."]
    assert "gone@example.org" not in listing.content.decode().lower()
    assert email_hash("gone@example.org")[:16] in listing.content.decode()
    assert len(found.context["cl"].result_list) == 1 and len(missed.context["cl"].result_list) == 0
