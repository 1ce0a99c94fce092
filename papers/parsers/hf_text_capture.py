"""The richer text capture of the papers page (a markdown export), one block per paper:

     [-] 12                                      upvotes ("-" when none)
    https://huggingface.co/login?next=...         the upvote button's link
    <title>
    https://huggingface.co/papers/2410.05434     gives the arXiv id
    <abstract>
    https://huggingface.co/papers/2410.05434
    [ / 2 authors](https://huggingface.co/papers/2410.05434) / · / Oct 7, 2024

Navigation, the page header and a "Mar 25" line come before the first block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from papers.parsers.base import DumpParseError, ParsedDump, SourceFormat
from papers.parsers.cleaning import shorten
from papers.parsers.dates import MONTH_DAY, MONTH_DAY_YEAR, parse_month_day, parse_month_day_year
from papers.parsers.drafts import PaperDraft, finish_dump, missing_abstracts_warning
from papers.parsers.identifiers import arxiv_id_from, hf_paper_id_from, hf_paper_url
from papers.parsers.plain_text import without_front_matter

# At most 9 digits: int() refuses strings of over 4,300, and no paper has a billion votes.
UPVOTE_LINE = re.compile(r"^\s*\[-\]\s*(\d{1,9}|-)\s*$")
PAPER_URL_LINE = re.compile(r"^\s*https?://huggingface\.co/papers/(?!date/|trending)[^\s/?#]+\s*$")
EXPECTED_BLOCKS = "blocks starting with an upvote line ' [-] N', then the title and its paper URL"
# Lines that close the abstract: the repeated paper URL, the "[N authors](...)" link, "·", the date.
_ABSTRACT_END = re.compile(r"^\s*(\[|\d+\s+authors?\]|·\s*$|https?://huggingface\.co/papers/)")


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    text: str


def parse(*, text: str, today: date) -> ParsedDump:
    lines = text.split("\n")
    skip = without_front_matter(lines=lines)
    numbered = [_Line(n, line.strip()) for n, line in enumerate(lines[skip:], skip + 1) if line.strip()]
    starts = [i for i, line in enumerate(numbered) if UPVOTE_LINE.match(line.text)]
    if not starts:
        raise DumpParseError(f"no papers found; expected {EXPECTED_BLOCKS}")
    drafts = [
        _draft(block=numbered[start:end]) for start, end in zip(starts, [*starts[1:], len(numbered)], strict=True)
    ]
    warnings = missing_abstracts_warning(drafts=drafts)
    return finish_dump(
        source_format=SourceFormat.HF_TEXT_CAPTURE,
        listing_date=_listing_date(header=numbered[: starts[0]], today=today),
        drafts=drafts,
        warnings=warnings,
        expected=EXPECTED_BLOCKS,
        # A page view without abstracts still lists real papers with ids and votes; keep them, with a warning.
        allow_empty_abstract=True,
    )


def _listing_date(*, header: list[_Line], today: date) -> date | None:
    """The last "Mar 25" line before the first paper: the day the page lists."""
    for line in reversed(header):
        if MONTH_DAY.match(line.text):
            return parse_month_day(text=line.text, today=today)
    return None


def _draft(*, block: list[_Line]) -> PaperDraft:
    upvote_line = block[0]
    where = f"line {upvote_line.number}"
    votes = UPVOTE_LINE.match(upvote_line.text)
    upvotes = int(votes.group(1)) if votes and votes.group(1).isdigit() else None
    rest = [line for line in block[1:] if "huggingface.co/login" not in line.text]
    if not rest or rest[0].text.startswith(("http://", "https://")):
        raise DumpParseError("no title after the upvote line; expected the paper title", location=where)
    title = rest[0].text
    url_index = next((i for i, line in enumerate(rest) if PAPER_URL_LINE.match(line.text)), None)
    if url_index is None:
        raise DumpParseError(
            f"no paper URL after '{shorten(title)}'; expected https://huggingface.co/papers/<id>",
            location=where,
        )
    paper_id = hf_paper_id_from(rest[url_index].text) or ""
    abstract_lines: list[str] = []
    for line in rest[url_index + 1 :]:
        if _ABSTRACT_END.match(line.text) or MONTH_DAY_YEAR.match(line.text):
            break
        abstract_lines.append(line.text)
    published = next((d for line in rest if (d := parse_month_day_year(text=line.text))), None)
    return PaperDraft(
        where=where,
        title=title,
        abstract=" ".join(abstract_lines),
        arxiv_id=arxiv_id_from(paper_id),
        upvotes=upvotes,
        published_on=published,
        links={"paper": hf_paper_url(paper_id)},
    )
