"""The shapes every parser returns, and the one error they raise.

Parsers are pure: bytes in, a `ParsedDump` out, no Django, no I/O. The ingestion service turns a
`ParsedDump` into rows; a `DumpParseError` becomes a failed `Dump` with the error's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from papers.parsers.urls import http_url


class SourceFormat(StrEnum):
    """Every format Paperboy can read, detected from the content (never from the file name)."""

    HF_TEXT = "hf_text"  # the seed dumps: header, "Mar 11", then title / abstract paragraphs
    HF_TEXT_CAPTURE = "hf_text_capture"  # richer text capture: upvotes, paper URLs, "N authors", dates
    HF_HTML = "hf_html"  # the page's HTML: DailyPapers data-props JSON, or older <article>/<h3> markup
    HF_API_JSON = "hf_api_json"  # the Hugging Face daily papers API response
    HF_JSONFEED = "hf_jsonfeed"  # a JSON Feed scraped from the papers page
    ARXIV_ATOM = "arxiv_atom"  # arXiv API Atom response
    ARXIV_RSS = "arxiv_rss"  # arXiv RSS 2.0 listing


@dataclass(frozen=True, slots=True)
class ParsedPaper:
    """One paper as one dump lists it; text already clean (no markup, entities decoded, lines joined)."""

    title: str
    abstract: str
    rank: int  # 1-based position in the dump, after in-dump duplicates are dropped
    authors: tuple[str, ...] = ()
    arxiv_id: str | None = None  # without version: "2410.05434", "hep-th/9901001"
    upvotes: int | None = None
    published_on: date | None = None
    # Known keys: "paper" (the HF paper page), "arxiv" (abstract page), "pdf", "github", "project".
    # Absolute http(s) URLs only (see urls.http_url): enforced here, so no parser can hand over another scheme.
    links: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        refused = [kind for kind, url in self.links.items() if http_url(url) != url]
        if refused:
            raise ValueError(f"links {refused} are not clean http(s) URLs; parsers keep only what http_url accepts")


@dataclass(frozen=True, slots=True)
class ParsedDump:
    source_format: SourceFormat
    listing_date: date | None  # the day the listing is for; None when the source does not say
    items: tuple[ParsedPaper, ...]
    warnings: tuple[str, ...] = ()  # things skipped or repaired, for the Dump record


class DumpParseError(ValueError):
    """The dump cannot be ingested. The message says where and what was expected, for a person to act on."""

    def __init__(self, reason: str, *, location: str | None = None) -> None:
        self.reason = reason
        self.location = location  # "line 57", "item 3", "byte 0"
        super().__init__(f"{location}: {reason}" if location else reason)
