"""Subscribing: the form, validation, double opt-in, consent, rate limits, honeypot, enumeration guard."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from newsletter.models import ConfirmationRequest, Subscriber, Suppression
from newsletter.services.suppressions import email_hash
from tests.newsletter.conftest import form_data, links_in_last_email, path_of

pytestmark = pytest.mark.django_db


def test_home_shows_the_form_with_every_field(client: Client) -> None:
    html = client.get("/").content.decode()

    for name in (
        "email",
        "interests",
        "frequency",
        "weekday",
        "send_hour",
        "timezone",
        "csrfmiddlewaretoken",
    ):
        assert f'name="{name}"' in html, name
    assert "one-click unsubscribe" in html  # the consent wording is on the page


def test_subscribing_stores_a_pending_subscriber_with_consent_and_sends_one_confirmation(
    subscribe: Callable[..., Any],
) -> None:
    response = subscribe(email="Ada@Example.org", interests='in-context learning, RLHF\n"exact phrase" -survey')

    assert response.status_code == 302 and response["Location"] == "/subscribe/check-your-inbox/"
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "ada@example.org"
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.interests == ["in-context learning", "rlhf", '"exact phrase" -survey']
    assert subscriber.timezone == "Europe/Paris"
    assert subscriber.consent_ip == "127.0.0.1" and subscriber.consent_at is not None
    assert "one-click unsubscribe" in subscriber.consent_text
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.org"]
    assert message.subject == "Confirm your Paperboy subscription"
    html = str(message.alternatives[0][0])  # type: ignore[attr-defined]  # an EmailMultiAlternatives
    assert links_in_last_email("/confirm/")[0] in html
    assert 'style="' in html  # CSS inlined for mail clients


def test_a_get_on_the_confirmation_link_changes_nothing_and_the_post_confirms(
    client: Client, subscribe: Callable[..., Any]
) -> None:
    subscribe()
    confirm_path = path_of(links_in_last_email("/confirm/")[0])

    page = client.get(confirm_path)
    assert page.status_code == 200 and "<form" in page.content.decode()
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING

    response = client.post(confirm_path)
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.ACTIVE and subscriber.confirmed_at is not None
    assert response.status_code == 302 and "/manage/" in response["Location"]


def test_a_confirmation_link_works_once(client: Client, subscribe: Callable[..., Any]) -> None:
    subscribe()
    confirm_path = path_of(links_in_last_email("/confirm/")[0])
    client.post(confirm_path)

    again = client.post(confirm_path)

    assert again.status_code == 410
    assert "already used" in again.content.decode()


def test_a_confirmation_link_expires_after_seven_days(
    client: Client, subscribe: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe()
    confirm_path = path_of(links_in_last_email("/confirm/")[0])
    now = time.time()
    monkeypatch.setattr("django.core.signing.time.time", lambda: now + 7 * 86400 + 60)

    response = client.post(confirm_path)

    assert response.status_code == 410 and "expired" in response.content.decode()
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


@pytest.mark.parametrize("prefix", ["/confirm/", "/manage/", "/unsubscribe/", "/manage/x/my-data.json"])
def test_a_mutated_or_garbage_token_gets_a_friendly_page_not_a_500(
    client: Client, active_subscriber: Subscriber, prefix: str
) -> None:
    from newsletter.links import manage_url

    real = path_of(manage_url(active_subscriber)).split("/")[2]
    mutated = real[:-3] + ("AAA" if not real.endswith("AAA") else "BBB")
    for token in (mutated, "garbage", "a" * 300):
        path = prefix.replace("/x/", f"/{token}/") if "/x/" in prefix else f"{prefix}{token}/"
        response = client.get(path)
        assert response.status_code == 400, path
        assert "link doesn" in response.content.decode()


def test_a_token_made_for_one_purpose_does_not_work_for_another(client: Client, active_subscriber: Subscriber) -> None:
    from newsletter.links import manage_url

    manage_token = path_of(manage_url(active_subscriber)).split("/")[2]

    assert client.post(f"/unsubscribe/{manage_token}/").status_code == 400
    assert client.post(f"/confirm/{manage_token}/").status_code == 400
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "not-an-address"}, "email", "valid email"),
        ({"email": "a@example.org\r\nBcc: victim@example.org"}, "email", "valid email"),
        ({"interests": "   "}, "interests", "required"),
        ({"interests": "x" * 101}, "interests", "100"),
        ({"interests": ",".join(f"topic{n}" for n in range(21))}, "interests", "20"),
        ({"interests": "<script>alert(1)</script>"}, "interests", ""),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "valid choice"),
        ({"send_hour": "25"}, "send_hour", "valid choice"),
    ],
)
def test_a_bad_field_gets_a_message_next_to_it_and_nothing_is_stored(
    client: Client, overrides: dict[str, str], field: str, message: str
) -> None:
    response = client.post("/subscribe/", form_data(**overrides))

    assert response.status_code == 400
    html = response.content.decode()
    field_block = html.split(f'id="field-{field}"', 1)[1].split('<div class="field', 1)[0]
    assert 'class="errors"' in field_block
    assert message.lower() in field_block.lower()
    assert "<script>alert" not in html  # what was typed is echoed escaped
    assert Subscriber.objects.count() == 0 and not mail.outbox


def test_the_honeypot_is_accepted_silently_and_does_nothing(subscribe: Callable[..., Any]) -> None:
    response = subscribe(website="http://spam.example")

    assert response.status_code == 302
    assert Subscriber.objects.count() == 0 and not mail.outbox


def test_the_form_needs_a_csrf_token() -> None:
    response = Client(enforce_csrf_checks=True).post("/subscribe/", form_data())

    assert response.status_code == 403
    assert Subscriber.objects.count() == 0


def test_at_most_four_confirmation_emails_per_address_per_five_minutes(subscribe: Callable[..., Any]) -> None:
    for _ in range(6):
        assert subscribe().status_code == 302

    assert len(mail.outbox) == 4


def test_the_form_is_limited_per_ip_address(subscribe: Callable[..., Any], settings: Any) -> None:
    settings.PAPERBOY_SUBSCRIBES_PER_IP = 3
    statuses = [subscribe(email=f"user{n}@example.org").status_code for n in range(5)]

    assert statuses == [302, 302, 302, 429, 429]
    assert Subscriber.objects.count() == 3


def _response_signature(response: Any) -> tuple[int, str, bytes]:
    return response.status_code, response.get("Location", ""), response.content


def test_the_response_is_the_same_for_new_existing_unsubscribed_and_suppressed_addresses(
    subscribe: Callable[..., Any], active_subscriber: Subscriber
) -> None:
    Subscriber.objects.create(email="gone@example.org", status=Subscriber.Status.UNSUBSCRIBED, interests=["x"])
    Suppression.objects.create(email_hash=email_hash("bounced@example.org"), reason=Suppression.Reason.BOUNCED)

    signatures = {
        kind: _response_signature(subscribe(email=address))
        for kind, address in {
            "new": "new@example.org",
            "active": active_subscriber.email,
            "unsubscribed": "gone@example.org",
            "suppressed": "bounced@example.org",
        }.items()
    }

    assert len(set(signatures.values())) == 1, signatures
    # What differs is only what the owner of each inbox sees:
    assert sorted(m.to[0] for m in mail.outbox) == [
        "gone@example.org",
        "grace@example.org",
        "new@example.org",
    ]
    assert Subscriber.objects.get(email="grace@example.org").interests == ["diffusion models"]  # not overwritten


def test_an_already_subscribed_address_gets_its_manage_link_not_a_settings_change(
    subscribe: Callable[..., Any], active_subscriber: Subscriber
) -> None:
    subscribe(email=active_subscriber.email, interests="something else entirely")

    assert len(mail.outbox) == 1
    assert links_in_last_email("/manage/")
    assert "List-Unsubscribe" in mail.outbox[0].extra_headers
    active_subscriber.refresh_from_db()
    assert active_subscriber.interests == ["diffusion models"]


def test_nothing_but_the_confirmation_is_sent_to_an_unconfirmed_address(
    subscribe: Callable[..., Any],
) -> None:
    from newsletter.services.subscriptions import manage_link_send

    subscribe()
    mail.outbox.clear()

    assert manage_link_send(subscriber_id=Subscriber.objects.get().pk) is False
    assert not mail.outbox


def test_resubmitting_while_pending_sends_a_fresh_link_and_the_old_one_still_confirms_once(
    client: Client, subscribe: Callable[..., Any]
) -> None:
    subscribe()
    first = path_of(links_in_last_email("/confirm/")[0])
    subscribe(interests="graph neural networks")
    second = path_of(links_in_last_email("/confirm/")[0])

    assert first != second
    assert client.post(first).status_code == 302
    assert client.post(second).status_code == 410  # confirming spends every outstanding link
    assert ConfirmationRequest.objects.filter(used_at=None).count() == 0
    # The first link activates what it was sent for, not what a later form for the address asked (issue 15).
    assert Subscriber.objects.get().interests == ["in-context learning", "rlhf"]


def test_the_request_does_the_same_database_work_for_every_kind_of_address(
    client: Client, active_subscriber: Subscriber, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    """Equal timing by construction: the same statements for every address; the worker decides the rest."""
    import re as regex

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Subscriber.objects.create(email="gone@example.org", status=Subscriber.Status.UNSUBSCRIBED, interests=["x"])
    Suppression.objects.create(email_hash=email_hash("bounced@example.org"), reason=Suppression.Reason.BOUNCED)
    shapes = {}
    for address in ("new@example.org", active_subscriber.email, "gone@example.org", "bounced@example.org"):
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as queued:
            client.post("/subscribe/", form_data(email=address))
        # Values differ per address; the statements themselves must not.
        shapes[address] = [regex.sub(r"'[^']*'|\b\d+\b|\"s\d+_x\d+\"", "?", q["sql"]) for q in queries.captured_queries]
        assert len(queued) == 1, address

    assert len({tuple(shape) for shape in shapes.values()}) == 1, shapes
