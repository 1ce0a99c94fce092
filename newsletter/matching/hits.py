"""Hits: where, in one paper, a clause's units occur together, and how close.

A hit is one place where every unit of a clause occurs within a small window of one sentence. Its quality
is 1 when the words are as close as the subscriber typed them and falls as other words come between;
past the window it is no hit at all, so words far apart and about other things never match. Words side by
side in another order than typed are no hit, and a coordinated conjunct between units costs nothing. A title
that carries the specific part of the interest and its head is a hit too (plans.RELAXED_COVERAGE).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from itertools import pairwise

from newsletter.matching import plans
from newsletter.matching.index import IndexedPaper, PaperIndex, Posting, iter_bits
from newsletter.matching.plans import ClausePlan, UnitPlan
from newsletter.matching.query import Clause

# Extra words allowed between the units of a clause, per gap between units: "reasoning about math
# problems" for "math reasoning" is one extra word, "math ... long digression ... reasoning" is not a hit.
# Words in another order than typed need a word between them: English turns a noun phrase round with a
# function word ("reasoning about math", "generation of videos"); the same words side by side in another
# order are another phrase ("in-context learning contrasts with ..." is no contrastive learning).
TURNED_ROUND_NEEDS_A_WORD = True
# "A and B C" is "A C and B C" (right-node raising): the conjunction and one or two words of the second
# conjunct before the next unit cost nothing ("large language and vision models", "math and physics
# reasoning"). Only that order: "C of A and B" and lists that run on are left to the proximity decay.
COORDINATION = True
_CONJUNCTIONS = frozenset({"and", "or"})
SLACK_PER_GAP = 4
# Quality of a hit with `extra` words more than typed: 1 / (1 + extra / PROXIMITY_DECAY).
PROXIMITY_DECAY = 2.0
RELAXED_MAX_QUALITY = 0.9

Span = tuple[int, int]  # token numbers [start, end)
_NOTHING: tuple[list[Span], int] = ([], 0)


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    quality: float
    parts: tuple[Span, ...]  # where each unit was found, for highlighting


def all_hits(index: PaperIndex, number: int, clause_plans: list[ClausePlan]) -> list[Hit]:
    """Every clause's hits in one paper, overlapping ones reduced to the best (an acronym and its expansion)."""
    hits = [hit for plan in clause_plans for hit in clause_hits(index, number, plan)]
    return non_overlapping(hits)


def clause_hits(index: PaperIndex, number: int, plan: ClausePlan) -> list[Hit]:
    bit = 1 << number
    theme = (plan.theme if plan.theme >= 0 else theme_bits(index, plan)) & bit
    if not (plan.bits | plan.relaxed | theme):
        return []
    paper = index.papers[number]
    found: list[tuple[list[Span], int]] = []
    shared = -1
    for unit in plan.units:
        if unit.plain is not None:
            posting = unit.plain.get(number)
            spans = (posting.spans, posting.sentences) if posting is not None else _NOTHING
        else:
            spans = unit_spans(index, number, paper, unit)
        found.append(spans)
        shared &= spans[1]
    if len(found) == 1:
        return [Hit(start, end, 1.0, ((start, end),)) for start, end in found[0][0]]
    hits: list[Hit] = []
    if shared and plan.bits & bit:
        if len(found) == 2:
            hits = pair_hits(paper, plan.clause, found[0][0], found[1][0], shared)
        else:
            hits = windows(paper, plan.clause, [spans for spans, _ in found], shared)
    if plan.relaxed_titles & bit and not any(hit.start < paper.title_tokens for hit in hits):
        hits.extend(relaxed_title_hit(paper, plan, [spans for spans, _ in found]))
    if theme and not hits:
        hits = theme_hit([spans for spans, _ in found])
    if plan.quality != 1.0:  # a back-off clause (plans.BACKOFF_QUALITY)
        hits = [
            Hit(hit.start, hit.end, hit.quality * plan.quality, hit.parts)
            for hit in hits
            if not _inside_compound(paper, hit.start)
        ]
    return hits


def theme_hit(per_unit: list[list[Span]]) -> list[Hit]:
    """Where a theme paper (plans.THEME_MIN_SENTENCES) first has each unit, for the explanation. Its
    quality is 0: the score of such a paper comes from the rule (scoring.THEME_SCORE), not from the hit."""
    parts = tuple(sorted(spans[0] for spans in per_unit))
    return [Hit(parts[0][0], max(end for _, end in parts), 0.0, parts)]


def theme_bits(index: PaperIndex, plan: ClausePlan) -> int:
    """Papers in which every unit of the clause recurs: each in plans.THEME_MIN_SENTENCES sentences."""
    if plan.theme < 0:
        theme = -1
        # Plain words first: their papers are found from the postings alone, and when they rule out every
        # paper a compound's or acronym's (which needs its spans paper by paper) is never worked out.
        for unit in sorted(plan.units, key=lambda unit: unit.plain is None):
            theme &= _recurring(index, unit)
            if not theme:
                break
        if theme and plans.THEME_NEEDS_A_SHARED_SENTENCE:
            theme = _sharing_a_sentence(index, plan, theme)
        plan.theme = theme
    return plan.theme


def _sharing_a_sentence(index: PaperIndex, plan: ClausePlan, papers: int) -> int:
    """Those of `papers` with a sentence that holds every unit: words that recur but never meet ("machine"
    translation, "learning" rates, transfer "learning") are two topics, not the interest's."""
    shared = 0
    for number in iter_bits(papers):
        paper = index.papers[number]
        sentences = -1
        for unit in plan.units:
            sentences &= unit_spans(index, number, paper, unit)[1]
        if sentences:
            shared |= 1 << number
    return shared


def _recurring(index: PaperIndex, unit: UnitPlan) -> int:
    """Papers with the unit in plans.THEME_MIN_SENTENCES sentences or more; kept on the (shared) unit plan."""
    if unit.recurring < 0:
        least = plans.THEME_MIN_SENTENCES
        found = 0
        if unit.plain is not None:
            for number, posting in unit.plain.items():
                if posting.sentences.bit_count() >= least:
                    found |= 1 << number
        else:
            for number in iter_bits(unit.bits):
                if unit_spans(index, number, index.papers[number], unit)[1].bit_count() >= least:
                    found |= 1 << number
        unit.recurring = found
    return unit.recurring


def _inside_compound(paper: IndexedPaper, token: int) -> bool:
    """Whether the token ends a hyphenated compound: "vision-language models" is not about language models."""
    start = paper.starts[token]
    return start > 0 and paper.text[start - 1] == "-"


def unit_spans(index: PaperIndex, number: int, paper: IndexedPaper, plan: UnitPlan) -> tuple[list[Span], int]:
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
        for start, end in variant_spans(paper, number, tokens, exact, postings):
            if end > by_start.get(start, -1):
                by_start[start] = end
            sentences |= 1 << paper.sentences[start]
    return sorted(by_start.items()), sentences


def variant_spans(
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
        return [span for span in first.spans if span[1] - span[0] == 1 and paper.surfaces[span[0]] == tokens[0]]
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


def pair_hits(paper: IndexedPaper, clause: Clause, first: list[Span], second: list[Span], shared: int) -> list[Hit]:
    """Two units (most multi-word interests): each occurrence of the rarer one with the nearest
    occurrence of the other in its sentence, found by bisection rather than by merging both lists."""
    swapped = len(first) > len(second)
    if swapped:
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
            if extra <= 0 and (other[0] < span[0]) != swapped and TURNED_ROUND_NEEDS_A_WORD:
                continue  # as close as typed but turned round: "learning contrasts", "optimization prompts"
            if extra <= SLACK_PER_GAP and (best is None or extra < best[0]):
                best = (extra, low, high, other)
        if best is not None:
            extra, low, high, other = best
            if extra > 0 and (other[0] > span[0]) != swapped:  # in the order typed: "large language and vision models"
                extra -= _coordinated(paper, min(span[1], other[1]), max(span[0], other[0]))
            quality = 1.0 if extra <= 0 else 1.0 / (1.0 + extra / PROXIMITY_DECAY)
            hits.append(Hit(low, high, quality, (span, other) if span < other else (other, span)))
    return hits


def windows(paper: IndexedPaper, clause: Clause, per_unit: list[list[Span]], shared: int) -> list[Hit]:
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
            if extra <= 0 and last != parts and TURNED_ROUND_NEEDS_A_WORD:
                continue  # the words as close as typed but in another order: another phrase
            if extra <= slack:
                if extra > 0:
                    extra -= sum(_coordinated(paper, a[1], b[0]) for a, b in pairwise(parts))
                quality = 1.0 if extra <= 0 else 1.0 / (1.0 + extra / PROXIMITY_DECAY)
                hits.append(Hit(low, high, quality, tuple(parts)))
    return hits


def _coordinated(paper: IndexedPaper, end: int, start: int) -> int:
    """How many words between two units are a coordinated conjunct that shares the next unit, and so do not
    part them: "large language and vision models" holds "large language models"."""
    gap = start - end
    return gap if COORDINATION and 2 <= gap <= 3 and paper.surfaces[end] in _CONJUNCTIONS else 0


def relaxed_title_hit(paper: IndexedPaper, plan: ClausePlan, per_unit: list[list[Span]]) -> list[Hit]:
    title = paper.title_tokens
    head = per_unit[plan.clause.head]
    if plan.head_needed and not (head and head[0][0] < title):
        return []  # "Instructional Video Comprehension" is about comprehension, not video generation
    found: list[Span] = []
    covered = 0.0
    for weight, spans in zip(plan.relaxed_weights, per_unit, strict=True):
        if weight and spans and spans[0][0] < title and spans[-1][0] >= title:  # in title and abstract
            found.append(spans[0])
            covered += weight
    total = sum(plan.weights)
    if not found or covered < plans.RELAXED_COVERAGE * total:
        return []
    found.sort()
    # Never a full-quality hit: the words were not found together.
    quality = min(covered / total, RELAXED_MAX_QUALITY)
    return [Hit(found[0][0], max(end for _, end in found), quality, tuple(found))]


def non_overlapping(hits: list[Hit]) -> list[Hit]:
    if len(hits) < 2:
        return hits
    chosen: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (-h.quality, h.start)):
        if all(hit.end <= other.start or hit.start >= other.end for other in chosen):
            chosen.append(hit)
    return sorted(chosen, key=lambda h: h.start)
