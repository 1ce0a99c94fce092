"""The edition page as an editor's desk: search and filter its papers, move a pick in one step, each paper's
reach (readers it goes to) and the interests it matched, and the edition's sentences in plain words.

Reach comes from the ledger once digests are planned from the edition (exact: the digests that hold it), and
is estimated before from the active subscribers' most common interests (each interest scored once against the
edition's kept index). Both are shared between processes in Django's cache, keyed by what they depend on.
"""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from newsletter.matching import InterestError, compile_interest
from newsletter.matching.scoring import score_interest
from newsletter.models import Delivery, Edition, EditionPaper
from newsletter.selectors import interests_top
from newsletter.services.edition_index import coverage_index, coverage_of, interests_top_shared
from papers.models import Listing

# The estimate scores this many of the most common interests (a long tail of one-reader interests would
# cost a score each for a reader or two): the page says how many readers they cover.
ESTIMATE_INTERESTS = 2000
# Sign-ups and edits change the estimate a little all day: it is recounted at most this often.
ESTIMATE_SECONDS = 600
INTERESTS_SHOWN = 3
_REACHED = (Delivery.Status.PENDING, Delivery.Status.SENDING, Delivery.Status.SENT)
FILTERS = {
    "": "all papers",
    "picks": "editor's picks",
    "hidden": "hidden",
    "reaching": "reaching readers",
    "unread": "reaching no reader",
}


@dataclass
class Reach:
    """How many readers each paper of an edition reaches, and the interests that bring it to them."""

    estimated: bool
    readers: dict[int, int] = field(default_factory=dict)
    interests: dict[int, list[str]] = field(default_factory=dict)  # the most common first
    counted_at: datetime | None = None

    def of(self, paper_id: int) -> int:
        return self.readers.get(paper_id, 0)


def edition_reach(*, edition: Edition) -> Reach:
    """From the ledger when digests were planned from the edition, else estimated; shared, see above."""
    ledger = Delivery.objects.filter(edition=edition, status__in=_REACHED)
    planned = ledger.order_by("-pk").values_list("pk", flat=True).first()
    if planned is not None:
        key = _key("ledger", edition.pk, ledger.count(), planned)
        return _shared(key, lambda: _reach_from_ledger(edition=edition))
    coverage = coverage_of(edition=edition)
    bucket = int(timezone.now().timestamp() // ESTIMATE_SECONDS)
    return _shared(_key("estimate", coverage.index_version, bucket), lambda: _reach_estimated(edition=edition))


def _key(*parts: object) -> str:
    return ":".join(["paperboy:reach:v1", str(connection.settings_dict["NAME"]), *map(str, parts)])


def _shared(key: str, compute: object) -> Reach:
    try:
        found = cache.get(key)
    except Exception:  # a cache that is down means counting again, not a broken page
        found = None
    if isinstance(found, Reach):
        return found
    reach: Reach = compute()  # type: ignore[operator]
    with contextlib.suppress(Exception):  # not shared this time: the next page counts again
        cache.set(key, reach, ESTIMATE_SECONDS * 6)
    return reach


def _reach_from_ledger(*, edition: Edition) -> Reach:
    readers: Counter[int] = Counter()
    interests: dict[int, Counter[str]] = defaultdict(Counter)
    rows = Delivery.objects.filter(edition=edition, status__in=_REACHED).values_list("papers", flat=True)
    for papers in rows.iterator(chunk_size=2000):
        for item in papers or ():
            readers[item["paper_id"]] += 1
            interests[item["paper_id"]].update(item.get("interests", ()))
    shown = {pk: [text for text, _ in counts.most_common(INTERESTS_SHOWN)] for pk, counts in interests.items()}
    return Reach(estimated=False, readers=dict(readers), interests=shown, counted_at=timezone.now())


def _reach_estimated(*, edition: Edition) -> Reach:
    """Readers per paper as the sum of the readers of each common interest it matches: an upper bound (a
    reader with two matching interests counts twice; planning applies their exclusions)."""
    index = coverage_index(coverage=coverage_of(edition=edition))
    readers: Counter[int] = Counter()
    interests: dict[int, list[str]] = defaultdict(list)
    for text, count in interests_top_shared(limit=ESTIMATE_INTERESTS, count=interests_top):  # most common first
        try:
            scored = score_interest(index, compile_interest(text, acronyms=index.acronyms))
        except InterestError:
            continue
        for number, _ in scored:
            paper_id = int(index.papers[number].paper.id)
            readers[paper_id] += count
            if len(interests[paper_id]) < INTERESTS_SHOWN:
                interests[paper_id].append(text)
    return Reach(estimated=True, readers=dict(readers), interests=dict(interests), counted_at=timezone.now())


# --- search, filter, move ----------------------------------------------------------------------------------


def entries_shown(*, entries: list[EditionPaper], query: str, show: str, reach: Reach) -> list[EditionPaper]:
    """The entries an editor asked for: words all found in title, authors, arXiv id or abstract; a filter."""
    words = [word.casefold() for word in query.split()[:8]]
    shown = []
    for entry in entries:
        paper = entry.paper
        haystack = f"{paper.title} {' '.join(paper.authors or [])} {paper.arxiv_id or ''} {paper.abstract}".casefold()
        if words and not all(word in haystack for word in words):
            continue
        if not _passes(show, entry, reach):
            continue
        shown.append(entry)
    return shown


def _passes(show: str, entry: EditionPaper, reach: Reach) -> bool:
    if show == "picks":
        return entry.is_featured
    if show == "hidden":
        return entry.paper.is_hidden
    if show == "reaching":
        return reach.of(entry.paper_id) > 0
    if show == "unread":
        return reach.of(entry.paper_id) == 0
    return True


@dataclass(frozen=True, slots=True)
class DeskRow:
    entry: EditionPaper
    position: int  # 1 = the top, among all the edition's papers (not only those shown)
    readers: int
    matched: list[str]
    actions: str  # the entry's URL prefix: + "top/", "up/", "feature/"...
    paper_url: str


def desk_rows(
    *, edition: Edition, entries: list[EditionPaper], shown: list[EditionPaper], reach: Reach
) -> list[DeskRow]:
    """The rows of the papers shown. URLs are made from one reverse() each: per row, reversing them in the
    template took two thirds of the page's time with 287 papers."""
    positions = {entry.pk: n for n, entry in enumerate(entries, 1)}
    actions = reverse("admin:newsletter_edition_entry", args=[edition.pk, 0, "x"]).removesuffix("0/x/")
    paper = reverse("admin:papers_paper_change", args=[0]).removesuffix("0/change/")
    return [
        DeskRow(
            entry, positions[entry.pk], reach.of(entry.paper_id), reach.interests.get(entry.paper_id, []),
            f"{actions}{entry.pk}/", f"{paper}{entry.paper_id}/change/",
        )
        for entry in shown
    ]  # fmt: skip


def move_offset(*, entry: EditionPaper, position: int) -> int:
    """The offset that brings `entry` to `position` (1 = the top) among its edition's entries, as shown."""
    order = list(EditionPaper.objects.filter(edition=entry.edition_id).order_by("position", "id").values_list("pk"))
    current = order.index((entry.pk,))
    return max(0, min(position - 1, len(order) - 1)) - current


# --- sentences ---------------------------------------------------------------------------------------------


def when(moment: datetime) -> str:
    """ "Dec 2, 2026 at 14:15" in the site's time zone: 24-hour time, no "a.m." to end a sentence with a dot."""
    local = timezone.localtime(moment)
    return f"{local:%b} {local.day}, {local.year} at {local:%H:%M}"


def review_sentence(*, edition: Edition) -> str:
    """The edition's status as one sentence, e.g. "Approved on Dec 2, 2026 at 14:15 by ed." """
    if edition.status == Edition.Status.APPROVED:
        if edition.approved_at is None:
            return "Approved when it was prepared (no review is required)."
        by = f" by {edition.approved_by}" if edition.approved_by else ""
        return f"Approved on {when(edition.approved_at)}{by}."
    if edition.status == Edition.Status.HELD:
        return "Held by an editor: no digest is planned from it until it is approved."
    return "Waiting for an editor's approval: no digest is planned from it until then."


def window_sentence(*, edition: Edition) -> str:
    if edition.papers_after is None:
        return f"Papers first seen through {when(edition.papers_through)}."
    return f"Papers first seen after {when(edition.papers_after)}, through {when(edition.papers_through)}."


@dataclass(frozen=True, slots=True)
class CoveredDump:
    dump_id: int
    name: str
    papers: int
    listed_on: list[str]


def edition_dumps(*, edition: Edition) -> list[CoveredDump]:
    """The dumps that listed this edition's papers, with how many of them and the listing dates: one query."""
    rows = (
        Listing.objects.filter(paper__edition_entries__edition=edition)
        .order_by("dump_id", "listed_on")
        .values_list("dump_id", "dump__name", "listed_on", "paper_id")
    )
    papers: dict[int, set[int]] = defaultdict(set)
    dates: dict[int, list[str]] = defaultdict(list)
    names: dict[int, str] = {}
    for dump_id, name, listed_on, paper_id in rows:
        names[dump_id] = name
        papers[dump_id].add(paper_id)
        day = f"{listed_on:%b} {listed_on.day}, {listed_on.year}" if listed_on else "no date"
        if day not in dates[dump_id]:
            dates[dump_id].append(day)
    return [CoveredDump(pk, names[pk], len(papers[pk]), dates[pk]) for pk in names]
