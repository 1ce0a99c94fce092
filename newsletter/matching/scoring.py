"""Score a compiled interest against the index: find its hits in each candidate paper, weigh, threshold.

A paper's score is TITLE_WEIGHT x the best title hit plus the abstract hits summed and saturated the way
BM25 does (k1, b): a second mention adds less than the first, and a mention in a long abstract weighs less
than in a short one. A paper matches at score >= THRESHOLD: any title hit, or an abstract that mentions the
interest plainly at least once in an abstract of ordinary length, or a paper that keeps to the theme (every
unit of a multi-word clause in plans.THEME_MIN_SENTENCES of its sentences), at THEME_SCORE.

Evaluation is planned once per interest (plans.py: postings fetched, bit sets of candidate papers
computed), then each candidate paper costs a few dictionary look-ups (hits.py); this is what percolation
runs once per distinct interest.
"""

from __future__ import annotations

from newsletter.matching.hits import (
    Hit,
    all_hits,
    clause_hits,
    non_overlapping,
    pair_hits,
    relaxed_title_hit,
    theme_bits,
    theme_hit,
    unit_spans,
)
from newsletter.matching.index import IndexedPaper, PaperIndex, Posting, iter_bits
from newsletter.matching.plans import ClausePlan, UnitPlan, plan_clauses, plan_interest
from newsletter.matching.query import Clause, CompiledInterest

TITLE_WEIGHT = 2.0
THRESHOLD = 0.75
K1 = 1.2
B = 0.75
# What a paper scores when every word of the interest recurs in it (plans.THEME_MIN_SENTENCES) but its own
# hits score less: just enough to match, below any paper with a plain hit in its title.
THEME_SCORE = THRESHOLD

_ABSENT = Posting(spans=[], sentences=0, title=0)


# What fusion's lexical features need of a paper's hits (paper_hits), as scoring found them: how many
# (non-overlapping), whether one is in the title, the best one's quality (0.0 without hits). A plain tuple:
# the fused planner makes millions.
HitSummary = tuple[int, bool, float]


def score_interest(
    index: PaperIndex, compiled: CompiledInterest, *, threshold: float | None = None
) -> list[tuple[int, float]]:
    """(paper number, score) of every paper that matches, in paper order.

    `threshold` (default THRESHOLD) lower gives the fusion the weaker lexical evidence too (fusion.py).
    """
    return _score_interest(index, compiled, threshold, None)


def score_interest_hits(
    index: PaperIndex, compiled: CompiledInterest, *, threshold: float, plans: list[ClausePlan] | None = None
) -> tuple[list[tuple[int, float]], list[HitSummary]]:
    """score_interest, and for each paper scored the summary of paper_hits(index, number, compiled), taken from
    the hits scoring computed anyway (the fused planner needs them for every paper it scores: asking
    paper_hits again doubled the lexical work). Pinned equal to paper_hits by tests/newsletter/matching."""
    summaries: list[HitSummary] = []
    return _score_interest(index, compiled, threshold, summaries, plans), summaries


def _summary(hits: list[Hit], paper: IndexedPaper) -> HitSummary:
    title = False
    quality = 0.0
    for hit in hits:
        title |= hit.start < paper.title_tokens
        if hit.quality > quality:
            quality = hit.quality
    return len(hits), title, quality


def _score_interest(
    index: PaperIndex,
    compiled: CompiledInterest,
    threshold: float | None,
    summaries: list[HitSummary] | None,
    plans: list[ClausePlan] | None = None,
) -> list[tuple[int, float]]:
    limit = THRESHOLD if threshold is None else threshold
    if plans is None:
        plans = plan_interest(index, compiled)
    bits = 0
    theme = 0
    for plan in plans:
        bits |= plan.bits | plan.relaxed
        if plan.theme:
            theme |= theme_bits(index, plan)
    bits |= theme
    if compiled.excludes and bits:
        bits &= ~excluded(index, compiled)
    scored: list[tuple[int, float]] = []
    if len(plans) == 1 and len(plans[0].units) == 1:
        unit = plans[0].units[0]
        if summaries is not None:
            return _score_single_unit_with_hits(index, compiled, unit, bits, limit, summaries)
        for number in iter_bits(bits):
            score = _single_unit_score(index, number, unit)
            if score >= limit:
                scored.append((number, score))
        return scored
    only = plans[0] if len(plans) == 1 else None
    if only is not None and len(only.units) == 2 and only.units[0].plain and only.units[1].plain:
        return _score_plain_pair(index, only, bits, theme, limit, summaries)
    for number in iter_bits(bits):
        if only is not None:
            hits = clause_hits(index, number, only)
        else:
            hits = [hit for plan in plans for hit in clause_hits(index, number, plan)]
        if hits:
            hits = non_overlapping(hits)
            score = score_paper(index, number, hits)
            if theme >> number & 1 and score < THEME_SCORE:
                score = THEME_SCORE
            if score >= limit:
                scored.append((number, score))
                if summaries is not None:
                    summaries.append(_summary(hits, index.papers[number]))
    return scored


def _score_single_unit_with_hits(
    index: PaperIndex,
    compiled: CompiledInterest,
    unit: UnitPlan,
    bits: int,
    limit: float,
    summaries: list[HitSummary],
) -> list[tuple[int, float]]:
    """_single_unit_score's loop, keeping each paper's hits: its spans, each of quality 1 (as clause_hits
    takes them; for a paper scored, unit_spans gives the same spans). Spans that overlap (two variants of a
    compound) are left to paper_hits, which reduces them."""
    scored: list[tuple[int, float]] = []
    papers = index.papers
    for number in iter_bits(bits):
        paper = papers[number]
        spans, _ = unit_spans(index, number, paper, unit)
        title = 0
        overlap = False
        end = -1
        for span in spans:
            overlap |= span[0] < end
            end = span[1]
            title += span[0] < paper.title_tokens
        score = _score(index, paper, 1.0 if title else 0.0, float(len(spans) - title))
        if score >= limit:
            scored.append((number, score))
            if overlap:
                summaries.append(_summary(paper_hits(index, number, compiled), paper))
            else:
                summaries.append((len(spans), title > 0, 1.0 if spans else 0.0))
    return scored


def _score_plain_pair(
    index: PaperIndex,
    plan: ClausePlan,
    bits: int,
    theme: int,
    limit: float,
    summaries: list[HitSummary] | None = None,
) -> list[tuple[int, float]]:
    """The commonest multi-word interest, two plain words: _clause_hits inlined, for speed only."""
    first, second = plan.units[0].plain or {}, plan.units[1].plain or {}
    relaxed = plan.relaxed_titles
    papers = index.papers
    scored: list[tuple[int, float]] = []
    for number in iter_bits(bits):
        one, two = first.get(number, _ABSENT), second.get(number, _ABSENT)  # absent: a relaxed candidate
        paper = papers[number]
        shared = one.sentences & two.sentences
        hits = pair_hits(paper, plan.clause, one.spans, two.spans, shared) if shared else []
        if relaxed >> number & 1 and not any(hit.start < paper.title_tokens for hit in hits):
            hits.extend(relaxed_title_hit(paper, plan, [one.spans, two.spans]))
        hits = non_overlapping(hits)
        score = score_paper(index, number, hits) if hits else 0.0
        if theme >> number & 1 and score < THEME_SCORE:
            score = THEME_SCORE
        if score >= limit:
            scored.append((number, score))
            if summaries is not None:  # a theme paper without a hit is explained by where its units first are
                summaries.append(_summary(hits or theme_hit([one.spans, two.spans]), paper))
    return scored


_INTEREST_PLANS_LIMIT = 100_000


def paper_hits(index: PaperIndex, number: int, compiled: CompiledInterest) -> list[Hit]:
    """All hits of all clauses in one paper, overlapping ones reduced to the best (for explanations)."""
    plans = index.interest_plans.get(compiled)
    if plans is None:
        if len(index.interest_plans) >= _INTEREST_PLANS_LIMIT:
            index.interest_plans.clear()
        plans = index.interest_plans[compiled] = plan_interest(index, compiled)
    return all_hits(index, number, plans)


def excluded(index: PaperIndex, compiled: CompiledInterest) -> int:
    """Bit set of papers that contain any of the interest's exclusions, anywhere."""
    found = 0
    for clause in compiled.excludes:
        found |= _clause_papers(index, clause)
    return found


def _clause_papers(index: PaperIndex, clause: Clause) -> int:
    # Kept on the index with the other plans: the same exclusions ("-survey") recur across interests, and
    # checking a common word's every paper for hits is most of what an interest with exclusions costs.
    key = ("excluded", clause)
    found: int | None = index.unit_plans.get(key)
    if found is None:
        found = 0
        for plan in plan_clauses(index, (clause,), relax=False):
            for number in iter_bits(plan.bits):
                if clause_hits(index, number, plan):
                    found |= 1 << number
        index.unit_plans[key] = found
    return found


def score_paper(index: PaperIndex, number: int, hits: list[Hit]) -> float:
    paper = index.papers[number]
    title = max((hit.quality for hit in hits if hit.start < paper.title_tokens), default=0.0)
    frequency = sum(hit.quality for hit in hits if hit.start >= paper.title_tokens)
    return _score(index, paper, title, frequency)


def _score(index: PaperIndex, paper: IndexedPaper, title: float, frequency: float) -> float:
    if not frequency:
        return TITLE_WEIGHT * title
    length = paper.abstract_tokens / index.average_abstract_tokens
    return TITLE_WEIGHT * title + frequency * (K1 + 1) / (frequency + K1 * (1 - B + B * length))


def _single_unit_score(index: PaperIndex, number: int, unit: UnitPlan) -> float:
    """The common one-word interest: every occurrence is a perfect hit, so only counts matter."""
    paper = index.papers[number]
    spans, _ = unit_spans(index, number, paper, unit)
    title = sum(1 for start, _ in spans if start < paper.title_tokens)
    return _score(index, paper, 1.0 if title else 0.0, float(len(spans) - title))
