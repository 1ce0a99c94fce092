"""Digest rendering: shared parts once per edition, per subscriber only assembly.

The digest templates are ordinary Django templates. What differs per subscriber is rendered as a *slot*
marker ("⟦papers⟧"); the rendered, CSS-inlined shell is split on its markers once, and each subscriber's
digest is the shell's literal parts joined with their own escaped values.

Each paper's block is rendered and inlined once per edition too, as a *skeleton* with holes for what depends
on the interest that matched (the highlighted title and snippet, the words found). A (paper, interest) block
is the skeleton with those filled in by string joins, and is reused for every subscriber it matched. The
template path (render, inline) stays as the reference: it builds the first block of every paper to check the
skeleton against, and any block whose text the inliner might rewrite (control characters and the like).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cache
from html import escape
from typing import Any

import css_inline
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from newsletter import links
from newsletter.emails import inline_css, one_line
from newsletter.matching import Explanation, Match, PaperIndex
from newsletter.models import Edition, EditionPaper, Subscriber
from newsletter.selectors import paper_index_build
from newsletter.services.explanations import digest_explanations_after
from newsletter.services.indexing import interest_matches

logger = logging.getLogger(__name__)

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
# Text the CSS inliner writes back exactly as _inline_text does. Its HTML parser rewrites the rest (CR, NUL,
# other control characters, noncharacters), so a block with any of those is built by the template path.
_INLINER_SAFE_TEXT = re.compile(r"[^\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff⟦⟧]*")
# Selectors under which an element's style depends on its siblings or content: a skeleton probed with two
# highlights could then differ from a block with one or three, so such a style sheet disables skeletons.
_STRUCTURAL_CSS = re.compile(r":(?:first|last|only|nth)-|:empty|:has|:not|:is|:where|[+~]")
# Memo sizes (entries), bounds on memory; on overflow a memo starts over. A (paper, interest) block is
# ~2 KB and the pairs are at most the matches of the distinct interests: ~320,000 for a day of 287 papers
# and 49,000 distinct interests, 700 MB. An interest's explanations are ~6 KB; evicting them while blocks
# are still being built would recompute them (1 ms each), so that bound is well above a day's interests.
_BLOCKS_LIMIT = 500_000
_MATCHES_LIMIT = 100_000
_MEMO_LIMIT = 200_000  # subjects and escaped interest lists: small strings


class _LongLivedMemo(dict):
    """A memo dict that the garbage collector never untracks.

    CPython untracks a plain dict whose keys and values are all untracked (tuples of strings, once a collection
    has seen them), then tracks it again in the youngest generation as soon as a new tuple key arrives. A send
    worker's block memo was so put back among the collected objects by every batch, and walked whole by each
    collection after it: 10 ms a batch at 130,000 entries, growing with it. A subclass is never untracked, so
    once gc.freeze() has set it aside (see sending._gc_settle) it stays there.
    """

    __slots__ = ()


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

    __slots__ = ("parts", "size")

    def __init__(self, rendered: str) -> None:
        self._set_parts(_SLOT_PATTERN.split(rendered))  # literal, slot name, literal, slot name, ...

    @classmethod
    def of(cls, parts: list[str]) -> Shell:
        """A shell from parts already split (literal, slot name, literal, ...)."""
        shell = cls.__new__(cls)
        shell._set_parts(parts)
        return shell

    def _set_parts(self, parts: list[str]) -> None:
        self.parts = parts
        self.size = sum(len(part) for part in parts)  # slot names included: the size budget always counted them

    def fill(self, values: dict[str, str]) -> str:
        parts = self.parts
        return "".join(part if i % 2 == 0 else values[part] for i, part in enumerate(parts))


@cache  # one dict, read by every block context: never changed by its readers
def _slot_markers() -> dict[str, str]:
    return {name: mark_safe(f"⟦{name}⟧") for name in SLOTS}  # fixed markers, no user data


# A (paper, interest) block as digests use it: its HTML before and after the interests it matched, the same for
# its text, and the length of the HTML around them.
_Block = tuple[str, str, str, str, int]


def _block_around_interests(html: Shell, text: Shell) -> _Block:
    """The block's two parts around its one interests slot, which the digest_paper templates must have."""
    if html.parts[1::2] != ["interests"] or text.parts[1::2] != ["interests"]:
        raise ValueError("the digest_paper templates must show {{ slots.interests }} exactly once")
    before, after = html.parts[0], html.parts[2]
    return before, after, text.parts[0], text.parts[2], len(before) + len(after)


@dataclass(frozen=True, slots=True)
class _Skeleton:
    """One paper's block, rendered and inlined once, cut around what depends on the interest that matched."""

    html: tuple[str, str, str, str, str]  # before the title, after it, after the snippet, after interests, after words
    title_mark: str  # the opening <mark ...> tag as the inliner wrote it, in the title
    snippet_mark: str  # the same, in the snippet
    text: tuple[str, str, str, str]  # before the snippet text, after it, after the interests, after the words
    text_bare: tuple[str, str, str]  # without a snippet text: before the interests, after them, after the words


@dataclass
class DigestRenderer:
    """Renders the digests of one coverage (the editions after `covers_after` through `edition`)."""

    edition: Edition
    papers: dict[int, PaperView]
    picks: list[PaperView]
    period_label: str
    index: PaperIndex | None = None
    _matches: dict[str, dict[Any, Match]] = field(default_factory=dict)
    _stored: dict[tuple[int, str], Explanation] | None = None  # the edition's, loaded on the first block
    _stored_through: int = 0  # the highest explanation id read
    _related: tuple[str, str] | None = None  # the "Related to your interests" heading (HTML, text), rendered once
    _stored_stale: bool = False  # more may have been stored since: look again for a pair not found
    _blocks: dict[tuple[int, str], _Block] = field(default_factory=_LongLivedMemo)
    _skeletons: dict[int, _Skeleton | None] = field(default_factory=dict)
    _checked: set[int] = field(default_factory=set)  # papers whose skeleton was checked against the templates
    _skeletons_on: bool | None = None  # None: not decided yet (it depends on the style sheet)
    _escaped: dict[str, str] = field(default_factory=dict)
    _subjects: dict[tuple[int, str], str] = field(default_factory=_LongLivedMemo)
    _shells: tuple[Shell, Shell] | None = None
    _css: str = ""

    @classmethod
    def for_coverage(cls, *, edition: Edition, covers_after_id: int | None) -> DigestRenderer:
        entries = EditionPaper.objects.filter(edition__issue_date__lte=edition.issue_date).select_related("paper")
        if covers_after_id is not None:
            after = Edition.objects.get(pk=covers_after_id)
            entries = entries.filter(edition__issue_date__gt=after.issue_date)
        entries = entries.filter(paper__is_hidden=False).order_by("edition__issue_date", "-is_featured", "position")
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
        self,
        *,
        delivery_id: int,
        subscriber: Subscriber,
        items: list[dict[str, Any]],
        links_at: tuple[str, str] | None = None,
    ) -> RenderedDigest:
        """The digest of one subscriber: `items` are the delivery's papers, best first. `links_at`:
        `links.reverse_state()` as read in this thread, for a batch of digests."""
        items = [item for item in items if item["paper_id"] in self.papers]
        html_shell, text_shell = self._shell()
        html_papers, text_papers, overflow, used = self._paper_blocks(items)
        interests = ", ".join(subscriber.interests)
        signed = links.digest_links(delivery_id=delivery_id, subscriber=subscriber, at=links_at)
        view = signed.view
        common = {
            "heading": f"{len(items)} new paper{'s' if len(items) != 1 else ''} for you",
            "manage_url": signed.manage,
            "unsubscribe_url": signed.unsubscribe,
            "view_url": view,
        }
        more_html = _overflow_html(overflow, view=view, room=HTML_BUDGET_BYTES - used)
        html = html_shell.fill(
            {**{k: escape(v) for k, v in common.items()}, "interests": escape(interests),
             "papers": html_papers, "more": more_html}
        )  # fmt: skip
        text = text_shell.fill(
            {
                **common,
                "interests": interests,
                "papers": text_papers,
                "more": _overflow_text(overflow),
            }
        )
        best_title = self.papers[items[0]["paper_id"]].title if items else ""
        headers = {**signed.headers, "List-Id": settings.PAPERBOY_LIST_ID}
        return RenderedDigest(self._subject(len(items), best_title), text, html, headers, len(items))

    def _paper_blocks(self, items: list[dict[str, Any]]) -> tuple[str, str, list[PaperView], int]:
        """The full blocks that fit the HTML budget (HTML, text), the papers left over, and the HTML size so far.

        Per item only references are appended; each part is joined once, with no string built per block.
        """
        html_parts: list[str] = []
        text_parts: list[str] = []
        overflow: list[PaperView] = []
        size = self._shell()[0].size
        limit = HTML_BUDGET_BYTES - OVERFLOW_RESERVE_BYTES
        papers, blocks, escape_memo = self.papers, self._blocks, self._escape
        # ~26 items a digest: the loop is written out (no call per block), the hottest of the per-subscriber work.
        heading = False
        for item in items:
            paper_id = item["paper_id"]
            if overflow or size > limit:
                overflow.append(papers[paper_id])
                continue
            if not heading and item.get("related"):  # words first; related ones after, under their heading
                heading = True
                related_html, related_text = self._related_heading()
                html_parts.append(related_html)
                text_parts.append(related_text)
                size += len(related_html)
            interests = item["interests"]
            first = interests[0]
            block = blocks.get((paper_id, first)) or self._block(paper_id, first)
            matched = first if len(interests) == 1 else ", ".join(interests)
            escaped = escape_memo(matched)
            html_parts += (block[0], escaped, block[1])
            text_parts += (block[2], matched, block[3])
            size += block[4] + len(escaped)
        return "".join(html_parts), "".join(text_parts), overflow, size

    def _related_heading(self) -> tuple[str, str]:
        if self._related is None:
            html = self._inline_fragment(render_to_string("newsletter/email/digest_related.html", {}))
            self._related = (html, render_to_string("newsletter/email/digest_related.txt", {}))
        return self._related

    def _escape(self, text: str) -> str:
        escaped = self._escaped.get(text)
        if escaped is None:
            if len(self._escaped) >= _MEMO_LIMIT:
                self._escaped.clear()
            escaped = self._escaped[text] = escape(text)
        return escaped

    def _subject(self, count: int, best_title: str) -> str:
        """The subject line, rendered once per (count, best title): many digests share one."""
        key = (count, best_title)
        subject = self._subjects.get(key)
        if subject is None:
            if len(self._subjects) >= _MEMO_LIMIT:
                self._subjects.clear()
            context = {"count": count, "best_title": best_title}
            subject = self._subjects[key] = one_line(render_to_string("newsletter/email/digest.subject.txt", context))
        return subject

    # --- shared, rendered once ----------------------------------------------------------------------------

    def _shell(self) -> tuple[Shell, Shell]:
        if self._shells is None:
            context = {"slots": _slot_markers(), "picks": self.picks, "period_label": self.period_label}
            html = inline_css(render_to_string("newsletter/email/digest.html", context))
            text = render_to_string("newsletter/email/digest.txt", context)
            self._shells = (Shell(html), Shell(text))
        return self._shells

    def _block(self, paper_id: int, interest: str) -> _Block:
        key = (paper_id, interest)
        if key not in self._blocks:
            if len(self._blocks) >= _BLOCKS_LIMIT:
                self._blocks.clear()
            self._blocks[key] = _block_around_interests(*self._block_build(paper_id, interest))
        return self._blocks[key]

    def _block_build(self, paper_id: int, interest: str) -> tuple[Shell, Shell]:
        """From the paper's skeleton; the first one of each paper is also rendered by the templates, and compared."""
        paper = self.papers[paper_id]
        context = _block_context(paper, self._explanation(interest, paper_id))
        if context["related"]:  # the semantic layer's picks (a few per digest): always by the templates
            return self._block_rendered(context)
        skeleton = self._skeleton(paper)
        joined = _block_joined(skeleton, context) if skeleton is not None else None
        if joined is not None and paper_id in self._checked:
            return joined
        rendered = self._block_rendered(context)
        if joined is not None:
            self._checked.add(paper_id)
            if [shell.parts for shell in joined] != [shell.parts for shell in rendered]:
                logger.warning("digest block skeleton differs from its template rendering; using the templates")
                self._skeletons_on = False
        return rendered

    def _block_rendered(self, context: dict[str, Any]) -> tuple[Shell, Shell]:
        """The reference path: both templates rendered, the HTML inlined."""
        html = render_to_string("newsletter/email/digest_paper.html", context)
        text = render_to_string("newsletter/email/digest_paper.txt", context)
        return Shell(self._inline_fragment(html)), Shell(text)

    def _skeleton(self, paper: PaperView) -> _Skeleton | None:
        if self._skeletons_on is None:
            self._skeletons_on = not _STRUCTURAL_CSS.search(self._styles())
        if not self._skeletons_on:
            return None
        if paper.id not in self._skeletons:
            self._skeletons[paper.id] = self._skeleton_probe(paper)
        return self._skeletons[paper.id]

    def _skeleton_probe(self, paper: PaperView) -> _Skeleton | None:
        """Render the block with markers for the title, snippet and words, two highlights in each; cut there."""
        title = [("⟦title_a⟧", False), ("⟦title_b⟧", True), ("⟦title_c⟧", False), ("⟦title_d⟧", True)]
        snippet = [("⟦snippet_a⟧", False), ("⟦snippet_b⟧", True), ("⟦snippet_c⟧", False), ("⟦snippet_d⟧", True)]
        probe = {**_block_context(paper, None), "title": title, "snippet": snippet, "words": "⟦words⟧"}
        html = _SLOT_PATTERN.split(self._inline_fragment(render_to_string("newsletter/email/digest_paper.html", probe)))
        text = _SLOT_PATTERN.split(
            render_to_string("newsletter/email/digest_paper.txt", {**probe, "snippet_text": "⟦snippet_text⟧"})
        )
        bare = _SLOT_PATTERN.split(render_to_string("newsletter/email/digest_paper.txt", {**probe, "snippet_text": ""}))
        names = [
            "title_a",
            "title_b",
            "title_c",
            "title_d",
            "snippet_a",
            "snippet_b",
            "snippet_c",
            "snippet_d",
            "interests",
            "words",
        ]
        lit = html[0::2]
        close = "</mark>"
        if (
            html[1::2] != names
            or text[1::2] != ["snippet_text", "interests", "words"]
            or bare[1::2] != ["interests", "words"]
            or not (lit[1] == lit[3] and lit[1].startswith("<mark") and lit[2] == close and lit[4].startswith(close))
            or not (lit[5] == lit[7] and lit[5].startswith("<mark") and lit[6] == close and lit[8].startswith(close))
        ):
            return None  # the templates changed shape: this paper's blocks take the template path
        cut = len(close)
        return _Skeleton(
            html=(lit[0], lit[4][cut:], lit[8][cut:], lit[9], lit[10]),
            title_mark=lit[1],
            snippet_mark=lit[5],
            text=(text[0], text[2], text[4], text[6]),
            text_bare=(bare[0], bare[2], bare[4]),
        )

    def _explanation(self, interest: str, paper_id: int) -> Explanation | None:
        """Why `paper_id` matched `interest`: as planning stored it for the edition, else from the matcher."""
        if self._stored is None:
            self._stored = {}
            self._stored_more()
        stored = self._stored.get((paper_id, interest))
        if stored is None and self._stored_stale:
            self._stored_more()
            stored = self._stored.get((paper_id, interest))
        if stored is not None:
            return stored
        match = self._match(interest, paper_id)
        return match.explanation if match is not None else None

    def _stored_more(self) -> None:
        assert self._stored is not None
        found, self._stored_through = digest_explanations_after(
            edition_id=self.edition.pk, after_id=self._stored_through
        )
        self._stored.update(found)
        self._stored_stale = False

    def explanations_refresh(self) -> None:
        """Planning may have stored more of the edition's explanations since they were read (a chunk of the
        same run, or a later run: another time zone's hour): the next pair not found is looked for again, in
        the rows added since. A renderer lives as long as its process; rows claimed after this call were
        committed with their explanations before it, so none of them falls back to the matcher."""
        self._stored_stale = True

    def _match(self, interest: str, paper_id: int) -> Match | None:
        """The matcher's explanation of why `paper_id` matched `interest`, computed once per interest.

        For the pairs planning did not store: rows planned before explanations were stored, picks an editor
        merged into another paper, previews.
        """
        if interest not in self._matches:
            if self.index is None:
                rows = [(p.id, p.title, p.abstract) for p in self.papers.values()]
                self.index = paper_index_build(papers=rows)
            if len(self._matches) >= _MATCHES_LIMIT:
                self._matches.clear()
            self._matches[interest] = {m.paper_id: m for m in interest_matches(index=self.index, interest=interest)}
        return self._matches[interest].get(paper_id)

    def _styles(self) -> str:
        if not self._css:
            self._css = render_to_string("newsletter/email/_styles.css")
        return self._css

    def _inline_fragment(self, html: str) -> str:
        return css_inline.inline_fragment(html, self._styles())


def _block_joined(skeleton: _Skeleton, context: dict[str, Any]) -> tuple[Shell, Shell] | None:
    """The block from the skeleton; None when some text is one the inliner would not write back as is."""
    title, snippet, words, snippet_text = (
        context["title"],
        context["snippet"],
        context["words"],
        context["snippet_text"],
    )
    safe = _INLINER_SAFE_TEXT.fullmatch
    if not (safe(words) and safe(snippet_text) and all(safe(t) for t, _ in title) and all(safe(t) for t, _ in snippet)):
        return None
    h = skeleton.html
    html_before = h[0] + _marked(title, skeleton.title_mark) + h[1] + _marked(snippet, skeleton.snippet_mark) + h[2]
    html = Shell.of([html_before, "interests", h[3] + _inline_text(words) + h[4]])
    if snippet_text:
        t = skeleton.text
        text = Shell.of([t[0] + snippet_text + t[1], "interests", t[2] + words + t[3]])
    else:
        b = skeleton.text_bare
        text = Shell.of([b[0], "interests", b[1] + words + b[2]])
    return html, text


def _marked(segments: list[tuple[str, bool]], mark: str) -> str:
    return "".join(f"{mark}{_inline_text(text)}</mark>" if lit else _inline_text(text) for text, lit in segments)


def _inline_text(text: str) -> str:
    """Text as the CSS inliner writes it back after parsing Django's escaping of it (for inliner-safe text)."""
    return text.replace("&", "&amp;").replace("\xa0", "&nbsp;").replace("<", "&lt;").replace(">", "&gt;")


def _unslotted(text: str) -> str:
    """Paper text can never pose as a slot marker."""
    return text.replace("⟦", "[").replace("⟧", "]")


def _paper_view(paper: Any) -> PaperView:
    authors = ", ".join(paper.authors[:_AUTHORS_SHOWN]) + (" et al." if len(paper.authors) > _AUTHORS_SHOWN else "")
    url = links.absolute(paper.get_absolute_url())
    fields = (paper.title, paper.abstract, authors, url, paper.editor_note)
    return PaperView(paper.pk, *(_unslotted(value) for value in fields))


def _block_context(paper: PaperView, explanation: Explanation | None) -> dict[str, Any]:
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
        "related": explanation is not None and explanation.kind == "related",
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
        link = f'<a href="{escape(paper.url)}" style="{_LINK_STYLE}">{escape(paper.title)}</a>'
        row = f'<li style="{_ITEM_STYLE}">{link}</li>'
        if len(row) > room:
            break
        rows.append(row)
        room -= len(row)
    rest = len(papers) - len(rows)
    tail = f'<p>…and {rest} more: <a href="{escape(view)}">see them all in your browser</a>.</p>' if rest else ""
    return f'<p class="section" style="{_SECTION_STYLE}">More matches</p><ul class="more">{"".join(rows)}</ul>{tail}'


def _overflow_text(papers: list[PaperView]) -> str:
    if not papers:
        return ""
    return "\nMORE MATCHES\n" + "".join(f"* {p.title}\n  {p.url}\n" for p in papers)
