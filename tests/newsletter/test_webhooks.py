"""The ESP tracking webhooks: closed without their secret, and a 400 (never a 500) for what they cannot read."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import LazySettings
from django.test import Client

from newsletter.checks import webhook_settings_check
from newsletter.models import Subscriber, Suppression, TrackingEvent
from newsletter.webhook_urls import urlpatterns as webhook_routes
from newsletter.webhooks import webhook_settings_problems
from tests.newsletter.conftest import subscriber_create

# Mounted routes of ESPs anymail has deprecated say so on every call; here that is noise.
pytestmark = pytest.mark.filterwarnings(
    "ignore::anymail.exceptions.AnymailNotSupportedWarning", "ignore::anymail.exceptions.AnymailDeprecationWarning"
)
AUTH = "Basic " + base64.b64encode(b"hook:secret").decode()
# Every setting any mounted ESP's webhook needs, so each one gets as far as reading the payload.
ALL_WEBHOOK_SETTINGS = {
    "WEBHOOK_SECRET": "hook:secret",
    "MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-signing-key",
    "MAILERSEND_SIGNING_SECRET": "mailersend-signing-secret",
    "MANDRILL_WEBHOOK_KEY": "mandrill-key",
    "POSTAL_WEBHOOK_KEY": base64.b64encode(
        rsa.generate_private_key(public_exponent=65537, key_size=1024)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode(),
    "UNISENDER_GO_API_KEY": "unisender-key",
}
# Resend's webhook needs the svix package, which Paperboy does not install: it answers 503 (configuration).
ROUTES = sorted(str(route.pattern) for route in webhook_routes if route.name != "resend_tracking_webhook")
DEEP = 100_000
UNREADABLE_BODIES = {
    "malformed": b'{"RecordType": "Bounce", "Email": ',
    "not utf-8": b'{"Email": "\xff\xfe"}',
    "array": b'[1, "two", null, {"RecordType": "Bounce"}]',
    "scalar": b"42",
    "deeply nested array": b"[" * DEEP + b"]" * DEEP,
    "deeply nested object": b'{"a": ' * DEEP + b"1" + b"}" * DEEP,
}
BOUNCE = {
    "RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce", "TypeCode": 1, "MessageID": "m-1",
    "Email": "victim@example.org", "BouncedAt": "2026-11-24T07:10:00Z", "Description": "Mailbox does not exist",
}  # fmt: skip


@pytest.fixture
def no_raise_client() -> Client:
    """A client that shows a 500 as a response, as the ESP would see it, instead of raising."""
    return Client(raise_request_exception=False)


@pytest.mark.django_db
def test_without_a_secret_a_forged_bounce_is_refused_and_suppresses_nobody(
    no_raise_client: Client, settings: LazySettings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "t"}  # the default of .env.example: no WEBHOOK_SECRET
    subscriber_create("victim@example.org", ["agents"])
    unsubscribe = {**BOUNCE, "RecordType": "SubscriptionChange", "SuppressSending": True, "ID": 7}

    with caplog.at_level(logging.ERROR, logger="newsletter.webhooks"):
        answers = [
            no_raise_client.post("/anymail/postmark/tracking/", data=json.dumps(body), content_type="application/json")
            for body in (BOUNCE, unsubscribe)
        ]

    assert [answer.status_code for answer in answers] == [503, 503]
    assert not Suppression.objects.exists() and not TrackingEvent.objects.exists()
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE
    assert "ANYMAIL_WEBHOOK_SECRET is not set" in caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize("body_name", list(UNREADABLE_BODIES))
@pytest.mark.parametrize("route", ROUTES)
def test_an_unreadable_payload_is_a_400_on_every_tracking_webhook(
    no_raise_client: Client, settings: LazySettings, route: str, body_name: str
) -> None:
    settings.ANYMAIL = ALL_WEBHOOK_SETTINGS
    headers = {"Authorization": AUTH}
    if route.startswith("amazon_ses"):  # SNS names the message in headers too
        headers |= {"X-Amz-Sns-Message-Type": "Notification", "X-Amz-Sns-Message-Id": "1"}

    response = no_raise_client.post(
        f"/anymail/{route}", data=UNREADABLE_BODIES[body_name], content_type="application/json", headers=headers
    )

    assert response.status_code == 400, response.content[:300]
    assert not TrackingEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [{"Email": ["victim@example.org"]}, {"Email": {"a": "b"}}, {"Metadata": ["delivery_id"]},
     {"Metadata": {"delivery_id": {"nested": [1]}}}],
)  # fmt: skip
def test_an_event_whose_fields_have_odd_types_is_a_400_and_changes_nothing(
    no_raise_client: Client, settings: LazySettings, fields: dict[str, object]
) -> None:
    settings.ANYMAIL = ALL_WEBHOOK_SETTINGS

    response = no_raise_client.post(
        "/anymail/postmark/tracking/",
        data=json.dumps({**BOUNCE, **fields}),
        content_type="application/json",
        HTTP_AUTHORIZATION=AUTH,
    )

    assert response.status_code == 400
    assert not Suppression.objects.exists() and not TrackingEvent.objects.exists()


@pytest.mark.django_db
def test_mailgun_without_its_signing_key_is_a_clear_503_not_a_500(
    no_raise_client: Client, settings: LazySettings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret", "MAILGUN_API_KEY": "api-key"}
    event = {"signature": {"token": "t", "timestamp": "1", "signature": "s"}, "event-data": {"event": "failed"}}

    with caplog.at_level(logging.ERROR, logger="newsletter.webhooks"):
        response = no_raise_client.post(
            "/anymail/mailgun/tracking/", data=json.dumps(event), content_type="application/json",
            HTTP_AUTHORIZATION=AUTH,
        )  # fmt: skip

    assert response.status_code == 503
    assert "MAILGUN_WEBHOOK_SIGNING_KEY is not set" in caplog.text


@pytest.mark.django_db
def test_a_setting_anymail_requires_is_a_503_not_a_500(
    no_raise_client: Client, settings: LazySettings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}  # and no MAILERSEND_SIGNING_SECRET

    with caplog.at_level(logging.ERROR, logger="newsletter.webhooks"):
        response = no_raise_client.post(
            "/anymail/mailersend/tracking/", data="{}", content_type="application/json", HTTP_AUTHORIZATION=AUTH
        )

    assert response.status_code == 503
    assert "MAILERSEND_SIGNING_SECRET" in caplog.text


def test_inbound_routes_are_not_mounted(client: Client) -> None:
    assert client.post("/anymail/postmark/inbound/", data="{}", content_type="application/json").status_code == 404


@pytest.mark.parametrize(
    ("backend", "anymail", "expected"),
    [
        ("anymail.backends.postmark.EmailBackend", {"POSTMARK_SERVER_TOKEN": "t"}, ["ANYMAIL_WEBHOOK_SECRET"]),
        ("anymail.backends.postmark.EmailBackend", {"WEBHOOK_SECRET": "hook:secret"}, []),
        ("anymail.backends.mailgun.EmailBackend", {"WEBHOOK_SECRET": "h:s"}, ["MAILGUN_WEBHOOK_SIGNING_KEY"]),
        ("anymail.backends.mailgun.EmailBackend", {"WEBHOOK_SECRET": "h:s", "MAILGUN_WEBHOOK_SIGNING_KEY": "k"}, []),
        ("django.core.mail.backends.smtp.EmailBackend", {}, []),  # no ESP: no webhook to protect
    ],
)
def test_the_system_check_stops_a_production_start_without_the_webhook_settings(
    settings: LazySettings, backend: str, anymail: dict[str, str], expected: list[str]
) -> None:
    settings.DEBUG = False
    settings.EMAIL_BACKEND = backend
    settings.ANYMAIL = anymail

    errors = webhook_settings_check()

    assert [error.id for error in errors] == ["paperboy.E001"] * len(expected)
    assert all(variable in error.msg for variable, error in zip(expected, errors, strict=True))


def test_webhook_settings_problems_name_what_is_missing(settings: LazySettings) -> None:
    settings.ANYMAIL = {}

    assert len(webhook_settings_problems(esp="mailgun")) == 2
    assert len(webhook_settings_problems(esp="postmark")) == 1
