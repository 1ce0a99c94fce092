"""Score a compiled interest against the index: find its hits in each candidate paper, weigh, threshold.

A hit is one place where every unit of a clause occurs within a small window of one sentence. Its quality
is 1 when the words are as close as the subscriber typed them and falls as other words come between;
past the window it is no hit at all, so words far apart and about other things never match.

A paper's score is TITLE_WEIGHT x the best title hit plus the abstract hits summed and saturated the way
BM25 does (k1, b): a second mention adds less than the first, and a mention in a long abstract weighs less
than in a short one. A paper matches at score >= THRESHOLD: any title hit, or an abstract that mentions the
interest plainly at least once in an abstract of ordinary length.

Evaluation is planned once per interest (postings fetched, bit sets of candidate papers computed), then
each candidate paper costs a few dictionary look-ups; this is what percolation runs once per interest.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass

from newsletter.matching.index import IndexedPaper, PaperIndex, Posting, iter_bits, papers_of_sentences
from newsletter.matching.query import Clause, CompiledInterest, Unit
from newsletter.matching.text import stem

TITLE_WEIGHT = 2.0
THRESHOLD = 0.75
K1 = 1.2
B = 0.75
# Extra words allowed between the units of a clause, per gap between units: "reasoning about math
# problems" for "math reasoning" is one extra word, "math ... long digression ... reasoning" is not a hit.
SLACK_PER_GAP = 4
# Quality of a hit with `extra` words more than typed: 1 / (1 + extra / PROXIMITY_DECAY).
PROXIMITY_DECAY = 2.0
# A title that holds the words carrying at least this share of a multi-word interest's information (IDF),
# all of them also in the abstract, is about the interest even without the rest: "Self-Distillation for
# ..." for knowledge distillation. Its quality is that share.
RELAXED_COVERAGE = 0.5
# ... and only words specific enough to stand for a topic count there: found in at most this share of papers.
RELAXED_MAX_SHARE = 0.1

Span = tuple[int, int]  # token numbers [start, end)
_FEW_PAPERS = 16
_NOTHING: tuple[list[Span], int] = ([], 0)
_NO_POSTINGS: dict[int, Posting] = {}


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    quality: float
    parts: tuple[Span, ...]  # where each unit was found, for highlighting


@dataclass(slots=True)
class _UnitPlan:
    unit: Unit
    # Per variant: its tokens (stems, or surfaces when exact) and each token's postings.
    variants: list[tuple[tuple[str, ...], bool, tuple[dict[int, Posting], ...]]]
    bits: int  # papers that may hold the unit (every token of some variant, anywhere)
    title_bits: int
    sentence_bits: int  # sentences (numbered across papers) that may hold it
    frequency_bits: int  # for IDF: papers holding the unit as one word where it has such a variant
    plain: dict[int, Posting] | None  # the postings, when the unit is one plain word (the common case)
    weight: float  # IDF


@dataclass(slots=True)
class _ClausePlan:
    clause: Clause
    units: list[_UnitPlan]
    bits: int  # papers holding every unit
    relaxed: int  # papers whose title may carry enough of the clause (RELAXED_COVERAGE)
    weights: list[float]  # IDF of each unit
    relaxed_weights: list[float]  # the same, zero for units too common to count in a relaxed hit


def score_interest(index: PaperIndex, compiled: CompiledInterest) -> list[tuple[int, float]]:
    """(paper number, score) of every paper that matches, in paper order."""
    plans = _plan(index, compiled)
    bits = 0
    for plan in plans:
        bits |= plan.bits | plan.relaxed
    if compiled.excludes and bits:
        bits &= ~excluded(index, compiled)
    scored: list[tuple[int, float]] = []
    if len(plans) == 1 and len(plans[0].units) == 1:
        unit = plans[0].units[0]
        for number in iter_bits(bits):
            score = _single_unit_score(index, number, unit)
            if score >= THRESHOLD:
                scored.append((number, score))
        return scored
    only = plans[0] if len(plans) == 1 else None
    for number in iter_bits(bits):
        if only is not None:
            hits = _clause_hits(index, number, only)
        else:
            hits = [hit for plan in plans for hit in _clause_hits(index, number, plan)]
        if hits:
            score = score_paper(index, number, _non_overlapping(hits))
            if score >= THRESHOLD:
                scored.append((number, score))
    return scored


def paper_hits(index: PaperIndex, number: int, compiled: CompiledInterest) -> list[Hit]:
    """All hits of all clauses in one paper, overlapping ones reduced to the best (for explanations)."""
    return _hits(index, number, _plan(index, compiled))


def excluded(index: PaperIndex, compiled: CompiledInterest) -> int:
    """Bit set of papers that contain any of the interest's exclusions, anywhere."""
    found = 0
    for clause in compiled.excludes:
        for plan in _plan_clauses(index, (clause,), relax=False):
            for number in iter_bits(plan.bits):
                if _clause_hits(index, number, plan):
                    found |= 1 << number
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


def _single_unit_score(index: PaperIndex, number: int, unit: _UnitPlan) -> float:
    """The common one-word interest: every occurrence is a perfect hit, so only counts matter."""
    paper = index.papers[number]
    spans, _ = _unit_spans(index, number, paper, unit)
    title = sum(1 for start, _ in spans if start < paper.title_tokens)
    return _score(index, paper, 1.0 if title else 0.0, float(len(spans) - title))


def _plan(index: PaperIndex, compiled: CompiledInterest) -> list[_ClausePlan]:
    return _plan_clauses(index, compiled.clauses, relax=True)


def _plan_clauses(index: PaperIndex, clauses: tuple[Clause, ...], *, relax: bool) -> list[_ClausePlan]:
    everything = (1 << len(index)) - 1
    plans: list[_ClausePlan] = []
    for clause in clauses:
        units = [_plan_unit(index, unit) for unit in clause.units]
        bits = everything
        for unit in units:
            bits &= unit.bits
        # Keep only papers where all the units share a sentence; for a handful of papers checking each
        # is cheaper than mapping sentences to papers.
        if len(units) > 1 and bits.bit_count() > _FEW_PAPERS:
            shared = -1
            for unit in units:
                shared &= unit.sentence_bits
            bits &= papers_of_sentences(index, shared)
        weights = [unit.weight for unit in units]
        relaxed, specific = (
            _relaxed_candidates(index, units, weights) if relax and len(units) > 1 else (0, [])
        )
        plans.append(_ClausePlan(clause, units, bits, relaxed & ~bits, weights, specific if relaxed else []))
    return plans


def _plan_unit(index: PaperIndex, unit: Unit) -> _UnitPlan:
    plan: _UnitPlan | None = index.unit_plans.get(unit)
    if plan is None:
        plan = index.unit_plans[unit] = _new_unit_plan(index, unit)
    return plan


def _new_unit_plan(index: PaperIndex, unit: Unit) -> _UnitPlan:
    variants = []
    bits = title_bits = single = sentence_bits = 0
    for variant in unit.variants:
        lookup = tuple(stem(token) for token in variant.tokens) if variant.exact else variant.tokens
        variants.append(
            (variant.tokens, variant.exact, tuple(index.postings.get(t, _NO_POSTINGS) for t in lookup))
        )
        variant_bits = variant_title = variant_sentences = -1
        for token in lookup:
            variant_bits &= index.bits.get(token, 0)
            variant_title &= index.title_bits.get(token, 0)
            variant_sentences &= index.sentence_bits.get(token, 0)
        if len(lookup) > 1 and variant_bits:  # a phrase's words must at least share a sentence
            variant_bits &= papers_of_sentences(index, variant_sentences)
        bits |= variant_bits
        title_bits |= variant_title
        sentence_bits |= variant_sentences
        if len(lookup) == 1:
            single |= variant_bits
    # "in-context": papers with "in" and "context" somewhere say nothing about how rare the compound is;
    # its closed form ("in-context", "incontext") does.
    plain = variants[0][2][0] if len(variants) == 1 and len(lookup) == 1 and not variant.exact else None
    return _UnitPlan(
        unit=unit,
        variants=variants,
        bits=bits,
        title_bits=title_bits,
        sentence_bits=sentence_bits,
        frequency_bits=single or bits,
        plain=plain if unit.acronym is None else None,
        weight=_idf(index, single or bits),
    )


def _idf(index: PaperIndex, bits: int) -> float:
    papers = len(index)
    return math.log((papers + 1) / (min(papers, bits.bit_count()) + 0.5))


def _relaxed_candidates(
    index: PaperIndex, units: list[_UnitPlan], weights: list[float]
) -> tuple[int, list[float]]:
    """Papers whose title may hold specific units carrying RELAXED_COVERAGE of the clause's weight, and
    the weights a relaxed hit may count (zero for units too common to stand for a topic)."""
    limit = RELAXED_MAX_SHARE * len(index)
    specific = [
        w if unit.frequency_bits.bit_count() <= limit else 0.0 for unit, w in zip(units, weights, strict=True)
    ]
    total = sum(weights)
    if sum(specific) < RELAXED_COVERAGE * total:
        return 0, specific
    found = 0
    for unit, weight in zip(units, specific, strict=True):
        if weight:
            found |= unit.title_bits
    return found, specific


def _hits(index: PaperIndex, number: int, plans: list[_ClausePlan]) -> list[Hit]:
    hits = [hit for plan in plans for hit in _clause_hits(index, number, plan)]
    return _non_overlapping(hits)


def _clause_hits(index: PaperIndex, number: int, plan: _ClausePlan) -> list[Hit]:
    bit = 1 << number
    if not (plan.bits | plan.relaxed) & bit:
        return []
    paper = index.papers[number]
    found: list[tuple[list[Span], int]] = []
    shared = -1
    for unit in plan.units:
        if unit.plain is not None:
            posting = unit.plain.get(number)
            spans = (posting.spans, posting.sentences) if posting is not None else _NOTHING
        else:
            spans = _unit_spans(index, number, paper, unit)
        found.append(spans)
        shared &= spans[1]
    if len(found) == 1:
        return [Hit(start, end, 1.0, ((start, end),)) for start, end in found[0][0]]
    hits: list[Hit] = []
    if shared and plan.bits & bit:
        if len(found) == 2:
            hits = _pair_hits(paper, plan.clause, found[0][0], found[1][0], shared)
        else:
            hits = _windows(paper, plan.clause, [spans for spans, _ in found], shared)
    if plan.relaxed_weights and not any(hit.start < paper.title_tokens for hit in hits):
        hits.extend(_relaxed_title_hit(paper, plan, [spans for spans, _ in found]))
    return hits


def _unit_spans(
    index: PaperIndex, number: int, paper: IndexedPaper, plan: _UnitPlan
) -> tuple[list[Span], int]:
    """The unit's spans in one paper, and the bit set of their sentences."""
    acronym = plan.unit.acronym
    if acronym is not None:
        meaning = paper.definitions.get(plan.unit.variants[0].tokens[0])
        if not (acronym.dominant if meaning is None else meaning == acronym.expansion):
            return [], 0
    if len(plan.variants) == 1 and len(plan.variants[0][0]) == 1 and not plan.variants[0][1]:
        posting = plan.variants[0][2][0].get(number)  # the common case: one plain word
        return (posting.spans, posting.sentences) if posting is not None else ([], 0)
    by_start: dict[int, int] = {}
    sentences = 0
    for tokens, exact, postings in plan.variants:
        for start, end in _variant_spans(paper, number, tokens, exact, postings):
            if end > by_start.get(start, -1):
                by_start[start] = end
            sentences |= 1 << paper.sentences[start]
    return sorted(by_start.items()), sentences


def _variant_spans(
    paper: IndexedPaper,
    number: int,
    tokens: tuple[str, ...],
    exact: bool,
    postings: tuple[dict[int, Posting], ...],
) -> list[Span]:
    first = postings[0].get(number)
    if first is None or any(number not in other for other in postings[1:]):
        return []
    if len(tokens) == 1:
        if not exact:
            return first.spans
        return [
            span for span in first.spans if span[1] - span[0] == 1 and paper.surfaces[span[0]] == tokens[0]
        ]
    sequence = paper.surfaces if exact else paper.stems
    size = len(tokens)
    sentences = paper.sentences
    return [
        (start, start + size)
        for start, end in first.spans
        if end == start + 1
        and tuple(sequence[start : start + size]) == tokens
        and sentences[start] == sentences[start + size - 1]
    ]


def _pair_hits(
    paper: IndexedPaper, clause: Clause, first: list[Span], second: list[Span], shared: int
) -> list[Hit]:
    """Two units (most multi-word interests): each occurrence of the rarer one with the nearest
    occurrence of the other in its sentence, found by bisection rather than by merging both lists."""
    if len(first) > len(second):
        first, second = second, first
    sentences = paper.sentences
    length = clause.length
    count = len(second)
    hits: list[Hit] = []
    for span in first:
        sentence = sentences[span[0]]
        if not shared >> sentence & 1:
            continue
        at = bisect_left(second, span)
        best: tuple[int, int, int, Span] | None = None
        for other in second[max(0, at - 1) : min(count, at + 1)]:
            if sentences[other[0]] != sentence or (other[0] < span[1] and span[0] < other[1]):
                continue  # another sentence, or the same words: one word cannot stand for two
            low, high = min(span[0], other[0]), max(span[1], other[1])
            extra = high - low - length
            if extra <= SLACK_PER_GAP and (best is None or extra < best[0]):
                best = (extra, low, high, other)
        if best is not None:
            extra, low, high, other = best
            quality = 1.0 if extra <= 0 else 1.0 / (1.0 + extra / PROXIMITY_DECAY)
            hits.append(Hit(low, high, quality, (span, other) if span < other else (other, span)))
    return hits


def _windows(paper: IndexedPaper, clause: Clause, per_unit: list[list[Span]], shared: int) -> list[Hit]:
    """Minimal windows holding every unit once, within one sentence they all share, and the slack."""
    sentences = paper.sentences
    events = [
        (span[0], span[1], unit)
        for unit, spans in enumerate(per_unit)
        for span in spans
        if shared >> sentences[span[0]] & 1
    ]
    events.sort()
    needed = len(per_unit)
    slack = SLACK_PER_GAP * (needed - 1)
    length = clause.length
    unseen = (-1, -1)
    last: list[Span] = [unseen] * needed
    seen = 0
    current = -1
    hits: list[Hit] = []
    for start, end, unit in events:
        if sentences[start] != current:
            current = sentences[start]
            last = [unseen] * needed
            seen = 0
        if last[unit] is unseen:
            seen += 1
        last[unit] = (start, end)
        if seen < needed:
            continue
        parts = sorted(last)  # every slot is filled once seen == needed
        low, high = parts[0][0], parts[0][1]
        for part_start, part_end in parts[1:]:
            if part_start < high:
                break  # units overlap: one word cannot stand for two
            high = part_end
        else:
            extra = high - low - length
            if extra <= slack:
                quality = 1.0 if extra <= 0 else 1.0 / (1.0 + extra / PROXIMITY_DECAY)
                hits.append(Hit(low, high, quality, tuple(parts)))
    return hits


def _relaxed_title_hit(paper: IndexedPaper, plan: _ClausePlan, per_unit: list[list[Span]]) -> list[Hit]:
    title = paper.title_tokens
    found: list[Span] = []
    covered = 0.0
    for weight, spans in zip(plan.relaxed_weights, per_unit, strict=True):
        if weight and spans and spans[0][0] < title and spans[-1][0] >= title:  # in title and abstract
            found.append(spans[0])
            covered += weight
    total = sum(plan.weights)
    if not found or covered < RELAXED_COVERAGE * total:
        return []
    found.sort()
    return [Hit(found[0][0], max(end for _, end in found), covered / total, tuple(found))]


def _non_overlapping(hits: list[Hit]) -> list[Hit]:
    if len(hits) < 2:
        return hits
    chosen: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (-h.quality, h.start)):
        if all(hit.end <= other.start or hit.start >= other.end for other in chosen):
            chosen.append(hit)
    return sorted(chosen, key=lambda h: h.start)
