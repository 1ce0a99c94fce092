"""The papers page HTML, in either of the two shapes the site has served.

Current pages carry the data as HTML-escaped JSON in
`<div class="SVELTE_HYDRATER contents" data-target="DailyPapers" data-props="{...}">`, whose `dailyPapers`
are items of the API schema (read by `hf_api_json`). Older pages have one `<article>` per paper with the
title in `h3 a[href^="/papers/"]` and the upvote count as a bare number in the card.
"""

from __future__ import annotations

import re
from datetime import date

from bs4 import BeautifulSoup, Tag

from papers.parsers.base import DumpParseError, ParsedDump, SourceFormat
from papers.parsers.dates import parse_iso_date
from papers.parsers.drafts import PaperDraft, finish_dump, missing_abstracts_warning
from papers.parsers.hf_api_json import dump_from_api_items
from papers.parsers.identifiers import arxiv_id_from, hf_paper_url
from papers.parsers.json_input import load_json, optional_list

EXPECTED_PAPERS = (
    'a <div data-target="DailyPapers" data-props="..."> with dailyPapers, '
    'or <article> cards with h3 a[href^="/papers/"]'
)
# Their text is code or invisible, never part of a paper: remove them before reading any text.
_NON_CONTENT_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "svg")
_UPVOTES = re.compile(r"^\d{1,7}$")


def parse(*, text: str, today: date) -> ParsedDump:
    soup = _soup(text=text)
    props_holder = soup.find(attrs={"data-target": "DailyPapers", "data-props": True})
    if isinstance(props_holder, Tag):
        return _parse_props(props=str(props_holder.get("data-props", "")))
    return _parse_articles(soup=soup)


def _soup(*, text: str) -> BeautifulSoup:
    try:
        soup = BeautifulSoup(text, "lxml")
        for tag in soup.find_all(_NON_CONTENT_TAGS):
            tag.decompose()
    except RecursionError:
        raise DumpParseError("the HTML is nested too deeply; expected a papers page") from None
    return soup


def _parse_props(*, props: str) -> ParsedDump:
    try:
        data = load_json(text=props, what="DailyPapers data-props JSON")
    except DumpParseError as exc:
        where = f"DailyPapers data-props, {exc.location}" if exc.location else "DailyPapers data-props"
        raise DumpParseError(exc.reason, location=where) from None
    if not isinstance(data, dict):
        raise DumpParseError('is not a JSON object; expected {"dailyPapers": [...]}', location="DailyPapers data-props")
    items = optional_list(obj=data, key="dailyPapers", where="DailyPapers data-props", path="dailyPapers")
    page_date = data.get("date")
    return dump_from_api_items(
        items=items,
        source_format=SourceFormat.HF_HTML,
        where_prefix="dailyPapers item",
        listing_date=parse_iso_date(page_date) if isinstance(page_date, str) else None,
    )


def _parse_articles(*, soup: BeautifulSoup) -> ParsedDump:
    drafts: list[PaperDraft] = []
    warnings: list[str] = []
    for n, article in enumerate(soup.find_all("article"), 1):
        if not isinstance(article, Tag):
            continue
        if article.find("article") is not None:
            # Cards are siblings on every real page. Nested ones would each be read with all the cards inside
            # them, which is quadratic in the nesting (10 s for 16 KB of "<article>"); the first one found
            # stops the parse, and the search over unnested cards reads each element once.
            raise DumpParseError("an <article> inside another; expected one <article> card per paper")
        title = _title_link(article=article)
        if title is None:
            warnings.append(f'article {n}: no h3 a[href^="/papers/"] title link; skipped as not a paper card')
            continue
        link, heading = title
        drafts.append(_article_draft(article=article, link=link, heading=heading, where=f"article {n}"))
    warnings.extend(missing_abstracts_warning(drafts=drafts))
    time = soup.find("time", attrs={"datetime": True})
    listing_date = parse_iso_date(str(time.get("datetime", ""))) if isinstance(time, Tag) else None
    return finish_dump(
        source_format=SourceFormat.HF_HTML,
        listing_date=listing_date,
        drafts=drafts,
        warnings=warnings,
        expected=EXPECTED_PAPERS,
        # The old cards showed no abstract; a titled, voted paper with an id is still worth listing.
        allow_empty_abstract=True,
    )


def _title_link(*, article: Tag) -> tuple[Tag, Tag] | None:
    """The first `h3 a[href^="/papers/"]` in the card and its h3, reading each element once.

    A CSS selector walks up from every candidate link to look for an h3, which is quadratic when thousands
    of links sit under thousands of nested elements; here each h3 is read down once, nested ones skipped.
    """
    for heading in _outermost(article=article, name="h3"):
        for link in heading.find_all("a"):
            if isinstance(link, Tag) and str(link.get("href", "")).startswith("/papers/"):
                return link, heading
    return None


def _outermost(*, article: Tag, name: str) -> list[Tag]:
    """The `name` elements in the card that are not inside another one, reading each element once.

    Reading every one of them would read nested ones again inside each ancestor: quadratic in the nesting.
    """
    read: set[int] = set()
    found: list[Tag] = []
    for tag in article.find_all(name):
        if isinstance(tag, Tag) and id(tag) not in read:
            found.append(tag)
            read.update(id(element) for element in tag.descendants)
    return found


def _article_draft(*, article: Tag, link: Tag, heading: Tag, where: str) -> PaperDraft:
    title = link.get_text(" ")
    if not title.strip():
        raise DumpParseError("the title link is empty; expected the paper title in h3 a", location=where)
    paper_id = str(link.get("href", "")).removeprefix("/papers/").split("?")[0].split("#")[0].strip("/")
    abstract = " ".join(p.get_text(" ") for p in _outermost(article=article, name="p"))
    return PaperDraft(
        where=where,
        title=title,
        abstract=abstract,
        arxiv_id=arxiv_id_from(paper_id),
        upvotes=_upvotes(article=article, heading=heading),
        links={"paper": hf_paper_url(paper_id)} if paper_id else {},
    )


def _upvotes(*, article: Tag, heading: Tag) -> int | None:
    """The first bare number in the card outside the title: the vote count."""
    # A set of the title's strings, not a walk up from every string: that was quadratic in the nesting depth.
    in_title = {id(string) for string in heading.find_all(string=True)}
    for string in article.find_all(string=True):
        if id(string) in in_title:
            continue
        if _UPVOTES.match(string.strip()):
            return int(string.strip())
    return None
