"""Why a paper matched: the interest, the words found, and highlighted passages as structured segments.

Segments are (text, is_highlight) pairs of plain, unescaped text, so the email, its plain-text part and the
live preview each escape and mark them up their own way (and no HTML from a paper is ever trusted).
"""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.matching.hits import Hit, Span
from newsletter.matching.index import IndexedPaper, PaperId, PaperIndex
from newsletter.matching.query import CompiledInterest
from newsletter.matching.scoring import paper_hits, score_interest

Segment = tuple[str, bool]

# Words of context either side of the best abstract hit: enough to read it as a phrase, short enough
# for one line of an email.
SNIPPET_CONTEXT = 12
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Explanation:
    interest: str  # the interest as the subscriber wrote it (canonical form)
    words: tuple[str, ...]  # the paper's matched words, as written there, first occurrence first
    title: tuple[Segment, ...]  # the whole title, matched words highlighted
    snippet: tuple[Segment, ...]  # a short passage of the abstract around its best hit; () if none
    # "words": the interest's words are in the paper (highlighted); "related": the semantic layer brought it,
    # and the snippet is the paper's sentence closest to the interest (nothing highlighted).
    kind: str = "words"

    @property
    def in_title(self) -> bool:
        return any(highlight for _, highlight in self.title)

    def snippet_text(self, *, mark: str = "*") -> str:
        """Plain text with highlights wrapped in `mark`, for the plain-text email."""
        return "".join(f"{mark}{text}{mark}" if lit else text for text, lit in self.snippet)


@dataclass(frozen=True, slots=True)
class Match:
    """One paper matching one interest, with why."""

    paper_id: PaperId
    score: float  # higher is more central; >= scoring.THRESHOLD
    explanation: Explanation

    @property
    def interest(self) -> str:
        return self.explanation.interest


def related_explanation(index: PaperIndex, number: int, *, interest: str, sentence: str) -> Explanation:
    """A pick the vectors made: no words to show, the paper's sentence closest to the interest instead."""
    paper = index.papers[number]
    title = paper.paper.title
    return Explanation(
        interest=interest,
        words=(),
        title=((title, False),) if title else (),
        snippet=((sentence, False),) if sentence else (),
        kind="related",
    )


def match_interest(index: PaperIndex, compiled: CompiledInterest) -> list[Match]:
    """Every paper of the index that matches one interest, best first (for the live preview and tests)."""
    scored = score_interest(index, compiled)
    return build_matches(index, compiled, scored)


def build_matches(index: PaperIndex, compiled: CompiledInterest, scored: list[tuple[int, float]]) -> list[Match]:
    matches = [
        Match(paper_id=index.papers[number].paper.id, score=score, explanation=explain(index, number, compiled))
        for number, score in scored
    ]
    matches.sort(key=lambda match: -match.score)
    return matches


def explain(index: PaperIndex, number: int, compiled: CompiledInterest) -> Explanation:
    """Explain one paper's match (paper `number` of the index)."""
    paper = index.papers[number]
    hits = paper_hits(index, number, compiled)
    spans = sorted({part for hit in hits for part in _highlighted(hit)})
    words = _words(paper, hits)
    title_spans = [span for span in spans if span[0] < paper.title_tokens]
    title = _segments(paper, 0, paper.title_chars, title_spans)
    return Explanation(
        interest=compiled.text,
        words=words,
        title=title,
        snippet=_snippet(paper, hits, spans),
    )


def _highlighted(hit: Hit) -> tuple[Span, ...]:
    """A hit as close as typed ("chain-of-thought" for chain of thought) is one phrase; else its words."""
    return ((hit.start, hit.end),) if hit.quality >= 1.0 else hit.parts


def _words(paper: IndexedPaper, hits: list[Hit]) -> tuple[str, ...]:
    """The matched words as phrases ("Math Reasoning", not "Math", "Reasoning"), each once."""
    found: dict[str, str] = {}
    for hit in hits:
        parts = list(_highlighted(hit))
        for text, highlight in _segments(paper, paper.starts[hit.start], paper.ends[hit.end - 1], parts):
            if highlight:
                found.setdefault(text.casefold(), text)
    return tuple(found.values())


def _snippet(paper: IndexedPaper, hits: list[Hit], spans: list[Span]) -> tuple[Segment, ...]:
    abstract = [hit for hit in hits if hit.start >= paper.title_tokens]
    if not abstract:
        return ()
    best = max(abstract, key=lambda hit: (hit.quality, -hit.start))
    sentence = paper.sentences[best.start]
    first = max(best.start - SNIPPET_CONTEXT, paper.title_tokens)
    while paper.sentences[first] != sentence:
        first += 1
    last = min(best.end - 1 + SNIPPET_CONTEXT, len(paper.stems) - 1)
    while paper.sentences[last] != sentence:
        last -= 1
    start = paper.starts[first]
    end = _sentence_end(paper, last)
    inside = [span for span in spans if span[0] >= first and span[1] - 1 <= last]
    segments = list(_segments(paper, start, end, inside))
    if first > 0 and paper.sentences[first - 1] == sentence:
        segments.insert(0, (ELLIPSIS + " ", False))
    if last + 1 < len(paper.stems) and paper.sentences[last + 1] == sentence:
        segments.append((" " + ELLIPSIS, False))
    return tuple(segments)


def _sentence_end(paper: IndexedPaper, last: int) -> int:
    """End of the last token, taking a sentence's closing brackets and punctuation along."""
    end = paper.ends[last]
    if last + 1 == len(paper.stems) or paper.sentences[last + 1] != paper.sentences[last]:
        while end < len(paper.text) and paper.text[end] in ".!?)]\"'":
            end += 1
    return end


def _segments(paper: IndexedPaper, start: int, end: int, spans: list[Span]) -> tuple[Segment, ...]:
    """Cut text[start:end] into plain and highlighted pieces; touching highlights merge into one."""
    text = paper.text
    segments: list[Segment] = []
    cursor = start
    for span in spans:
        low, high = paper.starts[span[0]], paper.ends[span[1] - 1]
        if low < cursor:
            continue
        gap = text[cursor:low]
        if segments and segments[-1][1] and gap.strip(" -") == "":
            segments[-1] = (segments[-1][0] + gap + text[low:high], True)
        else:
            if gap:
                segments.append((gap, False))
            segments.append((text[low:high], True))
        cursor = high
    if cursor < end:
        segments.append((text[cursor:end], False))
    return tuple(segments)
