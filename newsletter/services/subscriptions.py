"""Writes for subscribers: subscribe (double opt-in), confirm, change preferences, pause, leave, export, erase.

Enumeration guard: `subscription_request` does exactly the same work whatever the address (new, pending,
active, unsubscribed, suppressed, rate-limited): it counts the attempt, stores the form as a SignupRequest and
queues it. The worker (`signup_process`) decides what happens, so neither the response nor its timing can
tell who is subscribed.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from newsletter import links
from newsletter.addresses import email_normalize
from newsletter.emails import make_message, message_send
from newsletter.mail_headers import subscriber_list_headers
from newsletter.matching.labels import interests_as_typed
from newsletter.models import ConfirmationRequest, Delivery, SignupRequest, Subscriber
from newsletter.queueing import task_queue_on_commit
from newsletter.ratelimits import rate_limit_hit
from newsletter.services.subscriber_events import Kind, subscriber_event_record
from newsletter.services.suppressions import (
    email_is_suppressed,
    email_refuses_signup,
    email_unsuppress_erased,
)
from newsletter.tokens import Purpose, TokenInvalid, token_read

logger = logging.getLogger(__name__)


class LinkUsed(TokenInvalid):
    """A genuine confirmation link that has done its job already."""


@dataclass(frozen=True, slots=True)
class Preferences:
    interests: tuple[str, ...]  # canonical interest texts
    frequency: str = Subscriber.Frequency.DAILY
    weekday: int = Subscriber.Weekday.MONDAY
    send_hour: int = 7
    timezone: str = "UTC"
    # {canonical: as typed} where the reader's spelling differs (see newsletter/matching/labels.py)
    interest_labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Refused here, before any rate limit counts the request: a value the columns cannot hold must never
        # become a 500 after the attempt was counted (issue 15: a valid sign-up after such crashes was dropped).
        if self.frequency not in Subscriber.Frequency.values:
            raise ValueError(f"frequency {self.frequency!r}; expected one of {Subscriber.Frequency.values}")
        if not isinstance(self.weekday, int) or self.weekday not in Subscriber.Weekday.values:
            raise ValueError(f"weekday {self.weekday!r}; expected 0 (Monday) to 6 (Sunday)")
        if not isinstance(self.send_hour, int) or not 0 <= self.send_hour <= 23:
            raise ValueError(f"send_hour {self.send_hour!r}; expected 0 to 23")


@dataclass(frozen=True, slots=True)
class SubscribeRequest:
    email: str
    preferences: Preferences
    ip: str | None
    consent_text: str


def subscription_request(*, request: SubscribeRequest) -> None:
    """Accept the subscribe form: the same counter, the same insert and the same queued task for every address."""
    email = email_normalize(request.email)
    limited = rate_limit_hit(
        scope="confirm-address", key=email, limit=settings.PAPERBOY_CONFIRMATIONS_PER_ADDRESS, window_seconds=300
    )
    preferences = request.preferences
    with transaction.atomic():
        signup = SignupRequest.objects.create(
            email=email,
            interests=list(preferences.interests),
            interest_labels=dict(preferences.interest_labels),
            frequency=preferences.frequency,
            weekday=preferences.weekday,
            send_hour=preferences.send_hour,
            timezone=preferences.timezone,
            ip=request.ip,
            consent_text=request.consent_text,
            rate_limited=limited,
        )
        task_queue_on_commit("newsletter.tasks.signup_process", signup.pk)


def signup_process(*, signup_id: int) -> None:
    """The worker's half of a sign-up: confirm a new address, remind a subscribed one, ignore the rest."""
    signup = SignupRequest.objects.filter(pk=signup_id).first()
    if signup is None:
        return  # processed already (a redelivered task)
    if signup.rate_limited or email_refuses_signup(email=signup.email):
        logger.info("sign-up request not acted on (suppressed or rate-limited)")
    else:
        request = SubscribeRequest(
            email=signup.email,
            preferences=Preferences(
                interests=tuple(signup.interests),
                frequency=signup.frequency,
                weekday=signup.weekday,
                send_hour=signup.send_hour,
                timezone=signup.timezone,
                interest_labels=dict(signup.interest_labels or {}),
            ),
            ip=signup.ip,
            consent_text=signup.consent_text,
        )
        try:
            _subscription_request_store(email=signup.email, request=request)
        except IntegrityError:  # the same new address submitted twice at once: the other request stored it
            _subscription_request_store(email=signup.email, request=request)
    signup.delete()  # the form's data now lives on the subscriber, or nowhere


def _subscription_request_store(*, email: str, request: SubscribeRequest) -> None:
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(email=email).first()
        if subscriber is not None and subscriber.status in (
            Subscriber.Status.ACTIVE,
            Subscriber.Status.PAUSED,
        ):
            # Already subscribed: never change their settings from an anonymous form; mail them their link.
            task_queue_on_commit("newsletter.tasks.manage_link_send", subscriber.pk)
            return
        if subscriber is None:  # a new address: its row starts with this request's settings and consent
            subscriber = Subscriber(email=email)
            _apply_preferences(subscriber, request.preferences)
            subscriber.consent_at = timezone.now()
            subscriber.consent_ip = request.ip
            subscriber.consent_text = request.consent_text
        # A pending or unsubscribed address keeps its settings: anyone can post the form, so only the owner's
        # click on the link of one request (in their own mailbox) applies that request (subscriber_confirm).
        previous = subscriber.status if subscriber.pk else ""
        subscriber.status = Subscriber.Status.PENDING
        subscriber.save()
        if previous != Subscriber.Status.PENDING:
            kind = Kind.SUBSCRIBED if not previous else Kind.RESUBSCRIBED
            subscriber_event_record(subscriber=subscriber, kind=kind, previous=previous, cause="the sign-up form")
        confirmation = ConfirmationRequest.objects.create(
            subscriber=subscriber,
            preferences=asdict(request.preferences),
            consent_ip=request.ip,
            consent_text=request.consent_text,
        )
        task_queue_on_commit("newsletter.tasks.confirmation_send", confirmation.pk)


def confirmation_from_link(*, token: str, lock: bool = False) -> ConfirmationRequest:
    """The unused confirmation request behind a link, or TokenInvalid / TokenExpired / LinkUsed."""
    payload = token_read(purpose=Purpose.CONFIRM, token=token)
    requests = ConfirmationRequest.objects.select_related("subscriber")
    confirmation = (
        (requests.select_for_update() if lock else requests).filter(pk=payload.subject_id, nonce=payload.nonce).first()
    )
    if confirmation is None:
        raise TokenInvalid("no such confirmation (the data may have been erased)")
    if confirmation.used_at is not None:
        raise LinkUsed("this confirmation link was used already")
    return confirmation


def subscriber_confirm(*, token: str) -> Subscriber:
    """Activate the subscriber behind a confirmation link with the settings that link was sent for; each link
    works once, within 7 days."""
    with transaction.atomic():
        confirmation = confirmation_from_link(token=token, lock=True)
        now = timezone.now()
        # Every outstanding link of this subscriber is spent now, so an old one cannot re-subscribe them later.
        ConfirmationRequest.objects.filter(subscriber=confirmation.subscriber, used_at=None).update(used_at=now)
        subscriber = confirmation.subscriber
        preferences = confirmation_preferences(confirmation=confirmation)
        if preferences is not None:
            _apply_preferences(subscriber, preferences)
            subscriber.consent_at = confirmation.created_at
            subscriber.consent_ip = confirmation.consent_ip
            subscriber.consent_text = confirmation.consent_text
        previous = subscriber.status
        subscriber.status = Subscriber.Status.ACTIVE
        subscriber.confirmed_at = now
        subscriber.unsubscribed_at = None  # the unsubscription stays in the subscriber's events
        subscriber.save()
        if previous != Subscriber.Status.ACTIVE:
            subscriber_event_record(
                subscriber=subscriber, kind=Kind.CONFIRMED, previous=previous, cause="the confirmation link", at=now
            )
        # The owner asked again for mail after erasing their data: the erasure no longer stands for this address
        # (a bounce, complaint or any other suppression stays; see email_unsuppress_erased).
        email_unsuppress_erased(email=subscriber.email)
        _first_digest_queue(subscriber=subscriber)
    return subscriber


def _first_digest_queue(*, subscriber: Subscriber) -> None:
    """A new reader's first digest goes out at once (see services/first_digest.py), once this commits."""
    if subscriber.last_edition_id is None:
        task_queue_on_commit("newsletter.tasks.first_digest_send", subscriber.pk)


def confirmation_preferences(*, confirmation: ConfirmationRequest) -> Preferences | None:
    """The settings a confirmation link was sent for; None for links made before requests kept them."""
    stored = confirmation.preferences
    if not stored:
        return None
    return Preferences(**{**stored, "interests": tuple(stored["interests"])})


def subscriber_from_link(*, purpose: Purpose, token: str) -> Subscriber:
    """The subscriber a manage / unsubscribe / view link is for, or TokenInvalid."""
    payload = token_read(purpose=purpose, token=token)
    subscriber = Subscriber.objects.filter(pk=payload.subject_id, link_nonce=payload.nonce).first()
    if subscriber is None:
        raise TokenInvalid("no such subscriber (the data may have been erased)")
    return subscriber


def digest_from_link(*, token: str) -> Delivery:
    """The delivery behind a 'view in browser' link (its subscriber's link nonce signs it)."""
    payload = token_read(purpose=Purpose.VIEW, token=token)
    delivery = (
        Delivery.objects.select_related("subscriber", "edition")
        .filter(pk=payload.subject_id, subscriber__link_nonce=payload.nonce)
        .first()
    )
    if delivery is None:
        raise TokenInvalid("no such digest (the data may have been erased)")
    return delivery


def subscriber_update_preferences(*, subscriber: Subscriber, preferences: Preferences) -> None:
    _apply_preferences(subscriber, preferences)
    subscriber.save()


def subscriber_pause(*, subscriber: Subscriber, cause: str = "their manage page") -> None:
    if subscriber.status == Subscriber.Status.ACTIVE:
        with transaction.atomic():
            subscriber.status = Subscriber.Status.PAUSED
            subscriber.save(update_fields=["status", "updated_at"])
            subscriber_event_record(subscriber=subscriber, kind=Kind.PAUSED, previous="active", cause=cause)


def subscriber_resume(*, subscriber: Subscriber, cause: str = "their manage page") -> None:
    if subscriber.status == Subscriber.Status.PAUSED:
        with transaction.atomic():
            subscriber.status = Subscriber.Status.ACTIVE
            subscriber.save(update_fields=["status", "updated_at"])
            subscriber_event_record(subscriber=subscriber, kind=Kind.RESUMED, previous="paused", cause=cause)


def subscriber_unsubscribe(*, subscriber: Subscriber, cause: str = "their unsubscribe link") -> None:
    """Stop all mail at once. Idempotent; re-subscribing needs the form and a new confirmation."""
    if subscriber.status != Subscriber.Status.UNSUBSCRIBED:
        previous = subscriber.status
        with transaction.atomic():
            subscriber.status = Subscriber.Status.UNSUBSCRIBED
            subscriber.unsubscribed_at = timezone.now()
            subscriber.save(update_fields=["status", "unsubscribed_at", "updated_at"])
            subscriber_event_record(
                subscriber=subscriber,
                kind=Kind.UNSUBSCRIBED,
                previous=previous,
                cause=cause,
                at=subscriber.unsubscribed_at,
            )
        logger.info("subscriber %s unsubscribed", subscriber.pk)


def confirmation_send(*, confirmation_id: int) -> bool:
    """Send the double opt-in email; False (and nothing sent) if the request is spent or the address suppressed."""
    confirmation = (
        ConfirmationRequest.objects.select_related("subscriber").filter(pk=confirmation_id, used_at=None).first()
    )
    if confirmation is None or confirmation.subscriber.status != Subscriber.Status.PENDING:
        return False
    subscriber = confirmation.subscriber
    if email_refuses_signup(email=subscriber.email):
        return False
    preferences = confirmation_preferences(confirmation=confirmation)
    context = {
        "subscriber": subscriber,
        # What this link activates, which may differ from another request's for the same address.
        "interests": _interests_confirmed(confirmation, preferences),
        "confirm_url": links.confirm_url(confirmation),
        "days": 7,
    }
    message = make_message(
        template="confirm",
        context=context,
        to=subscriber.email,
        tags=["confirmation"],
        headers=subscriber_list_headers(subscriber),
        metadata={"confirmation_id": str(confirmation.pk)},
    )
    message_send(message)
    return True


def _interests_confirmed(confirmation: ConfirmationRequest, preferences: Preferences | None) -> list[str]:
    """The interests a confirmation link activates, as the reader typed them."""
    if preferences is None:
        return interests_as_typed(confirmation.subscriber.interests, confirmation.subscriber.interest_labels)
    return interests_as_typed(preferences.interests, preferences.interest_labels)


def manage_link_send(*, subscriber_id: int) -> bool:
    """Mail an already-subscribed address its manage link (someone submitted the form with it)."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or not subscriber.confirmed_at or email_is_suppressed(email=subscriber.email):
        return False
    context = {"subscriber": subscriber, "manage_url": links.manage_url(subscriber)}
    message = make_message(
        template="manage_link",
        context=context,
        to=subscriber.email,
        tags=["manage-link"],
        headers=subscriber_list_headers(subscriber),
        metadata={"subscriber_id": str(subscriber.pk)},
    )
    message_send(message)
    return True


def _apply_preferences(subscriber: Subscriber, preferences: Preferences) -> None:
    if list(preferences.interests) != list(subscriber.interests or []):
        _interest_vectors_queue(interests=list(preferences.interests))
    subscriber.interests = list(preferences.interests)
    subscriber.interest_labels = {
        canonical: typed
        for canonical, typed in preferences.interest_labels.items()
        if canonical in preferences.interests
    }
    subscriber.frequency = preferences.frequency
    subscriber.weekday = preferences.weekday
    subscriber.send_hour = preferences.send_hour
    subscriber.timezone = preferences.timezone


def _interest_vectors_queue(*, interests: list[str]) -> None:
    """The vectors of interests the planner has not seen are computed now, in a task, not at planning time."""
    if settings.PAPERBOY_EMBED_PAPERS and interests:
        task_queue_on_commit("newsletter.tasks.interest_vectors_compute", interests)
