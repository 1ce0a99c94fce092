"""An edition's paper index and digest renderer, built once per change of its papers, and previews shared.

Editors' previews ("Preview as a subscriber", "Send this preview to me") and the interests report matched the
edition's papers from scratch on every click: the index was built twice per preview (1-3 s each on this
machine for 287 papers; the planner builds it once per run). Now:

- the index (and the renderer, which memoises each paper block it renders) is kept per process, in a small
  memo keyed by (database, edition, coverage) and checked against the coverage's *version*;
- between processes (gunicorn workers), Django's cache holds, under keys that hold the version, the index as
  bytes (services/index_sharing.py: 0.1-0.3 s to load against 1.4-3.3 s to build, about 6 MB for 287
  papers), finished previews and the interests report's counts.

The version is one aggregate query over the coverage's entries joined to their papers: how many, which (a sum
of ids), the latest `Paper.updated_at` (which every edit, hide and unhide moves, see `papers_flag`), and the
order and picks of the entries (for the renderer only: moving a pick must not rebuild the index).
The plain way (`digest_preview` in services/planning.py) stays beside it; a test pins their equal results.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Max, Q, QuerySet, Sum

from newsletter.matching import InterestError, PaperIndex, compile_interest
from newsletter.matching.scoring import score_interest
from newsletter.models import Edition, EditionPaper, Subscriber
from newsletter.paper_indexes import acronyms_current, paper_index_build
from newsletter.selectors import InterestRow, edition_latest, interests_top
from newsletter.services.index_sharing import index_from_bytes, index_to_bytes
from newsletter.services.indexing import subscriber_picks
from newsletter.services.rendering import DigestRenderer, RenderedDigest
from newsletter.services.rendering.cache import gc_paused
from papers.selectors import paper_texts

logger = logging.getLogger(__name__)

# Editions an editor works on at once (today's, yesterday's, an older one looked up): kept per process.
MEMO_EDITIONS = 4
# An index in the shared cache lives this long unless its version changes first (then it is never read again).
SHARED_SECONDS = 6 * 3600
_CACHE_PREFIX = "paperboy:edition-index:v1"
_NOTHING = "nothing matches"  # a preview with nothing to show, shared as well


@dataclass(frozen=True, slots=True)
class Coverage:
    """The papers a digest of `edition` holds: its entries, and those of the editions after `after_id`."""

    edition: Edition
    after_id: int | None
    index_version: str  # changes when the set of papers or any paper's text or visibility does
    order_version: str  # also changes when an entry moves or is featured


@dataclass
class _Kept:
    index_version: str
    index: PaperIndex
    order_version: str = ""
    renderer: DigestRenderer | None = None


_memo: dict[tuple[str, int, int | None], _Kept] = {}
_lock = threading.Lock()


def coverage_of(*, edition: Edition) -> Coverage:
    """The coverage a preview of `edition` shows (its own papers: the editions after the previous one), with
    its versions: two queries."""
    previous = Edition.objects.filter(issue_date__lt=edition.issue_date).order_by("-issue_date").first()
    after_id = previous.pk if previous else None
    entries = _coverage_entries(edition=edition, after=previous)
    stats = entries.aggregate(
        n=Count("pk"),
        ids=Sum("paper_id"),
        changed=Max("paper__updated_at"),
        # Any move or (un)feature changes one of these (a swap of two positions changes the weighted sum).
        order=Sum(F("position") * F("paper_id")),
        picks=Sum("paper_id", filter=Q(is_featured=True)),
    )
    index_version = _digest(stats["n"], stats["ids"], stats["changed"])
    return Coverage(edition, after_id, index_version, _digest(index_version, stats["order"], stats["picks"]))


def _coverage_entries(*, edition: Edition, after: Edition | None) -> QuerySet[EditionPaper]:
    # As digests._coverage_index(approved_only=False): the visible papers of the editions in (after, edition].
    entries = EditionPaper.objects.filter(edition__issue_date__lte=edition.issue_date, paper__is_hidden=False)
    if after is not None:
        entries = entries.filter(edition__issue_date__gt=after.issue_date)
    return entries


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def coverage_index(*, coverage: Coverage) -> PaperIndex:
    """The coverage's paper index, from this process's memo or built (once per version per process)."""
    key = _memo_key(coverage)
    with _lock:  # one build per process at a time: a second click waits for the first one's index
        kept = _memo.get(key)
        if kept is not None and kept.index_version == coverage.index_version:
            return kept.index
        index = _shared_index(coverage) or _index_built_and_shared(coverage)
        if len(_memo) >= MEMO_EDITIONS:
            _memo.clear()
        _memo[key] = _Kept(index_version=coverage.index_version, index=index)
        return index


def _shared_index(coverage: Coverage) -> PaperIndex | None:
    data = _shared_get(_shared_key("index", coverage.index_version))
    if not isinstance(data, bytes):
        return None
    return index_from_bytes(data, acronyms=acronyms_current().lookup())


def _index_built_and_shared(coverage: Coverage) -> PaperIndex:
    after = Edition.objects.filter(pk=coverage.after_id).first() if coverage.after_id else None
    paper_ids = _coverage_entries(edition=coverage.edition, after=after).values_list("paper_id", flat=True)
    with gc_paused():
        index = paper_index_build(papers=paper_texts(ids=set(paper_ids)), acronyms=acronyms_current())
    # Shared before any interest is scored: the plans an index memoises stay in each process.
    _shared_set(_shared_key("index", coverage.index_version), index_to_bytes(index))
    return index


def _memo_key(coverage: Coverage) -> tuple[str, int, int | None]:
    return (str(connection.settings_dict["NAME"]), coverage.edition.pk, coverage.after_id)


def coverage_renderer(*, coverage: Coverage) -> DigestRenderer:
    """The coverage's digest renderer, kept with its index while the entries' order and picks stay the same
    (it memoises each rendered paper block, so a second preview renders only the blocks it has not seen)."""
    index = coverage_index(coverage=coverage)
    key = _memo_key(coverage)
    with _lock:
        kept = _memo[key]
        if kept.renderer is None or kept.order_version != coverage.order_version:
            kept.renderer = DigestRenderer.for_coverage(edition=coverage.edition, covers_after_id=coverage.after_id)
            kept.renderer.index = index  # explanations not stored by planning use the same index
            kept.order_version = coverage.order_version
        return kept.renderer


def digest_preview_cached(*, edition: Edition, subscriber: Subscriber) -> RenderedDigest | None:
    """What `digest_preview` renders (the same digest), from the kept index and renderer."""
    coverage = coverage_of(edition=edition)
    return _coverage_preview(coverage, subscriber)


def _coverage_preview(coverage: Coverage, subscriber: Subscriber) -> RenderedDigest | None:
    index = coverage_index(coverage=coverage)
    picks = subscriber_picks(index=index, subscribers=[(subscriber.pk, list(subscriber.interests))])
    items = picks.get(subscriber.pk, [])
    if not items:
        return None
    return coverage_renderer(coverage=coverage).render(delivery_id=0, subscriber=subscriber, items=items)


def preview_shared(
    *, edition: Edition, subscriber: Subscriber, finish: Callable[[RenderedDigest], RenderedDigest]
) -> RenderedDigest | None:
    """The preview of `edition` for `subscriber` (`finish`ed: its personal links disabled), from the shared
    cache when any process made it for the same version of the edition and of the subscriber.

    Only finished previews are shared: they hold no signed link, and are small. "Send this preview to me" right
    after "Preview" finds it; so does a second editor, or the same one on another gunicorn worker.
    """
    coverage = coverage_of(edition=edition)
    key = _shared_key(
        "preview", coverage.order_version, subscriber.pk, subscriber.email, subscriber.interests, subscriber.updated_at
    )
    found = _shared_get(key)
    if isinstance(found, RenderedDigest) or found == _NOTHING:
        return found if isinstance(found, RenderedDigest) else None
    rendered = _coverage_preview(coverage, subscriber)
    finished = finish(rendered) if rendered is not None else None
    _shared_set(key, finished if finished is not None else _NOTHING)
    return finished


def _shared_key(kind: str, *parts: object) -> str:
    return f"{_CACHE_PREFIX}:{kind}:{_digest(connection.settings_dict['NAME'], *parts)}"


def _shared_get(key: str) -> object:
    try:
        return cache.get(key)
    except Exception:  # a cache that is down makes a slower preview, never a failed one
        logger.warning("shared cache unavailable: the preview is made here", exc_info=True)
        return None


def _shared_set(key: str, value: object) -> None:
    try:
        cache.set(key, value, SHARED_SECONDS)
    except Exception:
        logger.warning("shared cache unavailable: the preview is not shared", exc_info=True)


def edition_index_forget() -> None:
    """Drop this process's memo (tests; the shared cache is keyed by version and needs no clearing)."""
    with _lock:
        _memo.clear()


def interest_match_counts(*, edition: Edition, interests: list[str]) -> dict[str, int | None]:
    """How many visible papers of `edition` each interest matches (None: the matcher cannot read it), shared
    between processes for the same version of the edition's papers."""
    coverage = coverage_of(edition=edition)
    key = _shared_key("interests", coverage.index_version, interests)
    found = _shared_get(key)
    if isinstance(found, dict):
        return found
    index = coverage_index(coverage=coverage)
    counts: dict[str, int | None] = {}
    for text in interests:
        try:
            counts[text] = interest_match_count(index=index, interest=text)
        except InterestError:
            counts[text] = None
    _shared_set(key, counts)
    return counts


def interest_match_count(*, index: PaperIndex, interest: str) -> int:
    """How many papers of `index` match `interest`: scored as a digest scores it, nothing explained (the
    report shows counts only). Raises InterestError when the matcher cannot read it."""
    return len(score_interest(index, compile_interest(interest, acronyms=index.acronyms)))


def interests_top_shared(*, limit: int, count: Callable[..., list[tuple[str, int]]]) -> list[tuple[str, int]]:
    """`count(limit=limit)` (the most common interests: 2 s over 100,000 subscribers), shared while no
    subscriber changes: keyed by their number, the latest change and the highest id (one aggregate query)."""
    stats = Subscriber.objects.aggregate(n=Count("pk"), changed=Max("updated_at"), top=Max("pk"))
    key = _shared_key("interests-top", limit, stats["n"], stats["changed"], stats["top"])
    found = _shared_get(key)
    if isinstance(found, list):
        return found
    top = count(limit=limit)
    _shared_set(key, top)
    return top


def interests_report(*, limit: int = 50) -> tuple[Edition | None, list[InterestRow]]:
    """The top interests, each with how many visible papers of the latest edition it matches (0: none)."""
    top = interests_top_shared(limit=limit, count=interests_top)
    edition = edition_latest()
    if edition is None:
        return None, [InterestRow(text, n, 0) for text, n in top]
    counts = interest_match_counts(edition=edition, interests=[text for text, _ in top])  # built once, shared
    return edition, [InterestRow(text, n, counts[text]) for text, n in top]
