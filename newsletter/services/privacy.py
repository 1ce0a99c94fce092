"""A subscriber's rights over their data: everything held about them (export), and its erasure.

Erasure keeps one keyed hash of the address (a suppression) so that it is never mailed again.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from newsletter.feedback_selectors import subscriber_feedback_export
from newsletter.matching.labels import interests_as_typed
from newsletter.models import Subscriber, Suppression
from newsletter.selectors import delivery_item_words
from newsletter.services.suppressions import email_suppress

logger = logging.getLogger(__name__)


def subscriber_export(*, subscriber: Subscriber) -> dict[str, Any]:
    """Everything Paperboy holds about the subscriber, as JSON-ready data (GDPR art. 15 and 20)."""
    return {
        "email": subscriber.email,
        "status": subscriber.status,
        "interests": interests_as_typed(subscriber.interests, subscriber.interest_labels),
        "frequency": subscriber.frequency,
        "weekday": subscriber.get_weekday_display() if subscriber.frequency == "weekly" else None,
        "send_hour": subscriber.send_hour,
        "timezone": subscriber.timezone,
        "subscribed_at": _iso(subscriber.created_at),
        "confirmed_at": _iso(subscriber.confirmed_at),
        "unsubscribed_at": _iso(subscriber.unsubscribed_at),
        "consent": {
            "given_at": _iso(subscriber.consent_at),
            "ip": subscriber.consent_ip,
            "wording": subscriber.consent_text,
        },
        "deliveries": _deliveries_export(subscriber),
        "feedback": subscriber_feedback_export(subscriber_id=subscriber.pk),
        "exported_at": _iso(timezone.now()),
    }


def subscriber_erase(*, subscriber: Subscriber) -> None:
    """Delete every row about the subscriber; keep only a keyed hash so the address is never mailed again."""
    with transaction.atomic():
        email_suppress(email=subscriber.email, reason=Suppression.Reason.ERASED)
        subscriber.delete()
    logger.info("a subscriber's data was erased on request")


def _deliveries_export(subscriber: Subscriber) -> list[dict[str, Any]]:
    from papers.models import Paper

    deliveries = list(subscriber.deliveries.order_by("created_at"))
    paper_ids = {item["paper_id"] for delivery in deliveries for item in delivery.papers}
    titles = dict(Paper.objects.filter(pk__in=paper_ids).values_list("pk", "title"))
    words = delivery_item_words(deliveries=deliveries)
    return [
        {
            "period": delivery.period,
            "status": delivery.status,
            "sent_at": _iso(delivery.sent_at),
            "papers": [
                {
                    "title": titles.get(item["paper_id"], ""),
                    "score": item["score"],
                    "interests": item["interests"],
                    "matched_words": item_words,
                }
                for item, item_words in zip(delivery.papers, delivery_words, strict=True)
            ],
        }
        for delivery, delivery_words in zip(deliveries, words, strict=True)
    ]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
