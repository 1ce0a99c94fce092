"""The fused matcher for many interests at once: the semantic layer of percolation (and so of the daily plan).

fusion.py scores one (interest, paper) pair from its lexical and semantic features. Here those features are
computed for tens of thousands of distinct interests against one index without a Python loop per pair:

- the semantic ones as float32 matrix products, a block of interests at a time (the interest vectors
  stacked, the papers' doc/title/sentence vectors stacked once per index, in PaperVectors);
- the lexical ones only where the interest's words hit a paper (score_interest at fusion's LEXICAL_FLOOR,
  typically a few dozen papers of a thousand), the no-hit value everywhere else, where every lexical
  feature is 0 but coverage (how much of the interest's information the paper holds anywhere), which is
  worked out for all papers at once from the plans' bit sets. `lexical_rows` is pinned equal to fusion's
  `lexical_matrix` (the plain loop over every paper) by a test.

Then fusion's own `assemble` and `fuse` decide, so a feature added to fusion plugs in here unchanged, and a
pick is what `fusion.fuse` picks. That is the plain path (plain_block_verdicts); the planner runs the fast
path of fast_fusion.py (the model folded into the products, exact where it matters), which gives the same
picks, whenever it knows every feature of the model. Pure numpy and the matcher: no Django, no model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from newsletter.matching.fast_fusion import (
    CERTAIN_MARGIN,
    CoverageCache,
    FoldedModel,
    PaperSide,
    best_sentence,
    block_cosines,
    block_lexical,
    exact_features,
    folded_logits,
)
from newsletter.matching.fusion import (
    FEATURES,
    LEXICAL_FEATURES,
    LEXICAL_FLOOR,
    FusionModel,
    PaperVectors,
    assemble,
    fuse,
    lexical_features,
    neighbours,
    semantic_scores,
    stored_model,
)
from newsletter.matching.index import PaperIndex
from newsletter.matching.plans import ClausePlan, plan_interest
from newsletter.matching.query import CompiledInterest
from newsletter.matching.scoring import THRESHOLD, excluded, paper_hits, score_interest

# Interests scored per matrix product: (BLOCK, papers, features) float32 plus the sentence cosines
# (BLOCK, sentences) stay near 100 MB at 1,000 papers; larger blocks are no faster on 2 cores.
BLOCK = 256
_COVERAGE = LEXICAL_FEATURES.index("coverage")


@dataclass(frozen=True, slots=True)
class SemanticLayer:
    """What the fused matcher needs beside the index: the papers' vectors (row i = paper i) and sentences,
    the interest vectors (texts -> unit rows; stored and batch-encoded by the caller) and the model."""

    vectors: PaperVectors
    sentences: Sequence[str]  # text of each row of vectors.sentences
    interest_vectors: Callable[[list[str]], np.ndarray]
    interest_text: Callable[[str], str]  # an interest's canonical text -> what is encoded for it
    model: FusionModel = field(default_factory=stored_model)
    block: int = BLOCK
    fast: bool = True  # the fast path (fast_fusion.py) where it knows the model's features; False: the plain one
    nearest: np.ndarray = field(init=False)  # each paper's nearest papers (fusion.neighbours), once per index
    folded: FoldedModel | None = field(init=False)
    side: PaperSide | None = field(init=False)  # the fast path's per-index arrays
    coverage: CoverageCache = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nearest", neighbours(self.vectors))
        folded = FoldedModel.fold(self.model) if self.fast else None
        object.__setattr__(self, "folded", folded)
        side = PaperSide.build(self.vectors, self.nearest, folded) if folded is not None else None
        object.__setattr__(self, "side", side)
        object.__setattr__(self, "coverage", CoverageCache(len(self.vectors.doc)))

    @property
    def usable(self) -> bool:
        """Whether any paper has vectors: without, the words alone decide (the lexical path, unchanged)."""
        return bool(self.vectors.present.any())

    def sentence(self, number: int) -> str:
        return self.sentences[number] if 0 <= number < len(self.sentences) else ""


@dataclass(slots=True)
class Verdict:
    """One interest's picks: paper number -> P(relevant); which the vectors brought, and their closest sentence."""

    scored: dict[int, float]
    related: int  # bit set of the picks with no word hit ("related to <interest>")
    sentences: dict[int, int]  # related pick -> its sentence closest to the interest (layer.sentences)


def fused_verdicts(index: PaperIndex, layer: SemanticLayer, interests: Sequence[CompiledInterest]) -> list[Verdict]:
    """The fused verdict of each interest (each with clauses), a block of interests per matrix product."""
    out: list[Verdict] = []
    for start in range(0, len(interests), layer.block):
        out += _block_verdicts(index, layer, interests[start : start + layer.block])
    return out


def _block_verdicts(index: PaperIndex, layer: SemanticLayer, block: Sequence[CompiledInterest]) -> list[Verdict]:
    if layer.folded is not None and layer.side is not None:
        return fast_block_verdicts(index, layer, block, layer.folded, layer.side)
    return plain_block_verdicts(index, layer, block)


_HIT_COUNT = FEATURES.index("hit_count")
_LEXICAL_MATCH = FEATURES.index("lexical_match")


def fast_block_verdicts(
    index: PaperIndex, layer: SemanticLayer, block: Sequence[CompiledInterest], folded: FoldedModel, side: PaperSide
) -> list[Verdict]:
    """plain_block_verdicts' verdicts: the folded logit rules out every pair that cannot be a pick, and the
    few others are decided on their exact features by the model itself."""
    queries = np.asarray(layer.interest_vectors([layer.interest_text(c.text) for c in block]), dtype=np.float32)
    cosines = block_cosines(queries, side)
    lexical = block_lexical(index, block, layer.coverage)
    logit = folded_logits(cosines, lexical, side, folded)
    present = side.vectors.present
    candidate = (logit >= folded.logit_threshold - CERTAIN_MARGIN) & present
    without_vectors = ~present[lexical.papers] & (lexical.score >= THRESHOLD)  # the words alone decide there
    candidate[lexical.rows[without_vectors], lexical.papers[without_vectors]] = True
    rows, papers = np.nonzero(candidate)
    features = exact_features(rows, papers, cosines, lexical, side)
    probability = layer.model.probability(features)
    picked = np.where(present[papers], probability >= layer.model.threshold, features[:, _LEXICAL_MATCH] > 0)
    words = features[:, _HIT_COUNT] > 0
    bounds = np.searchsorted(rows, np.arange(len(block) + 1))
    verdicts: list[Verdict] = []
    for row, compiled in enumerate(block):
        chosen = [i for i in range(bounds[row], bounds[row + 1]) if picked[i]]
        chosen.sort(key=lambda i: (not words[i], -probability[i], papers[i]))  # as fusion.fuse orders them
        dropped = excluded(index, compiled) if compiled.excludes else 0
        chosen = [i for i in chosen if not dropped >> int(papers[i]) & 1]
        related = [int(papers[i]) for i in chosen if not words[i]]
        verdicts.append(
            Verdict(
                scored={int(papers[i]): float(probability[i]) for i in chosen},
                related=sum(1 << number for number in related),
                sentences={number: best_sentence(queries[row], number, side.vectors) for number in related},
            )
        )
    return verdicts


def plain_block_verdicts(index: PaperIndex, layer: SemanticLayer, block: Sequence[CompiledInterest]) -> list[Verdict]:
    """fusion's own assemble and fuse over the whole block (every pair's features): the reference."""
    queries = np.asarray(layer.interest_vectors([layer.interest_text(c.text) for c in block]), dtype=np.float32)
    semantic = semantic_scores(queries, layer.vectors)
    lexical = np.stack([lexical_rows(index, compiled) for compiled in block])
    features = assemble(lexical=lexical, semantic=semantic, nearest=layer.nearest, present=layer.vectors.present)
    del lexical
    picked = fuse(features=features, semantic=semantic, present=layer.vectors.present, model=layer.model)
    verdicts: list[Verdict] = []
    for compiled, picks in zip(block, picked, strict=True):
        # An interest's own exclusions ("LLM -survey") hold for what the vectors bring too.
        dropped = excluded(index, compiled) if compiled.excludes else 0
        kept = [pick for pick in picks if not dropped >> pick.number & 1]
        related = [pick for pick in kept if pick.kind == "related"]
        verdicts.append(
            Verdict(
                scored={pick.number: pick.probability for pick in kept},
                related=sum(1 << pick.number for pick in related),
                sentences={pick.number: pick.sentence for pick in related},
            )
        )
    return verdicts


def lexical_rows(index: PaperIndex, compiled: CompiledInterest) -> np.ndarray:
    """(papers, len(LEXICAL_FEATURES)) of one interest: fusion.lexical_matrix's row, computed sparsely."""
    plans = plan_interest(index, compiled)
    out = np.zeros((len(index), len(LEXICAL_FEATURES)), dtype=np.float32)
    out[:, _COVERAGE] = coverage_all(plans, len(index))
    for number, score in score_interest(index, compiled, threshold=LEXICAL_FLOOR):
        hits = paper_hits(index, number, compiled)
        out[number] = lexical_features(
            index=index, number=number, score=score, hits=hits, plans=plans, threshold=THRESHOLD
        )
    return out


def coverage_all(plans: list[ClausePlan], papers: int) -> np.ndarray:
    """fusion.coverage for every paper at once, from each unit's bit set of papers."""
    best = np.zeros(papers, dtype=np.float64)
    for plan in plans:
        total = sum(plan.weights) or 1.0
        held = np.zeros(papers, dtype=np.float64)
        for unit, weight in zip(plan.units, plan.weights, strict=True):
            held += weight * bits_array(unit.bits, papers)
        np.maximum(best, held / total, out=best)
    return best.astype(np.float32)


def bits_array(bits: int, papers: int) -> np.ndarray:
    """A Python int bit set (bit n = paper n) as a (papers,) 0/1 array."""
    size = (papers + 7) // 8
    raw = np.frombuffer((bits & ((1 << papers) - 1)).to_bytes(size, "little"), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[:papers]
