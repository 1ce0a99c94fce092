"""Synthetic vectors for the matching benchmark's --semantic mode (bench_matching.py): random unit vectors,
made before the clock starts; the matrix products and decisions that use them are the real ones.
"""

from __future__ import annotations

import re

import numpy as np

from newsletter.matching import PaperText
from newsletter.matching.fusion import PaperVectors
from newsletter.matching.semantic import SemanticLayer

DIMENSION = 384  # all-MiniLM-L6-v2's; --dimension 768 measures what a base-size encoder would cost
_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def synthetic_layer(
    papers: list[PaperText], subscribers: list[tuple[int, tuple[str, ...]]], seed: int, dimension: int = DIMENSION
) -> SemanticLayer:
    """Random unit vectors for the papers (doc, title, each sentence) and every distinct interest text."""
    rng = np.random.default_rng(seed)
    rows = []
    for paper in papers:
        count = 2 + len(_SENTENCES.split(paper.abstract))
        row = rng.standard_normal((count, dimension), dtype=np.float32)
        rows.append(row / np.linalg.norm(row, axis=1, keepdims=True))
    texts = sorted({text.lstrip("-") for _, interests in subscribers for text in interests})
    stored = rng.standard_normal((len(texts), dimension), dtype=np.float32)
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    number = {text: n for n, text in enumerate(texts)}
    fallback = stored[0]

    def interest_vectors(wanted: list[str]) -> np.ndarray:
        return np.stack([stored[number[text]] if text in number else fallback for text in wanted])

    vectors = PaperVectors.stack(rows, dimension)
    sentences = [""] * len(vectors.sentences)
    return SemanticLayer(vectors=vectors, sentences=sentences, interest_vectors=interest_vectors, interest_text=str)
