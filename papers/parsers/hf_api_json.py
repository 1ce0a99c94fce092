"""The Hugging Face daily papers API: a list of `{"paper": {...}, "publishedAt": ...}` items.

The same item schema sits in the page HTML (`dailyPapers` in the DailyPapers data-props), so the item
reader here is shared with `hf_html`.
"""

from __future__ import annotations

from datetime import date

from papers.parsers.base import DumpParseError, ParsedDump, SourceFormat
from papers.parsers.dates import most_common_date, parse_iso_date
from papers.parsers.drafts import PaperDraft, finish_dump
from papers.parsers.identifiers import arxiv_id_from, hf_paper_url
from papers.parsers.json_input import (
    load_json,
    optional_int,
    optional_list,
    optional_object,
    optional_str,
    type_name,
)

EXPECTED_ITEMS = 'a list of items like {"paper": {"id", "title", "summary", ...}}'


def parse(*, text: str, today: date) -> ParsedDump:
    data = load_json(text=text, what="JSON")
    if isinstance(data, dict) and "dailyPapers" in data:
        items = optional_list(obj=data, key="dailyPapers", where="top level", path="dailyPapers")
    elif isinstance(data, list):
        items = data
    else:
        raise DumpParseError(f"the JSON is {type_name(data)}; expected {EXPECTED_ITEMS}", location="top level")
    return dump_from_api_items(items=items, source_format=SourceFormat.HF_API_JSON, where_prefix="item")


def dump_from_api_items(
    *, items: list[object], source_format: SourceFormat, where_prefix: str, listing_date: date | None = None
) -> ParsedDump:
    """A dump from API items; the listing date is the one most items were put on the daily list."""
    drafts = [draft_from_api_item(item=item, where=f"{where_prefix} {n}") for n, item in enumerate(items, 1)]
    if listing_date is None:
        listing_date = most_common_date(_listed_on(item=item) for item in items)
    return finish_dump(source_format=source_format, listing_date=listing_date, drafts=drafts, expected=EXPECTED_ITEMS)


def draft_from_api_item(*, item: object, where: str) -> PaperDraft:
    if not isinstance(item, dict):
        raise DumpParseError(f'is {type_name(item)}; expected an object with a "paper" object', location=where)
    paper = optional_object(obj=item, key="paper", where=where, path="paper")
    if not paper:
        raise DumpParseError('no "paper" object; expected {"paper": {"title", "summary", ...}}', location=where)
    title = optional_str(obj=paper, key="title", where=where, path="paper.title")
    if not title or not title.strip():
        raise DumpParseError("no title; expected paper.title", location=where)
    abstract = optional_str(obj=paper, key="summary", where=where, path="paper.summary")
    if not abstract or not abstract.strip():
        raise DumpParseError("no abstract; expected paper.summary", location=where)
    paper_id = optional_str(obj=paper, key="id", where=where, path="paper.id")
    return PaperDraft(
        where=where,
        title=title,
        abstract=abstract,
        authors=_author_names(paper=paper, where=where),
        arxiv_id=arxiv_id_from(paper_id) if paper_id else None,
        upvotes=optional_int(obj=paper, key="upvotes", where=where, path="paper.upvotes"),
        published_on=_iso_date(obj=paper, key="publishedAt", where=where, path="paper.publishedAt"),
        links=_links(paper=paper, paper_id=paper_id, where=where),
    )


def _author_names(*, paper: dict[str, object], where: str) -> tuple[str, ...]:
    names: list[str] = []
    for n, author in enumerate(optional_list(obj=paper, key="authors", where=where, path="paper.authors"), 1):
        if not isinstance(author, dict):
            raise DumpParseError(f'paper.authors[{n}] is {type_name(author)}; expected {{"name": ...}}', location=where)
        name = optional_str(obj=author, key="name", where=where, path=f"paper.authors[{n}].name")
        if name:
            names.append(name)
    return tuple(names)


def _links(*, paper: dict[str, object], paper_id: str | None, where: str) -> dict[str, str]:
    links = {"paper": hf_paper_url(paper_id)} if paper_id else {}
    for kind, key in (("github", "githubRepo"), ("project", "projectPage")):
        url = optional_str(obj=paper, key=key, where=where, path=f"paper.{key}")
        if url:
            links[kind] = url
    return links


def _iso_date(*, obj: dict[str, object], key: str, where: str, path: str) -> date | None:
    text = optional_str(obj=obj, key=key, where=where, path=path)
    if not text:
        return None
    parsed = parse_iso_date(text)
    if parsed is None:
        raise DumpParseError(f"{path} is {text!r:.40}; expected an ISO date like 2024-10-22T17:59:30Z", location=where)
    return parsed


def _listed_on(*, item: object) -> date | None:
    """The day the item went on the daily list: its top-level publishedAt, else paper.submittedOnDailyAt."""
    if not isinstance(item, dict):
        return None
    for value in (item.get("publishedAt"), (item.get("paper") or {}).get("submittedOnDailyAt")):
        if isinstance(value, str) and (parsed := parse_iso_date(value)):
            return parsed
    return None
