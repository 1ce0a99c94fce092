"""Text cleaning shared by every parser, and the normalised title key used to spot duplicates.

Sources hand us titles and abstracts with arXiv's hard line breaks, HTML entities, stray tags and LaTeX
leftovers (see `latex`). Everything a parser returns goes through `clean_text`, so the rest of Paperboy can
treat text as plain, single-line, NFC Unicode.
"""

from __future__ import annotations

import html
import re
import unicodedata

from papers.parsers.latex import fix_latex

# Only real HTML element names count as tags, so "x < y", "A/B" and "the <EOS> token" survive.
_HTML_TAG_NAMES = (
    "a|abbr|acronym|address|article|aside|b|bdi|bdo|big|blockquote|body|br|button|caption|center|cite|code|"
    "col|colgroup|dd|del|details|dfn|div|dl|dt|em|embed|figcaption|figure|font|footer|form|h[1-6]|head|header|"
    "hr|html|i|iframe|img|input|ins|kbd|label|li|link|main|mark|math|meta|mi|mn|mo|mrow|msub|msup|nav|ol|"
    "option|p|pre|q|s|samp|section|select|small|span|strike|strong|sub|summary|sup|svg|table|tbody|td|"
    "textarea|tfoot|th|thead|time|tr|tt|u|ul|var|video|wbr"
)
_TAG = re.compile(rf"</?({_HTML_TAG_NAMES})(?:\s[^<>]*)?/?>", re.IGNORECASE)
# Inline tags sit inside words ("H<sub>2</sub>O"), so they vanish; any other tag separates words.
_INLINE_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "big",
        "cite",
        "code",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "ins",
        "kbd",
        "mark",
        "mi",
        "mn",
        "mo",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "tt",
        "u",
        "var",
    }
)
# Script-like elements lose their content too: their text is code, never part of a title or abstract.
# The opening tag stops at the next "<" as well as ">": with "[^>]*" every "<script" of "<script" * N
# (no ">" anywhere) rescanned the rest of the text, which made cleaning quadratic.
_SCRIPT_LIKE = re.compile(
    r"<(script|style|noscript|template|iframe|object)\b[^<>]*>.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_ENTITY = re.compile(r"&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")

# Zero-width characters and soft hyphens vanish; control characters become spaces.
_INVISIBLE_AND_CONTROL = {
    **dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad")),
    **dict.fromkeys([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)], " "),
}
_NON_ALPHANUMERIC = re.compile(r"[\W_]+")

# Entities can be escaped twice ("&amp;lt;"); three rounds undo anything a real source does.
_MAX_UNESCAPE_ROUNDS = 3


def _tag_replacement(match: re.Match[str]) -> str:
    return "" if match.group(1).lower() in _INLINE_TAGS else " "


def strip_markup(*, text: str) -> str:
    """Remove HTML comments, script-like elements with their content, and tags; decode entities."""
    if "<" not in text and "&" not in text:  # the common case: nothing to do, skip the regexes
        return text
    for _ in range(_MAX_UNESCAPE_ROUNDS):
        text = _TAG.sub(_tag_replacement, _SCRIPT_LIKE.sub(" ", _COMMENT.sub(" ", text)))
        if not _ENTITY.search(text):
            break
        text = html.unescape(text)
    # Decoding may have revealed tags that were escaped in the source ("&lt;script&gt;...").
    return _TAG.sub(_tag_replacement, _SCRIPT_LIKE.sub(" ", text))


def clean_text(text: str) -> str:
    """Plain, single-line, NFC text: markup and LaTeX artefacts gone, hard line breaks joined."""
    text = fix_latex(text=strip_markup(text=text)).translate(_INVISIBLE_AND_CONTROL)
    # Joining on a space is right for arXiv: its wraps fall between words, never inside a hyphenated word.
    return unicodedata.normalize("NFC", " ".join(text.split()))


def title_key(title: str) -> str:
    """The dedup key of a title: NFKC, casefolded, every non-alphanumeric folded into one space.

    "Chain‑of‑Thought: X" and "chain of thought x" share a key, so the same paper listed by two sources
    with different dashes or punctuation is recognised.
    """
    folded = unicodedata.normalize("NFKC", clean_text(title)).casefold()
    return _NON_ALPHANUMERIC.sub(" ", folded).strip()


def shorten(text: str, *, limit: int = 60) -> str:
    """A title cut to fit an error message."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
