"""Parsing XML feeds safely: no DTDs, no entity expansion, no network, libxml2's default depth limit.

A feed is data from the internet. A DTD can define entities that expand to gigabytes ("billion laughs") or
read local files (XXE); real arXiv feeds never declare one, so a DTD is refused outright and the parser is
configured not to resolve entities or fetch anything either way.
"""

from __future__ import annotations

import re

from lxml import etree

from papers.parsers.base import DumpParseError

_DTD = re.compile(r"<!(?:DOCTYPE|ENTITY)\b", re.IGNORECASE)
# libxml2 repeats the position in its message ("..., line 5, column 12"); the location already says it.
_POSITION_SUFFIX = re.compile(r"(?:,?\s*line \d+)+(?:, column \d+)?\s*$")
# libxml2's messages are short, but some quote the input (a tag name); the suffix regex only ever reads this
# much of one, so a message built from a megabyte of input cannot make it backtrack over all of it.
_MAX_MESSAGE_CHARS = 300


def parse_xml(*, text: str) -> etree._Element:
    """The root element of `text`, or `DumpParseError` with the line and column of the first problem."""
    dtd = _DTD.search(text)
    if dtd:
        line = text.count("\n", 0, dtd.start()) + 1
        raise DumpParseError(
            "the XML declares a DTD or entities, which feeds never do and which can attack the parser; "
            "expected a plain Atom or RSS feed",
            location=f"line {line}",
        )
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,  # keeps libxml2's limits on depth and text size
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
        encoding="utf-8",  # the text was decoded already; ignore whatever the declaration says
    )
    try:
        return etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        if "Excessive depth" in exc.msg:
            raise DumpParseError(
                "the XML is nested more than 256 levels deep; expected a feed of entries or items",
                location=f"line {line}, column {column}",
            ) from None
        raise DumpParseError(
            f"{_POSITION_SUFFIX.sub('', _shorten_message(exc.msg))}; expected well-formed XML",
            location=f"line {line}, column {column}",
        ) from None


def _shorten_message(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE_CHARS else message[: _MAX_MESSAGE_CHARS - 1] + "…"


def element_text(element: etree._Element | None) -> str:
    """All text inside `element`, nested markup included; "" when the element is missing."""
    if element is None:
        return ""
    return "".join(element.itertext())
