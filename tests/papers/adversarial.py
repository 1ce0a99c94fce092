"""Hostile dumps of any size, for the linear-time test: each pattern family that once made a parser's regex
backtrack (or that could), wrapped in every format that reads it.

A family is a function `size -> str` giving a piece of text of about `size` characters; a wrapper puts that
text where a format reads it (an abstract, a paper id, an author list). Pure: no Django.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape as html_escape
from xml.sax.saxutils import escape as xml_escape

Family = Callable[[int], str]


def repeat(unit: str, size: int, tail: str = "") -> str:
    return unit * max(1, size // len(unit)) + tail


# Text that reaches `clean_text` (markup stripping, then LaTeX repair) in every format.
ABSTRACT_FAMILIES: dict[str, Family] = {
    "url-then-brace": lambda n: repeat("http://", n, "{"),  # latex: a URL then "{link}"
    "braced-url": lambda n: repeat("{http://", n),  # latex: "{url}"
    "link-word-run": lambda n: repeat("x", n, "{linkx"),  # latex: one long run, then a near-miss
    "quotes": lambda n: repeat("``a", n),  # latex: ``quotes''
    "text-style": lambda n: repeat("\\textbf{", n),  # latex: \textbf{...}
    "accents-and-greek": lambda n: repeat('\\"{\\tau', n),  # latex: accents, {\tau}
    "unclosed-script": lambda n: repeat("<script", n),  # cleaning: <script ...> without ">"
    "unclosed-tag": lambda n: repeat("<a x", n),  # cleaning: <a ...> without ">"
    "unclosed-comment": lambda n: repeat("<!--", n),  # cleaning: <!-- without -->
    "entities": lambda n: repeat("&amp;lt;", n),  # cleaning: entities escaped twice
    "near-entities": lambda n: repeat("&#x", n),  # cleaning: "&#x" that never ends
    "hyphen-words": lambda n: repeat("a-", n, "/"),  # identifiers: old-style archive names
    "version-digits": lambda n: "2401.12345v" + repeat("1", n, "x"),  # identifiers: vNNN
    "spaces": lambda n: "a" + " " * n + "b",  # whitespace runs (split, \s* searches)
}


def seed_text(abstract: str) -> str:
    return f"Daily Papers\n\nMar 11\n\nA title\n\n{abstract}\n"


def capture_text(abstract: str) -> str:
    url = "https://huggingface.co/papers/2410.05434"
    return f"Mar 25\n\n [-] 12\n\nA title\n\n{url}\n\n{abstract}\n\n{url}\n"


def api_json(abstract: str) -> str:
    return json.dumps([{"paper": {"id": "2410.05434", "title": "A title", "summary": abstract}}])


def jsonfeed(abstract: str) -> str:
    item = {"id": "1", "title": "A title", "url": "https://huggingface.co/papers/2410.05434", "content_text": abstract}
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [item]})


def atom(abstract: str) -> str:
    return (
        '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><entry>'
        "<id>http://arxiv.org/abs/2410.05434v1</id><title>A title</title>"
        f"<summary>{xml_escape(abstract)}</summary></entry></feed>"
    )


def rss(abstract: str) -> str:
    return (
        '<?xml version="1.0"?>\n<rss version="2.0"><channel><item><title>A title</title>'
        "<link>https://arxiv.org/abs/2410.05434</link>"
        f"<description>arXiv:2410.05434v1 Announce Type: new Abstract: {xml_escape(abstract)}</description>"
        "</item></channel></rss>"
    )


def html_props(abstract: str) -> str:
    props = json.dumps({"dailyPapers": [{"paper": {"id": "2410.05434", "title": "A title", "summary": abstract}}]})
    return f'<!doctype html><div data-target="DailyPapers" data-props="{html_escape(props)}"></div>'


def html_articles(abstract: str) -> str:
    title = '<h3><a href="/papers/2410.05434">A title</a></h3>'
    return f"<!doctype html><article>{title}<p>{html_escape(abstract)}</p></article>"


WRAPPERS: dict[str, Callable[[str], str]] = {
    "seed": seed_text,
    "capture": capture_text,
    "api": api_json,
    "jsonfeed": jsonfeed,
    "atom": atom,
    "rss": rss,
    "html-props": html_props,
    "html-articles": html_articles,
}


def _many(paper: Callable[[int], str], *, head: str = "", tail: str = "", unit_size: int) -> Family:
    return lambda n: head + "".join(paper(i) for i in range(max(1, n // unit_size))) + tail


def _api_paper(i: int) -> str:
    return json.dumps({"paper": {"id": f"2410.{i:05d}", "title": f"Paper {i}", "summary": "An abstract."}}) + ","


# Whole files: the structure of a format rather than one field in it.
WHOLE_FILES: dict[str, Family] = {
    "detection-unclosed-comments": lambda n: "<" + repeat("<!--", n),
    "detection-json-version": lambda n: "{" + repeat('"version" ', n),
    "seed-many-papers": _many(
        lambda i: f"Paper {i}\n\nAn abstract about {i}.\n\n", head="Daily Papers\n\nMar 11\n\n", unit_size=40
    ),
    "seed-many-blank-lines": lambda n: "Daily Papers\n\nMar 11\n\nA title\n\nAn abstract." + "\n" * n + "x.",
    "capture-many-blocks": _many(
        lambda i: f" [-] {i}\nPaper {i}\nhttps://huggingface.co/papers/2410.{i:05d}\nAbstract {i}.\n",
        unit_size=80,
    ),
    "capture-long-upvotes": lambda n: capture_text("An abstract.").replace(" [-] 12", " [-] " + "1" * n),
    "api-many-items": _many(_api_paper, head="[", tail='{"paper": {"title": "t", "summary": "s"}}]', unit_size=80),
    "api-hyphen-id": lambda n: json.dumps([{"paper": {"id": repeat("a-", n), "title": "t", "summary": "s"}}]),
    "api-long-upvotes": lambda n: json.dumps([{"paper": {"title": "t", "summary": "s", "upvotes": "1" * n}}]),
    "jsonfeed-spaces": lambda n: jsonfeed(" " * n + "x"),
    "rss-spaced-authors": lambda n: rss("An abstract.").replace(
        "</item>", f"<dc:creator xmlns:dc='http://purl.org/dc/elements/1.1/'>A{' ' * n}B</dc:creator></item>"
    ),
    "rss-long-description-id": lambda n: rss("x").replace("arXiv:2410.05434v1", "arXiv:" + "x" * n),
    "atom-hyphen-id": lambda n: atom("An abstract.").replace("http://arxiv.org/abs/2410.05434v1", repeat("a-", n)),
    "xml-nested": lambda n: '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">' + repeat("<a>", n),
    "html-nested-articles": lambda n: "<!doctype html>" + repeat("<article>", n),
    "json-nested": lambda n: repeat("[", n),
}
WHOLE_FILES |= {
    "html-nested-paragraphs": lambda n: html_articles("x").replace("<p>x</p>", repeat("<p><span>x", n)),
    "html-links-under-deep-divs": lambda n: html_articles("x").replace(
        "<p>x</p>", "<div>" * (n // 20) + repeat('<a href="/papers/1">1</a>', n // 2)
    ),
}
