"""The public search of papers: the syntax the subscribe form teaches, ranked and highlighted.

Two engines give the same results where the syntax allows (tests/papers/test_search.py runs both on the same
papers): on PostgreSQL its full-text search (the stored, GIN-indexed vector of migration 0004, ts_rank,
ts_headline); elsewhere the matcher that picks papers for digests. papers/ knows nothing of newsletter/, so
the matcher, and the parser of the form's syntax that both engines read the query with, are registered by the
newsletter app when it starts (`text_matcher_register`): one parser, so the same text is accepted or refused
the same way on both.

Authors and arXiv ids are found on both by the database, after the papers whose text matched: a query with
no syntax finds the papers with an author whose name has all its words, or with it as arXiv id (PostgreSQL
through a second GIN index, on the authors' words as written).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Literal, Protocol

from django.contrib.postgres.search import (
    CombinedSearchQuery,
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
)
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import F, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from papers.models import Paper

Segment = tuple[str, bool]  # text, highlighted
Engine = Literal["postgres", "matcher"]
PageNumber = int | str | None  # as typed in ?page=: the Paginator copes with junk
MAX_QUERY_LENGTH = 200
SEARCH_CONFIG = "english"  # the stemmer of the index: "models" finds "model", as the matcher does
# Private-use characters around ts_headline's highlights: never in a paper, so the text can be escaped as a
# whole and cut at them, rather than trusting HTML tags inside text that came from dumps.
_START, _STOP = "\ue000", "\ue001"
_HEADLINE_PARTS = re.compile(f"{_START}(.*?){_STOP}", re.DOTALL)
_PLAIN_QUERY = re.compile(r"[^\"\-,]+")  # no syntax: may also be an author's name or an arXiv id


@dataclass(frozen=True, slots=True)
class QueryTerm:
    words: tuple[str, ...]
    exact: bool = False  # a "quoted phrase"


@dataclass(frozen=True, slots=True)
class QueryPart:
    """One alternative of the query (the form's "interest"): all its terms, none of its exclusions."""

    terms: tuple[QueryTerm, ...]
    excludes: tuple[QueryTerm, ...] = ()


class SearchSyntaxError(ValueError):
    """The query cannot be searched; `errors` has one sentence per problem, shown above the results."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


class Ranking(Protocol):
    paper_ids: list[int]  # best first

    def highlights(self, *, paper_ids: Sequence[int]) -> dict[int, tuple[list[Segment], list[Segment]]]: ...


class TextMatcher(Protocol):
    def parse(self, raw: str) -> tuple[QueryPart, ...]: ...  # raises SearchSyntaxError

    def rank(self, raw: str) -> Ranking: ...  # the visible papers whose text matches


@dataclass
class _Registry:
    matcher: TextMatcher | None = None


_registry = _Registry()


def text_matcher_register(matcher: TextMatcher) -> None:
    _registry.matcher = matcher


def _text_matcher() -> TextMatcher:
    if _registry.matcher is None:
        raise RuntimeError("no text matcher registered: the newsletter app registers it when Django starts")
    return _registry.matcher


@dataclass(frozen=True, slots=True)
class SearchHit:
    paper: Paper
    title: list[Segment]
    snippet: list[Segment]  # empty: show the start of the abstract


def search_engine_default() -> Engine:
    return "postgres" if connection.vendor == "postgresql" else "matcher"


def papers_search_page(
    *, query: str, page: PageNumber, per_page: int, engine: Engine | None = None
) -> tuple[Page, list[SearchHit]]:
    """One page of the visible papers matching `query`, best first, each with its highlights."""
    query = query.strip()
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchSyntaxError([f"A search is at most {MAX_QUERY_LENGTH} characters."])
    parts = _text_matcher().parse(query)
    if not any(part.terms for part in parts):
        raise SearchSyntaxError(["Add a word to search for: -word only leaves papers out."])
    engine = engine or search_engine_default()
    if engine == "postgres":
        return _postgres_page(query=query, parts=parts, page=page, per_page=per_page)
    return _matcher_page(query=query, page=page, per_page=per_page)


def papers_search_ids(*, query: str, engine: Engine | None = None) -> list[int]:
    """Every matching paper id, best first (tests compare the engines with it)."""
    page, _ = papers_search_page(query=query, page=1, per_page=100_000, engine=engine)
    return [hit.pk if isinstance(hit, Paper) else hit for hit in page.object_list]


def _by_name_or_id(query: str, *, engine: Engine) -> Q | None:
    if not _PLAIN_QUERY.fullmatch(query):
        return None
    if engine == "postgres":
        by_name = Q(author_search=SearchQuery(query, search_type="plain", config="simple"))
    else:
        words = [Q(authors__icontains=word) for word in query.split()]
        by_name = reduce(lambda a, b: a & b, words)
    return Q(arxiv_id=query) | by_name


# --- PostgreSQL -----------------------------------------------------------------------------------------


def paper_search_vector() -> RawSQL:
    """The stored vector of title (weight A) and abstract (B), in English: a column that migration 0004 adds on
    PostgreSQL only, kept by a trigger and GIN-indexed (outside the model: SQLite has no such column)."""
    column = f"{connection.ops.quote_name(Paper._meta.db_table)}.{connection.ops.quote_name('search_vector')}"
    return RawSQL(column, [], output_field=SearchVectorField())


def paper_author_vector() -> SearchVector:
    """The expression of the authors' GIN index (migration 0004), word for word, or PostgreSQL would not use it:
    their names' words, not stemmed."""
    return SearchVector(Cast("authors", output_field=TextField()), config="simple")


def _term_query(term: QueryTerm) -> SearchQuery:
    text = " ".join(term.words)
    kind = "phrase" if term.exact or len(term.words) > 1 else "plain"
    return SearchQuery(text, search_type=kind, config=SEARCH_CONFIG)


def _all_of(queries: Sequence[SearchQuery | CombinedSearchQuery]) -> SearchQuery | CombinedSearchQuery:
    return reduce(lambda a, b: a & b, queries)


def postgres_query(parts: Sequence[QueryPart]) -> SearchQuery | CombinedSearchQuery:
    """The tsquery of the parsed query: alternatives OR-ed; in each, every term and no exclusion. As on the
    form, a part made only of exclusions applies to every alternative."""
    everywhere = [term for part in parts if not part.terms for term in part.excludes]
    alternatives = []
    for part in parts:
        if not part.terms:
            continue
        queries = [_term_query(t) for t in part.terms] + [~_term_query(t) for t in (*part.excludes, *everywhere)]
        alternatives.append(_all_of(queries))
    return reduce(lambda a, b: a | b, alternatives)


def _postgres_results(*, query: str, parts: Sequence[QueryPart]) -> QuerySet[Paper]:
    tsquery = postgres_query(parts)
    # alias(), not annotate(): the vectors are for the WHERE clause, not to be sent back with every row.
    papers = Paper.objects.filter(is_hidden=False).alias(
        search=paper_search_vector(), author_search=paper_author_vector()
    )
    found = Q(search=tsquery)
    extra = _by_name_or_id(query, engine="postgres")
    if extra is not None:
        found |= extra
    # Papers found by author or id only rank 0: after every paper whose text matched.
    return (
        papers.filter(found).annotate(rank=SearchRank(F("search"), tsquery)).order_by("-rank", "-first_listed_on", "id")
    )


def _postgres_page(
    *, query: str, parts: Sequence[QueryPart], page: PageNumber, per_page: int
) -> tuple[Page, list[SearchHit]]:
    results = _postgres_results(query=query, parts=parts)
    current = Paginator(results, per_page).get_page(page)
    papers = list(current.object_list)
    headlines = _postgres_headlines(paper_ids=[p.pk for p in papers], tsquery=postgres_query(parts))
    hits = [SearchHit(paper, *headlines.get(paper.pk, ([(paper.title, False)], []))) for paper in papers]
    return current, hits


def _postgres_headlines(
    *, paper_ids: list[int], tsquery: SearchQuery | CombinedSearchQuery
) -> dict[int, tuple[list[Segment], list[Segment]]]:
    """Highlighted title and abstract excerpt of the page's papers, in one query (ts_headline re-reads each
    text, so only for the papers shown)."""
    if not paper_ids:
        return {}
    rows = (
        Paper.objects.filter(pk__in=paper_ids)
        .annotate(
            title_marked=SearchHeadline(
                "title", tsquery, config=SEARCH_CONFIG, start_sel=_START, stop_sel=_STOP, highlight_all=True
            ),
            abstract_marked=SearchHeadline(
                "abstract",
                tsquery,
                config=SEARCH_CONFIG,
                start_sel=_START,
                stop_sel=_STOP,
                max_words=45,
                min_words=25,
                max_fragments=2,
                fragment_delimiter=" … ",
            ),
        )
        .values_list("pk", "title_marked", "abstract_marked")
    )
    result = {}
    for pk, title, abstract in rows:
        snippet = segments_of_marked(abstract or "")
        result[pk] = (segments_of_marked(title or ""), snippet if any(mark for _, mark in snippet) else [])
    return result


def segments_of_marked(text: str) -> list[Segment]:
    """ts_headline's text, with our private-use markers, as (text, highlighted) segments."""
    segments: list[Segment] = []
    position = 0
    for match in _HEADLINE_PARTS.finditer(text):
        if match.start() > position:
            segments.append((text[position : match.start()], False))
        segments.append((match.group(1), True))
        position = match.end()
    if position < len(text):
        segments.append((text[position:], False))
    return [(part.replace(_START, "").replace(_STOP, ""), mark) for part, mark in segments]


# --- the matcher ----------------------------------------------------------------------------------------


def _matcher_page(*, query: str, page: PageNumber, per_page: int) -> tuple[Page, list[SearchHit]]:
    ranking = _text_matcher().rank(query)
    ids = list(ranking.paper_ids)
    extra = _by_name_or_id(query, engine="matcher")
    if extra is not None:
        found = set(ids)
        more = (
            Paper.objects.filter(extra, is_hidden=False).order_by("-first_listed_on", "id").values_list("pk", flat=True)
        )
        ids += [pk for pk in more if pk not in found]
    current = Paginator(ids, per_page).get_page(page)
    page_ids = list(current.object_list)
    papers = Paper.objects.in_bulk(page_ids) if page_ids else {}
    highlights = ranking.highlights(paper_ids=[pk for pk in page_ids if pk in papers])
    hits = [
        SearchHit(papers[pk], *highlights.get(pk, ([(papers[pk].title, False)], []))) for pk in page_ids if pk in papers
    ]
    return current, hits
