"""An arXiv RSS 2.0 listing (rss.arxiv.org): one <item> per announcement.

Each description reads "arXiv:2609.26811v1 Announce Type: new \\nAbstract: ...". A listing announces new
papers, cross-lists and replacements; replacements are new versions of old papers, not new papers, so they
are skipped (with a warning, so the Dump record says how many).
"""

from __future__ import annotations

import re
from datetime import date

from lxml import etree

from papers.parsers.base import DumpParseError, ParsedDump, SourceFormat
from papers.parsers.cleaning import shorten, strip_markup
from papers.parsers.dates import parse_rfc822_date
from papers.parsers.drafts import PaperDraft, finish_dump
from papers.parsers.identifiers import arxiv_id_from
from papers.parsers.xml_input import element_text, parse_xml

ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
EXPECTED_ITEMS = "<item> elements with <title> and an 'arXiv:<id> Announce Type: new' <description>"
_KEPT_ANNOUNCE_TYPES = frozenset({"new", "cross"})
_DESCRIPTION = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:)?\s*(?P<abstract>.*)$",
    re.DOTALL | re.IGNORECASE,
)
# dc:creator lists everyone in one string: "A, B, C" (older feeds: "A, B and C").
# The look-behind starts " and " only at the first space of a run: from every space it was quadratic.
_AUTHOR_SEPARATOR = re.compile(r",\s*(?:and\s+)?|(?<!\s)\s+and\s+")


def parse(*, text: str, today: date) -> ParsedDump:
    root = parse_xml(text=text)
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise DumpParseError(f"the root element is <{etree.QName(root).localname}>; expected <rss><channel>")
    drafts: list[PaperDraft] = []
    warnings: list[str] = []
    for n, item in enumerate(channel.iterfind("item"), 1):
        where = f"item {n} (line {item.sourceline})"
        draft, announce_type = _draft(item=item, where=where)
        if announce_type is None or announce_type in _KEPT_ANNOUNCE_TYPES:
            drafts.append(draft)
        else:
            warnings.append(
                f"{where}: skipped '{shorten(draft.title)}': announce type '{announce_type}' "
                "is a new version of an earlier paper, not a new paper"
            )
    listing_date = parse_rfc822_date(element_text(channel.find("pubDate"))) or parse_rfc822_date(
        element_text(channel.find("lastBuildDate"))
    )
    return finish_dump(
        source_format=SourceFormat.ARXIV_RSS,
        listing_date=listing_date,
        drafts=drafts,
        warnings=warnings,
        expected=EXPECTED_ITEMS,
    )


def _draft(*, item: etree._Element, where: str) -> tuple[PaperDraft, str | None]:
    title = element_text(item.find("title"))
    if not title.strip():
        raise DumpParseError("no title; expected <title>", location=where)
    description = element_text(item.find("description"))
    match = _DESCRIPTION.match(description)
    abstract = match.group("abstract") if match else description
    if not abstract.strip():
        raise DumpParseError("no abstract; expected <description> with 'Abstract: ...'", location=where)
    announce_type = element_text(item.find(f"{ARXIV}announce_type")).strip().lower()
    announce_type = announce_type or (match.group("type").lower() if match else "")
    link = element_text(item.find("link")).strip()
    arxiv_id = arxiv_id_from(match.group("id")) if match else arxiv_id_from(link)
    draft = PaperDraft(
        where=where,
        title=title,
        abstract=abstract,
        authors=_authors(item=item),
        arxiv_id=arxiv_id,
        # Only a new paper was published on the listing day; a cross-list is an older paper.
        published_on=parse_rfc822_date(element_text(item.find("pubDate"))) if announce_type == "new" else None,
        links={"arxiv": link} if link else {},
    )
    return draft, announce_type or None


def _authors(*, item: etree._Element) -> tuple[str, ...]:
    names: list[str] = []
    for creator in item.iterfind(f"{DC}creator"):
        names.extend(
            name.strip() for name in _AUTHOR_SEPARATOR.split(strip_markup(text=element_text(creator))) if name.strip()
        )
    return tuple(names)
