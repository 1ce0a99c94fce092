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
pick is what `fusion.fuse` picks. Pure numpy and the matcher: no Django, no model (vectors come in).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from newsletter.matching.fusion import (
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
    nearest: np.ndarray = field(init=False)  # each paper's nearest papers (fusion.neighbours), once per index

    def __post_init__(self) -> None:
        object.__setattr__(self, "nearest", neighbours(self.vectors))

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
