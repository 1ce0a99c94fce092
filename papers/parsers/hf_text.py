"""The seed dumps: the papers page saved as plain text.

    new / Get trending papers in your email inbox! / Subscribe / [Daily Papers]
    byAK and the research community
    Mar 11
    <title>
    <abstract>
    <title>
    ...

Every line is its own paragraph, separated by blank lines. Titles and abstracts alternate, but a copied
abstract can itself hold a blank line, so a paragraph after an abstract only starts a new paper when it looks
like a title (short, no closing full stop) and what follows it does not.
"""

from __future__ import annotations

from datetime import date

from papers.parsers.base import DumpParseError, ParsedDump, SourceFormat
from papers.parsers.cleaning import shorten
from papers.parsers.dates import MONTH_DAY, parse_month_day
from papers.parsers.drafts import PaperDraft, finish_dump
from papers.parsers.plain_text import Paragraph, is_header_line, paragraphs

EXPECTED_PAPERS = "a title paragraph followed by an abstract paragraph, separated by blank lines"
# The longest title in the seeds is 152 characters and the shortest abstract over 1,300; 300 separates them.
MAX_TITLE_CHARS = 300


def parse(*, text: str, today: date) -> ParsedDump:
    found = paragraphs(text=text)
    start = 0
    while start < len(found) and is_header_line(found[start].text):
        start += 1
    listing_date, start, warnings = _listing_date(found=found, start=start, today=today)
    drafts, body_warnings = _pair_titles_with_abstracts(found=found[start:])
    return finish_dump(
        source_format=SourceFormat.HF_TEXT,
        listing_date=listing_date,
        drafts=drafts,
        warnings=[*warnings, *body_warnings],
        expected=EXPECTED_PAPERS,
    )


def _listing_date(*, found: list[Paragraph], start: int, today: date) -> tuple[date | None, int, list[str]]:
    """The "Mar 11" line after the header, as a date, and the index of the first paragraph after it."""
    if start >= len(found) or not MONTH_DAY.match(found[start].text):
        where = f"line {found[start].line}" if start < len(found) else "end of file"
        return None, start, [f"{where}: no date line like 'Mar 11' after the header; listing date unknown"]
    resolved = parse_month_day(text=found[start].text, today=today)
    if resolved is None:
        raise DumpParseError(
            f"'{found[start].text}' is not a day of the year; expected a date line like 'Mar 11'",
            location=f"line {found[start].line}",
        )
    return resolved, start + 1, []


def _pair_titles_with_abstracts(*, found: list[Paragraph]) -> tuple[list[PaperDraft], list[str]]:
    drafts: list[PaperDraft] = []
    warnings: list[str] = []
    index = 0
    while index < len(found):
        title = found[index]
        _check_title(title=title)
        if index + 1 >= len(found):
            raise DumpParseError(
                f"title '{shorten(title.text)}' has no abstract after it; expected an abstract paragraph",
                location=f"line {title.line}",
            )
        parts = [found[index + 1].text]
        index += 2
        while index < len(found) and _continues_abstract(found=found, index=index):
            warnings.append(
                f"line {found[index].line}: paragraph joined to the abstract of '{shorten(title.text)}' "
                "(it does not look like a title followed by an abstract)"
            )
            parts.append(found[index].text)
            index += 1
        drafts.append(PaperDraft(where=f"line {title.line}", title=title.text, abstract=" ".join(parts)))
    return drafts, warnings


def _check_title(*, title: Paragraph) -> None:
    if len(title.text) > MAX_TITLE_CHARS:
        raise DumpParseError(
            f"a paragraph of {len(title.text)} characters ('{shorten(title.text)}') stands where a title "
            f"belongs; expected a title of at most {MAX_TITLE_CHARS} characters",
            location=f"line {title.line}",
        )


def _looks_like_title(text: str) -> bool:
    return len(text) <= MAX_TITLE_CHARS and not text.endswith(".")


def _continues_abstract(*, found: list[Paragraph], index: int) -> bool:
    """Whether the paragraph after an abstract belongs to it rather than starting the next paper."""
    if not _looks_like_title(found[index].text):
        return True
    # Two title-like paragraphs in a row: the first is a short tail of the abstract ("Code: https://...").
    # At the end of the file a title-like paragraph is a title whose abstract was cut off.
    return index + 1 < len(found) and _looks_like_title(found[index + 1].text)
