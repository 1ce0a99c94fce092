"""Sending digests: claim ledger rows, send each outside any transaction, stamp each at once.

A batch claims its rows (status "sending", a claim id) with SELECT ... FOR UPDATE SKIP LOCKED, so two workers
never send the same row. It then sends in id order, up to PAPERBOY_SEND_IN_FLIGHT messages at once (W, see
services/inflight.py), at the fleet's rate (newsletter/send_rate.py), and stamps every message as soon as the
ESP answers. If the worker dies, only the batch's W lowest-id rows still "sending" can have reached the ESP
without a stamp: the recovery job settles them from the ESP's tracking events, or records them as failures in
doubt, and returns the rows after them (never attempted) to "pending". Nothing is resent blindly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from anymail.exceptions import AnymailRecipientsRefused
from anymail.message import AnymailMessage
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from newsletter import links
from newsletter.addresses import email_normalize
from newsletter.emails import TransientSendError, message_send
from newsletter.mail_headers import message_id
from newsletter.models import Delivery, Suppression, TrackingEvent
from newsletter.send_rate import send_rate
from newsletter.services import postgres
from newsletter.services.inflight import Outcome, SendWindow, claim_new, claim_window, in_flight_window
from newsletter.services.rendering import DigestRenderer
from newsletter.services.rendering.cache import gc_settle
from newsletter.services.suppressions import email_suppress, suppressed_hashes_among
from newsletter.services.timing import phase

logger = logging.getLogger(__name__)


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    retry_ids: list[int] = field(default_factory=list)
    retry_after: float | None = None


def deliveries_send(*, delivery_ids: list[int]) -> SendReport:
    """Send the pending deliveries among `delivery_ids`. Safe to run twice or concurrently."""
    report = _deliveries_send(delivery_ids)
    gc_settle()  # the one garbage-collector policy: services/rendering/cache.py
    return report


def _deliveries_send(delivery_ids: list[int]) -> SendReport:
    report = SendReport()
    window_size = in_flight_window()
    claim = claim_new(window=window_size)
    with phase("claim"):
        claimed = _claim(delivery_ids, claim)
    if not claimed:
        return report
    refused = suppressed_hashes_among(emails=[d.subscriber.email for d in claimed])
    _renderers_refresh(claimed)
    links_at = links.reverse_state()
    with Stamper(claim) as stamper, _send_window(window_size) as window:
        retry: list[tuple[Delivery, TransientSendError]] = []  # the ESP could not take these now
        unsent: list[Delivery] = []  # never handed over (the ESP was unwell): back to pending too
        for position, delivery in enumerate(claimed):
            if email_normalize(delivery.subscriber.email) in refused or not delivery.subscriber.is_mailable:
                stamper.stamp(delivery, Delivery.Status.SUPPRESSED, error=_why_not_mailable(delivery, refused))
                report.suppressed += 1
                continue
            try:
                message = _digest_message(delivery, links_at)  # rendered while the messages in flight wait
            except Exception as exc:  # a digest that cannot be rendered fails, not the batch
                logger.warning("delivery %s could not be rendered: %s", delivery.pk, exc)
                stamper.stamp(delivery, Delivery.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
                report.failed += 1
                continue
            with phase("waiting for a free slot"):
                ready = window.ready()
            retry += _outcomes_stamp(ready, stamper, report)  # stamped before their slots are reused
            if retry:  # the ESP is unwell: start nothing more, settle what is in flight, put the rest back
                unsent = claimed[position:]
                break
            window.submit(delivery, message)
        with phase("waiting for the last in flight"):
            last = window.drain()
        retry += _outcomes_stamp(last, stamper, report)
        if retry:
            report.retry_ids = _release([d for d, _ in retry] + unsent, claim, str(retry[0][1]))
    return report


def _send_window(size: int) -> SendWindow:
    return SendWindow(
        size=size,
        send=_backend_send,
        rate=send_rate(),
        longest_wait=settings.PAPERBOY_SEND_THROTTLE_WAIT_SECONDS,
    )


def _backend_send(message: AnymailMessage, esp: Any) -> str | None:
    """One message handed to the ESP (on a window's thread: the phase is recorded from there)."""
    with phase("backend"):
        return message_send(message, connection=esp)


def _outcomes_stamp(
    outcomes: list[Outcome], stamper: Stamper, report: SendReport
) -> list[tuple[Delivery, TransientSendError]]:
    """Stamp each message the ESP answered for; return those that failed transiently, with their error."""
    transient: list[tuple[Delivery, TransientSendError]] = []
    sent = [(outcome.key, outcome.message_id or "") for outcome in outcomes if outcome.error is None]
    if sent:
        stamper.stamp_sent(sent)
        report.sent += len(sent)
    for outcome in outcomes:
        delivery: Delivery = outcome.key
        exc = outcome.error
        if exc is None:
            continue
        if isinstance(exc, TransientSendError):
            report.retry_after = max(report.retry_after or 0, exc.retry_after or 0) or None
            transient.append((delivery, exc))
        elif isinstance(exc, AnymailRecipientsRefused):
            stamper.stamp(delivery, Delivery.Status.FAILED, error=f"refused by the ESP: {exc}")
            email_suppress(email=delivery.subscriber.email, reason=Suppression.Reason.REJECTED)
            report.failed += 1
        else:  # a permanent error fails this delivery, not the batch
            logger.warning("delivery %s failed permanently: %s", delivery.pk, exc)
            stamper.stamp(delivery, Delivery.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
            report.failed += 1
    return transient


def _claim(delivery_ids: list[int], claim: str) -> list[Delivery]:
    """Lock the pending rows among `delivery_ids` (skipping rows another batch holds), mark them ours, read them."""
    if postgres.fast_paths_on():
        return postgres.claim_returning(delivery_ids, claim)
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(pk__in=delivery_ids, status=Delivery.Status.PENDING)
            .values_list("pk", flat=True)
        )
        if not ids:
            return []
        Delivery.objects.filter(pk__in=ids).update(
            status=Delivery.Status.SENDING, claim=claim, sending_at=timezone.now(), attempts=F("attempts") + 1
        )
    return list(Delivery.objects.filter(pk__in=ids).select_related("subscriber", "edition").order_by("pk"))


_renderers: dict[tuple[int, int | None], DigestRenderer] = {}


def renderer_for(delivery: Delivery) -> DigestRenderer:
    """One renderer per coverage per process: the shared parts are rendered once, reused by every batch."""
    key = (delivery.edition_id, delivery.covers_after_id)
    if key not in _renderers:
        if len(_renderers) >= 8:
            _renderers.clear()
        _renderers[key] = DigestRenderer.for_coverage(edition=delivery.edition, covers_after_id=key[1])
    return _renderers[key]


def _renderers_refresh(claimed: list[Delivery]) -> None:
    """Once per batch: the explanations of these rows were stored before they were claimed (a plan run still
    going, or a later one), so each renderer they use may look for more."""
    for delivery in {(d.edition_id, d.covers_after_id): d for d in claimed}.values():
        renderer_for(delivery).explanations_refresh()


def _digest_message(delivery: Delivery, links_at: tuple[str, str]) -> AnymailMessage:
    with phase("render"):
        rendered = renderer_for(delivery).render(
            delivery_id=delivery.pk, subscriber=delivery.subscriber, items=delivery.papers, links_at=links_at
        )
    message = AnymailMessage(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.subscriber.email],
        headers={**rendered.headers, "Message-ID": message_id()},  # on the sending domain, not the host's
        tags=["digest"],
        metadata={"delivery_id": str(delivery.pk)},  # an id only: no personal data goes to the ESP's logs
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


class Stamper:
    """Records each message's outcome at once (autocommit), guarded by the batch's claim so a late stamp never
    overwrites a row that recovery or another batch has settled since.

    One UPDATE by primary key per message (or one for all the answers that arrived together: stamp_sent),
    committed before their slots in the send window are reused: after a crash only the W messages in flight
    are in doubt. On PostgreSQL the UPDATE is prepared once per database
    session and run through libpq (services.postgres.Stamps); elsewhere it is the ORM's update().
    """

    def __init__(self, claim: str) -> None:
        self.claim = claim
        self._fast: postgres.Stamps | None = None

    def __enter__(self) -> Stamper:
        if postgres.fast_paths_on():
            self._fast = postgres.Stamps()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        fast, self._fast = self._fast, None
        if fast is not None:
            fast.close(raising=exc_type is None)

    def stamp(self, delivery: Delivery, status: str, *, message_id: str = "", error: str = "") -> None:
        with phase("stamp"):
            self._stamp(delivery, status, message_id=message_id, error=error)

    def _stamp(self, delivery: Delivery, status: str, *, message_id: str, error: str) -> None:
        sent = status == Delivery.Status.SENT
        if self._fast is not None:
            values: list[Any] = [status, error[:2000], message_id[:255]]
            if sent:
                values.append(timezone.now())
            values += [delivery.pk, self.claim, Delivery.Status.SENDING]
            self._fast.stamp(values, sent=sent)
            return
        outcome: dict[str, Any] = {"status": status, "error": error[:2000], "esp_message_id": message_id[:255]}
        if sent:
            outcome["sent_at"] = timezone.now()
        Delivery.objects.filter(pk=delivery.pk, claim=self.claim, status=Delivery.Status.SENDING).update(**outcome)

    def stamp_sent(self, sent: list[tuple[Delivery, str]]) -> None:
        """Stamp the messages the ESP accepted (delivery, its message id), all that arrived since the last stamp.

        With many in flight, answers arrive together: on PostgreSQL one UPDATE stamps them all (one round
        trip, one commit), before any of their slots is reused, so a stamp is as immediate as one per message.
        """
        if len(sent) == 1 or self._fast is None:
            for delivery, message_id in sent:
                self.stamp(delivery, Delivery.Status.SENT, message_id=message_id)
            return
        with phase("stamp"):
            self._fast.stamp_sent_many(sent, claim=self.claim)


def _release(rest: list[Delivery], claim: str, error: str) -> list[int]:
    """Return this and the unattempted rows to pending (for a retry), or fail those out of attempts."""
    ids = [d.pk for d in rest]
    still = Delivery.objects.filter(pk__in=ids, claim=claim, status=Delivery.Status.SENDING)
    max_attempts = settings.PAPERBOY_SEND_MAX_ATTEMPTS
    still.filter(attempts__gte=max_attempts).update(
        status=Delivery.Status.FAILED, error=f"gave up after {max_attempts} attempts: {error}"[:2000]
    )
    retry = list(still.filter(attempts__lt=max_attempts).values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=retry).update(status=Delivery.Status.PENDING, error=error[:2000])
    logger.warning("ESP unavailable (%s): %d deliveries wait for a retry", error, len(retry))
    return retry


def _why_not_mailable(delivery: Delivery, refused: set[str]) -> str:
    if email_normalize(delivery.subscriber.email) in refused:
        return "address suppressed (bounce, complaint or erasure) before sending"
    return f"subscriber is {delivery.subscriber.status} since this digest was planned"


def deliveries_recover(*, lease_seconds: int | None = None) -> dict[str, int]:
    """Settle rows left "sending" by a dead worker: sent (the ESP saw it), in doubt (failed), or pending."""
    lease = timedelta(seconds=lease_seconds if lease_seconds is not None else settings.PAPERBOY_SENDING_LEASE_SECONDS)
    stuck = Delivery.objects.filter(status=Delivery.Status.SENDING, sending_at__lt=timezone.now() - lease)
    counts = {"sent": 0, "in_doubt": 0, "pending": 0}
    for claim in set(stuck.values_list("claim", flat=True)):
        rows = list(stuck.filter(claim=claim).order_by("pk"))
        counts["sent"] += _settle_from_tracking(rows)
        unsettled = [row for row in rows if row.status == Delivery.Status.SENDING]
        if not unsettled:
            continue
        # The batch had at most W messages in flight, all among its W lowest unstamped rows (inflight.py).
        window = claim_window(claim)
        in_doubt, never_tried = unsettled[:window], unsettled[window:]
        counts["in_doubt"] += Delivery.objects.filter(
            pk__in=[row.pk for row in in_doubt], status=Delivery.Status.SENDING
        ).update(
            status=Delivery.Status.FAILED,
            error="in doubt: the worker stopped while this message was being sent, and the ESP reported no "
            "event for it; not resent, to never send it twice",
        )
        counts["pending"] += Delivery.objects.filter(
            pk__in=[row.pk for row in never_tried], status=Delivery.Status.SENDING
        ).update(status=Delivery.Status.PENDING)
    if any(counts.values()):
        logger.warning("recovered deliveries stuck in sending: %s", counts)
    return counts


def _settle_from_tracking(rows: list[Delivery]) -> int:
    events = TrackingEvent.objects.filter(delivery__in=rows).exclude(esp_message_id="")
    message_ids = dict(events.values_list("delivery_id", "esp_message_id"))
    settled = 0
    for row in rows:
        if row.pk in message_ids:
            settled += Delivery.objects.filter(pk=row.pk, status=Delivery.Status.SENDING).update(
                status=Delivery.Status.SENT, esp_message_id=message_ids[row.pk], sent_at=timezone.now()
            )
            row.status = Delivery.Status.SENT
    return settled
