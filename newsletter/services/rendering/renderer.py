"""The digest renderer: shared parts once per edition, per subscriber only assembly.

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
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any

import css_inline
from django.conf import settings
from django.template.loader import render_to_string

from newsletter import links
from newsletter.digest_wording import listings_label, shown_count
from newsletter.emails import inline_css, one_line
from newsletter.matching import Explanation, Match, PaperIndex
from newsletter.models import Edition, EditionPaper, Subscriber
from newsletter.paper_indexes import paper_index_build
from newsletter.plain_text import wrapped
from newsletter.services.explanations import digest_explanations_after
from newsletter.services.indexing import interest_matches
from newsletter.services.rendering.cache import BLOCKS_LIMIT, MATCHES_LIMIT, MEMO_LIMIT, LongLivedMemo
from newsletter.services.rendering.parts import (
    NO_LABELS,
    SHORT,
    block_context,
    overflow_html,
    overflow_text,
    paper_view,
    wrapped_after,
)
from newsletter.services.rendering.shell import (
    Block,
    PaperView,
    RenderedDigest,
    Shell,
    block_around_slots,
    slot_markers,
)
from newsletter.services.rendering.skeletons import (
    STRUCTURAL_CSS,
    Skeleton,
    block_joined,
    skeleton_probe,
)

logger = logging.getLogger(__name__)

logger = logging.getLogger(__name__)

# Gmail clips a message over 102 KB; keep the HTML part below this. Full paper blocks stop where the last
# OVERFLOW_RESERVE_BYTES begin; the rest are listed by title while they fit, then counted ("and 12 more").
HTML_BUDGET_BYTES = 90_000


OVERFLOW_RESERVE_BYTES = 15_000


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
    _blocks: dict[tuple[int, str], Block] = field(default_factory=LongLivedMemo)
    _skeletons: dict[int, Skeleton | None] = field(default_factory=dict)
    _checked: set[int] = field(default_factory=set)  # papers whose skeleton was checked against the templates
    _skeletons_on: bool | None = None  # None: not decided yet (it depends on the style sheet)
    _escaped: dict[str, str] = field(default_factory=dict)
    _feedback_around: dict[str, tuple[str, str]] = field(default_factory=dict)  # verdict -> URL around the id
    _subjects: dict[tuple[int, str], str] = field(default_factory=LongLivedMemo)
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
        listed: set[date] = set()  # the listings the digest covers (not the date it is sent)
        for entry in entries:
            view = papers.setdefault(entry.paper_id, paper_view(entry.paper))
            listed.add(entry.paper.first_listed_on or entry.paper.first_seen_at.date())
            if entry.is_featured and view not in picks:
                picks.append(view)
        label = listings_label(listed or {edition.issue_date}, this_year=edition.issue_date.year)
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
        labels = subscriber.interest_labels or NO_LABELS  # interests as the reader typed them
        signed = links.digest_links(delivery_id=delivery_id, subscriber=subscriber, at=links_at)
        html_papers, text_papers, overflow, used = self._paper_blocks(items, labels, feedback=signed.feedback)
        interests = ", ".join([labels.get(interest, interest) for interest in subscriber.interests])
        view = signed.view
        shown = shown_count(items, self.picks)  # the editor's picks are shown too
        common = {
            "heading": f"{shown} new paper{'s' if shown != 1 else ''} for you",
            "manage_url": signed.manage,
            "unsubscribe_url": signed.unsubscribe,
            "view_url": view,
            "archive_url": signed.archive,
        }
        more_html = overflow_html(overflow, view=view, room=HTML_BUDGET_BYTES - used)
        html = html_shell.fill(
            {**{k: escape(v) for k, v in common.items()}, "interests": escape(interests),
             "papers": html_papers, "more": more_html}
        )  # fmt: skip
        text = text_shell.fill(
            {
                **common,
                "interests": wrapped(interests, column=0, indent=""),
                "papers": text_papers,
                "more": overflow_text(overflow),
            }
        )
        best_title = self.papers[items[0]["paper_id"]].title if items else ""
        headers = {**signed.headers, "List-Id": settings.PAPERBOY_LIST_ID}
        return RenderedDigest(self._subject(shown, best_title), text, html, headers, len(items))

    def _paper_blocks(
        self, items: list[dict[str, Any]], labels: dict[str, str] | None = None, *, feedback: str = ""
    ) -> tuple[str, str, list[PaperView], int]:
        """The full blocks that fit the HTML budget (HTML, text), the papers left over, and the HTML size so far.
        `feedback`: the digest's token for its papers' feedback links (URL-safe: nothing to escape).

        Per item only references are appended; each part is joined once, with no string built per block.
        """
        html_parts: list[str] = []
        text_parts: list[str] = []
        overflow: list[PaperView] = []
        size = self._shell()[0].size
        limit = HTML_BUDGET_BYTES - OVERFLOW_RESERVE_BYTES
        papers, blocks, escape_memo = self.papers, self._blocks, self._escape
        labels = labels or NO_LABELS
        # ~26 items a digest: the loop is written out (no call per block), the hottest of the per-subscriber work.
        heading = False
        feedback_size = 2 * len(feedback)  # two links a block
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
            if len(interests) == 1:
                matched = labels.get(first, first) if labels else first
            else:
                matched = ", ".join([labels.get(i, i) for i in interests] if labels else interests)
            escaped = escape_memo(matched)
            html_parts += (block[0], escaped, block[1], feedback, block[2], feedback, block[3])
            shown = matched if len(matched) <= SHORT else wrapped_after(block[4], matched)
            text_parts += (block[4], shown, block[5], feedback, block[6], feedback, block[7])
            size += block[8] + len(escaped) + feedback_size
        return "".join(html_parts), "".join(text_parts), overflow, size

    def _related_heading(self) -> tuple[str, str]:
        if self._related is None:
            html = self._inline_fragment(render_to_string("newsletter/email/digest_related.html", {}))
            self._related = (html, render_to_string("newsletter/email/digest_related.txt", {}))
        return self._related

    def _escape(self, text: str) -> str:
        escaped = self._escaped.get(text)
        if escaped is None:
            if len(self._escaped) >= MEMO_LIMIT:
                self._escaped.clear()
            escaped = self._escaped[text] = escape(text)
        return escaped

    def _subject(self, count: int, best_title: str) -> str:
        """The subject line, rendered once per (count, best title): many digests share one."""
        key = (count, best_title)
        subject = self._subjects.get(key)
        if subject is None:
            if len(self._subjects) >= MEMO_LIMIT:
                self._subjects.clear()
            context = {"count": count, "best_title": best_title, "period_label": self.period_label}
            subject = self._subjects[key] = one_line(render_to_string("newsletter/email/digest.subject.txt", context))
        return subject

    # --- shared, rendered once ----------------------------------------------------------------------------

    def _shell(self) -> tuple[Shell, Shell]:
        if self._shells is None:
            context = {"slots": slot_markers(), "picks": self.picks, "period_label": self.period_label}
            html = inline_css(render_to_string("newsletter/email/digest.html", context))
            text = render_to_string("newsletter/email/digest.txt", context)
            self._shells = (Shell(html), Shell(text))
        return self._shells

    def _block(self, paper_id: int, interest: str) -> Block:
        key = (paper_id, interest)
        if key not in self._blocks:
            if len(self._blocks) >= BLOCKS_LIMIT:
                self._blocks.clear()
            self._blocks[key] = block_around_slots(*self._block_build(paper_id, interest))
        return self._blocks[key]

    def _block_build(self, paper_id: int, interest: str) -> tuple[Shell, Shell]:
        """From the paper's skeleton; the first one of each paper is also rendered by the templates, and compared."""
        paper = self.papers[paper_id]
        context = block_context(paper, self._explanation(interest, paper_id), self._feedback_urls(paper.id))
        if context["related"]:  # the semantic layer's picks (a few per digest): always by the templates
            return self._block_rendered(context)
        skeleton = self._skeleton(paper)
        joined = block_joined(skeleton, context) if skeleton is not None else None
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

    def _skeleton(self, paper: PaperView) -> Skeleton | None:
        if self._skeletons_on is None:
            self._skeletons_on = not STRUCTURAL_CSS.search(self._styles())
        if not self._skeletons_on:
            return None
        if paper.id not in self._skeletons:
            self._skeletons[paper.id] = self._skeleton_probe(paper)
        return self._skeletons[paper.id]

    def _skeleton_probe(self, paper: PaperView) -> Skeleton | None:
        return skeleton_probe(
            block_context(paper, None, self._feedback_urls(paper.id)), inline_fragment=self._inline_fragment
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
            if len(self._matches) >= MATCHES_LIMIT:
                self._matches.clear()
            self._matches[interest] = {m.paper_id: m for m in interest_matches(index=self.index, interest=interest)}
        return self._matches[interest].get(paper_id)

    def _feedback_urls(self, paper_id: int) -> tuple[str, str]:
        """The paper's "More like this" and "Not for me" URLs, the digest's token a slot: reversed once per
        renderer (a block is built per paper and interest, 300,000 a day at scale), then joined."""
        if not self._feedback_around:
            probe = 2_000_000_001  # stands for the paper id in the URL reversed once
            for verdict in ("more", "less"):
                before, after = links.feedback_url_with_slot(paper_id=probe, verdict=verdict).rsplit(str(probe), 1)
                self._feedback_around[verdict] = (before, after)
        more, less = self._feedback_around["more"], self._feedback_around["less"]
        return f"{more[0]}{paper_id}{more[1]}", f"{less[0]}{paper_id}{less[1]}"

    def _styles(self) -> str:
        if not self._css:
            self._css = render_to_string("newsletter/email/_styles.css")
        return self._css

    def _inline_fragment(self, html: str) -> str:
        return css_inline.inline_fragment(html, self._styles())
