"""The parts of a digest made per subscriber or per paper without a template: a paper's view and its block's
template context, and the overflow list (papers past the size budget, by title).
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from typing import Any

from django.utils.safestring import mark_safe

from newsletter import links
from newsletter.digest_wording import why_words
from newsletter.matching import Explanation
from newsletter.plain_text import wrapped
from newsletter.services.rendering.shell import PaperView, slot_markers
from newsletter.services.rendering.skeletons import unslotted

# The overflow list is assembled per subscriber, after inlining: its few styles are written inline here.
_SECTION_STYLE = (
    "font-size: 13px; letter-spacing: .06em; text-transform: uppercase; color: #5f6368; margin: 24px 0 4px;"
)


_ITEM_STYLE = "margin: 4px 0;"


_LINK_STYLE = "color: #0b57d0;"


_AUTHORS_SHOWN = 4


def paper_view(paper: Any) -> PaperView:
    authors = ", ".join(paper.authors[:_AUTHORS_SHOWN]) + (" et al." if len(paper.authors) > _AUTHORS_SHOWN else "")
    url = links.absolute(paper.get_absolute_url())
    fields = (paper.title, paper.abstract, authors, url, paper.editor_note)
    return PaperView(paper.pk, *(unslotted(value) for value in fields))


def block_context(paper: PaperView, explanation: Explanation | None, feedback_urls: tuple[str, str]) -> dict[str, Any]:
    title = [(unslotted(t), lit) for t, lit in explanation.title] if explanation else [(paper.title, False)]
    snippet = (
        [(unslotted(t), lit) for t, lit in explanation.snippet]
        if explanation and explanation.snippet
        else [(trim(paper.abstract), False)]
    )
    return {
        "slots": slot_markers(),
        "url": paper.url,
        "authors": paper.authors,
        "title": title,
        "snippet": snippet,
        "title_text": paper.title,
        "snippet_text": "".join(f"*{text}*" if lit else text for text, lit in snippet),
        "words": why_words(explanation.words) if explanation else "",
        "related": explanation is not None and explanation.kind == "related",
        # With the digest's token in the slot: the links of this paper (see links.feedback_token).
        # SITE_URL, a reversed path and an int: no reader's text.
        "more_like_this_url": mark_safe(feedback_urls[0]),
        "not_for_me_url": mark_safe(feedback_urls[1]),
    }


def trim(text: str, limit: int = 320) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def overflow_html(papers: list[PaperView], *, view: str, room: int) -> str:
    """The papers that did not fit as full blocks, by title while `room` bytes last, then counted."""
    if not papers:
        return ""
    rows: list[str] = []
    room -= 600  # the heading, the list tags and the "and N more" line
    for paper in papers:
        link = f'<a href="{escape(paper.url)}" style="{_LINK_STYLE}">{escape(paper.title)}</a>'
        row = f'<li style="{_ITEM_STYLE}">{link}</li>'
        if len(row) > room:
            break
        rows.append(row)
        room -= len(row)
    rest = len(papers) - len(rows)
    tail = f'<p>…and {rest} more: <a href="{escape(view)}">see them all in your browser</a>.</p>' if rest else ""
    return f'<p class="section" style="{_SECTION_STYLE}">More matches</p><ul class="more">{"".join(rows)}</ul>{tail}'


def overflow_text(papers: list[PaperView]) -> str:
    if not papers:
        return ""
    return "\nMORE MATCHES\n" + "".join([_overflow_line(p.title, p.url) for p in papers])


@lru_cache(maxsize=50_000)  # the same papers overflow in many digests; a title is wrapped once
def _overflow_line(title: str, url: str) -> str:
    return f"* {wrapped(title)}\n  {url}\n"


NO_LABELS: dict[str, str] = {}
SHORT = 40  # interests this long or shorter fit on the line of a plain-text block as they are


def wrapped_after(before: str, text: str) -> str:
    """`text` wrapped where it continues the last line of `before` (a long list of interests)."""
    return wrapped(text, column=len(before) - before.rfind("\n") - 1)
