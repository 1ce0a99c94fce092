"""Digest rendering: shared parts once per edition, per subscriber only assembly.

The digest templates are ordinary Django templates. What differs per subscriber is rendered as a *slot*
marker ("⟦papers⟧"); the rendered, CSS-inlined shell is split on its markers once, and each subscriber's
digest is the shell's literal parts joined with their own escaped values. Each paper block is rendered and
inlined once per (paper, interest) and reused for every subscriber it matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from typing import Any

import css_inline
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from newsletter import links
from newsletter.emails import inline_css, one_line
from newsletter.matching import Match, PaperIndex
from newsletter.models import Edition, EditionPaper, Subscriber
from newsletter.services.matching import interest_matches, paper_index_build
from newsletter.tokens import Purpose, token_make

# Gmail clips a message over 102 KB; keep the HTML part below this. Full paper blocks stop where the last
# OVERFLOW_RESERVE_BYTES begin; the rest are listed by title while they fit, then counted ("and 12 more").
HTML_BUDGET_BYTES = 90_000
OVERFLOW_RESERVE_BYTES = 15_000
SLOTS = ("heading", "papers", "more", "interests", "manage_url", "unsubscribe_url", "view_url")
_SLOT_PATTERN = re.compile("⟦([a-z_]+)⟧")
# The overflow list is assembled per subscriber, after inlining: its few styles are written inline here.
_SECTION_STYLE = (
    "font-size: 13px; letter-spacing: .06em; text-transform: uppercase; color: #5f6368; margin: 24px 0 4px;"
)
_ITEM_STYLE = "margin: 4px 0;"
_LINK_STYLE = "color: #0b57d0;"
_AUTHORS_SHOWN = 4


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    paper_count: int


@dataclass(frozen=True, slots=True)
class PaperView:
    id: int
    title: str
    abstract: str
    authors: str
    url: str
    note: str


class Shell:
    """A rendered template with slot markers, split once, filled per subscriber with a join."""

    def __init__(self, rendered: str) -> None:
        self.parts = _SLOT_PATTERN.split(rendered)  # literal, slot name, literal, slot name, ...

    def fill(self, values: dict[str, str]) -> str:
        parts = self.parts
        return "".join(part if i % 2 == 0 else values[part] for i, part in enumerate(parts))


def _slot_markers() -> dict[str, str]:
    return {name: mark_safe(f"⟦{name}⟧") for name in SLOTS}  # noqa: S308 - fixed markers, no user data


@dataclass
class DigestRenderer:
    """Renders the digests of one coverage (the editions after `covers_after` through `edition`)."""

    edition: Edition
    papers: dict[int, PaperView]
    picks: list[PaperView]
    period_label: str
    index: PaperIndex | None = None
    _matches: dict[str, dict[Any, Match]] = field(default_factory=dict)
    _blocks: dict[tuple[int, str], tuple[Shell, Shell]] = field(default_factory=dict)
    _shells: tuple[Shell, Shell] | None = None
    _css: str = ""

    @classmethod
    def for_coverage(cls, *, edition: Edition, covers_after_id: int | None) -> DigestRenderer:
        entries = EditionPaper.objects.filter(edition__issue_date__lte=edition.issue_date).select_related(
            "paper"
        )
        if covers_after_id is not None:
            after = Edition.objects.get(pk=covers_after_id)
            entries = entries.filter(edition__issue_date__gt=after.issue_date)
        entries = entries.filter(paper__is_hidden=False).order_by(
            "edition__issue_date", "-is_featured", "position"
        )
        papers: dict[int, PaperView] = {}
        picks: list[PaperView] = []
        for entry in entries:
            view = papers.setdefault(entry.paper_id, _paper_view(entry.paper))
            if entry.is_featured and view not in picks:
                picks.append(view)
        label = f"{edition.issue_date:%B} {edition.issue_date.day}, {edition.issue_date.year}"
        return cls(edition=edition, papers=papers, picks=picks, period_label=label)

    # --- per subscriber ---------------------------------------------------------------------------------

    def render(
        self, *, delivery_id: int, subscriber: Subscriber, items: list[dict[str, Any]]
    ) -> RenderedDigest:
        """The digest of one subscriber: `items` are the delivery's papers, best first."""
        items = [item for item in items if item["paper_id"] in self.papers]
        html_shell, text_shell = self._shell()
        html_blocks, text_blocks, overflow = self._paper_blocks(items)
        interests = ", ".join(subscriber.interests)
        common = {
            "heading": f"{len(items)} new paper{'s' if len(items) != 1 else ''} for you",
            "manage_url": links.manage_url(subscriber),
            "unsubscribe_url": links.unsubscribe_url(subscriber),
            "view_url": view_url(delivery_id=delivery_id, subscriber=subscriber),
        }
        used = sum(len(part) for part in html_shell.parts) + sum(len(block) for block in html_blocks)
        more_html = _overflow_html(overflow, view=common["view_url"], room=HTML_BUDGET_BYTES - used)
        html = html_shell.fill(
            {**{k: escape(v) for k, v in common.items()}, "interests": escape(interests),
             "papers": "".join(html_blocks), "more": more_html}
        )  # fmt: skip
        text = text_shell.fill(
            {
                **common,
                "interests": interests,
                "papers": "".join(text_blocks),
                "more": _overflow_text(overflow),
            }
        )
        best_title = self.papers[items[0]["paper_id"]].title if items else ""
        subject = render_to_string(
            "newsletter/email/digest.subject.txt", {"count": len(items), "best_title": best_title}
        )
        headers = {**links.list_unsubscribe_headers(subscriber), "List-Id": settings.PAPERBOY_LIST_ID}
        return RenderedDigest(one_line(subject), text, html, headers, len(items))

    def _paper_blocks(self, items: list[dict[str, Any]]) -> tuple[list[str], list[str], list[PaperView]]:
        html_blocks: list[str] = []
        text_blocks: list[str] = []
        overflow: list[PaperView] = []
        size = sum(len(part) for part in self._shell()[0].parts)
        for item in items:
            paper = self.papers[item["paper_id"]]
            if overflow or size > HTML_BUDGET_BYTES - OVERFLOW_RESERVE_BYTES:
                overflow.append(paper)
                continue
            html_block, text_block = self._block(paper.id, item["interests"][0])
            matched = ", ".join(item["interests"])
            html_blocks.append(html_block.fill({"interests": escape(matched)}))
            text_blocks.append(text_block.fill({"interests": matched}))
            size += len(html_blocks[-1])
        return html_blocks, text_blocks, overflow

    # --- shared, rendered once ----------------------------------------------------------------------------

    def _shell(self) -> tuple[Shell, Shell]:
        if self._shells is None:
            context = {"slots": _slot_markers(), "picks": self.picks, "period_label": self.period_label}
            html = inline_css(render_to_string("newsletter/email/digest.html", context))
            text = render_to_string("newsletter/email/digest.txt", context)
            self._shells = (Shell(html), Shell(text))
        return self._shells

    def _block(self, paper_id: int, interest: str) -> tuple[Shell, Shell]:
        key = (paper_id, interest)
        if key not in self._blocks:
            paper = self.papers[paper_id]
            match = self._match(interest, paper_id)
            context = _block_context(paper, match)
            html = render_to_string("newsletter/email/digest_paper.html", context)
            text = render_to_string("newsletter/email/digest_paper.txt", context)
            self._blocks[key] = (Shell(self._inline_fragment(html)), Shell(text))
        return self._blocks[key]

    def _match(self, interest: str, paper_id: int) -> Match | None:
        """The matcher's explanation of why `paper_id` matched `interest`, computed once per interest."""
        if interest not in self._matches:
            if self.index is None:
                rows = [(p.id, p.title, p.abstract) for p in self.papers.values()]
                self.index = paper_index_build(papers=rows)
            self._matches[interest] = {
                m.paper_id: m for m in interest_matches(index=self.index, interest=interest)
            }
        return self._matches[interest].get(paper_id)

    def _inline_fragment(self, html: str) -> str:
        if not self._css:
            self._css = render_to_string("newsletter/email/_styles.css")
        return css_inline.inline_fragment(html, self._css)


def view_url(*, delivery_id: int, subscriber: Subscriber) -> str:
    token = token_make(purpose=Purpose.VIEW, subject_id=delivery_id, nonce=subscriber.link_nonce)
    return links.absolute(reverse("newsletter:digest_view", kwargs={"token": token}))


def _unslotted(text: str) -> str:
    """Paper text can never pose as a slot marker."""
    return text.replace("⟦", "[").replace("⟧", "]")


def _paper_view(paper: Any) -> PaperView:
    authors = ", ".join(paper.authors[:_AUTHORS_SHOWN]) + (
        " et al." if len(paper.authors) > _AUTHORS_SHOWN else ""
    )
    url = links.absolute(paper.get_absolute_url())
    fields = (paper.title, paper.abstract, authors, url, paper.editor_note)
    return PaperView(paper.pk, *(_unslotted(value) for value in fields))


def _block_context(paper: PaperView, match: Match | None) -> dict[str, Any]:
    explanation = match.explanation if match else None
    title = [(_unslotted(t), lit) for t, lit in explanation.title] if explanation else [(paper.title, False)]
    snippet = (
        [(_unslotted(t), lit) for t, lit in explanation.snippet]
        if explanation and explanation.snippet
        else [(_trim(paper.abstract), False)]
    )
    return {
        "slots": _slot_markers(),
        "url": paper.url,
        "authors": paper.authors,
        "title": title,
        "snippet": snippet,
        "title_text": paper.title,
        "snippet_text": "".join(f"*{text}*" if lit else text for text, lit in snippet),
        "words": ", ".join(explanation.words) if explanation else "",
    }


def _trim(text: str, limit: int = 320) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _overflow_html(papers: list[PaperView], *, view: str, room: int) -> str:
    """The papers that did not fit as full blocks, by title while `room` bytes last, then counted."""
    if not papers:
        return ""
    rows: list[str] = []
    room -= 600  # the heading, the list tags and the "and N more" line
    for paper in papers:
        row = f'<li style="{_ITEM_STYLE}"><a href="{escape(paper.url)}" style="{_LINK_STYLE}">{escape(paper.title)}</a></li>'
        if len(row) > room:
            break
        rows.append(row)
        room -= len(row)
    rest = len(papers) - len(rows)
    tail = (
        f'<p>…and {rest} more: <a href="{escape(view)}">see them all in your browser</a>.</p>' if rest else ""
    )
    return f'<p class="section" style="{_SECTION_STYLE}">More matches</p><ul class="more">{"".join(rows)}</ul>{tail}'


def _overflow_text(papers: list[PaperView]) -> str:
    if not papers:
        return ""
    return "\nMORE MATCHES\n" + "".join(f"* {p.title}\n  {p.url}\n" for p in papers)
