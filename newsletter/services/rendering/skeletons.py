"""The fast path for paper blocks: each paper's block rendered and inlined once as a *skeleton*, cut around
what depends on the interest that matched, then filled by string joins for every (paper, interest).

Its check against the templates is DigestRenderer._skeleton_probe (renderer.py): the first block of every
paper is built by the templates too and must equal the skeleton's, or the paper's blocks take the template
path; text the CSS inliner would rewrite, or a style sheet whose selectors depend on siblings or content,
turns skeletons off. tests/newsletter/test_fused_planning.py compares both paths on real digests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string

from newsletter.plain_text import wrapped
from newsletter.services.rendering.shell import SLOT_PATTERN, Shell

# Text the CSS inliner writes back exactly as inline_text does. Its HTML parser rewrites the rest (CR, NUL,
# other control characters, noncharacters), so a block with any of those is built by the template path.
INLINER_SAFE_TEXT = re.compile(r"[^\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff⟦⟧]*")


# Selectors under which an element's style depends on its siblings or content: a skeleton probed with two
# highlights could then differ from a block with one or three, so such a style sheet disables skeletons.
STRUCTURAL_CSS = re.compile(r":(?:first|last|only|nth)-|:empty|:has|:not|:is|:where|[+~]")


@dataclass(frozen=True, slots=True)
class Skeleton:
    """One paper's block, rendered and inlined once, cut around what depends on the interest that matched."""

    # before the title, after it, after the snippet, after interests, after words, between the feedback tokens,
    # after the second
    html: tuple[str, str, str, str, str, str, str]
    title_mark: str  # the opening <mark ...> tag as the inliner wrote it, in the title
    snippet_mark: str  # the same, in the snippet
    # before the snippet text, after it, after the interests, after the words, between the tokens, after them
    text: tuple[str, str, str, str, str, str]
    text_bare: tuple[str, str, str, str, str]  # without a snippet text: before the interests, ... as above


def block_joined(skeleton: Skeleton, context: dict[str, Any]) -> tuple[Shell, Shell] | None:
    """The block from the skeleton; None when some text is one the inliner would not write back as is."""
    title, snippet, words, snippet_text = (
        context["title"],
        context["snippet"],
        context["words"],
        context["snippet_text"],
    )
    safe = INLINER_SAFE_TEXT.fullmatch
    if not (safe(words) and safe(snippet_text) and all(safe(t) for t, _ in title) and all(safe(t) for t, _ in snippet)):
        return None
    h = skeleton.html
    html_before = h[0] + marked(title, skeleton.title_mark) + h[1] + marked(snippet, skeleton.snippet_mark) + h[2]
    html = Shell.of([html_before, "interests", h[3] + inline_text(words) + h[4], "feedback", h[5], "feedback", h[6]])
    if snippet_text:
        t = skeleton.text
        before = t[0] + wrapped(snippet_text) + t[1]
        text = Shell.of([before, "interests", t[2] + wrapped(words) + t[3], "feedback", t[4], "feedback", t[5]])
    else:
        b = skeleton.text_bare
        text = Shell.of([b[0], "interests", b[1] + wrapped(words) + b[2], "feedback", b[3], "feedback", b[4]])
    return html, text


def marked(segments: list[tuple[str, bool]], mark: str) -> str:
    return "".join(f"{mark}{inline_text(text)}</mark>" if lit else inline_text(text) for text, lit in segments)


def inline_text(text: str) -> str:
    """Text as the CSS inliner writes it back after parsing Django's escaping of it (for inliner-safe text)."""
    return text.replace("&", "&amp;").replace("\xa0", "&nbsp;").replace("<", "&lt;").replace(">", "&gt;")


def unslotted(text: str) -> str:
    """Paper text can never pose as a slot marker."""
    return text.replace("⟦", "[").replace("⟧", "]")


def skeleton_probe(context: dict[str, Any], *, inline_fragment: Callable[[str], str]) -> Skeleton | None:
    """The check against the templates: render a paper's block (`context`) with markers for the title, snippet and
    words, two highlights in each, and cut there; None when the templates do not have the shape this expects."""
    title = [("⟦title_a⟧", False), ("⟦title_b⟧", True), ("⟦title_c⟧", False), ("⟦title_d⟧", True)]
    snippet = [("⟦snippet_a⟧", False), ("⟦snippet_b⟧", True), ("⟦snippet_c⟧", False), ("⟦snippet_d⟧", True)]
    probe = {**context, "title": title, "snippet": snippet, "words": "⟦words⟧"}
    html = SLOT_PATTERN.split(inline_fragment(render_to_string("newsletter/email/digest_paper.html", probe)))
    text = SLOT_PATTERN.split(
        render_to_string("newsletter/email/digest_paper.txt", {**probe, "snippet_text": "⟦snippet_text⟧"})
    )
    bare = SLOT_PATTERN.split(render_to_string("newsletter/email/digest_paper.txt", {**probe, "snippet_text": ""}))
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
        "feedback",
        "feedback",
    ]
    lit = html[0::2]
    close = "</mark>"
    if (
        html[1::2] != names
        or text[1::2] != ["snippet_text", "interests", "words", "feedback", "feedback"]
        or bare[1::2] != ["interests", "words", "feedback", "feedback"]
        or not (lit[1] == lit[3] and lit[1].startswith("<mark") and lit[2] == close and lit[4].startswith(close))
        or not (lit[5] == lit[7] and lit[5].startswith("<mark") and lit[6] == close and lit[8].startswith(close))
    ):
        return None  # the templates changed shape: this paper's blocks take the template path
    cut = len(close)
    return Skeleton(
        html=(lit[0], lit[4][cut:], lit[8][cut:], lit[9], lit[10], lit[11], lit[12]),
        title_mark=lit[1],
        snippet_mark=lit[5],
        text=(text[0], text[2], text[4], text[6], text[8], text[10]),
        text_bare=(bare[0], bare[2], bare[4], bare[6], bare[8]),
    )
