"""Self-service from the signed links: preferences, pause, unsubscribe (one click), export, erase."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest
from django.core import mail
from django.test import Client
from django.test.client import MULTIPART_CONTENT, encode_multipart

from newsletter.links import list_unsubscribe_headers, manage_url, unsubscribe_url
from newsletter.models import Subscriber, Suppression
from newsletter.services.suppressions import email_is_suppressed
from tests.newsletter.conftest import form_data, path_of

pytestmark = pytest.mark.django_db


def _manage(subscriber: Subscriber) -> str:
    return path_of(manage_url(subscriber))


def test_the_manage_page_shows_the_current_settings(client: Client, active_subscriber: Subscriber) -> None:
    html = client.get(_manage(active_subscriber)).content.decode()

    assert active_subscriber.email in html
    assert "diffusion models" in html


def test_changing_interests_and_schedule_from_the_manage_page(client: Client, active_subscriber: Subscriber) -> None:
    data = form_data(
        interests="protein folding, -survey",
        frequency="weekly",
        weekday="4",
        send_hour="18",
        timezone="America/New_York",
    )
    response = client.post(_manage(active_subscriber), {**data, "action": "save"})

    assert response.status_code == 302
    active_subscriber.refresh_from_db()
    assert active_subscriber.interests == ["protein folding", "-survey"]
    assert (active_subscriber.frequency, active_subscriber.weekday) == ("weekly", 4)
    assert (active_subscriber.send_hour, active_subscriber.timezone) == (18, "America/New_York")


def test_a_bad_interest_on_the_manage_page_is_shown_next_to_the_field(
    client: Client, active_subscriber: Subscriber
) -> None:
    response = client.post(_manage(active_subscriber), {**form_data(interests="x" * 150), "action": "save"})

    assert response.status_code == 400
    assert 'class="errors"' in response.content.decode()
    active_subscriber.refresh_from_db()
    assert active_subscriber.interests == ["diffusion models"]


def test_pause_and_resume(client: Client, active_subscriber: Subscriber) -> None:
    client.post(_manage(active_subscriber), {"action": "pause"})
    active_subscriber.refresh_from_db()
    assert active_subscriber.status == Subscriber.Status.PAUSED

    client.post(_manage(active_subscriber), {"action": "resume"})
    active_subscriber.refresh_from_db()
    assert active_subscriber.status == Subscriber.Status.ACTIVE


def test_a_get_on_the_unsubscribe_link_only_shows_a_button(client: Client, active_subscriber: Subscriber) -> None:
    response = client.get(path_of(unsubscribe_url(active_subscriber)))

    assert response.status_code == 200 and "<form" in response.content.decode()
    active_subscriber.refresh_from_db()
    assert active_subscriber.status == Subscriber.Status.ACTIVE


def test_one_click_unsubscribe_urlencoded_without_cookie_or_csrf(active_subscriber: Subscriber) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        path_of(unsubscribe_url(active_subscriber)),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200  # answered here, not redirected
    assert not response.cookies.get("csrftoken")
    active_subscriber.refresh_from_db()
    assert active_subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_one_click_unsubscribe_multipart(active_subscriber: Subscriber) -> None:
    client = Client(enforce_csrf_checks=True)
    body = encode_multipart("BoUnDaRy", {"List-Unsubscribe": "One-Click"})
    response = client.post(
        path_of(unsubscribe_url(active_subscriber)),
        data=body,
        content_type=MULTIPART_CONTENT.replace("BoUnDaRyStRiNg", "BoUnDaRy"),
    )

    assert response.status_code == 200
    active_subscriber.refresh_from_db()
    assert active_subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_unsubscribing_twice_is_harmless(active_subscriber: Subscriber) -> None:
    client = Client(enforce_csrf_checks=True)
    url = path_of(unsubscribe_url(active_subscriber))

    assert client.post(url).status_code == 200
    assert client.post(url).status_code == 200
    active_subscriber.refresh_from_db()
    assert active_subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_list_unsubscribe_headers_have_an_https_link_a_mailto_and_one_click(
    active_subscriber: Subscriber,
) -> None:
    headers = list_unsubscribe_headers(active_subscriber)

    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url, mailto = (part.strip(" <>") for part in headers["List-Unsubscribe"].split(","))
    assert url == unsubscribe_url(active_subscriber) and "/unsubscribe/" in url
    assert mailto.startswith("mailto:")
    assert url.rsplit("/", 2)[-2] in unquote(mailto)  # the signed token, never a guessable id
    assert all("\r" not in v and "\n" not in v for v in headers.values())


def test_export_downloads_all_the_subscribers_data_as_json(client: Client, active_subscriber: Subscriber) -> None:
    response = client.get(_manage(active_subscriber) + "my-data.json")

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["email"] == "grace@example.org"
    assert data["interests"] == ["diffusion models"]
    assert data["consent"]["wording"] == "I agree." and data["consent"]["ip"] == "127.0.0.1"
    assert data["confirmed_at"]


def test_erase_deletes_everything_but_a_hashed_suppression_entry(
    client: Client, active_subscriber: Subscriber, subscribe: Callable[..., Any]
) -> None:
    manage = _manage(active_subscriber)
    not_confirmed = client.post(manage, {"action": "erase"})
    assert not_confirmed.status_code == 302 and Subscriber.objects.count() == 1

    response = client.post(manage, {"action": "erase", "confirm_erase": "yes"})

    assert response.status_code == 200
    assert Subscriber.objects.count() == 0
    entry = Suppression.objects.get()
    assert entry.reason == Suppression.Reason.ERASED
    assert "grace" not in entry.email_hash and email_is_suppressed(email="GRACE@example.org")
    assert client.get(manage).status_code == 400  # the old links are dead, politely
    subscribe(email="grace@example.org")
    # Only its owner's new sign-up mails it again, and only the double opt-in email (issue 15, item 13).
    assert [m.subject for m in mail.outbox] == ["Confirm your Paperboy subscription"]
