"""Headers every email carries: a Message-ID on the sending domain, and the list headers of a subscriber's mail.

Django names a message by the machine's host name (DNS_NAME: "localhost" in a container), which spam filters
score (rspamd MID_RHS_NOT_FQDN); the From address's domain is the one the message is sent as.
"""

from __future__ import annotations

from email.utils import make_msgid, parseaddr
from functools import lru_cache

from django.conf import settings

from newsletter import links
from newsletter.models import Subscriber


def sending_domain() -> str:
    """The domain of DEFAULT_FROM_EMAIL ("paperboy.example.org" for "Paperboy <digest@paperboy.example.org>")."""
    return _domain_of(settings.DEFAULT_FROM_EMAIL)


@lru_cache(maxsize=8)  # one From address in practice; a digest each asks for it
def _domain_of(from_email: str) -> str:
    domain = parseaddr(from_email)[1].rpartition("@")[2].strip().rstrip(".")
    if "." not in domain:
        raise ValueError(f"DEFAULT_FROM_EMAIL {from_email!r} has no fully qualified domain")
    return domain


def message_id() -> str:
    """A new, unique Message-ID ("<...@sending.domain>")."""
    return make_msgid(domain=sending_domain())


def subscriber_list_headers(subscriber: Subscriber) -> dict[str, str]:
    """List-Unsubscribe (+ RFC 8058 one-click POST) and List-Id: on every email to a subscriber."""
    return {**links.list_unsubscribe_headers(subscriber), "List-Id": settings.PAPERBOY_LIST_ID}
