"""Absolute, signed links for emails and pages (emails have no request, so SITE_URL gives the host)."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.urls import reverse

from newsletter.models import ConfirmationRequest, Subscriber
from newsletter.tokens import Purpose, token_make


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def confirm_url(confirmation: ConfirmationRequest) -> str:
    token = token_make(purpose=Purpose.CONFIRM, subject_id=confirmation.pk, nonce=confirmation.nonce)
    return absolute(reverse("newsletter:confirm", kwargs={"token": token}))


def manage_path(subscriber: Subscriber) -> str:
    token = token_make(purpose=Purpose.MANAGE, subject_id=subscriber.pk, nonce=subscriber.link_nonce)
    return reverse("newsletter:manage", kwargs={"token": token})


def manage_url(subscriber: Subscriber) -> str:
    return absolute(manage_path(subscriber))


def unsubscribe_token(subscriber: Subscriber) -> str:
    return token_make(purpose=Purpose.UNSUBSCRIBE, subject_id=subscriber.pk, nonce=subscriber.link_nonce)


def unsubscribe_url(subscriber: Subscriber) -> str:
    return absolute(reverse("newsletter:unsubscribe", kwargs={"token": unsubscribe_token(subscriber)}))


def list_unsubscribe_headers(subscriber: Subscriber) -> dict[str, str]:
    """RFC 2369 + RFC 8058 one-click headers: an https URL (POST takes effect at once) and a mailto.

    The mailto's subject carries the same signed token as the URL, so whoever reads that mailbox can act on
    it (open /unsubscribe/<token>/) and nobody can unsubscribe someone else by guessing an id.
    """
    token = unsubscribe_token(subscriber)
    url = absolute(reverse("newsletter:unsubscribe", kwargs={"token": token}))
    mailto = f"mailto:{settings.PAPERBOY_UNSUBSCRIBE_MAILTO}?subject={quote('unsubscribe ' + token)}"
    return {"List-Unsubscribe": f"<{url}>, <{mailto}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
