"""The public archive: every edition, one page per day, and the Atom feeds. Thin views over newsletter.archive
and newsletter.feeds; a bad date or feed query gets a page that says what is wrong, never a 500."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from newsletter.archive import (
    edition_neighbours,
    edition_public,
    edition_public_entries,
    editions_public,
    editions_public_plain,
    editions_with_picks,
)
from newsletter.feeds import (
    INTEREST_FEED_CACHE_SECONDS,
    FeedQueryError,
    InterestFeed,
    feed_interests,
    interest_feed_cache_key,
)
from newsletter.ratelimits import rate_limit_hit
from newsletter.views import client_ip

EDITIONS_PER_PAGE = 30


@require_safe  # GET and HEAD (feed readers and link checkers ask HEAD)
def edition_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(editions_public(), EDITIONS_PER_PAGE).get_page(request.GET.get("page"))
    editions = editions_with_picks(page.object_list)  # type: ignore[arg-type]  # a page of the queryset
    return render(request, "newsletter/archive/edition_list.html", {"page": page, "editions": editions})


@require_safe
def edition_detail(request: HttpRequest, day: str) -> HttpResponse:
    try:
        issue_date = date.fromisoformat(day)
    except ValueError:
        raise Http404("Not a date") from None
    edition = edition_public(issue_date=issue_date)
    if edition is None:
        raise Http404("No edition that day")
    entries = edition_public_entries(edition=edition)
    context = {
        "edition": edition,
        "picks": [entry for entry in entries if entry.is_featured],
        "others": [entry for entry in entries if not entry.is_featured],
        "paper_count": len(entries),
        "neighbours": edition_neighbours(edition=edition),
    }
    return render(request, "newsletter/archive/edition_detail.html", context)


@require_safe
def interest_feed(request: HttpRequest) -> HttpResponse:
    """The Atom feed of one interest (or several, comma separated), cached per edition."""
    try:
        interests = feed_interests(request.GET.get("q", ""))
    except FeedQueryError as error:
        return render(request, "newsletter/archive/feed_problem.html", {"errors": error.errors}, status=400)
    latest = editions_public_plain().only("pk", "papers_through").first()
    key = interest_feed_cache_key(interests=interests, latest=latest)
    cached = cache.get(key)
    if cached is not None:
        return HttpResponse(cached, content_type=_ATOM)
    # Only a feed not cached costs matching: that is what a client sending new texts could repeat.
    limited = rate_limit_hit(
        scope="feed-ip", key=client_ip(request) or "unknown", limit=settings.PAPERBOY_PREVIEWS_PER_IP, window_seconds=60
    )
    if limited:
        return render(request, "newsletter/archive/feed_problem.html", {"errors": [_TOO_MANY]}, status=429)
    response = InterestFeed(interests=interests)(request)
    cache.set(key, response.content, timeout=INTEREST_FEED_CACHE_SECONDS)
    return response


_ATOM = "application/atom+xml; charset=utf-8"
_TOO_MANY = "Too many new feeds asked for from your network in the last minute; try again in a minute."
