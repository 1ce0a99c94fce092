"""The suppression list: addresses never to be mailed again, kept only as keyed hashes."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac

from newsletter.addresses import email_normalize
from newsletter.models import Suppression
from newsletter.services.subscriber_events import suppression_event_record

_HASH_SALT = "paperboy.newsletter.suppression"


def email_hash(email: str, *, secret: str | None = None) -> str:
    """A keyed hash: an erased address can be recognised but not recovered from the table."""
    return salted_hmac(_HASH_SALT, email_normalize(email), secret=secret, algorithm="sha256").hexdigest()


def _all_hashes(email: str) -> list[str]:
    # After a SECRET_KEY rotation, entries made under an old key (SECRET_KEY_FALLBACKS) must still count.
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    hashes = [email_hash(email, secret=secret) for secret in secrets]
    # Entries made before addresses were normalised (NFKC, IDNA) hashed the address only stripped and
    # lower-cased: a row stored then ("victim@ｅxample.org") must still find its entry.
    legacy = email.strip().lower()
    if legacy != email_normalize(email):
        hashes += [salted_hmac(_HASH_SALT, legacy, secret=s, algorithm="sha256").hexdigest() for s in secrets]
    return hashes


def email_is_suppressed(*, email: str) -> bool:
    return Suppression.objects.filter(email_hash__in=_all_hashes(email)).exists()


def suppressed_hashes_among(*, emails: list[str]) -> set[str]:
    """The addresses of `emails` that are suppressed (normalized), in one query (for a batch of sends).

    As email_is_suppressed: an entry made under an old key (SECRET_KEY_FALLBACKS) still counts.
    """
    by_hash = {hashed: email_normalize(email) for email in emails for hashed in _all_hashes(email)}
    found = Suppression.objects.filter(email_hash__in=list(by_hash)).values_list("email_hash", flat=True)
    return {by_hash[h] for h in found}


def email_refuses_signup(*, email: str) -> bool:
    """Suppressed for a reason a new sign-up does not lift: anything but an erasure at the owner's request.

    An erasure keeps a hash so nothing queued reaches the address by mistake; the owner may still come back
    through the form and double opt-in. A bounce, a complaint, an ESP unsubscribe, a refusal or an editor's
    decision is not the owner asking again, so it stays.
    """
    hashes = _all_hashes(email)
    return Suppression.objects.filter(email_hash__in=hashes).exclude(reason=Suppression.Reason.ERASED).exists()


def email_unsuppress_erased(*, email: str) -> None:
    """Lift an erasure's entry once its owner has confirmed a new subscription; other reasons stay."""
    Suppression.objects.filter(email_hash__in=_all_hashes(email), reason=Suppression.Reason.ERASED).delete()


def email_suppress(*, email: str, reason: Suppression.Reason, by: str = "") -> bool:
    """Add the address; True if it was not suppressed before. Idempotent. `by`: who, for the subscriber's
    history (an editor's name); the reason says what otherwise.

    An erasure's entry takes the new reason (True): a bounce or a complaint must outlast a later sign-up.
    """
    if email_is_suppressed(email=email):
        if reason == Suppression.Reason.ERASED:
            return False
        erased = Suppression.objects.filter(email_hash__in=_all_hashes(email), reason=Suppression.Reason.ERASED)
        return erased.update(reason=reason) > 0
    try:
        with transaction.atomic():
            Suppression.objects.create(email_hash=email_hash(email), reason=reason)
            if reason != Suppression.Reason.ERASED:  # an erased subscriber has no history left to add to
                suppression_event_record(email=email, reason_label=by or Suppression.Reason(reason).label)
    except IntegrityError:  # added concurrently: the outcome is the same
        return False
    return True
