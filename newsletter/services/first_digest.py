"""A new reader's first digest, at once after they confirm, and when the next one comes.

The first digest is planned as the scheduled ones are (the same matcher, explanations and ledger row, keyed
on the period it is sent in), over the last WEEKLY_LOOKBACK_DAYS of editions, whatever the frequency: a new
reader sees what their interests catch now rather than waiting for the next edition. It then counts as that
period's digest; the schedule carries on from the next period.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from django.utils import timezone

from newsletter.matching.percolation import PercolationMemo
from newsletter.models import Edition, Subscriber
from newsletter.paper_indexes import acronyms_current
from newsletter.schedule import period_key, zone_of
from newsletter.services import planning
from newsletter.services.explanations import explanation_rows
from newsletter.services.fusion import semantic_layer
from newsletter.services.indexing import ExplanationLog
from newsletter.services.ledger import ledger_chunk_write
from newsletter.services.sending import deliveries_send

logger = logging.getLogger(__name__)


def first_digest_send(*, subscriber_id: int, at: datetime | None = None) -> int:
    """Plan and send a just-confirmed reader's first digest; the number of emails sent (0 or 1).

    Nothing happens for a reader who had a digest planned already (a re-run, a returning reader), or when no
    edition has been approved yet.
    """
    pending = _first_digest_plan(subscriber_id=subscriber_id, at=at or timezone.now())
    if not pending:
        return 0
    return deliveries_send(delivery_ids=pending).sent


def _first_digest_plan(*, subscriber_id: int, at: datetime) -> list[int]:
    subscriber = Subscriber.objects.filter(
        pk=subscriber_id, status=Subscriber.Status.ACTIVE, last_edition__isnull=True
    ).first()
    latest = Edition.objects.filter(status=Edition.Status.APPROVED, issue_date__lte=timezone.localdate(at)).first()
    if subscriber is None or latest is None:
        return []
    covers_after_id = planning._window_start(Subscriber.Frequency.WEEKLY, latest)  # the recent papers: a week
    _, index = planning._coverage_index(latest, covers_after_id, acronyms_current())
    memo = PercolationMemo(index=index, semantic=semantic_layer(index=index))
    row = planning._Due(subscriber.pk, list(subscriber.interests), subscriber.frequency, subscriber.timezone, None)
    explained = ExplanationLog()
    entries = planning._group_entries(rows=[row], memo=memo, at=at, explained=explained)
    written = ledger_chunk_write(
        groups=[(covers_after_id, entries)], latest=latest, explanations=explanation_rows(explained.take())
    )
    logger.info("first digest of subscriber %s: %s", subscriber.pk, "planned" if written.pending_ids else "nothing")
    return written.pending_ids


def next_digest_at(*, subscriber: Subscriber, now: datetime | None = None) -> datetime:
    """When the reader's next scheduled digest goes out, in their own time zone: their hour on the next day
    (daily) or their weekday (weekly) of a later period than this one, which the first digest took."""
    zone = zone_of(subscriber.timezone)
    local = (now or timezone.now()).astimezone(zone)
    this_period = period_key(frequency=subscriber.frequency, local=local)
    for offset in range(1, 15):
        day = local.date() + timedelta(days=offset)
        if subscriber.frequency == Subscriber.Frequency.WEEKLY and day.weekday() != subscriber.weekday:
            continue
        slot = datetime.combine(day, time(subscriber.send_hour), tzinfo=zone)
        if period_key(frequency=subscriber.frequency, local=slot) != this_period:
            return slot
    raise AssertionError("a later period starts within two weeks")  # pragma: no cover
