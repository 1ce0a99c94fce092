"""An arXiv API response (Atom 1.0): one <entry> per paper."""

from __future__ import annotations

from datetime import date

from lxml import etree

from papers.parsers.base import DumpParseError, ParsedDump, SourceFormat
from papers.parsers.cleaning import clean_text
from papers.parsers.dates import parse_iso_date
from papers.parsers.drafts import PaperDraft, finish_dump
from papers.parsers.identifiers import arxiv_id_from
from papers.parsers.urls import http_url
from papers.parsers.xml_input import element_text, parse_xml

ATOM = "{http://www.w3.org/2005/Atom}"
EXPECTED_ENTRIES = "<entry> elements with <id>, <title> and <summary>"


def parse(*, text: str, today: date) -> ParsedDump:
    root = parse_xml(text=text)
    if root.tag != f"{ATOM}feed":
        raise DumpParseError(f"the root element is <{etree.QName(root).localname}>; expected an Atom <feed>")
    entries = root.findall(f"{ATOM}entry")
    drafts = [_draft(entry=entry, where=f"entry {n} (line {entry.sourceline})") for n, entry in enumerate(entries, 1)]
    # The API stamps the feed with the day of the query, which is the day this listing is for.
    return finish_dump(
        source_format=SourceFormat.ARXIV_ATOM,
        listing_date=parse_iso_date(element_text(root.find(f"{ATOM}updated"))),
        drafts=drafts,
        expected=EXPECTED_ENTRIES,
    )


def _draft(*, entry: etree._Element, where: str) -> PaperDraft:
    entry_id = element_text(entry.find(f"{ATOM}id")).strip()
    title = element_text(entry.find(f"{ATOM}title"))
    abstract = element_text(entry.find(f"{ATOM}summary"))
    if "/api/errors" in entry_id:
        # The API reports a bad query as a feed with a single "Error" entry.
        raise DumpParseError(f"the arXiv API answered with an error: {clean_text(abstract)}", location=where)
    if not title.strip():
        raise DumpParseError("no title; expected <title>", location=where)
    if not abstract.strip():
        raise DumpParseError("no abstract; expected <summary>", location=where)
    return PaperDraft(
        where=where,
        title=title,
        abstract=abstract,
        authors=tuple(element_text(name) for name in entry.iterfind(f"{ATOM}author/{ATOM}name")),
        arxiv_id=arxiv_id_from(entry_id),
        published_on=parse_iso_date(element_text(entry.find(f"{ATOM}published"))),
        links=_links(entry=entry),
    )


def _links(*, entry: etree._Element) -> dict[str, str]:
    links: dict[str, str] = {}
    for link in entry.iterfind(f"{ATOM}link"):
        href = link.get("href")
        if not href:
            continue
        if link.get("title") == "pdf" or link.get("type") == "application/pdf":
            kind = "pdf"
        elif link.get("rel", "alternate") == "alternate":
            kind = "arxiv"
        else:
            continue
        # The first of each kind, unless it is not an http(s) URL and a later one is (finish_dump drops and
        # reports one that is not).
        if kind not in links or (http_url(links[kind]) is None and http_url(href) is not None):
            links[kind] = href
    return links
