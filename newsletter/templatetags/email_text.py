"""Filters for the plain-text email templates."""

from __future__ import annotations

from django import template

from newsletter.plain_text import INDENT, wrapped

register = template.Library()


@register.filter
def wrap(text: object, column: int = len(INDENT)) -> str:
    """{{ value|wrap }}: wrapped near 78 characters, continuation lines indented two spaces. `column`: where
    the value starts on its line (after "* " or "  " by default)."""
    return wrapped(str(text), column=int(column))
