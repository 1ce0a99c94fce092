"""Atom feeds of the public archive: every edition, and the papers of recent editions that match an interest.

Both are Django syndication feeds (Atom1Feed): a feed id, updated, title, author, links rel=alternate (the
page) and rel=self (the feed), and per entry an id, updated, title and link. Links are absolute on
PAPERBOY_SITE_URL, as in emails, so a cached feed is the same whichever host name it was asked on.

The interest feed matches with the digests' matcher (percolate, words only) and reads `q` as the form
reads interests, with the form's limits (issue 15, item 6): text it cannot use is a 400 that says why. Its
result changes only when a new edition or an edit arrives, so it is cached per edition and papers' version:
a feed reader polling every few minutes costs two small queries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from newsletter import links
from newsletter.archive import edition_papers_by_id, editions_for_feed, editions_public_plain
from newsletter.forms import MAX_INTERESTS_FIELD_LENGTH
from newsletter.matching import Explanation, InterestError, parse_interests, percolate
from newsletter.matching.interests import Interest
from newsletter.models import Edition
from newsletter.paper_indexes import paper_index_build
from papers.models import Paper
from papers.selectors import papers_version

INTEREST_FEED_EDITIONS = 30  # the interest feed looks for matches in this many latest editions
INTEREST_FEED_ENTRIES = 50
INTEREST_FEED_CACHE_SECONDS = 24 * 3600  # a new edition or edit changes the key long before this
_FEED_KEY = "feed"


class FeedQueryError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


def feed_interests(raw: str) -> tuple[Interest, ...]:
    """`q` as the form reads it, with the form's limits; FeedQueryError says what is wrong."""
    raw = raw.strip()
    if not raw:
        raise FeedQueryError(['Add your interest to the address, e.g. /feeds/interest/?q="in-context learning".'])
    if len(raw) > MAX_INTERESTS_FIELD_LENGTH:
        raise FeedQueryError([f"The interests are longer than {MAX_INTERESTS_FIELD_LENGTH} characters."])
    try:
        interests = parse_interests(raw)
    except InterestError as error:
        raise FeedQueryError(list(error.errors)) from error
    if all(interest.exclusion_only for interest in interests):
        raise FeedQueryError(["Add a word to follow: -word only leaves papers out."])
    return interests


# --- the editions feed ----------------------------------------------------------------------------------


class _SiteFeed(Feed):
    feed_type = Atom1Feed
    author_name = "Paperboy"

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        # Entries' HTML links to the site's pages: absolute, on the public address.
        return {**super().get_context_data(**kwargs), "site_url": links.absolute("")}


class EditionsFeed(_SiteFeed):
    title = "Paperboy: every edition"
    subtitle = "The papers of each day's edition, editor's picks first."
    description_template = "newsletter/archive/feed_edition.html"

    def link(self) -> str:
        return links.absolute(reverse("archive:edition_list"))

    def feed_url(self) -> str:
        return links.absolute(reverse("archive:feed_editions"))

    def feed_guid(self) -> str:
        return self.feed_url()

    def items(self) -> list[Edition]:
        return editions_for_feed()

    def item_title(self, item: Edition) -> str:
        return f"Papers of {item.issue_date:%B} {item.issue_date.day}, {item.issue_date:%Y}"

    def item_link(self, item: Edition) -> str:
        return links.absolute(reverse("archive:edition_detail", kwargs={"day": item.issue_date.isoformat()}))

    def item_updateddate(self, item: Edition) -> datetime:
        return item.papers_through

    def item_pubdate(self, item: Edition) -> datetime:
        return item.approved_at or item.created_at


# --- the interest feed ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InterestFeedItem:
    paper: Paper
    edition: Edition
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class InterestFeedSource:
    text: str  # the interests, canonical, comma separated
    items: list[InterestFeedItem]


def interest_feed_items(*, interests: tuple[Interest, ...], editions: list[Edition]) -> list[InterestFeedItem]:
    """The papers of these editions that the interests match, newest edition first, best first within one."""
    papers = edition_papers_by_id(editions=editions)
    if not papers:
        return []
    index = paper_index_build(papers=[(pk, paper.title, paper.abstract) for pk, (paper, _) in papers.items()])
    result = percolate(index=index, subscribers=[(_FEED_KEY, [interest.text for interest in interests])])
    found = []
    for match in result.matches(_FEED_KEY, explain=True):
        paper, edition = papers[int(match.paper_id)]
        found.append((edition.issue_date, match.score, InterestFeedItem(paper, edition, match.matches[0].explanation)))
    found.sort(key=lambda row: (row[0], row[1]), reverse=True)
    return [item for _, _, item in found[:INTEREST_FEED_ENTRIES]]


def interest_feed_cache_key(*, interests: tuple[Interest, ...], latest: Edition | None) -> str:
    """Per edition: the newest public edition (and when it last grew), the papers' version, the interests."""
    text = "\n".join(sorted(interest.text for interest in interests))
    edition = f"{latest.pk}:{latest.papers_through.timestamp()}" if latest else "none"
    version = ":".join(map(str, papers_version()))
    digest = hashlib.sha256(f"{edition}|{version}|{text}|{links.absolute('')}".encode()).hexdigest()[:40]
    return f"feed:interest:{digest}"


class InterestFeed(_SiteFeed):
    description_template = "newsletter/archive/feed_paper.html"

    def __init__(self, *, interests: tuple[Interest, ...]) -> None:
        super().__init__()
        self.interests = interests

    def get_object(self, request: HttpRequest, *args: object, **kwargs: object) -> InterestFeedSource:
        editions = list(editions_public_plain()[:INTEREST_FEED_EDITIONS])
        text = ", ".join(interest.text for interest in self.interests)
        return InterestFeedSource(text=text, items=interest_feed_items(interests=self.interests, editions=editions))

    def title(self, obj: InterestFeedSource) -> str:
        return f"Paperboy: new papers on {obj.text}"

    def subtitle(self, obj: InterestFeedSource) -> str:
        editions = INTEREST_FEED_EDITIONS
        return f"Papers of the latest {editions} editions that match {obj.text}, as a digest would pick them."

    def link(self, obj: InterestFeedSource) -> str:
        return links.absolute(reverse("papers:list") + "?" + _query(obj.text))

    def feed_url(self, obj: InterestFeedSource) -> str:
        return links.absolute(reverse("archive:feed_interest") + "?" + _query(obj.text))

    def feed_guid(self, obj: InterestFeedSource) -> str:
        return self.feed_url(obj)

    def items(self, obj: InterestFeedSource) -> list[InterestFeedItem]:
        return obj.items

    def item_title(self, item: InterestFeedItem) -> str:
        return item.paper.title

    def item_link(self, item: InterestFeedItem) -> str:
        return links.absolute(item.paper.get_absolute_url())

    def item_updateddate(self, item: InterestFeedItem) -> datetime:
        return item.edition.papers_through

    def item_pubdate(self, item: InterestFeedItem) -> datetime:
        return item.edition.approved_at or item.edition.created_at

    def item_author_name(self, item: InterestFeedItem) -> str | None:
        authors = [str(name) for name in item.paper.authors or []] if isinstance(item.paper.authors, list) else []
        if not authors:
            return None
        return ", ".join(authors[:3]) + (" et al." if len(authors) > 3 else "")


def _query(text: str) -> str:
    return urlencode({"q": text})
