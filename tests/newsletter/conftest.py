"""Fixtures for the newsletter tests."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from newsletter.models import Subscriber
from newsletter.services import subscriptions as subs

LINK = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()  # rate-limit counters live in the cache; each test starts from zero


def links_in_last_email(path_part: str) -> list[str]:
    assert mail.outbox, "no email was sent"
    return [url for url in LINK.findall(str(mail.outbox[-1].body)) if path_part in url]


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "email": "ada@example.org",
        "interests": "in-context learning\nRLHF",
        "frequency": "daily",
        "weekday": "0",
        "send_hour": "7",
        "timezone": "Europe/Paris",
        "website": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def subscribe(client: Client, django_capture_on_commit_callbacks: Callable) -> Callable[..., object]:
    """POST the subscribe form, running the tasks it queues on commit (eager in tests)."""

    def post(**overrides: str) -> object:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/subscribe/", form_data(**overrides))

    return post


@pytest.fixture
def active_subscriber(django_capture_on_commit_callbacks: Callable) -> Subscriber:
    """A subscriber who went through the real sign-up and confirmation."""
    request = subs.SubscribeRequest(
        email="grace@example.org",
        preferences=subs.Preferences(interests=("diffusion models",), timezone="UTC"),
        ip="127.0.0.1",
        consent_text="I agree.",
    )
    with django_capture_on_commit_callbacks(execute=True):
        subs.subscription_request(request=request)
    token = path_of(links_in_last_email("/confirm/")[0]).split("/")[2]
    mail.outbox.clear()
    return subs.subscriber_confirm(token=token)


# --- digests ----------------------------------------------------------------------------------------------


def subscriber_create(email: str, interests: list[str], **fields: object) -> Subscriber:
    from django.utils import timezone

    values: dict[str, object] = {
        "status": Subscriber.Status.ACTIVE,
        "confirmed_at": timezone.now(),
        "timezone": "UTC",
        "send_hour": 0,
        "frequency": "daily",
    }
    values.update(fields)
    return Subscriber.objects.create(email=email, interests=interests, **values)


@pytest.fixture
def esp(settings: object) -> object:
    """The loopback ESP stand-in, with Postmark's anymail backend pointed at it."""
    from newsletter.send_rate import send_rate
    from tests.esp_standin import EspStandIn

    standin = EspStandIn().start()
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"  # type: ignore[attr-defined]
    send_rate().reset()  # a 429 of an earlier test paused the fleet's sends (in Redis when REDIS_URL is set)
    settings.ANYMAIL = {  # type: ignore[attr-defined]
        "POSTMARK_SERVER_TOKEN": "test-token",
        "POSTMARK_API_URL": standin.api_url,
        "REQUESTS_TIMEOUT": 1.0,
        "WEBHOOK_SECRET": "hook:secret",
    }
    yield standin
    standin.stop()
    send_rate().reset()


# The email tests' fixtures (last: that module uses the helpers above).
from tests.newsletter.email_kinds import every_email, march_edition  # noqa: E402, F401
