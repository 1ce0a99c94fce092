"""A subscriber's history: every change of status, and every suppression of their address, as an event.

Written by the services that change a status, in their transaction, with who or what caused it. The
dashboard's "subscribers over time" is counted from these (see selectors_history.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from newsletter.models import Subscriber, SubscriberEvent

Kind = SubscriberEvent.Kind


def subscriber_event_record(
    *, subscriber: Subscriber, kind: str, previous: str, cause: str, at: datetime | None = None
) -> SubscriberEvent:
    """Record that `subscriber` went from `previous` to their current status because of `cause` (`at`: the
    time the row was stamped with, so both say the same)."""
    return SubscriberEvent.objects.create(
        subscriber=subscriber, kind=kind, previous=previous, status=subscriber.status, cause=cause[:200],
        at=at or timezone.now(),
    )  # fmt: skip


def subscriber_events_record(*, rows: Iterable[tuple[int, str]], kind: str, status: str, cause: str) -> int:
    """The same change for many subscribers at once: `rows` are (subscriber id, previous status)."""
    at = timezone.now()
    events = [
        SubscriberEvent(subscriber_id=pk, kind=kind, previous=previous, status=status, cause=cause[:200], at=at)
        for pk, previous in rows
    ]
    SubscriberEvent.objects.bulk_create(events, batch_size=2000)
    return len(events)


def suppression_event_record(*, email: str, reason_label: str) -> None:
    """An address was suppressed: an event on its subscriber, if one has it (the status does not change)."""
    from newsletter.addresses import email_normalize

    rows = Subscriber.objects.filter(email=email_normalize(email)).values_list("pk", "status")
    for pk, status in rows:
        SubscriberEvent.objects.create(
            subscriber_id=pk, kind=Kind.SUPPRESSED, previous=status, status=status, cause=reason_label[:200]
        )
