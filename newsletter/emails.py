"""Every email is data plus three templates (<name>.subject.txt / .txt / .html) and this one helper."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import css_inline
from anymail.message import AnymailMessage
from django.conf import settings
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
