"""A JSON Feed (jsonfeed.org) scraped from the Hugging Face papers page.

The scraper copied the page's AI summary box into `content_text`: "<summary> \\t\\t AI-generated summary
\\t\\t <abstract>". Only the abstract is the paper's own text, so everything up to the marker is dropped.
"""

from __future__ import annotations

import re
from datetime import date

from papers.parsers.base import DumpParseError, ParsedDump, SourceFormat
from papers.parsers.dates import most_common_date, parse_iso_date
from papers.parsers.drafts import PaperDraft, finish_dump
from papers.parsers.identifiers import arxiv_id_from, hf_paper_id_from
from papers.parsers.json_input import load_json, optional_list, optional_object, optional_str, type_name

EXPECTED_ITEMS = 'a JSON Feed with "items" like {"title", "content_text", "url"}'
# No "\s*" in front: searched for, it rescanned a whitespace run from each of its characters (quadratic).
_AI_SUMMARY_MARKER = re.compile(r"AI-generated summary", re.IGNORECASE)


def parse(*, text: str, today: date) -> ParsedDump:
    feed = load_json(text=text, what="JSON Feed")
    if not isinstance(feed, dict):
        raise DumpParseError(f"the JSON is {type_name(feed)}; expected {EXPECTED_ITEMS}", location="top level")
    items = optional_list(obj=feed, key="items", where="top level", path="items")
    drafts = [_draft(item=item, where=f"item {n}") for n, item in enumerate(items, 1)]
    # date_published is when the item went on the page, so it dates the listing, not the paper.
    listed = [
        parse_iso_date(item["date_published"])
        for item in items
        if isinstance(item, dict) and isinstance(item.get("date_published"), str)
    ]
    return finish_dump(
        source_format=SourceFormat.HF_JSONFEED,
        listing_date=most_common_date(listed),
        drafts=drafts,
        expected=EXPECTED_ITEMS,
    )


def _draft(*, item: object, where: str) -> PaperDraft:
    if not isinstance(item, dict):
        raise DumpParseError(f"is {type_name(item)}; expected an object with a title", location=where)
    title = optional_str(obj=item, key="title", where=where, path="title")
    if not title or not title.strip():
        raise DumpParseError('no title; expected a "title" string', location=where)
    content = optional_str(obj=item, key="content_text", where=where, path="content_text")
    content = content or optional_str(obj=item, key="content_html", where=where, path="content_html")
    if not content or not content.strip():
        raise DumpParseError("no abstract; expected content_text or content_html", location=where)
    url = optional_str(obj=item, key="url", where=where, path="url") or ""
    item_id = optional_str(obj=item, key="id", where=where, path="id") or ""
    paper_id = hf_paper_id_from(url) or hf_paper_id_from(item_id)
    return PaperDraft(
        where=where,
        title=title,
        abstract=abstract_without_ai_summary(content),
        authors=_authors(item=item, where=where),
        arxiv_id=arxiv_id_from(paper_id) if paper_id else None,
        links={"paper": url} if url else {},
    )


def abstract_without_ai_summary(content: str) -> str:
    """The text after the "AI-generated summary" marker, or all of it when there is no marker."""
    marker = _AI_SUMMARY_MARKER.search(content)
    after = content[marker.end() :].lstrip() if marker else ""
    return after if after else content


def _authors(*, item: dict[str, object], where: str) -> tuple[str, ...]:
    # JSON Feed 1.1 has "authors": [{"name"}]; 1.0 had a single "author": {"name"}.
    people = optional_list(obj=item, key="authors", where=where, path="authors")
    single = optional_object(obj=item, key="author", where=where, path="author")
    names = []
    for person in [*people, single] if single else people:
        if isinstance(person, dict) and isinstance(person.get("name"), str):
            names.append(person["name"])
    return tuple(names)
