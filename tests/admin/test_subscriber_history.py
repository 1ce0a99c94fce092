"""A subscriber's history as events: written where the status changes, shown on their admin page, and the
dashboard's "subscribers over time" counted from them (issue 20)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from newsletter.admin.history import subscribers_over_time
from newsletter.models import Subscriber, SubscriberEvent, Suppression
from newsletter.services import subscriptions as subs
from newsletter.services.suppressions import email_suppress
from newsletter.services.tracking import tracking_event_apply
from tests.newsletter.conftest import links_in_last_email, path_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()  # the sign-up's rate-limit counters live in the shared cache


def _sign_up(capture: Callable, email: str = "grace@example.org") -> Subscriber:
    request = subs.SubscribeRequest(
        email=email, preferences=subs.Preferences(interests=("diffusion models",), timezone="UTC"),
        ip="127.0.0.1", consent_text="I agree.",
    )  # fmt: skip
    with capture(execute=True):
        subs.subscription_request(request=request)
    token = path_of(links_in_last_email("/confirm/")[0]).split("/")[2]
    mail.outbox.clear()
    return subs.subscriber_confirm(token=token)


def _history(subscriber: Subscriber) -> list[tuple[str, str, str, str]]:
    events = SubscriberEvent.objects.filter(subscriber=subscriber).order_by("at", "id")
    return [(e.kind, e.previous, e.status, e.cause) for e in events]


def test_every_change_of_status_is_an_event_with_its_cause(django_capture_on_commit_callbacks: Callable) -> None:
    subscriber = _sign_up(django_capture_on_commit_callbacks)
    subs.subscriber_pause(subscriber=subscriber)
    subs.subscriber_resume(subscriber=subscriber)
    subs.subscriber_unsubscribe(subscriber=subscriber)
    unsubscribed_at = Subscriber.objects.get(pk=subscriber.pk).unsubscribed_at
    again = _sign_up(django_capture_on_commit_callbacks)

    assert again.pk == subscriber.pk and again.unsubscribed_at is None
    assert _history(subscriber) == [
        ("subscribed", "", "pending", "the sign-up form"),
        ("confirmed", "pending", "active", "the confirmation link"),
        ("paused", "active", "paused", "their manage page"),
        ("resumed", "paused", "active", "their manage page"),
        ("unsubscribed", "active", "unsubscribed", "their unsubscribe link"),
        ("resubscribed", "unsubscribed", "pending", "the sign-up form"),
        ("confirmed", "pending", "active", "the confirmation link"),
    ]
    # The unsubscription the row forgot is in the history.
    assert SubscriberEvent.objects.get(subscriber=subscriber, kind="unsubscribed").at == unsubscribed_at


def test_a_suppression_and_an_esp_unsubscribe_are_events(django_capture_on_commit_callbacks: Callable) -> None:
    subscriber = _sign_up(django_capture_on_commit_callbacks)

    email_suppress(email=subscriber.email, reason=Suppression.Reason.MANUAL)
    event = SimpleNamespace(
        event_type="unsubscribed", recipient=subscriber.email, message_id="m1", metadata={}, event_id="e1",
        timestamp=None,
    )  # fmt: skip
    tracking_event_apply(event=event, esp_name="test")

    assert _history(subscriber)[-2:] == [
        ("suppressed", "active", "active", "suppressed by an editor"),
        ("unsubscribed", "active", "unsubscribed", "an unsubscribe reported by the ESP"),
    ]


def test_the_subscribers_page_shows_the_history(
    editor_client: Client, django_capture_on_commit_callbacks: Callable
) -> None:
    subscriber = _sign_up(django_capture_on_commit_callbacks)
    subs.subscriber_unsubscribe(subscriber=subscriber, cause="one-click unsubscribe in their mail client")

    html = editor_client.get(f"/admin/newsletter/subscriber/{subscriber.pk}/change/").content.decode()

    assert 'data-kind="unsubscribed"' in html and "one-click unsubscribe in their mail client" in html
    assert html.index('data-kind="unsubscribed"') < html.index('data-kind="confirmed"')  # newest first


def test_subscribers_over_time_follow_the_events(django_capture_on_commit_callbacks: Callable) -> None:
    today = timezone.localdate()
    old = _sign_up(django_capture_on_commit_callbacks, "old@example.org")
    leaving = _sign_up(django_capture_on_commit_callbacks, "leaving@example.org")
    SubscriberEvent.objects.filter(subscriber=old).update(at=timezone.now() - timedelta(days=90))
    SubscriberEvent.objects.filter(subscriber=leaving).update(at=timezone.now() - timedelta(days=4))
    subs.subscriber_unsubscribe(subscriber=leaving)
    SubscriberEvent.objects.filter(subscriber=leaving, kind="unsubscribed").update(
        at=timezone.now() - timedelta(days=1)
    )

    counts = subscribers_over_time(days=7, today=today)

    assert counts.by_status["active"] == [1, 1, 2, 2, 2, 1, 1]
    assert counts.by_status["unsubscribed"] == [0, 0, 0, 0, 0, 1, 1]
    assert counts.by_status["pending"] == [0] * 7


def test_an_editors_suppression_names_the_editor(
    editor_client: Client, django_capture_on_commit_callbacks: Callable
) -> None:
    subscriber = _sign_up(django_capture_on_commit_callbacks)

    editor_client.post(
        "/admin/newsletter/subscriber/", {"action": "suppress", "_selected_action": [str(subscriber.pk)]}
    )

    assert _history(subscriber)[-1] == ("suppressed", "active", "active", "suppressed by editor ed")
