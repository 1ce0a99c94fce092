"""The fused matcher for many interests at once (percolation's semantic layer) decides as fusion.fuse does."""

from __future__ import annotations

import numpy as np

from newsletter.matching import compile_interest, percolate
from newsletter.matching.fusion import (
    FEATURES,
    FusionModel,
    PaperVectors,
    assemble,
    fuse,
    lexical_matrix,
    neighbours,
    semantic_scores,
    stored_model,
)
from newsletter.matching.ranking import percolation_iter_ranked
from newsletter.matching.scoring import excluded
from newsletter.matching.semantic import SemanticLayer, lexical_rows

from .test_percolation import INTERESTS, _seed_index

DIMENSION = 16


def _synthetic_layer(index: object, *, model: FusionModel | None = None, missing: int = 0) -> SemanticLayer:
    """Random unit vectors for papers (a few without any) and a stable vector per interest text."""
    rng = np.random.default_rng(5)
    rows: list[np.ndarray | None] = []
    sentences: list[str] = []
    for number in range(len(index)):  # type: ignore[arg-type]
        if number < missing:
            rows.append(None)
            continue
        count = 2 + int(rng.integers(0, 4))
        row = rng.normal(size=(count, DIMENSION)).astype(np.float32)
        rows.append(row / np.linalg.norm(row, axis=1, keepdims=True))
        sentences += [f"sentence {i} of paper {number}" for i in range(count - 2)]

    def encode(texts: list[str]) -> np.ndarray:
        out = np.stack([np.random.default_rng(abs(hash(text)) % 2**32).normal(size=DIMENSION) for text in texts])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    return SemanticLayer(
        vectors=PaperVectors.stack(rows, DIMENSION),
        sentences=sentences,
        interest_vectors=encode,
        interest_text=str,
        model=model or stored_model(),
        block=7,  # several blocks, the last one short
    )


def _z_sentence_model() -> FusionModel:
    """Trusts the closest sentence alone: plenty of related picks to compare."""
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("z_sentence")] = 1.0
    return FusionModel(FEATURES, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), weights, -1.5, 0.5)


def test_sparse_lexical_rows_equal_fusions_loop_over_every_paper() -> None:
    index = _seed_index()
    for text in INTERESTS:
        compiled = compile_interest(text, acronyms=index.acronyms)
        if compiled.clauses:
            assert np.array_equal(lexical_rows(index, compiled), lexical_matrix(index, [compiled])[0]), text


def test_best_sentence_is_the_first_sentence_of_the_paper_closest_to_the_interest() -> None:
    index = _seed_index()
    layer = _synthetic_layer(index)
    queries = layer.interest_vectors(["a", "b", "c"])
    semantic = semantic_scores(queries, layer.vectors)
    sims = queries @ layer.vectors.sentences.T
    offsets = layer.vectors.offsets
    for row in range(3):
        for paper in range(len(index)):
            start, stop = offsets[paper], offsets[paper + 1]
            if start == stop:
                assert semantic.best_sentence[row, paper] == -1
                continue
            assert semantic.best_sentence[row, paper] == start + int(np.argmax(sims[row, start:stop]))


def test_percolation_with_vectors_picks_what_the_fused_matcher_picks_words_first() -> None:
    index = _seed_index()
    layer = _synthetic_layer(index, model=_z_sentence_model(), missing=3)
    interests = [text for text in INTERESTS if not text.startswith("-")]
    subscribers = [(n, [text]) for n, text in enumerate(interests)]

    result = percolate(index=index, subscribers=subscribers, semantic=layer)

    compiled = [compile_interest(text, acronyms=index.acronyms) for text in interests]
    queries = layer.interest_vectors([c.text for c in compiled])
    semantic = semantic_scores(queries, layer.vectors)
    features = assemble(
        lexical=lexical_matrix(index, compiled),
        semantic=semantic,
        nearest=neighbours(layer.vectors),
        present=layer.vectors.present,
    )
    expected = fuse(features=features, semantic=semantic, present=layer.vectors.present, model=layer.model)
    ranked = dict(percolation_iter_ranked(result))
    related_seen = 0
    for key, all_picks in enumerate(expected):
        dropped = excluded(index, compiled[key])  # an interest's own exclusions hold for related picks too
        picks = [pick for pick in all_picks if not dropped >> pick.number & 1]
        got = ranked.get(key, [])
        want_ids = {index.papers[pick.number].paper.id for pick in picks}
        assert {paper for paper, *_ in got} == want_ids, interests[key]
        want_related = {index.papers[p.number].paper.id for p in picks if p.kind == "related"}
        assert {paper for paper, _, _, related in got if related} == want_related
        kinds = [related for *_, related in got]
        assert kinds == sorted(kinds)  # the reader's own words first
        related_seen += len(want_related)
    assert related_seen > 10  # the model made related picks worth comparing


def test_a_related_pick_is_explained_by_its_closest_sentence() -> None:
    index = _seed_index()
    layer = _synthetic_layer(index, model=_z_sentence_model())
    result = percolate(index=index, subscribers=[("s", ["diffusion models"])], semantic=layer)

    matches = result.matches("s")

    related = [m for item in matches for m in item.matches if m.explanation.kind == "related"]
    assert related
    for match in related:
        assert match.explanation.words == ()
        assert match.explanation.snippet[0][0].startswith("sentence ")
    kinds = [item.matches[0].explanation.kind for item in matches]
    assert kinds == sorted(kinds, key=lambda kind: kind != "words")


def test_without_paper_vectors_percolation_is_the_lexical_one() -> None:
    index = _seed_index()
    layer = _synthetic_layer(index, missing=len(index))
    subscribers = [(n, [text]) for n, text in enumerate(INTERESTS)]

    fused = dict(percolation_iter_ranked(percolate(index=index, subscribers=subscribers, semantic=layer)))
    lexical = dict(percolation_iter_ranked(percolate(index=index, subscribers=subscribers)))

    assert fused == lexical
