"""ESP webhooks: anymail's tracking signal (the one signal Paperboy uses) and the guards around its views.

anymail's views accept anyone when no WEBHOOK_SECRET is set (with only a Python warning), answer 500 to a body
that is not the JSON object they expect, and 500 again when an ESP's signing key is missing. A 500 makes the ESP
retry the same garbage, and a webhook open to anyone lets a stranger suppress any address. So each view is
served through `webhook_view_guarded`: without its settings it refuses every call (503, retried by the ESP once
the operator has fixed them, and logged), and a payload it cannot read is the sender's fault (400).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from anymail.exceptions import AnymailAPIError, AnymailConfigurationError, AnymailWebhookValidationFailure
from anymail.signals import tracking
from anymail.utils import get_anymail_setting
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from newsletter.services.tracking import tracking_event_apply

logger = logging.getLogger(__name__)

# What anymail's parsers raise on a body of the wrong shape: not JSON, not UTF-8 (ValueError), an array where an
# object was expected (TypeError, AttributeError), a missing field (KeyError, IndexError), nesting deeper than
# Python's recursion limit (RecursionError), and Amazon SES' own "malformed SNS message" (AnymailAPIError).
_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError, AnymailAPIError)
# Settings an ESP's webhook cannot be checked without. anymail falls back to the API key for Mailgun, which
# Mailgun stopped signing webhooks with: every genuine event would then fail its signature, unnoticed.
_REQUIRED_PER_ESP = {"mailgun": ("webhook_signing_key", "MAILGUN_WEBHOOK_SIGNING_KEY")}


@receiver(tracking, dispatch_uid="paperboy.newsletter.tracking")
def on_tracking_event(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    tracking_event_apply(event=event, esp_name=esp_name)


def webhook_settings_problems(*, esp: str) -> list[str]:
    """What is missing for the webhook of `esp` (anymail's name, e.g. "postmark") to be safe to serve."""
    problems = []
    if not get_anymail_setting("webhook_secret", default=None):
        problems.append(
            "ANYMAIL_WEBHOOK_SECRET is not set: the ESP tracking webhooks would accept anyone's POST "
            "(and let them suppress any address), so they refuse every call until it is set."
        )
    if esp in _REQUIRED_PER_ESP:
        name, variable = _REQUIRED_PER_ESP[esp]
        if not get_anymail_setting(name, esp_name=esp, default=None):
            problems.append(f"{variable} is not set: the {esp} webhook cannot check the signature of its calls.")
    return problems


class UnreadablePayloadIsBadRequest:
    """Mixed in before an anymail view: a payload its parser cannot read is a 400, and so are odd field types."""

    def run_validators(self, request: HttpRequest) -> None:
        try:
            super().run_validators(request)  # type: ignore[misc]
        except AnymailWebhookValidationFailure:
            raise
        except _UNREADABLE as exc:
            raise AnymailWebhookValidationFailure(f"unreadable webhook payload ({type(exc).__name__})") from exc

    def parse_events(self, request: HttpRequest) -> list[Any]:
        try:
            events = list(super().parse_events(request))  # type: ignore[misc]
        except _UNREADABLE as exc:
            raise AnymailWebhookValidationFailure(f"unreadable webhook payload ({type(exc).__name__})") from exc
        for event in events:
            _check_field_types(event)
        return events


def _check_field_types(event: Any) -> None:
    """The fields the tracking service reads, as it reads them; anything else in a payload is not an ESP's."""
    scalar = (str, int, type(None))
    if not (
        isinstance(getattr(event, "recipient", None), str | type(None))
        and isinstance(getattr(event, "message_id", None), scalar)
        and isinstance(getattr(event, "event_id", None), scalar)
        and isinstance(getattr(event, "metadata", None), dict | type(None))
        and isinstance((getattr(event, "metadata", None) or {}).get("delivery_id"), scalar)
    ):
        raise AnymailWebhookValidationFailure("webhook event with fields of unexpected types")


def webhook_view_guarded(view: Callable[..., HttpResponse], *, esp: str) -> Callable[..., HttpResponse]:
    """`view` (anymail's, for `esp`), refusing every call while its settings are missing; never a 500 for them."""

    @functools.wraps(view)  # keeps csrf_exempt, which anymail's views need
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        problems = webhook_settings_problems(esp=esp)
        if not problems:
            try:
                return view(request, *args, **kwargs)
            except AnymailConfigurationError as exc:  # raised when anymail builds the view from the settings
                problems = [str(exc)]
        for problem in problems:
            logger.error("%s webhook call refused: %s", esp, problem)
        return HttpResponse("Webhooks are not configured on this server.\n", status=503, content_type="text/plain")

    return guarded
