"""Each confirmation link activates what it was issued for (issue 15, item 7), and an address erased at its
owner's request may subscribe again through double opt-in while bounces and complaints still block it (item 13).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from newsletter.links import manage_url
from newsletter.models import ConfirmationRequest, Subscriber, Suppression
from newsletter.services.suppressions import email_hash, email_is_suppressed, email_suppress
from tests.newsletter.conftest import form_data, links_in_last_email, path_of

pytestmark = pytest.mark.django_db

OWNER = {"interests": "in-context learning", "frequency": "daily", "timezone": "Europe/Paris", "send_hour": "7"}
ATTACKER = {"interests": "buy cheap watches", "frequency": "weekly", "weekday": "3", "timezone": "Asia/Tokyo"}


def _settings_of(subscriber: Subscriber) -> tuple[Any, ...]:
    subscriber.refresh_from_db()
    return (subscriber.interests, subscriber.frequency, subscriber.timezone, subscriber.send_hour)


def _two_requests(subscribe: Callable[..., Any]) -> tuple[str, str]:
    """The owner signs up; then someone else posts the same, still unconfirmed, address with other settings.
    Both confirmation emails go to the owner's mailbox (which the other person cannot read)."""
    subscribe(**OWNER)
    owners = path_of(links_in_last_email("/confirm/")[0])
    subscribe(**ATTACKER, send_hour="23")
    attackers = path_of(links_in_last_email("/confirm/")[0])
    assert [m.to for m in mail.outbox] == [["ada@example.org"], ["ada@example.org"]]
    return owners, attackers


def test_the_owners_link_activates_the_owners_settings_not_a_later_anonymous_post(
    client: Client, subscribe: Callable[..., Any]
) -> None:
    owners, _ = _two_requests(subscribe)

    assert client.post(owners).status_code == 302

    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert _settings_of(subscriber) == (["in-context learning"], "daily", "Europe/Paris", 7)


def test_the_second_link_activates_the_second_request_only_when_it_is_clicked(
    client: Client, subscribe: Callable[..., Any]
) -> None:
    owners, attackers = _two_requests(subscribe)
    subscriber = Subscriber.objects.get()
    assert _settings_of(subscriber) == (["in-context learning"], "daily", "Europe/Paris", 7)  # not replaced

    assert client.post(attackers).status_code == 302

    assert _settings_of(subscriber) == (["buy cheap watches"], "weekly", "Asia/Tokyo", 23)
    assert subscriber.weekday == 3
    assert client.post(owners).status_code == 410  # confirming spends every outstanding link


def test_each_confirmation_email_and_page_show_the_settings_of_their_own_request(
    client: Client, subscribe: Callable[..., Any]
) -> None:
    owners, attackers = _two_requests(subscribe)
    first, second = (str(m.body) for m in mail.outbox)

    assert "in-context learning" in first and "watches" not in first
    assert "buy cheap watches" in second and "in-context" not in second
    assert "in-context learning" in client.get(owners).content.decode()
    assert "buy cheap watches" in client.get(attackers).content.decode()


def test_an_anonymous_post_for_an_unsubscribed_address_changes_nothing_until_confirmed(
    client: Client, subscribe: Callable[..., Any], active_subscriber: Subscriber
) -> None:
    client.post(path_of(manage_url(active_subscriber)), {"action": "unsubscribe"})
    before = _settings_of(active_subscriber)

    subscribe(email=active_subscriber.email, **ATTACKER)

    assert _settings_of(active_subscriber) == before
    assert client.post(path_of(links_in_last_email("/confirm/")[0])).status_code == 302
    assert _settings_of(active_subscriber)[0] == ["buy cheap watches"]


def test_the_consent_recorded_is_the_one_given_with_the_confirmed_request(
    subscribe: Callable[..., Any], client: Client, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(**OWNER)
    owners = path_of(links_in_last_email("/confirm/")[0])
    owner_request = ConfirmationRequest.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/subscribe/", form_data(**ATTACKER), REMOTE_ADDR="203.0.113.9")
    assert len(mail.outbox) == 2

    client.post(owners)

    subscriber = Subscriber.objects.get()
    assert subscriber.consent_at == owner_request.created_at
    assert subscriber.consent_ip == "127.0.0.1"


# --- item 13: sign up again after erasure -----------------------------------------------------------------


def _erase(client: Client, subscriber: Subscriber) -> None:
    response = client.post(path_of(manage_url(subscriber)), {"action": "erase", "confirm_erase": "yes"})
    assert response.status_code == 200 and not Subscriber.objects.exists()


def test_an_address_erased_at_its_owners_request_can_subscribe_again_through_double_opt_in(
    client: Client, subscribe: Callable[..., Any], active_subscriber: Subscriber
) -> None:
    _erase(client, active_subscriber)

    subscribe(email="grace@example.org", interests="protein folding")

    assert [m.to for m in mail.outbox] == [["grace@example.org"]]
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    assert email_is_suppressed(email="grace@example.org")  # nothing but the confirmation until they confirm
    assert client.post(path_of(links_in_last_email("/confirm/")[0])).status_code == 302
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.ACTIVE and subscriber.interests == ["protein folding"]
    assert not email_is_suppressed(email="grace@example.org")  # their digests go out again
    assert not Suppression.objects.exists()


@pytest.mark.parametrize(
    "reason",
    [
        Suppression.Reason.BOUNCED,
        Suppression.Reason.COMPLAINED,
        Suppression.Reason.UNSUBSCRIBED,
        Suppression.Reason.REJECTED,
        Suppression.Reason.MANUAL,
    ],
)
def test_a_suppression_other_than_an_erasure_still_blocks_a_new_sign_up(
    subscribe: Callable[..., Any], reason: Suppression.Reason
) -> None:
    Suppression.objects.create(email_hash=email_hash("ada@example.org"), reason=reason)

    assert subscribe().status_code == 302  # the same answer as for anyone

    assert not mail.outbox
    assert Suppression.objects.get().reason == reason


def test_a_bounce_after_an_erasure_blocks_sign_ups_again(
    client: Client, subscribe: Callable[..., Any], active_subscriber: Subscriber
) -> None:
    _erase(client, active_subscriber)

    assert email_suppress(email="grace@example.org", reason=Suppression.Reason.BOUNCED) is True

    assert Suppression.objects.get().reason == Suppression.Reason.BOUNCED
    subscribe(email="grace@example.org")
    assert not mail.outbox


def test_a_confirmation_link_sent_before_a_complaint_confirms_nothing_that_can_be_mailed(
    client: Client, subscribe: Callable[..., Any], active_subscriber: Subscriber
) -> None:
    _erase(client, active_subscriber)
    subscribe(email="grace@example.org")
    link = path_of(links_in_last_email("/confirm/")[0])
    email_suppress(email="grace@example.org", reason=Suppression.Reason.COMPLAINED)

    client.post(link)

    assert email_is_suppressed(email="grace@example.org")  # a complaint is never lifted by a click
    assert Suppression.objects.get().reason == Suppression.Reason.COMPLAINED
