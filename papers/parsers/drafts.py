"""What a format parser hands over, and the steps every format shares: clean, drop duplicates, rank.

Format parsers only find the fields; `finish_dump` makes the result uniform, so cleaning and dedup rules
live in one place and cannot drift between formats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from papers.parsers.base import DumpParseError, ParsedDump, ParsedPaper, SourceFormat
from papers.parsers.cleaning import clean_text, shorten, title_key
from papers.parsers.urls import http_links


@dataclass(frozen=True, slots=True)
class PaperDraft:
    """One paper as found, before cleaning and ranking. `where` says where it is: "line 57", "item 3"."""

    where: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    arxiv_id: str | None = None
    upvotes: int | None = None
    published_on: date | None = None
    links: dict[str, str] = field(default_factory=dict)


def finish_dump(
    *,
    source_format: SourceFormat,
    listing_date: date | None,
    drafts: Iterable[PaperDraft],
    warnings: Sequence[str] = (),
    expected: str,
    allow_empty_abstract: bool = False,
) -> ParsedDump:
    """Clean every draft, drop in-dump duplicates (keeping the first) and number the rest 1..n.

    `expected` describes what a paper looks like in this format, for the "no papers found" message.
    """
    notes = list(warnings)
    papers: list[ParsedPaper] = []
    seen_ids: dict[str, str] = {}
    seen_keys: dict[str, str] = {}
    for draft in drafts:
        paper = _clean(draft=draft, rank=len(papers) + 1, allow_empty_abstract=allow_empty_abstract)
        notes.extend(_refused_links_notes(draft=draft, kept=paper.links))
        key = title_key(paper.title)
        duplicate_of = (seen_ids.get(paper.arxiv_id) if paper.arxiv_id else None) or seen_keys.get(key)
        if duplicate_of:
            notes.append(f"{draft.where}: '{shorten(paper.title)}' repeats {duplicate_of}; dropped")
            continue
        if paper.arxiv_id:
            seen_ids[paper.arxiv_id] = draft.where
        seen_keys[key] = draft.where
        papers.append(paper)
    if not papers:
        raise DumpParseError(f"no papers found; expected {expected}")
    return ParsedDump(
        source_format=source_format, listing_date=listing_date, items=tuple(papers), warnings=tuple(notes)
    )


def missing_abstracts_warning(*, drafts: Sequence[PaperDraft]) -> list[str]:
    """One warning naming every paper kept without an abstract (formats whose pages may omit it)."""
    missing = [draft.where for draft in drafts if not clean_text(draft.abstract)]
    if not missing:
        return []
    return [f"{len(missing)} of {len(drafts)} papers have no abstract ({', '.join(missing)}); kept without one"]


def _refused_links_notes(*, draft: PaperDraft, kept: dict[str, str]) -> list[str]:
    """One warning per link dropped for not being an http(s) URL (a blank one is just absent, not a warning)."""
    return [
        f"{draft.where}: the {kind} link {shorten(url)!r} is not an http(s) URL; dropped"
        for kind, url in draft.links.items()
        if url and url.strip() and kind not in kept
    ]


def _clean(*, draft: PaperDraft, rank: int, allow_empty_abstract: bool) -> ParsedPaper:
    title = clean_text(draft.title)
    if not title:
        raise DumpParseError("the title is empty once markup is removed; expected a title", location=draft.where)
    abstract = clean_text(draft.abstract)
    if not abstract and not allow_empty_abstract:
        raise DumpParseError(
            f"'{shorten(title)}' has an empty abstract once markup is removed; expected an abstract",
            location=draft.where,
        )
    authors = tuple(name for name in (clean_text(author) for author in draft.authors) if name)
    # Only absolute http(s) URLs are kept: a dump's "javascript:..." must never become a link on a page.
    links, _ = http_links({kind: url for kind, url in draft.links.items() if url and url.strip()})
    return ParsedPaper(
        title=title,
        abstract=abstract,
        rank=rank,
        authors=authors,
        arxiv_id=draft.arxiv_id,
        upvotes=draft.upvotes,
        published_on=draft.published_on,
        links=links,
    )
