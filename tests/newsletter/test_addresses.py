"""Look-alike addresses: one form per mailbox for every comparison, and look-alike domains refused.

`victim@ｅxample.org` (a full-width e) is delivered to victim@example.org, so it must meet that address's
suppression entry and per-address limit, and find its subscriber row; `alice@exаmple.org` (a Cyrillic а) is
another domain dressed as example.org and is refused at the form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.utils.crypto import salted_hmac

from newsletter.addresses import AddressError, email_checked, email_normalize
from newsletter.models import SignupRequest, Subscriber, Suppression
from newsletter.services import subscriptions as subs
from newsletter.services.suppressions import email_is_suppressed, email_suppress
from tests.newsletter.conftest import form_data

FULL_WIDTH_E = "\uff45"
CYRILLIC_A = "\u0430"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("victim@example.org", "victim@example.org"),
        (f"victim@{FULL_WIDTH_E}xample.org", "victim@example.org"),
        ("victim@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.\uff4f\uff52\uff47", "victim@example.org"),
        ("  Victim@EXAMPLE.ORG ", "victim@example.org"),
        ("victim@example.org.", "victim@example.org"),
        ("\uff56ictim@example.org", "victim@example.org"),  # NFKC on the local part too
        ("a@m\u00fcnchen.de", "a@xn--mnchen-3ya.de"),  # stored as A-labels, as mail is sent
        ("a@M\u00dcNCHEN.DE", "a@xn--mnchen-3ya.de"),
        ("a@xn--mnchen-3ya.de", "a@xn--mnchen-3ya.de"),
        ("a@[192.0.2.1]", "a@[192.0.2.1]"),
    ],
)
def test_every_variant_of_one_mailbox_normalises_to_one_form(typed: str, stored: str) -> None:
    assert email_normalize(typed) == stored


@pytest.mark.parametrize(
    "email",
    [
        f"alice@ex{CYRILLIC_A}mple.org",  # Latin with one Cyrillic letter
        "alice@xn--exmple-4nf.org",  # the same look-alike, typed as its A-label
        "alice@g\u03bfogle.com",  # a Greek omicron
        f"{CYRILLIC_A}lice@example.org",  # the local part
    ],
)
def test_addresses_mixing_scripts_in_one_name_are_refused(email: str) -> None:
    with pytest.raises(AddressError, match="one alphabet"):
        email_checked(email)


@pytest.mark.parametrize(
    "email",
    [
        "a@\u4f8b\u3048.\u30c6\u30b9\u30c8",  # Japanese: Han with Hiragana, and Katakana
        "a@\u0430\u0440\u0440\u04cf\u0435.com",  # one label wholly Cyrillic, another Latin: each in one script
        "a@b\u00fccher.example",
        "a@xn--mnchen-3ya.de",
    ],
)
def test_single_script_and_usual_cjk_mixes_are_accepted(email: str) -> None:
    assert email_checked(email) == email_normalize(email)


def test_a_domain_idna_cannot_encode_is_refused() -> None:
    with pytest.raises(AddressError, match="not a valid domain"):
        email_checked("a@xn--zz.org")


@pytest.mark.django_db
def test_a_full_width_variant_of_a_suppressed_address_gets_no_email(subscribe: Callable[..., Any]) -> None:
    email_suppress(email="victim@example.org", reason=Suppression.Reason.MANUAL)

    response = subscribe(email=f"victim@{FULL_WIDTH_E}xample.org")

    assert response.status_code == 302  # the same answer as for anyone
    assert mail.outbox == []
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_a_suppression_reported_for_a_variant_covers_the_address(subscribe: Callable[..., Any]) -> None:
    email_suppress(email=f"VICTIM@{FULL_WIDTH_E}xample.org", reason=Suppression.Reason.BOUNCED)

    subscribe(email="victim@example.org")

    assert email_is_suppressed(email="victim@example.org")
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_suppression_hashed_before_normalisation_still_counts_for_its_old_row() -> None:
    old_row_email = f"victim@{FULL_WIDTH_E}xample.org"  # stored by the old code: only stripped, lower-cased
    legacy = salted_hmac(
        "paperboy.newsletter.suppression", old_row_email, secret=django_settings.SECRET_KEY, algorithm="sha256"
    )
    Suppression.objects.create(email_hash=legacy.hexdigest(), reason=Suppression.Reason.BOUNCED)

    assert email_is_suppressed(email=old_row_email)


@pytest.mark.django_db
def test_variants_of_one_address_share_its_per_address_limit(settings: Any) -> None:
    settings.PAPERBOY_CONFIRMATIONS_PER_ADDRESS = 4
    variants = ["victim@example.org", f"victim@{FULL_WIDTH_E}xample.org", "VICTIM@EXAMPLE.ORG", "victim@example.org."]
    for email in variants * 2:  # tasks are queued on commit, which never comes here: the rows stay to look at
        request = subs.SubscribeRequest(
            email=email, preferences=subs.Preferences(interests=("agents",)), ip="192.0.2.1", consent_text="ok"
        )
        subs.subscription_request(request=request)

    rows = list(SignupRequest.objects.order_by("pk").values_list("email", "rate_limited"))
    assert rows == [("victim@example.org", False)] * 4 + [("victim@example.org", True)] * 4


@pytest.mark.django_db
def test_a_full_width_variant_finds_the_existing_subscriber_instead_of_adding_one(
    subscribe: Callable[..., Any],
) -> None:
    subscribe(email="alice@example.org")
    subscribe(email=f"alice@{FULL_WIDTH_E}xample.org")

    assert list(Subscriber.objects.values_list("email", flat=True)) == ["alice@example.org"]
    assert {address for message in mail.outbox for address in message.to} == {"alice@example.org"}


@pytest.mark.django_db
def test_a_look_alike_domain_is_refused_next_to_the_email_field(client: Client, subscribe: Callable[..., Any]) -> None:
    subscribe(email="alice@example.org")
    mail.outbox.clear()

    response = client.post("/subscribe/", form_data(email=f"alice@ex{CYRILLIC_A}mple.org"))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == ["email"] and "one alphabet" in errors["email"][0]
    assert "Cyrillic and Latin" in response.content.decode()
    assert Subscriber.objects.count() == 1 and mail.outbox == []
