"""The digests' matcher as the engine of the public paper search where PostgreSQL is not (papers/search.py).

Registered by NewsletterConfig.ready(): papers/ cannot import newsletter/, so it is handed the matcher. The
query is read as the subscribe form reads interests (`parse_interests`, its limits included), on both engines.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from newsletter.matching import InterestError, PaperIndex, Percolation, parse_interests, percolate
from newsletter.matching.interests import Interest, Term, TermKind
from newsletter.matching.ranking import percolation_explain
from newsletter.paper_indexes import paper_index_build
from papers.search import QueryPart, QueryTerm, SearchSyntaxError, Segment
from papers.selectors import paper_texts, papers_version

_KEY = "search"


def _term(term: Term) -> QueryTerm:
    return QueryTerm(words=term.words, exact=term.kind is TermKind.PHRASE)


def _part(interest: Interest) -> QueryPart:
    return QueryPart(terms=tuple(map(_term, interest.terms)), excludes=tuple(map(_term, interest.excludes)))


def query_interests(raw: str) -> tuple[Interest, ...]:
    """The search text as the form's interests (comma-separated alternatives), with the form's limits."""
    try:
        return parse_interests(raw)
    except InterestError as error:
        raise SearchSyntaxError(list(error.errors)) from error


@dataclass
class _CachedIndex:
    version: tuple[int, int, str] | None = None
    index: PaperIndex | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_search_cache = _CachedIndex()


def search_index() -> PaperIndex:
    """An index of every visible paper, rebuilt only when papers change (one cheap query to check).

    Every paper, not the preview's recent ones: this engine serves SQLite, i.e. a small site; PostgreSQL sites
    search with the database.
    """
    version = papers_version()
    with _search_cache.lock:
        if _search_cache.index is None or _search_cache.version != version:
            _search_cache.index = paper_index_build(papers=paper_texts())
            _search_cache.version = version
        return _search_cache.index


@dataclass
class MatcherRanking:
    result: Percolation[str]
    texts: list[str]
    paper_ids: list[int]

    def highlights(self, *, paper_ids: Sequence[int]) -> dict[int, tuple[list[Segment], list[Segment]]]:
        """Each paper's title and abstract passage, with the words of its best-scoring alternative marked."""
        found: dict[int, tuple[list[Segment], list[Segment]]] = {}
        for paper_id in paper_ids:
            matches = [percolation_explain(self.result, paper_id=paper_id, interest=text) for text in self.texts]
            best = max((m for m in matches if m is not None), key=lambda m: m.score, default=None)
            if best is not None:
                explanation = best.explanation
                found[paper_id] = (list(explanation.title), list(explanation.snippet))
        return found


class MatcherSearch:
    def parse(self, raw: str) -> tuple[QueryPart, ...]:
        return tuple(_part(interest) for interest in query_interests(raw))

    def rank(self, raw: str) -> MatcherRanking:
        interests = query_interests(raw)
        # As in a digest, an item made only of exclusions applies to every other one (percolate does that).
        result = percolate(index=search_index(), subscribers=[(_KEY, [interest.text for interest in interests])])
        ids = [int(match.paper_id) for match in result.matches(_KEY, explain=False)]
        shown = [interest.text for interest in interests if not interest.exclusion_only]
        return MatcherRanking(result=result, texts=shown, paper_ids=ids)
