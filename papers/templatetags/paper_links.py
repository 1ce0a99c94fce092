"""`{{ url|http_url }}`: a stored URL as an href only if it is an absolute http(s) URL, else "".

Every template that puts a stored (dump-supplied or editor-typed) URL in an href uses it, because rows stored
before parsers checked links may hold `javascript:` and the like (issue 15). Site-built links (reverse(),
signed links) do not need it. tests/test_link_rendering.py walks the templates to keep it that way.
"""

from __future__ import annotations

from django import template

from papers.parsers.urls import http_url as _http_url

register = template.Library()


@register.filter(name="http_url")
def http_url(value: object) -> str:
    return _http_url(value) or ""
