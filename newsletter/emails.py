"""Every email is data plus three templates (<name>.subject.txt / .txt / .html) and this one helper.

Also how any email is handed to the ESP (`message_send`) and which of its failures are worth retrying
(`TRANSIENT_ERRORS`, `retry_delay`): digests, confirmations and previews all send through here.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

import css_inline
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused, AnymailRequestsAPIError
from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from newsletter.mail_headers import message_id
from newsletter.plain_text import paragraphs_wrapped

_INLINER = css_inline.CSSInliner(keep_style_tags=True)  # keep <style> for dark mode and media queries
_LINE_BREAKS = re.compile(r"[\r\n\t]+")


def one_line(text: str) -> str:
    """Header values can never carry CR/LF: collapse them (and tabs) to spaces."""
    return _LINE_BREAKS.sub(" ", text).strip()


def make_message(
    *,
    template: str,
    context: Mapping[str, Any],
    to: str,
    tags: Sequence[str],
    metadata: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> AnymailMessage:
    """Render newsletter/email/<template>.* into a message with a plain-text part (wrapped near 78 characters)
    and inlined-CSS HTML, named by a Message-ID on the sending domain."""
    base = f"newsletter/email/{template}"
    subject = one_line(render_to_string(f"{base}.subject.txt", context))
    message = AnymailMessage(
        subject=subject,
        body=paragraphs_wrapped(render_to_string(f"{base}.txt", context)),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Message-ID": message_id(), **{name: one_line(value) for name, value in (headers or {}).items()}},
        tags=list(tags),
        metadata=dict(metadata or {}),
    )
    message.attach_alternative(inline_css(render_to_string(f"{base}.html", context)), "text/html")
    return message


def inline_css(html: str) -> str:
    return _INLINER.inline(html)


class TransientSendError(Exception):
    """The ESP or the network failed in a way that a later attempt may not (5xx, 429, timeout)."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status  # the HTTP status when the ESP answered (429: slow down, the whole fleet)


TRANSIENT_ERRORS: tuple[type[Exception], ...] = (TransientSendError, ConnectionError, TimeoutError)


def classify_send_error(exc: Exception) -> Exception:
    """Turn an ESP exception into TransientSendError when retrying can help; otherwise return it unchanged."""
    if isinstance(exc, AnymailRecipientsRefused):
        return exc
    if isinstance(exc, AnymailRequestsAPIError):
        status = exc.status_code
        if status is None or status >= 500 or status == 429:
            return TransientSendError(str(exc), retry_after=_retry_after(exc), status=status)
        return exc
    if isinstance(exc, AnymailAPIError) and isinstance(exc.__cause__, (ConnectionError, TimeoutError)):
        return TransientSendError(str(exc))
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return TransientSendError(str(exc))
    return exc


def message_send(message: EmailMessage, *, connection: Any = None) -> str | None:
    """Send one message; return the ESP's message id when the backend reports one.

    Raises TransientSendError for failures worth retrying; anything else (a refused recipient, a 4xx) as is.
    """
    try:
        if connection is None:
            message.send()
        else:
            connection.send_messages([message])
    except Exception as exc:
        classified = classify_send_error(exc)
        if classified is exc:
            raise
        raise classified from exc
    status = getattr(message, "anymail_status", None)
    return getattr(status, "message_id", None) if status is not None else None


def retry_delay(*, attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, at least the ESP's Retry-After, never above the cap.

    The cap stays below the broker's visibility timeout: a longer countdown would be redelivered early.
    """
    cap = settings.PAPERBOY_RETRY_BACKOFF_CAP_SECONDS
    backoff = min(cap, 30 * 2 ** max(attempts - 1, 0))
    delay = random.uniform(backoff / 2, backoff)  # jitter, not security
    return min(cap, max(delay, retry_after or 0))


def _retry_after(exc: AnymailRequestsAPIError) -> float | None:
    response = exc.response
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value else None
    except ValueError:
        return None
