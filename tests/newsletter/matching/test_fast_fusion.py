"""The fused planner's fast path (matching/fast_fusion.py) decides exactly as the plain one (semantic.py)."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from newsletter.matching import PaperIndex, compile_interest
from newsletter.matching.fast_fusion import CERTAIN_MARGIN, FoldedModel, block_cosines, block_lexical, folded_logits
from newsletter.matching.fusion import FEATURES, FusionModel, assemble, lexical_matrix, semantic_scores, stored_model
from newsletter.matching.query import CompiledInterest
from newsletter.matching.scoring import paper_hits, score_interest, score_interest_hits
from newsletter.matching.semantic import fast_block_verdicts, plain_block_verdicts
from newsletter.matching.text import STOP_WORDS

from .test_percolation import INTERESTS, _seed_index
from .test_semantic import _synthetic_layer

_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")


def _ngram_interests(index: PaperIndex, count: int, seed: int = 3) -> list[CompiledInterest]:
    """Interests as people type them, drawn from the papers' own 1-3 word n-grams (as the benchmark does),
    plus the hand-picked ones: acronyms, quoted phrases, exclusions, back-off."""
    grams: set[str] = set()
    for indexed in index.papers:
        words = [w.lower() for w in _WORDS.findall(f"{indexed.paper.title}. {indexed.paper.abstract}")]
        for size in (1, 2, 3):
            for i in range(len(words) - size + 1):
                gram = words[i : i + size]
                if gram[0] not in STOP_WORDS and gram[-1] not in STOP_WORDS and len(" ".join(gram)) >= 4:
                    grams.add(" ".join(gram))
    texts = random.Random(seed).sample(sorted(grams), count) + [t for t in INTERESTS if not t.startswith("-")]
    compiled = [compile_interest(text, acronyms=index.acronyms) for text in texts]
    return [c for c in compiled if c.clauses]


def test_scoring_hands_back_the_hits_that_paper_hits_would_find() -> None:
    index = _seed_index()
    checked = 0
    for compiled in _ngram_interests(index, 600):
        scored, summaries = score_interest_hits(index, compiled, threshold=0.05)
        assert scored == score_interest(index, compiled, threshold=0.05), compiled.text
        for (number, _), summary in zip(scored, summaries, strict=True):
            hits = paper_hits(index, number, compiled)
            want = (
                len(hits),
                any(hit.start < index.papers[number].title_tokens for hit in hits),
                max((hit.quality for hit in hits), default=0.0),
            )
            assert summary == want, (compiled.text, number)
            checked += 1
    assert checked > 1000  # enough pairs, of every path of scoring, to mean something


def _models() -> list[FusionModel]:
    """The stored model, and models that lean on one kind of evidence each (so every term is exercised)."""
    models = [stored_model()]
    for name, bias in (("z_sentence", -1.5), ("neighbours_10", -0.3), ("coverage", -0.5), ("lexical_score", -0.8)):
        weights = np.zeros(len(FEATURES))
        weights[FEATURES.index(name)] = 1.0
        weights[FEATURES.index("cos_doc")] = 0.5
        models.append(FusionModel(FEATURES, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), weights, bias, 0.5))
    return models


@pytest.mark.parametrize("missing", [0, 4])
def test_fast_block_verdicts_equal_the_plain_ones(missing: int) -> None:
    index = _seed_index()
    interests = _ngram_interests(index, 150) + [
        compile_interest(text, acronyms=index.acronyms) for text in ("diffusion -survey", "LLMs -reasoning")
    ]
    for model in _models():
        layer = _synthetic_layer(index, model=model, missing=missing)
        assert layer.folded is not None and layer.side is not None
        fast = fast_block_verdicts(index, layer, interests, layer.folded, layer.side)
        plain = plain_block_verdicts(index, layer, interests)
        for compiled, got, want in zip(interests, fast, plain, strict=True):
            assert list(got.scored) == list(want.scored), compiled.text
            assert list(got.scored.values()) == pytest.approx(list(want.scored.values()), abs=1e-6)  # float32 cosines
            assert (got.related, got.sentences) == (want.related, want.sentences), compiled.text
        assert sum(len(v.scored) for v in plain) > 50  # each model picks enough to compare


def test_the_folded_logit_stays_within_the_certain_margin_of_the_models_own() -> None:
    """The pruning bound: a pair whose folded logit is CERTAIN_MARGIN below the threshold's cannot be a pick,
    because the folded logit never differs from the model's by that much."""
    index = _seed_index()
    interests = _ngram_interests(index, 100)
    for model in _models():
        layer = _synthetic_layer(index, model=model, missing=2)
        assert layer.folded is not None and layer.side is not None
        queries = layer.interest_vectors([c.text for c in interests])
        cosines = block_cosines(queries, layer.side)
        lexical = block_lexical(index, interests, layer.coverage)
        folded = folded_logits(cosines, lexical, layer.side, layer.folded)
        features = assemble(
            lexical=lexical_matrix(index, interests),
            semantic=semantic_scores(queries, layer.vectors),
            nearest=layer.nearest,
            present=layer.vectors.present,
        )
        flat = features.reshape(-1, len(FEATURES))
        exact = ((flat - model.mean) / model.scale) @ model.weights + model.bias
        present = np.broadcast_to(layer.vectors.present, folded.shape).reshape(-1)
        gap = np.abs(folded.reshape(-1) - exact)[present]
        assert gap.max() < CERTAIN_MARGIN / 10


def test_an_unknown_feature_falls_back_to_the_plain_path() -> None:
    model = stored_model()
    renamed = FusionModel(
        (*model.features[:-1], "something_new"), model.mean, model.scale, model.weights, model.bias, model.threshold
    )
    assert FoldedModel.fold(renamed) is None
    assert FoldedModel.fold(model) is not None
