"""ESP feedback: bounces, complaints and unsubscribes suppress the address; delivery events settle the ledger."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from newsletter.addresses import email_normalize
from newsletter.models import Delivery, Subscriber, Suppression, TrackingEvent
from newsletter.services.subscriber_events import subscriber_events_record
from newsletter.services.suppressions import email_suppress

logger = logging.getLogger(__name__)

# anymail's normalised event types that mean "never mail this address again".
SUPPRESSING = {
    "bounced": Suppression.Reason.BOUNCED,
    "complained": Suppression.Reason.COMPLAINED,
    "unsubscribed": Suppression.Reason.UNSUBSCRIBED,
    "rejected": Suppression.Reason.REJECTED,
}
# Events that prove the ESP accepted the message.
ACCEPTED = {"queued", "sent", "delivered", "opened", "clicked", "deferred"}


def tracking_event_apply(*, event: Any, esp_name: str) -> bool:
    """Apply one anymail tracking event once; False if it was seen before (ESPs retry webhooks)."""
    message_id = str(event.message_id or "")
    delivery = _delivery_of(event, message_id)
    try:
        with transaction.atomic():
            TrackingEvent.objects.create(
                event_id=_event_id(event, esp_name, message_id),
                event_type=str(event.event_type)[:32],
                esp_message_id=message_id[:255],
                delivery=delivery,
            )
            _apply(event, delivery, message_id)
    except IntegrityError:
        return False  # the same event again: already applied
    return True


def _apply(event: Any, delivery: Delivery | None, message_id: str) -> None:
    event_type = str(event.event_type)
    if event_type in SUPPRESSING and event.recipient:
        email_suppress(email=event.recipient, reason=SUPPRESSING[event_type])
        if event_type == "unsubscribed":
            leaving = Subscriber.objects.filter(email=email_normalize(event.recipient)).exclude(
                status=Subscriber.Status.UNSUBSCRIBED
            )
            rows = list(leaving.values_list("pk", "status"))
            leaving.update(status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now())
            subscriber_events_record(
                rows=rows, kind="unsubscribed", status="unsubscribed", cause="an unsubscribe reported by the ESP"
            )
        logger.info("address suppressed after a %s event", event_type)
    if delivery is not None and delivery.status == Delivery.Status.SENDING and event_type in ACCEPTED:
        # A stamp lost to a crash: the ESP's word settles it.
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.SENT, esp_message_id=message_id[:255], sent_at=timezone.now()
        )


def _delivery_of(event: Any, message_id: str) -> Delivery | None:
    delivery_id = (event.metadata or {}).get("delivery_id")
    if delivery_id and str(delivery_id).isdigit():
        return Delivery.objects.filter(pk=int(delivery_id)).first()
    if message_id:
        return Delivery.objects.filter(esp_message_id=message_id).first()
    return None


def _event_id(event: Any, esp_name: str, message_id: str) -> str:
    if event.event_id:
        return f"{esp_name}:{event.event_id}"[:255]
    # Some ESPs send no event id: the same event type for the same message at the same time is the same event.
    raw = f"{esp_name}:{message_id}:{event.event_type}:{event.recipient}:{event.timestamp}"
    return "derived:" + hashlib.sha256(raw.encode()).hexdigest()
