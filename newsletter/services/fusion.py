"""Glue for the fused matcher (matching/fusion.py): stored paper vectors, interest vectors, picks with why.

Paper vectors come from the papers app (computed at ingest); an interest's vector is encoded the first
time this process sees the interest text (with its learned acronym expansion) and kept. Papers without
vectors yet (old rows before `manage.py embed_papers`) are judged by the words alone; without the model
at all, everything is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from newsletter.matching import PaperIndex, compile_interest
from newsletter.matching.explain import Match, build_matches
from newsletter.matching.fusion import (
    PaperVectors,
    Pick,
    assemble,
    fuse,
    interest_vector_text,
    lexical_matrix,
    neighbours,
    semantic_scores,
    stored_model,
)
from newsletter.matching.semantic import SemanticLayer
from newsletter.models import InterestVector
from papers.embedding import (
    DIMENSION,
    MODEL_ID,
    EncoderUnavailable,
    get_encoder,
    vectors_from_bytes,
    vectors_to_bytes,
)
from papers.selectors import paper_vector_rows

logger = logging.getLogger(__name__)
_INTEREST_CACHE = 100_000  # distinct interest texts kept encoded (384 floats each: 150 MB at most)
_interest_vectors: dict[str, np.ndarray] = {}
_interest_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class FusedMatch:
    """One paper for one interest: P(relevant), and why (the words found, or the closest sentence)."""

    paper_id: Any
    interest: str
    score: float
    kind: str  # "words" or "related"
    match: Match | None  # the words' explanation (highlights), for a "words" pick
    sentence: str  # the paper's sentence closest to the interest

    def why(self) -> dict[str, Any]:
        if self.kind == "words" and self.match is not None:
            explanation = self.match.explanation
            return {
                "kind": "words",
                "words": list(explanation.words),
                "where": "title" if explanation.in_title else "abstract",
                "snippet": [list(segment) for segment in (explanation.snippet or explanation.title)],
            }
        return {"kind": "related", "interest": self.interest, "sentence": self.sentence}


def interest_vectors(texts: list[str]) -> np.ndarray:
    """Unit vectors of interest texts (as encoded): kept in this process, else stored (InterestVector), else
    encoded now in one batch and stored for every later run. EncoderUnavailable if one is missing and the
    model cannot load."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    with _interest_lock:
        missing = [text for text in dict.fromkeys(texts) if text not in _interest_vectors]
    found = interest_vectors_stored(texts=missing) if missing else {}
    with _interest_lock:
        if len(_interest_vectors) + len(found) > _INTEREST_CACHE:
            _interest_vectors.clear()
        _interest_vectors.update(found)
        return np.stack([_interest_vectors[text] for text in texts])


# Texts per query when reading stored interest vectors (an IN list of this many is cheap to plan).
_READ_BATCH = 5_000


def interest_vectors_stored(*, texts: list[str]) -> dict[str, np.ndarray]:
    """Each text's stored vector; those missing are encoded (one batch) and stored. One query per 5,000 texts,
    plus one insert if any was missing."""
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(texts), _READ_BATCH):
        rows = InterestVector.objects.filter(model_id=MODEL_ID, text__in=texts[start : start + _READ_BATCH])
        found.update((text, vectors_from_bytes(bytes(data))[0]) for text, data in rows.values_list("text", "vector"))
    missing = [text for text in texts if text not in found]
    if missing:
        encoded = get_encoder().encode(missing)
        InterestVector.objects.bulk_create(
            [
                InterestVector(text=text, model_id=MODEL_ID, vector=vectors_to_bytes(vector[None, :]))
                for text, vector in zip(missing, encoded, strict=True)
            ],
            batch_size=2000,
            ignore_conflicts=True,  # another process stored it meanwhile: the same model gives the same vector
        )
        # Read back as stored (float16), so a vector is the same whether encoded now or read later.
        stored = vectors_from_bytes(vectors_to_bytes(encoded))
        found.update(zip(missing, stored, strict=True))
    return found


def semantic_layer(
    *, index: PaperIndex, vectors_of: Callable[[list[str]], np.ndarray] | None = None
) -> SemanticLayer | None:
    """The fused matcher's vectors for `index` (one query), or None: no paper has vectors (old rows, the
    embedding step off) or the model cannot load; the words alone decide then (percolation's lexical path).
    `vectors_of` gives the interests' vectors: by default stored ones (`interest_vectors`); the preview passes
    its own, kept in memory, since anyone may type anything there."""
    vectors, sentences = index_vectors(index)
    if not vectors.present.any():
        return None
    try:
        get_encoder()  # loaded once per process; needed for any interest not stored yet
    except EncoderUnavailable as error:  # already reported at start (papers.E001)
        logger.warning("semantic layer off: %s", error)
        return None
    return SemanticLayer(
        vectors=vectors,
        sentences=sentences,
        interest_vectors=vectors_of or interest_vectors,
        interest_text=partial(_encoded_text, acronyms=index.acronyms),
        model=stored_model(),
    )


def _encoded_text(text: str, *, acronyms: Any) -> str:
    return interest_vector_text(text, acronyms)


def index_vectors(index: PaperIndex) -> tuple[PaperVectors, list[str]]:
    """The stored vectors of the index's papers (row i = paper i), and every sentence in the same order."""
    stored = paper_vector_rows(ids=[int(p.paper.id) for p in index.papers])
    rows: list[np.ndarray | None] = []
    sentences: list[str] = []
    for paper in index.papers:
        found = stored.get(int(paper.paper.id))
        if found is None:
            rows.append(None)
            continue
        vectors = vectors_from_bytes(found[0])
        rows.append(vectors)
        sentences.extend(found[1][: max(len(vectors) - 2, 0)])
    return PaperVectors.stack(rows, DIMENSION), sentences


def fused_interest_matches(*, index: PaperIndex, interests: list[str]) -> dict[str, list[FusedMatch]]:
    """Each interest's papers, picks on its own words first, then related ones, best first within each."""
    compiled = [compile_interest(text, acronyms=index.acronyms) for text in interests]
    vectors, sentences = index_vectors(index)
    try:
        queries = interest_vectors([interest_vector_text(text, index.acronyms) for text in interests])
    except EncoderUnavailable as error:  # already reported at start (papers.E001): fall back to the words
        logger.warning("semantic layer off: %s", error)
        vectors = PaperVectors.stack([None] * len(index), DIMENSION)
        queries = np.zeros((len(interests), DIMENSION), dtype=np.float32)
    semantic = semantic_scores(queries.astype(np.float32), vectors)
    lexical = lexical_matrix(index, compiled)
    features = assemble(lexical=lexical, semantic=semantic, nearest=neighbours(vectors), present=vectors.present)
    results: dict[str, list[FusedMatch]] = {}
    for text, interest, picks in zip(
        interests,
        compiled,
        fuse(features=features, semantic=semantic, present=vectors.present, model=stored_model()),
        strict=True,
    ):
        results[text] = [_fused_match(index, interest, pick, sentences) for pick in picks]
    return results


def _fused_match(index: PaperIndex, compiled: Any, pick: Pick, sentences: list[str]) -> FusedMatch:
    match = build_matches(index, compiled, [(pick.number, pick.probability)])[0] if pick.kind == "words" else None
    return FusedMatch(
        paper_id=index.papers[pick.number].paper.id,
        interest=compiled.text,
        score=pick.probability,
        kind=pick.kind,
        match=match,
        sentence=sentences[pick.sentence] if 0 <= pick.sentence < len(sentences) else "",
    )
