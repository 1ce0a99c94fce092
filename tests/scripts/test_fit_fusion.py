"""scripts/fit_fusion.py: the leave-one-interest-out harness must never let an interest judge itself."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import fit_fusion
from fit_fusion import Dataset, Parts, ceiling, held_out, prototype

from newsletter.matching.fusion import LEXICAL_FEATURES, PaperVectors, semantic_scores


def _dataset(labels: np.ndarray, signal: np.ndarray | None = None) -> Dataset:
    """Features that carry `signal` (the labels unless given), judged by `labels`."""
    rng = np.random.default_rng(7)
    m, n = labels.shape
    x = rng.normal(size=(m * n, 3)) + (labels if signal is None else signal).reshape(-1, 1).clip(0) * 1.5
    twins = [{0, 1}, {0, 1}, {2}, {3}]  # interests 0 and 1 are acronym twins
    return Dataset([f"i{k}" for k in range(m)], x, labels.reshape(-1), np.repeat(np.arange(m), n), twins)


def _labels() -> np.ndarray:
    rng = np.random.default_rng(3)
    return (rng.random((4, 60)) < 0.3).astype(np.int64)


def test_an_interest_is_judged_without_its_own_or_its_twins_judgements() -> None:
    labels = _labels()
    before, threshold_before = held_out(_dataset(labels))
    for nested in (False, True):
        changed = labels.copy()
        changed[:2] = 1 - changed[:2]  # interest 0 and its twin answered the other way round
        base, base_threshold = held_out(_dataset(labels), nested=nested)
        after, threshold_after = held_out(_dataset(changed, labels), nested=nested)
        rows = slice(0, 60)
        assert np.array_equal(base[rows], after[rows])
        assert np.array_equal(base_threshold[rows], threshold_after[rows])
    other = labels.copy()
    other[2] = 1 - other[2]
    assert not np.array_equal(before[:60], held_out(_dataset(other, labels))[0][:60])  # the others do count
    assert threshold_before.shape == before.shape


def test_the_ceiling_cuts_each_interest_at_its_best_rank_and_averages_its_precision() -> None:
    labels = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0], [1, 1, 0, -1]])
    data = _dataset(labels)
    # Ranked: interest 0 -> 1, 0, 1, 0 (best cut: all three first, F1 0.8); interest 1 -> 0, 1 (cut at 2).
    probability = np.array([[0.9, 0.8, 0.7, 0.1], [0.9, 0.8, 0.1, 0.0], [0.5] * 4, [0.2, 0.9, 0.1, 0.8]])
    (tp, fp, fn), average_precision = ceiling(data, probability.reshape(-1))
    assert (tp, fp, fn) == (2 + 1 + 2, 1 + 1 + 0, 0)
    assert np.isclose(average_precision, np.mean([(1 + 2 / 3) / 2, 1 / 2, 1.0]))


def test_the_rocchio_prototype_is_the_mean_of_the_title_hits_or_else_of_the_closest_papers() -> None:
    doc = np.eye(4, dtype=np.float32)
    vectors = PaperVectors.stack([np.stack([row, row]) for row in doc], 4)
    interests = np.array([[1.0, 0, 0, 0], [0, 0.6, 0.8, 0]], dtype=np.float32)
    lexical = np.zeros((2, 4, len(LEXICAL_FEATURES)), dtype=np.float32)
    lexical[0, [0, 3], LEXICAL_FEATURES.index("title_hit")] = 1.0  # interest 1 has no title hit
    parts = Parts(lexical, semantic_scores(interests, vectors), vectors, interests)
    cos = prototype(parts, fallback=2)
    assert np.allclose(cos[0], [1 / np.sqrt(2), 0, 0, 1 / np.sqrt(2)], atol=1e-6)
    assert np.allclose(cos[1], [0, 1 / np.sqrt(2), 1 / np.sqrt(2), 0], atol=1e-6)
    assert fit_fusion.L2 == 1.0
