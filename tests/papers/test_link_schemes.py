"""Only http(s) URLs are kept as links, by every parser and for every link field (issue 15, item 1).

A dump is third-party data: a `javascript:` (or `data:`, `vbscript:` …) link would run in a reader's browser
on click. Pages, emails and the admin are checked in tests/test_link_rendering.py.
"""

from __future__ import annotations

import html
import json
from datetime import date

import pytest

from papers.parsers import ParsedDump, ParsedPaper, parse_dump
from papers.parsers.urls import http_url

TODAY = date(2026, 11, 24)

# Each is refused. Browsers drop leading/trailing controls and spaces and tabs/newlines anywhere in an href, and
# read the scheme in any case, so each of these variants is as dangerous as the plain one.
UNSAFE = {
    "javascript": "javascript:alert(document.domain)",
    "mixed-case": "JaVaScRiPt:alert(document.domain)",
    "leading-space": "   javascript:alert(1)",
    "leading-control": "\x01\x1fjavascript:alert(1)",
    "tab-inside": "java\tscript:alert(1)",
    "newline-inside": "java\nscript:alert(1)",
    "data": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data-upper": "DATA:text/html,<script>alert(1)</script>",
    "vbscript": "vbscript:msgbox(1)",
    "file": "file:///etc/passwd",
    "protocol-relative": "//evil.example/x",
    "relative": "/papers/../admin/",
    "no-host": "https://",
    "http-without-slashes": "http:evil.example",
    "https-with-a-tab": "https://exa\tmple.org/",
    "not-a-string-shape": "[object Object]",
}
# What XML can carry at all (XML 1.0 has no C0 controls but tab, newline and carriage return).
UNSAFE_IN_XML = {name: url for name, url in UNSAFE.items() if name != "leading-control"}
SAFE = {
    "https://github.com/org/repo": "https://github.com/org/repo",
    "HTTP://Example.org/a?b=c#d": "HTTP://Example.org/a?b=c#d",
    "  https://example.org/page \n": "https://example.org/page",
    "http://[::1]:8000/x": "http://[::1]:8000/x",
}


@pytest.mark.parametrize("value", list(UNSAFE.values()), ids=list(UNSAFE))
def test_http_url_refuses_every_other_scheme_and_its_disguises(value: str) -> None:
    assert http_url(value) is None


@pytest.mark.parametrize(("value", "expected"), list(SAFE.items()))
def test_http_url_accepts_absolute_http_urls_without_their_surrounding_blanks(value: str, expected: str) -> None:
    assert http_url(value) == expected


@pytest.mark.parametrize("value", [None, 3, ["https://example.org"], {"href": "https://example.org"}, ""])
def test_http_url_refuses_what_is_not_a_string(value: object) -> None:
    assert http_url(value) is None


def test_a_parsed_paper_cannot_hold_a_link_of_another_scheme() -> None:
    with pytest.raises(ValueError, match="github"):
        ParsedPaper(title="T", abstract="A", rank=1, links={"github": "javascript:alert(1)"})


# --- each parser, each field, each scheme ------------------------------------------------------------------


def _api_item(**paper: object) -> dict[str, object]:
    return {"paper": {"id": "2501.00001", "title": "A Title", "summary": "An abstract.", **paper}}


def hf_api_json(field: str, url: str) -> str:
    return json.dumps([_api_item(**{field: url})])


def hf_html(field: str, url: str) -> str:
    props = html.escape(json.dumps({"dailyPapers": [_api_item(**{field: url})]}), quote=True)
    return f'<html><body><div class="SVELTE_HYDRATER contents" data-target="DailyPapers" data-props="{props}"></div>'


def hf_jsonfeed(field: str, url: str) -> str:
    item = {"id": "2501.00001", "title": "A Title", "content_text": "An abstract.", field: url}
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [item]})


def arxiv_atom(field: str, url: str) -> str:
    attrs = ' title="pdf" type="application/pdf"' if field == "pdf" else ' rel="alternate" type="text/html"'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        "<entry><id>http://arxiv.org/abs/2501.00001v1</id><title>A Title</title><summary>An abstract.</summary>"
        f'<link href="{html.escape(url, quote=True)}"{attrs}/></entry>\n</feed>\n'
    )


def arxiv_rss(field: str, url: str) -> str:
    return (
        "<rss version='2.0'><channel>\n<item><title>A Title</title>"
        f"<link>{html.escape(url, quote=False)}</link>"
        "<description>arXiv:2501.00001v1 Announce Type: new\nAbstract: An abstract.</description>"
        "</item></channel></rss>"
    )


# (format maker, the source's field, the link key it is stored under, the schemes the format can carry)
URL_FIELDS = [
    (hf_api_json, "githubRepo", "github", UNSAFE),
    (hf_api_json, "projectPage", "project", UNSAFE),
    (hf_html, "githubRepo", "github", UNSAFE),
    (hf_html, "projectPage", "project", UNSAFE),
    (hf_jsonfeed, "url", "paper", UNSAFE),
    (arxiv_atom, "alternate", "arxiv", UNSAFE_IN_XML),
    (arxiv_atom, "pdf", "pdf", UNSAFE_IN_XML),
    (arxiv_rss, "link", "arxiv", UNSAFE_IN_XML),
]
CASES = [
    pytest.param(make, field, key, url, id=f"{make.__name__}-{field}-{name}")
    for make, field, key, schemes in URL_FIELDS
    for name, url in schemes.items()
]


def _parse(text: str) -> ParsedDump:
    return parse_dump(text.encode(), today=TODAY)


@pytest.mark.parametrize(("make", "field", "key", "url"), CASES)
def test_no_parser_keeps_a_link_that_is_not_http(make: object, field: str, key: str, url: str) -> None:
    dump = _parse(make(field, url))  # type: ignore[operator]

    paper = dump.items[0]
    assert paper.title == "A Title"  # the paper is kept; only the link goes
    assert key not in paper.links, paper.links
    assert all(http_url(value) == value for value in paper.links.values())
    assert any(f"the {key} link" in warning and "not an http(s) URL" in warning for warning in dump.warnings)


@pytest.mark.parametrize(("make", "field", "key"), [(make, field, key) for make, field, key, _ in URL_FIELDS])
def test_every_parser_keeps_an_https_link_of_each_field(make: object, field: str, key: str) -> None:
    url = "https://arxiv.org/abs/2501.00001" if key in ("paper", "arxiv", "pdf") else "https://example.org/x"

    paper = _parse(make(field, f"  {url}  ")).items[0]  # type: ignore[operator]

    assert paper.links[key] == url


def test_an_atom_entry_keeps_its_good_link_when_a_bad_one_comes_first() -> None:
    text = arxiv_atom("alternate", "javascript:alert(1)").replace(
        "</entry>", '<link href="https://arxiv.org/abs/2501.00001v1" rel="alternate"/></entry>'
    )

    assert _parse(text).items[0].links["arxiv"] == "https://arxiv.org/abs/2501.00001v1"
