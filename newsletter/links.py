"""Absolute, signed links for emails and pages (emails have no request, so SITE_URL gives the host)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from newsletter.models import ConfirmationRequest, Subscriber
from newsletter.tokens import Purpose, token_make

# Tokens made of these characters appear unchanged in a reversed URL (reverse() quotes anything else).
_URL_SAFE_TOKEN = re.compile(r"[A-Za-z0-9_:-]+")
_URL_PROBE = "urlprobe"
# (script prefix, URLconf, URL name) -> the path's text before and after its token.
_around_token: dict[tuple[str, str, str], tuple[str, str]] = {}


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def reverse_state() -> tuple[str, str]:
    """What reverse() depends on besides the name: the script prefix and the URLconf. Both are thread-local
    lookups (~8 µs together): a send batch reads them once for all its digests' links."""
    return get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF


def token_path(name: str, token: str, *, at: tuple[str, str] | None = None) -> str:
    """reverse(name, kwargs={"token": token}), resolved once per URL name: every digest carries three signed
    links, and reverse() costs ~20 µs each time. `at`: `reverse_state()` as read in this thread."""
    if not _URL_SAFE_TOKEN.fullmatch(token):  # never for signing's alphabet
        return reverse(name, kwargs={"token": token})
    key = (*(at or reverse_state()), name)
    around = _around_token.get(key)
    if around is None:
        before, _, after = reverse(name, kwargs={"token": _URL_PROBE}).rpartition(_URL_PROBE)
        around = _around_token[key] = (before, after)
    return around[0] + token + around[1]


def confirm_url(confirmation: ConfirmationRequest) -> str:
    token = token_make(purpose=Purpose.CONFIRM, subject_id=confirmation.pk, nonce=confirmation.nonce)
    return absolute(token_path("newsletter:confirm", token))


def manage_path(subscriber: Subscriber) -> str:
    token = token_make(purpose=Purpose.MANAGE, subject_id=subscriber.pk, nonce=subscriber.link_nonce)
    return token_path("newsletter:manage", token)


def manage_url(subscriber: Subscriber) -> str:
    return absolute(manage_path(subscriber))


def unsubscribe_token(subscriber: Subscriber) -> str:
    return token_make(purpose=Purpose.UNSUBSCRIBE, subject_id=subscriber.pk, nonce=subscriber.link_nonce)


def unsubscribe_url(subscriber: Subscriber) -> str:
    return absolute(token_path("newsletter:unsubscribe", unsubscribe_token(subscriber)))


def digest_view_url(*, delivery_id: int, subscriber: Subscriber) -> str:
    """The signed web view of one digest; the subscriber's link nonce revokes it with their other links."""
    token = token_make(purpose=Purpose.VIEW, subject_id=delivery_id, nonce=subscriber.link_nonce)
    return absolute(token_path("newsletter:digest_view", token))


def list_unsubscribe_headers(subscriber: Subscriber) -> dict[str, str]:
    """RFC 2369 + RFC 8058 one-click headers: an https URL (POST takes effect at once) and a mailto.

    The mailto's subject carries the same signed token as the URL, so whoever reads that mailbox can act on
    it (open /unsubscribe/<token>/) and nobody can unsubscribe someone else by guessing an id.
    """
    token = unsubscribe_token(subscriber)
    return _list_unsubscribe(absolute(token_path("newsletter:unsubscribe", token)), token)


def _list_unsubscribe(url: str, token: str) -> dict[str, str]:
    mailto = f"mailto:{settings.PAPERBOY_UNSUBSCRIBE_MAILTO}?subject={_subject_quoted(token)}"
    return {"List-Unsubscribe": f"<{url}>, <{mailto}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _subject_quoted(token: str) -> str:
    """quote("unsubscribe " + token): for signing's alphabet, where only ":" needs escaping, without quote()'s
    loop over every byte (a token has a ":", so quote() never took its fast path: 3 µs a digest)."""
    if _URL_SAFE_TOKEN.fullmatch(token):
        return "unsubscribe%20" + token.replace(":", "%3A")
    return quote("unsubscribe " + token)


def archive_token(subscriber: Subscriber) -> str:
    return token_make(purpose=Purpose.ARCHIVE, subject_id=subscriber.pk, nonce=subscriber.link_nonce)


def archive_url(subscriber: Subscriber) -> str:
    """The reader's own archive of digests, by the archive token (as the feed links it); its Atom feed is
    `archive_feed_url`: same token, revoked together when the reader unsubscribes or erases their data."""
    return absolute(token_path("newsletter:reader_archive", archive_token(subscriber)))


def manage_archive_url(subscriber: Subscriber) -> str:
    """The archive as every digest's footer links it: a page of the reader's own pages, under their manage
    token (as their data export is), so a digest signs no token more for it."""
    token = token_make(purpose=Purpose.MANAGE, subject_id=subscriber.pk, nonce=subscriber.link_nonce)
    return absolute(token_path("newsletter:manage_archive", token))


def archive_feed_url(subscriber: Subscriber) -> str:
    return absolute(token_path("newsletter:reader_archive_feed", archive_token(subscriber)))


FEEDBACK_VERDICT_URLS = {"more": "newsletter:feedback_more", "less": "newsletter:feedback_less"}
FEEDBACK_SLOT = "⟦feedback⟧"  # the token's place in a paper block, filled per digest (see rendering)


def feedback_token(*, delivery_id: int, nonce: str) -> str:
    """The token of a digest's "More like this" / "Not for me" links: the digest's own web-view token (VIEW
    purpose, signed for that delivery with the subscriber's link nonce, so revoked with their other links).

    One per digest, not one per paper: the links add the paper's id, which the feedback page accepts only if
    the ledger row lists it. A token costs 10-15 µs (an HMAC), and a digest has 26 papers: more than the rest
    of its rendering. Nor a purpose of its own: the web view shows the digest with these very links (and the
    manage link), so a separate token would guard nothing the view token does not already open, at 10 µs more
    per digest.
    """
    return token_make(purpose=Purpose.VIEW, subject_id=delivery_id, nonce=nonce)


def feedback_path(*, token: str, paper_id: int, verdict: str) -> str:
    return reverse(FEEDBACK_VERDICT_URLS[verdict], kwargs={"token": token, "paper_id": paper_id})


def feedback_url(*, token: str, paper_id: int, verdict: str) -> str:
    return absolute(feedback_path(token=token, paper_id=paper_id, verdict=verdict))


def feedback_url_with_slot(*, paper_id: int, verdict: str) -> str:
    """The feedback URL of a paper with FEEDBACK_SLOT where the digest's token goes, for a paper block rendered
    once per edition (reverse() would percent-encode the slot's brackets: a probe is put in, then swapped)."""
    url = feedback_url(token=_URL_PROBE, paper_id=paper_id, verdict=verdict)
    return url.replace(_URL_PROBE, FEEDBACK_SLOT)


@dataclass(frozen=True, slots=True)
class DigestLinks:
    manage: str
    unsubscribe: str
    view: str
    archive: str
    feedback: str  # the token of the papers' feedback links: the view token (see feedback_token)
    headers: dict[str, str]  # List-Unsubscribe and List-Unsubscribe-Post, with the same unsubscribe link


def digest_links(*, delivery_id: int, subscriber: Subscriber, at: tuple[str, str] | None = None) -> DigestLinks:
    """The signed links of one digest: as manage_url, unsubscribe_url, digest_view_url and
    list_unsubscribe_headers make them. `at`: `reverse_state()` as read in this thread, else read here."""
    at = at or reverse_state()
    nonce = subscriber.link_nonce
    manage = token_make(purpose=Purpose.MANAGE, subject_id=subscriber.pk, nonce=nonce)
    view = token_make(purpose=Purpose.VIEW, subject_id=delivery_id, nonce=nonce)
    unsubscribe = unsubscribe_token(subscriber)
    unsubscribe_link = absolute(token_path("newsletter:unsubscribe", unsubscribe, at=at))
    return DigestLinks(
        manage=absolute(token_path("newsletter:manage", manage, at=at)),
        unsubscribe=unsubscribe_link,
        view=absolute(token_path("newsletter:digest_view", view, at=at)),
        archive=absolute(token_path("newsletter:manage_archive", manage, at=at)),
        feedback=view,
        headers=_list_unsubscribe(unsubscribe_link, unsubscribe),
    )
