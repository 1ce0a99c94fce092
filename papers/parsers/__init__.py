"""Pure dump parsers: bytes in, a `ParsedDump` out, or a `DumpParseError` a person can act on.

    parse_dump(data, today=date.today()) -> ParsedDump

The format is detected from the content (see `detection`), each format has its own module, and every
module funnels its papers through `drafts.finish_dump`, so cleaning, dedup and ranking are the same for all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

from papers.parsers import (
    arxiv_atom,
    arxiv_rss,
    hf_api_json,
    hf_html,
    hf_jsonfeed,
    hf_text,
    hf_text_capture,
)
from papers.parsers.base import DumpParseError, ParsedDump, ParsedPaper, SourceFormat
from papers.parsers.cleaning import clean_text, title_key
from papers.parsers.dates import resolve_month_day
from papers.parsers.decoding import decode_dump
from papers.parsers.detection import detect_format

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DumpParseError",
    "ParsedDump",
    "ParsedPaper",
    "SourceFormat",
    "clean_text",
    "detect_format",
    "parse_dump",
    "resolve_month_day",
    "title_key",
]

# A day's listing is well under 1 MB in every format; 20 MB leaves room for a week of HTML pages.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

_PARSERS: dict[SourceFormat, Callable[..., ParsedDump]] = {
    SourceFormat.HF_TEXT: hf_text.parse,
    SourceFormat.HF_TEXT_CAPTURE: hf_text_capture.parse,
    SourceFormat.HF_HTML: hf_html.parse,
    SourceFormat.HF_API_JSON: hf_api_json.parse,
    SourceFormat.HF_JSONFEED: hf_jsonfeed.parse,
    SourceFormat.ARXIV_ATOM: arxiv_atom.parse,
    SourceFormat.ARXIV_RSS: arxiv_rss.parse,
}


def parse_dump(data: bytes, *, today: date, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedDump:
    """Decode, detect and parse one dump. `today` resolves year-less dates such as "Mar 11".

    Raises only `DumpParseError`; its message says where (line, item, byte) and what was expected.
    """
    decoded = decode_dump(data=data, max_bytes=max_bytes)
    source_format = detect_format(text=decoded.text)
    try:
        dump = _PARSERS[source_format](text=decoded.text, today=today)
    except RecursionError:
        # Deep nesting that slipped past the format's own guard must still end as a clear parse error.
        raise DumpParseError("the file is nested too deeply to read; expected a daily papers dump") from None
    if decoded.warnings:
        dump = dataclasses.replace(dump, warnings=(*decoded.warnings, *dump.warnings))
    return dump
