"""Which stored addresses may become links: absolute http(s) URLs only.

A dump is third-party data. A link field holding `javascript:alert(1)` (or `data:`, `vbscript:`, any other
scheme) would run in a reader's browser on click, so every parser keeps a link only when `http_url` accepts it,
and every template runs stored links through it again (the `http_url` filter), for rows stored before.

Browsers forgive a lot in an href: they drop leading and trailing control characters and spaces, remove tabs and
newlines anywhere ("java\\tscript:"), and ignore the case of the scheme. So the check is an allow-list of the
cleaned value, not a deny-list of schemes: an http(s) URL with a host and no whitespace or control character in
it. Pure: no Django, like every parser.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# What a browser strips from both ends of an href before reading it: C0 controls and the space (WHATWG URL).
_EDGE = "".join(chr(code) for code in range(0x21))
# Inside an accepted URL: no control character (C0, DEL, C1) and no whitespace of any script.
_INSIDE_FORBIDDEN = re.compile(r"[\x00-\x20\x7f-\x9f\s]")
_HTTP_SCHEME = re.compile(r"https?://", re.IGNORECASE)


def http_url(value: object) -> str | None:
    """`value` without its surrounding blanks if it is an absolute http(s) URL with a host, else None."""
    if not isinstance(value, str):
        return None
    url = value.strip(_EDGE)
    if not _HTTP_SCHEME.match(url) or _INSIDE_FORBIDDEN.search(url):
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:  # e.g. an unclosed "[" of an IPv6 host
        return None
    return url if host else None


def http_links(links: dict[str, object]) -> tuple[dict[str, str], list[str]]:
    """The links `http_url` accepts (cleaned), and the names of those it refused."""
    kept: dict[str, str] = {}
    refused: list[str] = []
    for kind, value in links.items():
        url = http_url(value)
        if url is None:
            refused.append(kind)
        else:
            kept[kind] = url
    return kept, refused
