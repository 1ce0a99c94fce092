"""Which format a dump is in, from its content alone: people rename files, so names prove nothing."""

from __future__ import annotations

import re

from papers.parsers.base import DumpParseError, SourceFormat
from papers.parsers.dates import MONTH_DAY
from papers.parsers.hf_text_capture import PAPER_URL_LINE, UPVOTE_LINE
from papers.parsers.plain_text import is_header_line, paragraphs

# Every marker below sits near the start of its format; reading further only costs time on a 20 MB file.
_PEEK_CHARS = 64 * 1024
# The seed header plus the date line take ten paragraphs at most; a seed says who it is by then.
_TEXT_HEADER_PARAGRAPHS = 12
TRIED = (
    "HF API JSON",
    "HF JSON Feed",
    "arXiv Atom",
    "arXiv RSS",
    "HF page HTML",
    "HF text capture",
    "HF seed text",
)
_JSON_FEED = re.compile(r'"version"\s*:\s*"https?://jsonfeed\.org/version/')
_HF_API = re.compile(r'"(?:paper|dailyPapers)"\s*:')
_FIRST_ELEMENT = re.compile(r"<([A-Za-z][\w.:-]*)")
# An unclosed comment runs to the end, as in a browser. Without the "\Z" branch every "<!--" of
# "<!--" * 16,000 rescanned the rest of the head for a "-->" that never came: 9.4 s for 64 KB.
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_HTML_ROOTS = frozenset({"html", "head", "body", "div", "article", "main", "section", "meta", "title"})


def detect_format(*, text: str) -> SourceFormat:
    """The format of `text`, or `DumpParseError` naming the formats tried and how the file starts."""
    head = text.lstrip("\ufeff \t\n")[:_PEEK_CHARS]
    if head.startswith(("{", "[")):
        detected = _detect_json(head=head)
    elif head.startswith("<"):
        detected = _detect_markup(head=head)
    else:
        detected = _detect_text(head=head)
    if detected is None:
        preview = " ".join(head[:80].split())
        raise DumpParseError(f"unrecognised format; tried {', '.join(TRIED)}; the file starts with {preview!r}")
    return detected


def _detect_json(*, head: str) -> SourceFormat | None:
    if _JSON_FEED.search(head):
        return SourceFormat.HF_JSONFEED
    # A top-level list can only be the API response; its parser says what is wrong with the items.
    return SourceFormat.HF_API_JSON if head.startswith("[") or _HF_API.search(head) else None


def _detect_markup(*, head: str) -> SourceFormat | None:
    if re.match(r"<!doctype\s+html", head, re.IGNORECASE):
        return SourceFormat.HF_HTML
    # Skip the XML declaration, comments and any DOCTYPE: the first real element names the format.
    without_comments = _COMMENT.sub("", head)
    first = _FIRST_ELEMENT.search(without_comments)
    name = first.group(1).lower().rpartition(":")[2] if first else ""
    if name == "feed":
        return SourceFormat.ARXIV_ATOM
    if name == "rss":
        return SourceFormat.ARXIV_RSS
    return SourceFormat.HF_HTML if name in _HTML_ROOTS else None


def _detect_text(*, head: str) -> SourceFormat | None:
    lines = head.split("\n")
    if any(UPVOTE_LINE.match(line) for line in lines) and any(PAPER_URL_LINE.match(line) for line in lines):
        return SourceFormat.HF_TEXT_CAPTURE
    opening = paragraphs(text=head)[:_TEXT_HEADER_PARAGRAPHS]
    if any(is_header_line(p.text) or MONTH_DAY.match(p.text) for p in opening):
        return SourceFormat.HF_TEXT
    return None
