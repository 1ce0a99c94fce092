"""Property: whatever bytes arrive, `parse_dump` returns a `ParsedDump` or raises `DumpParseError`.

Hypothesis builds files from the pieces real dumps are made of (each format's opening, markup, LaTeX,
entities, numbers, dates) as well as from arbitrary bytes, so it reaches every parser and not only the
"unrecognised format" refusal. Bounded in examples and time per example so it stays a quick test.
"""

from __future__ import annotations

import json
from datetime import date
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from papers.parsers import DumpParseError, ParsedDump, parse_dump
from tests.papers.adversarial import WRAPPERS

TODAY = date(2026, 3, 11)

# Pieces the parsers' regexes and branches look for; hypothesis glues them together in any order.
PIECES = [
    "http://",
    "https://x.org",
    "{",
    "}",
    "{link}",
    "``",
    "''",
    "\\textbf{",
    '\\"',
    "{\\tau}",
    "\\L ",
    "<",
    ">",
    "<!--",
    "-->",
    "<script>",
    "</script>",
    "<a x",
    "<br/>",
    "&amp;",
    "&#x",
    "&lt;b&gt;",
    "a-",
    "2401.12345v",
    "hep-th/9901001",
    " ",
    "\n",
    "\n\n",
    "\t",
    " [-] ",
    "9" * 30,
    "9" * 4400,  # more digits than int() converts
    "²",  # a digit to str.isdigit, not to int()
    "Thu, 24 Sep ",
    "Mar 11",
    "Oct 7, 2024",
    "AI-generated summary",
    " and ",
    ",",
    "é",
    "\u200b",
]
text_pieces = st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=40).map("".join)


def _container(kind: str, text: str) -> str:
    """`text` placed where a format reads something other than the abstract: ids, votes, dates, authors."""
    if kind == "api-fields":
        paper = {"id": text, "title": text or "t", "summary": "s", "upvotes": text, "publishedAt": text}
        return json.dumps([{"paper": paper, "publishedAt": text}])
    if kind == "rss-fields":
        item = f"<pubDate>{escape(text)}</pubDate></item>"
        return (
            WRAPPERS["rss"]("An abstract.")
            .replace("arXiv:2410.05434v1", f"arXiv:{escape(text)}")
            .replace("</item>", item)
        )
    return WRAPPERS["capture"]("An abstract.").replace(" [-] 12", f" [-] {text}")


files = st.one_of(
    st.binary(max_size=2048),
    text_pieces.map(str.encode),
    st.tuples(st.sampled_from(sorted(WRAPPERS)), text_pieces).map(lambda pair: WRAPPERS[pair[0]](pair[1]).encode()),
    st.tuples(st.sampled_from(["api-fields", "rss-fields", "capture-fields"]), text_pieces).map(
        lambda pair: _container(*pair).encode()
    ),
)


def _outcome(data: bytes) -> ParsedDump | DumpParseError:
    try:
        return parse_dump(data, today=TODAY)
    except DumpParseError as exc:
        return exc


# Files that once escaped as ValueError or OverflowError, kept as fixed examples.
@example(data=_container("api-fields", "9" * 4400).encode())  # int() refuses 4,300+ digits
@example(data=_container("api-fields", "²").encode())  # "²".isdigit() is true, int("²") fails
@example(data=_container("capture-fields", "1" * 5000).encode())
@example(data=_container("rss-fields", "Thu, 24 Sep " + "9" * 25 + " 00:00:00 -0400").encode())
@settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(data=files)
def test_any_file_parses_or_fails_with_a_dump_parse_error(data: bytes) -> None:
    outcome = _outcome(data)

    if isinstance(outcome, DumpParseError):
        assert str(outcome).strip()  # a message a person can act on, never an empty one
    else:
        assert isinstance(outcome, ParsedDump)
        assert outcome.items
