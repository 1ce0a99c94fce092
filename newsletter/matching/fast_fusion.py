"""The fused planner's fast path: fusion's decision for a block of interests without assembling its features.

The plain path (semantic.plain_block_verdicts) builds a (block, papers, features) array, runs the logistic
model on every pair and asks paper_hits again for every pair the words hit. At a million subscribers (~45,000
distinct interests x 1,000 papers) that was 3.4 times the lexical-only planner. Here, with the same result:

- **The linear model folded into the products.** The logit is linear in every feature, and a z-score is
  linear in its cosine within one interest's row, so the dense part of the logit is three cosine matrices,
  each times one factor per row, plus a constant per row (FoldedModel). No (block, papers, 15) array exists.
- **Lexical and neighbour evidence added sparsely**: the lexical features only where the words hit (their hit
  summaries come from scoring itself, scoring.score_interest_hits); coverage from each unit's bit set; the
  neighbour shares by scattering each lexical match to the papers that have it among their nearest.
- **Decided exactly where it matters.** The folded float32 logit is within ~1e-5 of the plain float64 one;
  pairs whose folded logit is below the threshold's by more than CERTAIN_MARGIN cannot be picks (an upper
  bound), every other pair (a few per interest) gets its features assembled exactly as fusion.assemble
  does and its probability from FusionModel.probability itself. So the picks and their probabilities are
  the plain path's (pinned by tests/newsletter/matching/test_fast_fusion.py).
- **The closest sentence only for related picks**, not for all pairs (it is only ever quoted for those).

Dimension-agnostic: only the vectors' own width is used. Pure numpy and the matcher: no Django, no model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsletter.matching.fusion import (
    FEATURES,
    LEXICAL_FEATURES,
    LEXICAL_FLOOR,
    NEIGHBOURS,
    FusionModel,
    PaperVectors,
)
from newsletter.matching.index import PaperIndex
from newsletter.matching.plans import ClausePlan, plan_interest
from newsletter.matching.query import CompiledInterest
from newsletter.matching.scoring import THRESHOLD, score_interest_hits

# The folded float32 logit differs from FusionModel's float64 one by ~1e-5 (a dozen terms of at most ~20);
# pairs within this margin of the threshold are decided the plain way. Wider costs only a few more pairs.
CERTAIN_MARGIN = 1e-2
_COSINES = ("doc", "sentence", "title")
_NEIGHBOUR_NAMES = tuple(f"neighbours_{k}" for k in NEIGHBOURS)


@dataclass(frozen=True, slots=True)
class FoldedModel:
    """FusionModel as one coefficient per raw feature (weight / scale) and one constant (bias minus the
    coefficients times the means): logit = constant + sum(coefficient * feature)."""

    coefficient: dict[str, float]
    constant: float
    logit_threshold: float

    @classmethod
    def fold(cls, model: FusionModel) -> FoldedModel | None:
        """None where the fast path does not know every feature, or the threshold is not a probability."""
        if set(model.features) - set(FEATURES) or set(FEATURES) - set(model.features):
            return None
        if not 0.0 < model.threshold < 1.0:
            return None
        coefficient = {
            name: float(weight / scale)
            for name, weight, scale in zip(model.features, model.weights, model.scale, strict=True)
        }
        means = zip(model.features, model.mean, strict=True)
        constant = model.bias - sum(coefficient[name] * float(mean) for name, mean in means)
        logit = math.log(model.threshold / (1.0 - model.threshold))
        if abs(logit) > 29:  # FusionModel clips its logit to [-30, 30]
            return None
        return cls(coefficient=coefficient, constant=constant, logit_threshold=logit)


@dataclass(frozen=True, slots=True)
class PaperSide:
    """What the fast path needs of one index's vectors, computed once per index (shared by forked workers)."""

    vectors: PaperVectors
    # (2n + S, d): doc rows, title rows, then the sentence rows grouped by their paper's number of sentences,
    # so a paper's closest sentence is a max over a fixed-size axis (a reduceat over ragged rows was 30x slower).
    stacked: np.ndarray
    groups: tuple[tuple[int, np.ndarray, int], ...]  # (sentences per paper, its papers, first row in stacked)
    has_sentences: np.ndarray  # (n,) bool
    nearest: np.ndarray  # (n, max(NEIGHBOURS)) fusion.neighbours
    # Papers whose nearest lists hold paper q: scatter[q_ptr[q]:q_ptr[q+1]] (paper, logit added per match of q).
    q_ptr: np.ndarray
    scatter_paper: np.ndarray
    scatter_weight: np.ndarray

    @classmethod
    def build(cls, vectors: PaperVectors, nearest: np.ndarray, folded: FoldedModel) -> PaperSide:
        n = len(vectors.doc)
        counts = np.diff(vectors.offsets)
        has = counts > 0
        groups: list[tuple[int, np.ndarray, int]] = []
        rows: list[np.ndarray] = []
        at = 2 * n
        for size in np.unique(counts[has]):
            papers_of_size = np.flatnonzero(counts == size)
            groups.append((int(size), papers_of_size, at))
            rows.append((vectors.offsets[papers_of_size][:, None] + np.arange(size)).reshape(-1))
            at += len(papers_of_size) * int(size)
        order_of_sentences = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        stacked = np.concatenate([vectors.doc, vectors.title, vectors.sentences[order_of_sentences]])
        k_max = nearest.shape[1] if nearest.ndim == 2 else 0
        papers = np.repeat(np.arange(n), k_max)
        neighbour = nearest.reshape(-1)
        rank = np.tile(np.arange(k_max), n)
        weight = np.zeros(len(papers), dtype=np.float64)
        for k, name in zip(NEIGHBOURS, _NEIGHBOUR_NAMES, strict=True):
            weight += np.where(rank < k, folded.coefficient[name] / k, 0.0)
        keep = vectors.present[papers] & (weight != 0)  # fusion zeroes the shares of papers without vectors
        papers, neighbour, weight = papers[keep], neighbour[keep], weight[keep]
        order = np.argsort(neighbour, kind="stable")
        q_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(neighbour, minlength=n), out=q_ptr[1:])
        return cls(
            vectors=vectors,
            stacked=stacked.astype(np.float32),
            groups=tuple(groups),
            has_sentences=has,
            nearest=nearest,
            q_ptr=q_ptr,
            scatter_paper=papers[order],
            scatter_weight=weight[order],
        )


@dataclass(slots=True)
class _Lexical:
    """The block's lexical evidence: coverage everywhere, the rest at the pairs the words hit."""

    coverage: np.ndarray  # (m, n) float32
    rows: np.ndarray  # pairs with a hit: interest row, paper number, score, hit count, title hit, best quality
    papers: np.ndarray
    score: np.ndarray
    count: np.ndarray
    title: np.ndarray
    quality: np.ndarray


def block_lexical(index: PaperIndex, block: Sequence[CompiledInterest], coverage_of: CoverageCache) -> _Lexical:
    rows: list[int] = []
    pairs: list[tuple[int, float]] = []
    summaries: list[tuple[int, bool, float]] = []
    plans_of = []
    for row, compiled in enumerate(block):
        plans = plan_interest(index, compiled)
        plans_of.append(plans)
        scored, found = score_interest_hits(index, compiled, threshold=LEXICAL_FLOOR, plans=plans)
        rows += [row] * len(scored)
        pairs += scored
        summaries += found
    coverage = coverage_of.block(plans_of)
    numbers = np.array(pairs, dtype=np.float64).reshape(-1, 2)
    hits = np.array(summaries, dtype=np.float64).reshape(-1, 3)
    return _Lexical(
        coverage=coverage,
        rows=np.array(rows, dtype=np.int64),
        papers=numbers[:, 0].astype(np.int64),
        score=numbers[:, 1],
        count=hits[:, 0],
        title=hits[:, 1] > 0,
        quality=hits[:, 2],
    )


class CoverageCache:
    """fusion.coverage of every paper, for a block of interests at once, by scattering: each unit adds its
    weight at the papers holding it (their numbers cached per unit: the same words recur across thousands of
    interests), each clause's sum divided by its total, then the best clause of each interest. The sums run
    in the clause's unit order, as fusion.coverage's do, so the values are equal."""

    def __init__(self, papers: int, limit: int = 50_000) -> None:
        self.papers = papers
        self.limit = limit
        self._numbers: dict[int, np.ndarray] = {}

    def block(self, plans_of: Sequence[list[ClausePlan]]) -> np.ndarray:
        numbers: list[np.ndarray] = []  # per (clause, unit): the papers holding the unit
        weights: list[float] = []
        clause_of: list[int] = []
        totals: list[float] = []
        first_clause: list[int] = []
        for plans in plans_of:
            first_clause.append(len(totals))
            for plan in plans:
                for unit in plan.units:
                    numbers.append(self._papers(unit.bits))
                    clause_of.append(len(totals))
                weights += plan.weights
                totals.append(sum(plan.weights) or 1.0)
        if not totals:
            return np.zeros((len(plans_of), self.papers), dtype=np.float32)
        sizes = np.fromiter((len(found) for found in numbers), dtype=np.int64, count=len(numbers))
        targets = np.concatenate(numbers) + np.repeat(np.array(clause_of) * self.papers, sizes)
        held = np.bincount(targets, weights=np.repeat(weights, sizes), minlength=len(totals) * self.papers)
        held = held.reshape(len(totals), self.papers) / np.array(totals)[:, None]
        return np.maximum.reduceat(held, np.array(first_clause), axis=0).astype(np.float32)

    def _papers(self, bits: int) -> np.ndarray:
        found = self._numbers.get(bits)
        if found is None:
            if len(self._numbers) >= self.limit:
                self._numbers.clear()
            size = (self.papers + 7) // 8
            raw = np.frombuffer((bits & ((1 << self.papers) - 1)).to_bytes(size, "little"), dtype=np.uint8)
            found = self._numbers[bits] = np.flatnonzero(np.unpackbits(raw, bitorder="little")[: self.papers])
        return found


@dataclass(slots=True)
class _Cosines:
    doc: np.ndarray  # (m, n) float32, C order
    sentence: np.ndarray
    title: np.ndarray
    mean: dict[str, np.ndarray]  # (m, 1) per kind, as fusion._z computes them
    std: dict[str, np.ndarray]


def block_cosines(queries: np.ndarray, side: PaperSide) -> _Cosines:
    """fusion.semantic_scores' cosines and z-score statistics, without the best sentence's position."""
    n, m = len(side.has_sentences), len(queries)
    products = side.stacked @ queries.T  # (2n + S, m): one product for the block
    doc = np.ascontiguousarray(products[:n].T)
    title = np.ascontiguousarray(products[n : 2 * n].T)
    if side.groups:
        closest = np.zeros((n, m), dtype=np.float32)
        for size, papers, at in side.groups:
            by_paper = products[at : at + len(papers) * size].reshape(len(papers), size, m)
            best = by_paper[:, 0].copy()
            for position in range(1, size):
                np.maximum(best, by_paper[:, position], out=best)
            closest[papers] = best
        sentence = np.ascontiguousarray(closest.T)
    else:  # no paper has sentences: fusion takes the title's cosine (or 0)
        sentence = np.maximum(np.zeros_like(doc), title)
    cosines = _Cosines(doc=doc, sentence=sentence, title=title, mean={}, std={})
    present = side.vectors.present
    for kind in _COSINES:
        values = getattr(cosines, kind)
        among = values if present.all() else values[:, present]
        if among.shape[1]:
            cosines.mean[kind] = among.mean(axis=1, keepdims=True)
            cosines.std[kind] = among.std(axis=1, keepdims=True) + 1e-3
    return cosines


def folded_logits(cosines: _Cosines, lexical: _Lexical, side: PaperSide, folded: FoldedModel) -> np.ndarray:
    """(m, n) float32 logit of every pair, within ~1e-5 of FusionModel's."""
    c = folded.coefficient
    logit: np.ndarray = np.full(cosines.doc.shape, folded.constant, dtype=np.float32)
    for kind in _COSINES:
        factor: np.ndarray = np.full((len(logit), 1), c[f"cos_{kind}"], dtype=np.float32)
        if kind in cosines.mean:  # z = (cos - mean) / std: its coefficient folds into the cosine's
            factor = factor + np.float32(c[f"z_{kind}"]) / cosines.std[kind]
            logit -= np.float32(c[f"z_{kind}"]) * cosines.mean[kind] / cosines.std[kind]
        logit += getattr(cosines, kind) * factor
    logit += np.float32(c["coverage"]) * lexical.coverage
    at_hits = _lexical_columns(lexical) @ np.array([c[name] for name in LEXICAL_FEATURES[:-1]])
    np.add.at(logit, (lexical.rows, lexical.papers), at_hits.astype(np.float32))
    _add_neighbour_logits(logit, lexical, side)
    return logit


def _lexical_columns(lexical: _Lexical) -> np.ndarray:
    """fusion.lexical_features at the pairs with a hit, coverage left out (it is everywhere)."""
    passing = (lexical.count == 1) & ~lexical.title
    columns = (
        (lexical.score >= THRESHOLD).astype(np.float64),
        np.log1p(lexical.score),
        lexical.title.astype(np.float64),
        np.log1p(lexical.count),
        passing.astype(np.float64),
        lexical.quality,
    )
    return np.stack(columns, axis=1).astype(np.float32)  # stored as float32, as fusion's array holds them


def _add_neighbour_logits(logit: np.ndarray, lexical: _Lexical, side: PaperSide) -> None:
    matched = lexical.score >= THRESHOLD
    rows, papers = lexical.rows[matched], lexical.papers[matched]
    starts, stops = side.q_ptr[papers], side.q_ptr[papers + 1]
    sizes = stops - starts
    if not sizes.sum():
        return
    # Every (row, q) match expands to the papers that have q among their nearest.
    offsets = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())
    flat = np.repeat(rows, sizes) * logit.shape[1] + side.scatter_paper[offsets]
    added = np.bincount(flat, weights=side.scatter_weight[offsets], minlength=logit.size)
    logit += added.reshape(logit.shape).astype(np.float32)


def exact_features(
    rows: np.ndarray, papers: np.ndarray, cosines: _Cosines, lexical: _Lexical, side: PaperSide
) -> np.ndarray:
    """(pairs, len(FEATURES)) exactly as fusion.assemble would hold them for these (row, paper) pairs."""
    out = np.zeros((len(rows), len(FEATURES)), dtype=np.float32)
    m, n = cosines.doc.shape
    hit_index = np.full(m * n, -1, dtype=np.int64)
    hit_index[lexical.rows * n + lexical.papers] = np.arange(len(lexical.rows))
    found = hit_index[rows * n + papers]
    hit = found >= 0
    out[hit, : len(LEXICAL_FEATURES) - 1] = _lexical_columns(lexical)[found[hit]]
    out[:, FEATURES.index("coverage")] = lexical.coverage[rows, papers]
    for kind in _COSINES:
        values = getattr(cosines, kind)[rows, papers]
        out[:, FEATURES.index(f"cos_{kind}")] = values
        if kind in cosines.mean:
            mean, std = cosines.mean[kind][rows, 0], cosines.std[kind][rows, 0]
            out[:, FEATURES.index(f"z_{kind}")] = ((values - mean) / std).astype(np.float32)
    matched = np.zeros((m, n), dtype=bool)
    matched[lexical.rows, lexical.papers] = lexical.score >= THRESHOLD
    present = side.vectors.present[papers]
    for k, name in zip(NEIGHBOURS, _NEIGHBOUR_NAMES, strict=True):
        share = matched[rows[:, None], side.nearest[papers, :k]].mean(axis=1)
        out[:, FEATURES.index(name)] = np.where(present, share, 0.0).astype(np.float32)
    return out


def best_sentence(query: np.ndarray, paper: int, vectors: PaperVectors) -> int:
    """fusion._best_sentences for one pair: the paper's first sentence within 1e-7 of its closest, or -1."""
    start, stop = int(vectors.offsets[paper]), int(vectors.offsets[paper + 1])
    if start == stop:
        return -1
    sims = vectors.sentences[start:stop] @ query
    return start + int(np.flatnonzero(sims >= sims.max() - 1e-7)[0])
