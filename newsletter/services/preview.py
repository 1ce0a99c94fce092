"""The live preview's fused matcher and suggestions: what services.indexing.interests_preview adds on top of the
words, for the recent papers' index (PREVIEW_PAPERS).

- **The fused matcher**: the preview index's stored paper vectors (one query per papers version, kept with
  the index) and the interests' vectors. A public endpoint must not grow the database, so an interest typed
  in the preview is encoded in this process and kept in a bounded cache, never stored (the planner stores
  the vectors of real subscribers' interests, services.fusion). The model loads once per process
  (papers.embedding.get_encoder); without it, or without paper vectors, the words alone decide.
- **Suggestions**: related terms from the papers themselves (matching/suggestions.py), by co-occurrence among
  the interest's picks and by the same vectors; the candidate phrases are mined once per papers version and
  their vectors cached like the interests'.
- **why**: each previewed paper says what kind of evidence picked it: the words (highlighted), or a related
  passage (the paper's sentence closest to the interest).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from newsletter.matching import Match, PaperIndex
from newsletter.matching.semantic import SemanticLayer
from newsletter.matching.suggestions import PhraseTable, closest_papers, suggest
from newsletter.services.fusion import semantic_layer
from papers.embedding import DIMENSION, get_encoder

logger = logging.getLogger(__name__)
# Texts kept encoded for the preview (interests typed and candidate phrases): 384 floats each, 8 MB at most.
PREVIEW_VECTORS_KEPT = 5_000


@dataclass
class _PreviewSemantic:
    index: PaperIndex | None = None
    layer: SemanticLayer | None = None
    phrases: PhraseTable | None = None


_state = _PreviewSemantic()
_state_lock = threading.Lock()
_vectors: dict[str, np.ndarray] = {}
_vectors_lock = threading.Lock()


def preview_vectors(texts: list[str]) -> np.ndarray:
    """Unit vectors of these texts, encoded in one batch where not cached; EncoderUnavailable without model."""
    with _vectors_lock:
        missing = [text for text in dict.fromkeys(texts) if text not in _vectors]
    if missing:
        encoded = get_encoder().encode(missing)
        with _vectors_lock:
            if len(_vectors) + len(missing) > PREVIEW_VECTORS_KEPT:
                _vectors.clear()  # bounded: anyone may send new words
            _vectors.update(zip(missing, encoded, strict=True))
            return np.stack([_vectors[text] for text in texts]) if texts else np.zeros((0, DIMENSION))
    with _vectors_lock:
        return np.stack([_vectors[text] for text in texts]) if texts else np.zeros((0, DIMENSION))


def preview_semantic(index: PaperIndex) -> tuple[SemanticLayer | None, PhraseTable]:
    """The fused matcher's layer for the preview index (None: no vectors or no model) and its phrases, built
    once per index (the preview index is rebuilt only when papers change)."""
    with _state_lock:
        if _state.index is not index:
            _state.index, _state.layer, _state.phrases = index, _layer(index), PhraseTable.build(index)
        assert _state.phrases is not None
        return _state.layer, _state.phrases


def _layer(index: PaperIndex) -> SemanticLayer | None:
    return semantic_layer(index=index, vectors_of=preview_vectors)


def preview_suggestions(*, index: PaperIndex, interest: str, picked: int) -> list[str]:
    """A few related terms for `interest` from the preview's papers (its picks given as a bit set)."""
    layer, phrases = preview_semantic(index)
    if layer is None:
        return suggest(table=phrases, interest=interest, picked=picked)
    vector = preview_vectors([layer.interest_text(interest)])[0]
    nearest = closest_papers(vector, layer.vectors.doc, layer.vectors.present)
    return suggest(table=phrases, interest=interest, picked=picked, closest_papers=nearest, encode=preview_vectors)


def preview_why(match: Match) -> dict[str, Any]:
    """The kind of evidence of one previewed pick: the words found, or the related passage quoted."""
    explanation = match.explanation
    if explanation.kind == "related":
        passage = "".join(text for text, _ in explanation.snippet)
        return {"kind": "related", "interest": explanation.interest, "sentence": passage}
    return {"kind": "words", "words": list(explanation.words), "where": "title" if explanation.in_title else "abstract"}
