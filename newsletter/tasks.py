"""Celery tasks for the newsletter: thin wrappers, each calling the service of the same name.

Tasks carry ids, never objects. Only transient transport errors are retried; a refused address is not.
Each task imports its service inside its body: services queue tasks by name (newsletter.queueing), and
nothing here is loaded before it runs, so importing this module (newsletter.apps does, to register the
tasks) stays cheap and no import cycle can form.
"""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from newsletter.emails import TRANSIENT_ERRORS, retry_delay

logger = logging.getLogger(__name__)


@shared_task(name="newsletter.tasks.signup_process")
def signup_process(signup_id: int) -> None:
    from newsletter.services import subscriptions

    subscriptions.signup_process(signup_id=signup_id)


# Transactional emails retry transient transport errors only, with backoff (30 s doubling, at most 15 min).
@shared_task(
    name="newsletter.tasks.confirmation_send",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=30,
    retry_backoff_max=900,
    max_retries=6,
)
def confirmation_send(confirmation_id: int) -> bool:
    from newsletter.services import subscriptions

    return subscriptions.confirmation_send(confirmation_id=confirmation_id)


@shared_task(
    name="newsletter.tasks.manage_link_send",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=30,
    retry_backoff_max=900,
    max_retries=6,
)
def manage_link_send(subscriber_id: int) -> bool:
    from newsletter.services import subscriptions

    return subscriptions.manage_link_send(subscriber_id=subscriber_id)


@shared_task(
    name="newsletter.tasks.first_digest_send",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=30,
    retry_backoff_max=900,
    max_retries=6,
)
def first_digest_send(subscriber_id: int) -> int:
    """A just-confirmed reader's first digest (re-running it sends nothing more: the ledger row is there)."""
    from newsletter.services import first_digest

    return first_digest.first_digest_send(subscriber_id=subscriber_id)


@shared_task(name="newsletter.tasks.edition_prepare")
def edition_prepare() -> int | None:
    from newsletter.services import editions

    edition = editions.edition_prepare()
    return edition.pk if edition else None


@shared_task(name="newsletter.tasks.digest_tick")
def digest_tick() -> dict[str, int]:
    """The 15-minute beat job: settle stuck sends, prepare the edition, plan who is due, fan out.

    Each chunk of the ledger is queued as soon as it is committed, so the other worker processes send while
    this one plans the rest; then pending rows left from before (queued when the broker was down) go too.
    """
    from newsletter.services import editions, planning, sending

    recovered = sending.deliveries_recover()
    editions.edition_prepare()
    if settings.PAPERBOY_PLAN_SHARD_SUBSCRIBERS:
        return {**_plan_in_shards(), **recovered}
    report = planning.digest_plan(on_written=_dispatch_while_planning)
    left_over = sorted(set(planning.deliveries_pending_ids()) - set(report.pending_ids))
    deliveries_dispatch(left_over)
    return {
        "due": report.due,
        "planned": report.planned,
        "skipped": report.skipped,
        "dispatched": len(report.pending_ids) + len(left_over),
        **recovered,
    }


def _plan_in_shards() -> dict[str, int]:
    """Queue one planning task per shard of subscribers (every worker plans), then the stranded pending rows."""
    from newsletter.services import plan_shards, planning

    at = timezone.now().isoformat()  # one instant for every shard: the same periods
    shards = plan_shards.plan_shards(subscribers_per_shard=settings.PAPERBOY_PLAN_SHARD_SUBSCRIBERS)
    for shard in shards:
        digest_plan_shard.delay(at, shard.id_from, shard.id_to)
    return {"shards": len(shards), "dispatched": deliveries_dispatch(planning.deliveries_pending_ids())}


@shared_task(name="newsletter.tasks.digest_plan_shard")
def digest_plan_shard(at: str, id_from: int, id_to: int) -> dict[str, int]:
    """Plan one shard of the due subscribers and queue its sends as each chunk commits (idempotent: the
    ledger's unique key)."""
    from newsletter.services import plan_shards

    report = plan_shards.digest_plan_shard(
        at=datetime.fromisoformat(at),
        shard=plan_shards.Shard(id_from, id_to),
        on_written=_dispatch_while_planning,
    )
    return {"due": report.due, "planned": report.planned, "skipped": report.skipped}


def _dispatch_while_planning(delivery_ids: list[int]) -> None:
    """Queue a committed chunk's sends. A broker that is down must not stop planning the rest: these rows stay
    pending, and a later tick queues them again (planning.deliveries_pending_ids)."""
    try:
        deliveries_dispatch(delivery_ids)
    except OperationalError as exc:
        logger.warning("could not queue %d sends (%s); a later tick queues them again", len(delivery_ids), exc)


def deliveries_dispatch(delivery_ids: list[int]) -> int:
    """Queue the sends in chunks of ids (never one task per subscriber), after the ledger commits."""
    chunk = settings.PAPERBOY_SEND_CHUNK
    for start in range(0, len(delivery_ids), chunk):
        # celery-types predates delay_on_commit (Celery 5.4).
        deliveries_send.delay_on_commit(delivery_ids[start : start + chunk])  # type: ignore[attr-defined]
    return len(delivery_ids)


@shared_task(name="newsletter.tasks.deliveries_send", acks_late=True)
def deliveries_send(delivery_ids: list[int]) -> dict[str, int]:
    from newsletter.services import sending

    report = sending.deliveries_send(delivery_ids=delivery_ids)
    if report.retry_ids:
        attempts = max(1, _attempts_of(report.retry_ids))
        countdown = retry_delay(attempts=attempts, retry_after=report.retry_after)
        logger.info("retrying %d deliveries in %.0f s", len(report.retry_ids), countdown)
        deliveries_send.apply_async((report.retry_ids,), countdown=countdown)
    return {
        "sent": report.sent,
        "failed": report.failed,
        "suppressed": report.suppressed,
        "retrying": len(report.retry_ids),
    }


def _attempts_of(delivery_ids: list[int]) -> int:
    from newsletter.models import Delivery

    return max(Delivery.objects.filter(pk__in=delivery_ids).values_list("attempts", flat=True), default=1)


@shared_task(name="newsletter.tasks.interest_vectors_compute")
def interest_vectors_compute(interests: list[str]) -> int:
    """Vectors of a subscriber's interests, computed once when first seen (the planner reads them)."""
    from newsletter.services import indexing

    return indexing.interest_vectors_compute(interests=interests)


def papers_added_receiver(**_: object) -> None:
    """papers announces new papers (papers.signals.papers_added): today's edition can take them now."""
    edition_prepare.delay_on_commit()  # type: ignore[attr-defined]  # celery-types predates it
