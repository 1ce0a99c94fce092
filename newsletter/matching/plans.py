"""Plans: what evaluating an interest needs from the index, fetched once per interest (or once per unit).

A unit's plan holds its postings and bit sets (papers, titles, sentences that may hold it) and its IDF; a
clause's plan the papers that hold every unit in one sentence, and those whose title may carry the clause
alone (the relaxed title rule). Unit plans are cached on the index: the same words recur across thousands
of interests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from newsletter.matching.index import PaperIndex, Posting, iter_bits, papers_of_sentences
from newsletter.matching.query import Clause, CompiledInterest, Unit
from newsletter.matching.text import stem

# A title that holds the words carrying at least this share of a multi-word interest's information (IDF),
# all of them also in the abstract, is about the interest even without the rest: "Self-Distillation for
# ..." for knowledge distillation. Its quality is that share.
RELAXED_COVERAGE = 0.5
# ... and only words specific enough to stand for a topic count there: found in at most this share of papers.
RELAXED_MAX_SHARE = 0.1
# A relaxed title hit needs the head of the interest's noun phrase in the title too (Clause.head): the other
# words only say which kind of it ("video generation" is a kind of generation, "video comprehension" is not).
# Unless the head is in more than this share of the papers: a word most papers use ("learning") tells
# nothing about a title, and "Federated PCA" is about federated learning.
RELAXED_HEAD_MAX_SHARE = 0.5
# An interest of three or more words led by a common word ("large language models", "deep reinforcement
# learning") also matches without that word, each hit worth this much of a full one: a paper about language
# models is what such a subscriber means. A title hit still counts, a single passing mention in an abstract
# does not. A leading word specific enough to stand for a topic (RELAXED_MAX_SHARE: "graph" in "graph neural
# networks") makes the topic and is never dropped.
# A paper that comes back to every word of a multi-word interest, each in at least this many of its
# sentences (the title is one), is about the interest even where the words are never close: "Black-Box Prompt
# Search" whose abstract keeps to prompts and to optimization. Such a paper matches, at the threshold.
THEME_MIN_SENTENCES = 3
# ... and the units meet in one sentence at least once (any distance apart in it).
THEME_NEEDS_A_SHARED_SENTENCE = True
BACKOFF_MIN_UNITS = 3
BACKOFF_QUALITY = 0.45
# Up to this many candidate papers, checking each for a shared sentence is cheaper than mapping sentences.
_FEW_PAPERS = 16
_NO_POSTINGS: dict[int, Posting] = {}


@dataclass(slots=True)
class UnitPlan:
    unit: Unit
    # Per variant: its tokens (stems, or surfaces when exact) and each token's postings.
    variants: list[tuple[tuple[str, ...], bool, tuple[dict[int, Posting], ...]]]
    bits: int  # papers that may hold the unit (every token of some variant, anywhere)
    title_bits: int
    sentence_bits: int  # sentences (numbered across papers) that may hold it
    frequency_bits: int  # for IDF: papers holding the unit as one word where it has such a variant
    plain: dict[int, Posting] | None  # the postings, when the unit is one plain word (the common case)
    weight: float  # IDF
    specific: bool  # rare enough to stand for a topic in a relaxed title hit (RELAXED_MAX_SHARE)
    recurring: int = -1  # papers with the unit in THEME_MIN_SENTENCES sentences; -1 until needed


@dataclass(slots=True)
class ClausePlan:
    clause: Clause
    units: list[UnitPlan]
    bits: int  # papers holding every unit
    relaxed: int  # papers whose title may carry enough of the clause (RELAXED_COVERAGE), not in bits
    relaxed_titles: int  # all papers whose title may carry enough of it, in bits or not
    weights: list[float]  # IDF of each unit
    relaxed_weights: list[float]  # the same, zero for units too common to count in a relaxed hit
    quality: float = 1.0  # what each hit is worth: BACKOFF_QUALITY for a clause without its leading word
    head_needed: bool = False  # a relaxed title hit must hold the head unit (RELAXED_HEAD_MAX_SHARE)
    # Papers in which every unit recurs (THEME_MIN_SENTENCES); -1 until hits.theme_bits works it out, and
    # 0 where the rule does not apply (one unit, a back-off clause, an exclusion).
    theme: int = 0


def plan_interest(index: PaperIndex, compiled: CompiledInterest) -> list[ClausePlan]:
    return plan_clauses(index, compiled.clauses, relax=True)


def plan_clauses(index: PaperIndex, clauses: tuple[Clause, ...], *, relax: bool) -> list[ClausePlan]:
    plans: list[ClausePlan] = []
    for clause in clauses:
        units = [plan_unit(index, unit) for unit in clause.units]
        plans.append(_plan_clause(index, clause, units, relax=relax))
        if relax and _can_back_off(units):
            shorter = Clause(units=clause.units[1:], length=clause.length - len(clause.units[0].variants[0].tokens))
            plans.append(_backoff_plan(index, shorter, units[1:]))
    return plans


def _backoff_plan(index: PaperIndex, clause: Clause, units: list[UnitPlan]) -> ClausePlan:
    """The shortened clause's plan, its candidates only the papers where a discounted hit can still reach
    the threshold: the words together in the title, or in two sentences of the abstract. Thousands of
    interests end in the same common words ("... language models"): worked out once, kept on the index."""
    key = ("backoff", clause)
    plan: ClausePlan | None = index.unit_plans.get(key)
    if plan is not None:
        return plan
    plan = _plan_clause(index, clause, units, relax=False)
    plan.quality = BACKOFF_QUALITY
    in_title = plan.bits
    for unit in units:
        in_title &= unit.title_bits
    plain = [unit.plain for unit in units]
    repeated = 0
    if all(postings is not None for postings in plain):
        for number in iter_bits(plan.bits & ~in_title):
            shared = -1
            for postings in plain:
                shared &= postings[number].sentences  # type: ignore[index]
            if shared & (shared - 1):  # more than one sentence
                repeated |= 1 << number
    else:
        repeated = plan.bits  # rare (compounds, acronyms): the scorer decides
    plan.bits = in_title | repeated
    index.unit_plans[key] = plan
    return plan


def _can_back_off(units: list[UnitPlan]) -> bool:
    first = units[0]
    return len(units) >= BACKOFF_MIN_UNITS and not first.specific and first.unit.acronym is None


def _plan_clause(index: PaperIndex, clause: Clause, units: list[UnitPlan], *, relax: bool) -> ClausePlan:
    everything = (1 << len(index)) - 1
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
        _relaxed_candidates(units, weights) if relax and len(units) > 1 and any(u.specific for u in units) else (0, [])
    )
    head = units[clause.head]
    head_needed = head.frequency_bits.bit_count() <= RELAXED_HEAD_MAX_SHARE * len(index)
    plan = ClausePlan(clause, units, bits, relaxed & ~bits, relaxed, weights, specific if relaxed else [])
    plan.head_needed = head_needed
    plan.theme = -1 if relax and len(units) > 1 else 0
    return plan


def plan_unit(index: PaperIndex, unit: Unit) -> UnitPlan:
    plan: UnitPlan | None = index.unit_plans.get(unit)
    if plan is None:
        plan = index.unit_plans[unit] = _new_unit_plan(index, unit)
    return plan


def _new_unit_plan(index: PaperIndex, unit: Unit) -> UnitPlan:
    variants = []
    bits = title_bits = single = sentence_bits = 0
    for variant in unit.variants:
        lookup = tuple(stem(token) for token in variant.tokens) if variant.exact else variant.tokens
        variants.append((variant.tokens, variant.exact, tuple(index.postings.get(t, _NO_POSTINGS) for t in lookup)))
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
    return UnitPlan(
        unit=unit,
        variants=variants,
        bits=bits,
        title_bits=title_bits,
        sentence_bits=sentence_bits,
        frequency_bits=single or bits,
        plain=plain if unit.acronym is None else None,
        weight=_idf(index, single or bits),
        specific=(single or bits).bit_count() <= RELAXED_MAX_SHARE * len(index),
    )


def _idf(index: PaperIndex, bits: int) -> float:
    papers = len(index)
    return math.log((papers + 1) / (min(papers, bits.bit_count()) + 0.5))


def _relaxed_candidates(units: list[UnitPlan], weights: list[float]) -> tuple[int, list[float]]:
    """Papers whose title may hold specific units carrying RELAXED_COVERAGE of the clause's weight, and
    the weights a relaxed hit may count (zero for units too common to stand for a topic)."""
    specific = [unit.weight if unit.specific else 0.0 for unit in units]
    total = sum(weights)
    if sum(specific) < RELAXED_COVERAGE * total:
        return 0, specific
    found = 0
    for unit, weight in zip(units, specific, strict=True):
        if weight:
            found |= unit.title_bits
    return found, specific
