"""Fusion: the lexical evidence and the semantic evidence of one (interest, paper) pair, as one score.

Features per pair (FEATURES): what the words say (a lexical match, its score, a title hit, how many hits,
a single passing mention, how close the words are, how much of the interest's information the paper
holds at all) and what the vectors say (cosine of the interest to the paper's title + abstract, to its
closest sentence, to its title; each also as a z-score among the batch's papers, because cosines of one
interest are comparable with each other far better than across interests). A logistic regression over
them, with weights fitted by scripts/fit_fusion.py and stored in fusion_weights.json, gives P(relevant);
a pair is a pick at P >= the stored threshold. So the semantic evidence can both add a paper the words
missed ("related") and veto a weak word hit (a passing mention, a stem that means something else).

Pure numpy, no Django, no model: vectors are computed elsewhere (papers.embedding) and passed in.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from newsletter.matching.acronyms import AcronymLookup, ExpansionKey, acronym_key, expansion_key
from newsletter.matching.hits import Hit
from newsletter.matching.index import PaperIndex
from newsletter.matching.plans import ClausePlan, plan_interest
from newsletter.matching.query import CompiledInterest
from newsletter.matching.scoring import THRESHOLD, paper_hits, score_interest

WEIGHTS_PATH = Path(__file__).with_name("fusion_weights.json")
# Lexical scores below this are noise (a relaxed-title fragment), not evidence.
LEXICAL_FLOOR = 0.05

LEXICAL_FEATURES = (
    "lexical_match",  # the lexical matcher picks it (score >= its threshold)
    "lexical_score",  # log(1 + its score)
    "title_hit",  # a hit in the title
    "hit_count",  # log(1 + number of hits)
    "passing_mention",  # exactly one hit, in the abstract, nothing in the title
    "hit_quality",  # the best hit's closeness (1: as typed)
    "coverage",  # share of the interest's information (IDF) whose words the paper holds anywhere
)
SEMANTIC_FEATURES = ("cos_doc", "cos_sentence", "cos_title", "z_doc", "z_sentence", "z_title")
# Share of the paper's nearest papers in the batch (by title + abstract vector) that the words match: an
# RLHF paper that never writes "language model" sits among papers that do.
NEIGHBOUR_FEATURES = ("neighbours_5", "neighbours_10")
NEIGHBOURS = (5, 10)
FEATURES = LEXICAL_FEATURES + SEMANTIC_FEATURES + NEIGHBOUR_FEATURES


@dataclass(frozen=True, slots=True)
class PaperVectors:
    """Vectors of the papers of one index, row i = paper i of the index (unit rows; zero rows where absent)."""

    doc: np.ndarray  # (n, d) title + abstract
    title: np.ndarray  # (n, d)
    sentences: np.ndarray  # (S, d) every abstract sentence of every paper, paper by paper
    offsets: np.ndarray  # (n + 1,) paper i's sentences are sentences[offsets[i] : offsets[i + 1]]
    present: np.ndarray  # (n,) bool: the paper has vectors (old rows may not)

    @classmethod
    def stack(cls, rows: Sequence[np.ndarray | None], dimension: int) -> PaperVectors:
        """From each paper's stored rows [doc, title, sentence...] (None: no vectors yet)."""
        n = len(rows)
        doc = np.zeros((n, dimension), dtype=np.float32)
        title = np.zeros((n, dimension), dtype=np.float32)
        sentences: list[np.ndarray] = []
        offsets = np.zeros(n + 1, dtype=np.int64)
        present = np.zeros(n, dtype=bool)
        for i, row in enumerate(rows):
            count = 0
            if row is not None and len(row) >= 2:
                doc[i], title[i], present[i] = row[0], row[1], True
                if len(row) > 2:
                    sentences.append(row[2:])
                    count = len(row) - 2
            offsets[i + 1] = offsets[i] + count
        stacked = np.concatenate(sentences) if sentences else np.zeros((0, dimension), dtype=np.float32)
        return cls(doc=doc, title=title, sentences=stacked.astype(np.float32), offsets=offsets, present=present)


@dataclass(frozen=True, slots=True)
class Semantic:
    """Cosines of m interests to n papers, each (m, n); best_sentence: index into PaperVectors.sentences."""

    cos_doc: np.ndarray
    cos_sentence: np.ndarray
    cos_title: np.ndarray
    best_sentence: np.ndarray
    z_doc: np.ndarray
    z_sentence: np.ndarray
    z_title: np.ndarray


def semantic_scores(interests: np.ndarray, vectors: PaperVectors) -> Semantic:
    """Cosines and z-scores (among the papers that have vectors) of each interest row to each paper."""
    cos_doc = interests @ vectors.doc.T
    cos_title = interests @ vectors.title.T
    cos_sentence, best = _best_sentences(interests, vectors)
    return Semantic(
        cos_doc=cos_doc,
        cos_sentence=cos_sentence,
        cos_title=cos_title,
        best_sentence=best,
        z_doc=_z(cos_doc, vectors.present),
        z_sentence=_z(cos_sentence, vectors.present),
        z_title=_z(cos_title, vectors.present),
    )


def _best_sentences(interests: np.ndarray, vectors: PaperVectors) -> tuple[np.ndarray, np.ndarray]:
    m, n = len(interests), len(vectors.offsets) - 1
    best = np.full((m, n), -1, dtype=np.int64)
    cos = np.zeros((m, n), dtype=np.float32)
    if not len(vectors.sentences):
        return np.maximum(cos, interests @ vectors.title.T), best
    sims = interests @ vectors.sentences.T  # (m, S)
    counts = np.diff(vectors.offsets)
    has = counts > 0
    starts = vectors.offsets[:-1][has]
    cos[:, has] = np.maximum.reduceat(sims, starts, axis=1)
    # Where the best is: the first sentence of each paper reaching its maximum, for every row at once
    # (a reduceat of "how far from the end" where the maximum is reached: the planner asks 40,000 rows).
    owner = np.repeat(np.arange(n), counts)
    hit = sims >= cos[:, owner] - 1e-7
    total = len(vectors.sentences)
    from_end = np.where(hit, np.arange(total, 0, -1, dtype=np.int32), 0)
    best[:, has] = total - np.maximum.reduceat(from_end, starts, axis=1)
    return cos, best


def _z(cos: np.ndarray, present: np.ndarray) -> np.ndarray:
    if not present.any():
        return np.zeros_like(cos)
    among = cos[:, present]
    mean = among.mean(axis=1, keepdims=True)
    std = among.std(axis=1, keepdims=True) + 1e-3
    return ((cos - mean) / std).astype(np.float32)


def neighbours(vectors: PaperVectors) -> np.ndarray:
    """(n, max(NEIGHBOURS)) nearest papers of each paper by title + abstract, itself and papers without
    vectors left out (a batch smaller than that repeats its last neighbour)."""
    n, k = len(vectors.doc), max(NEIGHBOURS)
    if n < 2:
        return np.zeros((n, k), dtype=np.int64)
    similar = vectors.doc @ vectors.doc.T
    similar[:, ~vectors.present] = -np.inf
    np.fill_diagonal(similar, -np.inf)
    take = min(k, n - 1)
    nearest = np.argsort(-similar, axis=1, kind="stable")[:, :take]
    return np.pad(nearest, ((0, 0), (0, k - take)), mode="edge")


def neighbour_shares(matched: np.ndarray, nearest: np.ndarray, present: np.ndarray) -> list[np.ndarray]:
    """For each k of NEIGHBOURS, (m, n): share of each paper's k nearest papers in `matched` (m, n bool)."""
    gathered = matched[:, nearest]  # (m, n, K)
    return [np.where(present, gathered[:, :, :k].mean(axis=2), 0.0).astype(np.float32) for k in NEIGHBOURS]


def assemble(*, lexical: np.ndarray, semantic: Semantic, nearest: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(m, n, len(FEATURES)) from the lexical features (m, n, len(LEXICAL_FEATURES)) and the vectors' evidence."""
    columns = [lexical[:, :, i] for i in range(lexical.shape[2])]
    columns += [semantic.cos_doc, semantic.cos_sentence, semantic.cos_title]
    columns += [semantic.z_doc, semantic.z_sentence, semantic.z_title]
    columns += neighbour_shares(lexical[:, :, 0] > 0, nearest, present)
    return np.stack(columns, axis=2)


def lexical_features(
    *, index: PaperIndex, number: int, score: float, hits: list[Hit], plans: list[ClausePlan], threshold: float
) -> list[float]:
    """The LEXICAL_FEATURES of paper `number` for one interest (its lexical score and hits given)."""
    paper = index.papers[number]
    title = any(hit.start < paper.title_tokens for hit in hits)
    return [
        1.0 if score >= threshold else 0.0,
        math.log1p(score),
        1.0 if title else 0.0,
        math.log1p(len(hits)),
        1.0 if len(hits) == 1 and not title else 0.0,
        max((hit.quality for hit in hits), default=0.0),
        coverage(plans, number),
    ]


def lexical_matrix(index: PaperIndex, interests: Sequence[CompiledInterest]) -> np.ndarray:
    """(m, n, len(LEXICAL_FEATURES)) for each interest and each paper of the index."""
    out = np.zeros((len(interests), len(index), len(LEXICAL_FEATURES)), dtype=np.float32)
    coverage_column = LEXICAL_FEATURES.index("coverage")
    for row, compiled in enumerate(interests):
        plans = plan_interest(index, compiled)
        scores = dict(score_interest(index, compiled, threshold=LEXICAL_FLOOR))
        for number in range(len(index)):
            score = scores.get(number)
            if score is None:  # no hit at all: only how much of the interest's words it holds
                out[row, number, coverage_column] = coverage(plans, number)
                continue
            hits = paper_hits(index, number, compiled)
            out[row, number] = lexical_features(
                index=index, number=number, score=score, hits=hits, plans=plans, threshold=THRESHOLD
            )
    return out


def coverage(plans: list[ClausePlan], number: int) -> float:
    """Share of a clause's IDF weight held by units the paper contains anywhere; the best clause's."""
    bit = 1 << number
    best = 0.0
    for plan in plans:
        total = sum(plan.weights) or 1.0
        held = sum(weight for unit, weight in zip(plan.units, plan.weights, strict=True) if unit.bits & bit)
        best = max(best, held / total)
    return best


@dataclass(frozen=True, slots=True)
class FusionModel:
    """Standardise, weigh, squash: P(relevant) of each row of features."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "weights": [round(float(v), 6) for v in self.weights],
            "bias": round(self.bias, 6),
            "threshold": round(self.threshold, 4),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FusionModel:
        return cls(
            features=tuple(data["features"]),
            mean=np.array(data["mean"], dtype=np.float64),
            scale=np.array(data["scale"], dtype=np.float64),
            weights=np.array(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
        )


@cache
def stored_model() -> FusionModel:
    """The weights in the repository (fusion_weights.json), read once."""
    data = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    model = FusionModel.from_json(data["model"])
    if model.features != FEATURES:
        raise ValueError(f"{WEIGHTS_PATH.name} was fitted on other features: re-run scripts/fit_fusion.py")
    return model


def interest_vector_text(text: str, acronyms: AcronymLookup) -> str:
    """What is encoded for an interest: its text, with its learned acronym or expansion appended.

    "RLHF" alone is a few WordPiece fragments to the model; "RLHF (reinforcement learning from human
    feedback)" is a topic. Only dominant meanings are appended (acronyms.DOMINANT_SHARE): an ambiguous
    acronym stays as typed rather than being given a meaning the reader may not have.
    """
    other = [form for form in _other_forms(text, acronyms) if form.casefold() != text.casefold()]
    return f"{text} ({other[0]})" if other else text


def twin_keys(text: str, acronyms: AcronymLookup) -> set[ExpansionKey]:
    """Keys of the interest and of its acronym twin ("ICL" and "in-context learning" share them)."""
    return {expansion_key(text), *(expansion_key(form) for form in _other_forms(text, acronyms))}


def _other_forms(text: str, acronyms: AcronymLookup) -> list[str]:
    forms: list[str] = []
    if len(text.split()) == 1:
        forms += [e.expansion for e in acronyms.by_acronym.get(acronym_key(text), ()) if e.dominant]
    forms += [e.acronym for e in acronyms.by_expansion.get(expansion_key(text), ()) if e.dominant]
    return forms


@dataclass(frozen=True, slots=True)
class Pick:
    """One paper picked for one interest: its number in the index, P(relevant), and what kind of evidence."""

    number: int
    probability: float
    kind: str  # "words": the interest's words are in the paper; "related": the vectors brought it
    sentence: int  # the paper's sentence closest to the interest (index into PaperVectors.sentences), or -1


def fuse(*, features: np.ndarray, semantic: Semantic, present: np.ndarray, model: FusionModel) -> list[list[Pick]]:
    """Each interest's picks, best first. A paper without vectors is judged by the words alone (fallback)."""
    probability = model.probability(features.reshape(-1, features.shape[2])).reshape(features.shape[:2])
    lexical_match = features[:, :, FEATURES.index("lexical_match")] > 0
    has_hit = features[:, :, FEATURES.index("hit_count")] > 0
    picked = np.where(present, probability >= model.threshold, lexical_match)
    out: list[list[Pick]] = []
    for row in range(features.shape[0]):
        numbers = np.flatnonzero(picked[row])
        picks = [
            Pick(
                number=int(number),
                probability=float(probability[row, number]),
                kind="words" if has_hit[row, number] else "related",
                sentence=int(semantic.best_sentence[row, number]),
            )
            for number in numbers
        ]
        picks.sort(key=lambda pick: (pick.kind != "words", -pick.probability, pick.number))
        out.append(picks)
    return out
