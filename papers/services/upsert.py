"""Upserting parsed papers: one record per paper, found by arXiv id or title key, enriched, never duplicated.

Batched: the papers of a dump are looked up in one query each way and written with one prepared UPDATE.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum

from django.db import connection
from django.utils import timezone

from papers.models import Paper
from papers.parsers import ParsedPaper, title_key
from papers.parsers.urls import http_links
from papers.selectors import papers_by_natural_keys


class PaperOutcome(StrEnum):
    CREATED = "created"
    ENRICHED = "enriched"
    UNCHANGED = "unchanged"


def papers_upsert(*, items: Sequence[ParsedPaper], listed_on: date) -> list[tuple[Paper, PaperOutcome]]:
    """One Paper per item, created or enriched, in a few queries whatever the number of items."""
    by_arxiv_id, by_title_key = papers_by_natural_keys(
        arxiv_ids={item.arxiv_id for item in items if item.arxiv_id},
        title_keys={title_key(i.title) for i in items},
    )
    results: list[tuple[Paper, PaperOutcome]] = []
    to_create: list[Paper] = []
    to_update: dict[int, Paper] = {}
    for item in items:
        key = title_key(item.title)
        paper = _find_existing(item=item, key=key, by_arxiv_id=by_arxiv_id, by_title_key=by_title_key)
        if paper is None:
            paper = _new_paper(item=item, key=key, listed_on=listed_on)
            to_create.append(paper)
            outcome = PaperOutcome.CREATED
        else:
            enriched = paper_enrich(paper=paper, item=item)
            outcome = PaperOutcome.ENRICHED if enriched else PaperOutcome.UNCHANGED
            if (_note_listing_date(paper=paper, listed_on=listed_on) or enriched) and paper.pk is not None:
                to_update[paper.pk] = paper
        # Later items of the same dump must find this paper too.
        if paper.arxiv_id:
            by_arxiv_id[paper.arxiv_id] = paper
        by_title_key.setdefault(key, []).append(paper)
        results.append((paper, outcome))
    Paper.objects.bulk_create(to_create, batch_size=500)
    _papers_update(list(to_update.values()))
    return results


_UPSERT_FIELDS = (
    "abstract",
    "authors",
    "arxiv_id",
    "links",
    "published_on",
    "upvotes",
    "first_listed_on",
    "last_listed_on",
    "updated_at",
)


def _papers_update(papers: list[Paper]) -> None:
    """Write the upsert fields of many papers with one prepared statement.

    Django's bulk_update builds a CASE expression per field and row: 30 s of Python for 10,000 papers.
    """
    if not papers:
        return
    now = timezone.now()
    fields = [field for field in Paper._meta.concrete_fields if field.name in _UPSERT_FIELDS]
    assignments = ", ".join(f"{connection.ops.quote_name(str(f.column))} = %s" for f in fields)
    sql = f"UPDATE {Paper._meta.db_table} SET {assignments} WHERE id = %s"
    rows = []
    for paper in papers:
        paper.updated_at = now
        values = [f.get_db_prep_save(getattr(paper, f.attname), connection) for f in fields]
        rows.append([*values, paper.pk])
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def paper_enrich(*, paper: Paper, item: ParsedPaper) -> bool:
    """Fill in what the record lacks from a later listing; never touch a field an editor changed."""
    edited = set(paper.edited_fields)
    changed = False
    if item.arxiv_id and not paper.arxiv_id:
        paper.arxiv_id, changed = item.arxiv_id, True
    if "abstract" not in edited and item.abstract and not paper.abstract:
        paper.abstract, changed = item.abstract, True
    if "authors" not in edited and len(item.authors) > len(paper.authors):
        paper.authors, changed = list(item.authors), True
    if "links" not in edited:
        # A link stored before links were checked, and not http(s), gives way to the listing's (issue 15).
        stored = paper.links if isinstance(paper.links, dict) else {}
        links = {**item.links, **http_links(stored)[0]}
        if links != paper.links:
            paper.links, changed = links, True
    if item.published_on and not paper.published_on:
        paper.published_on, changed = item.published_on, True
    if item.upvotes is not None and (paper.upvotes is None or item.upvotes > paper.upvotes):
        paper.upvotes, changed = item.upvotes, True
    return changed


def _find_existing(
    *, item: ParsedPaper, key: str, by_arxiv_id: dict[str, Paper], by_title_key: dict[str, list[Paper]]
) -> Paper | None:
    if item.arxiv_id and item.arxiv_id in by_arxiv_id:
        return by_arxiv_id[item.arxiv_id]
    for candidate in by_title_key.get(key, ()):
        # Same title but a different arXiv id is a different paper that happens to share the title.
        if not item.arxiv_id or candidate.arxiv_id in (None, item.arxiv_id):
            return candidate
    return None


def _new_paper(*, item: ParsedPaper, key: str, listed_on: date) -> Paper:
    return Paper(
        title=item.title,
        abstract=item.abstract,
        authors=list(item.authors),
        arxiv_id=item.arxiv_id,
        title_key=key,
        links=dict(item.links),
        published_on=item.published_on,
        upvotes=item.upvotes,
        first_listed_on=listed_on,
        last_listed_on=listed_on,
    )


def _note_listing_date(*, paper: Paper, listed_on: date) -> bool:
    """Widen the paper's first/last listing dates to include `listed_on`; True if either moved."""
    before = (paper.first_listed_on, paper.last_listed_on)
    paper.first_listed_on = min(filter(None, (paper.first_listed_on, listed_on)))
    paper.last_listed_on = max(filter(None, (paper.last_listed_on, listed_on)))
    return (paper.first_listed_on, paper.last_listed_on) != before
