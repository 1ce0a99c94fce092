"""Fit the fusion's logistic regression on the judged interests; validate it leaving one interest out.

    .venv/bin/python scripts/fit_fusion.py              # LOIO figures, then write the weights
    .venv/bin/python scripts/fit_fusion.py --dry-run    # LOIO figures only

Data: the unique seed papers and the judged interests of ../shared/eval/relevance_dev.json (as
scripts/eval_matching.py reads them). One row per (interest, paper), the features of
newsletter/matching/fusion.py; disputed pairs are left out of fitting and of scoring. The day's batch is
all the seed papers (z-scores are among them), as the evaluation's lexical index is.

Leave-one-interest-out (LOIO): for each interest, the model (weights and threshold) is fitted on the other
interests minus its acronym twin ("ICL" with "in-context learning", found through the learned acronym
table, fusion.twin_keys), then judged on it; the counts add up over the interests. The stored weights are
then fitted on all of them. The regression is written here in numpy (Newton's method with an L2 penalty):
a dozen features need nothing more, and nothing of it runs at serving time but a dot product.

Sentence vectors of the seed papers are cached under var/ (keyed by the text's hash): encoding them takes a
minute or two on two cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsletter.matching import PaperText, build_index, compile_interest, learn_acronyms  # noqa: E402
from newsletter.matching.fusion import (  # noqa: E402
    FEATURES,
    LEXICAL_FEATURES,
    WEIGHTS_PATH,
    FusionModel,
    PaperVectors,
    Semantic,
    assemble,
    interest_vector_text,
    lexical_matrix,
    neighbours,
    semantic_scores,
    twin_keys,
)
from newsletter.matching.index import PaperIndex  # noqa: E402
from papers.embedding import DIMENSION, get_encoder, paper_texts  # noqa: E402

CACHE = ROOT / "var" / "eval_vectors.npz"
L2 = 1.0  # ridge penalty on the standardised weights: a dozen features, thousands of rows, so mild


@dataclass
class Parts:
    """What the features are made of, kept for the candidate features (candidate_rows)."""

    lexical: np.ndarray  # (m, n, len(LEXICAL_FEATURES))
    semantic: Semantic
    vectors: PaperVectors
    interest_vectors: np.ndarray  # (m, d)


@dataclass
class Dataset:
    interests: list[str]
    x: np.ndarray  # (interests x papers, features)
    y: np.ndarray  # 1 relevant, 0 not, -1 disputed (left out)
    group: np.ndarray  # interest number of each row
    twins: list[set[int]]  # per interest: itself and its acronym twins
    parts: Parts | None = None


def encode_cached(texts: Sequence[str]) -> np.ndarray:
    """Vectors of `texts`, from var/eval_vectors.npz where already encoded."""
    keys = [hashlib.sha1(text.encode()).hexdigest() for text in texts]
    cache: dict[str, np.ndarray] = {}
    if CACHE.exists():
        with np.load(CACHE) as stored:
            cache = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
    missing = sorted({key: text for key, text in zip(keys, texts, strict=True) if key not in cache}.items())
    if missing:
        vectors = get_encoder().encode([text for _, text in missing])
        cache.update(zip([key for key, _ in missing], vectors, strict=True))
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        np.savez(CACHE, keys=np.array(list(cache)), vectors=np.stack(list(cache.values())))
    return np.stack([cache[key] for key in keys]) if keys else np.zeros((0, DIMENSION), dtype=np.float32)


def paper_vectors(papers: dict[str, str]) -> PaperVectors:
    rows = []
    for title, abstract in papers.items():
        rows.append(encode_cached(paper_texts(title, abstract)))
    return PaperVectors.stack(rows, DIMENSION)


def features_of(index: PaperIndex, vectors: PaperVectors, interests: list[str]) -> tuple[np.ndarray, Parts]:
    """(len(interests), papers, features), and what they were made of."""
    texts = [interest_vector_text(text, index.acronyms) for text in interests]
    interest_vectors = encode_cached(texts)
    semantic = semantic_scores(interest_vectors, vectors)
    lexical = lexical_matrix(index, [compile_interest(text, acronyms=index.acronyms) for text in interests])
    x = assemble(lexical=lexical, semantic=semantic, nearest=neighbours(vectors), present=vectors.present)
    return x, Parts(lexical, semantic, vectors, interest_vectors)


def dataset(papers: dict[str, str], queries: list[dict[str, Any]]) -> tuple[Dataset, PaperIndex]:
    texts = [PaperText(id=title, title=title, abstract=abstract) for title, abstract in papers.items()]
    index = build_index(papers=texts, acronyms=learn_acronyms(texts=(f"{p.title}\n{p.abstract}" for p in texts)))
    interests = [str(query["query"]) for query in queries]
    x, parts = features_of(index, paper_vectors(papers), interests)
    titles = list(papers)
    y = np.zeros((len(interests), len(titles)), dtype=np.int64)
    for row, query in enumerate(queries):
        relevant, disputed = set(query["relevant"]), set(query["disputed"])
        y[row] = [1 if t in relevant else -1 if t in disputed else 0 for t in titles]
    keys = [twin_keys(text, index.acronyms) for text in interests]
    twins = [{j for j in range(len(interests)) if keys[i] & keys[j]} for i in range(len(interests))]
    group = np.repeat(np.arange(len(interests)), len(titles))
    data = Dataset(interests, x.reshape(-1, len(FEATURES)), y.reshape(-1), group, twins, parts)
    return data, index


def fit(x: np.ndarray, y: np.ndarray, *, l2: float = L2, weight: np.ndarray | None = None) -> FusionModel:
    """Logistic regression by Newton's method on standardised features; threshold maximising F1 on x."""
    sample = np.ones(len(y)) if weight is None else weight
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        gradient = z.T @ (sample * (p - y)) + penalty * w
        hessian = (z * (sample * p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    model = FusionModel(FEATURES, mean, scale, w[:-1], float(w[-1]), 0.5)
    return FusionModel(FEATURES, mean, scale, w[:-1], float(w[-1]), best_threshold(model.probability(x), y))


def best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    best, chosen = -1.0, 0.5
    for threshold in np.arange(0.2, 0.8, 0.01):
        picked = p >= threshold
        tp = int((picked & (y == 1)).sum())
        f1 = 2 * tp / (picked.sum() + (y == 1).sum()) if tp else 0.0
        if f1 > best + 1e-9:
            best, chosen = f1, float(threshold)
    return round(chosen, 2)


def loio(data: Dataset, columns: list[int] | None = None, x: np.ndarray | None = None, *, l2: float = L2) -> np.ndarray:
    """Held-out picks of every row (bool), each interest judged by a model fitted without it and its twins
    (`columns`: only these features, for the ablation; `x`: other features, for the candidates)."""
    probability, threshold = held_out(data, columns, x, l2=l2)
    return probability >= threshold


def held_out(
    data: Dataset,
    columns: list[int] | None = None,
    x: np.ndarray | None = None,
    *,
    l2: float = L2,
    nested: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's P(relevant) and threshold from the model fitted without its interest and its twins
    (`nested`: the threshold chosen on the other interests' own held-out probabilities, not on the
    training probabilities, which are over-confident)."""
    features = data.x if x is None else x
    cols = list(range(features.shape[1])) if columns is None else columns
    judged = data.y >= 0
    probability = np.zeros(len(data.y))
    threshold = np.zeros(len(data.y))
    for interest in range(len(data.interests)):
        train = judged & ~np.isin(data.group, list(data.twins[interest]))
        model = fit(features[train][:, cols], data.y[train], l2=l2)
        rows = data.group == interest
        probability[rows] = model.probability(features[rows][:, cols])
        threshold[rows] = model.threshold
        if nested:
            inner = Dataset(data.interests, features[:, cols], np.where(train, data.y, -1), data.group, data.twins)
            inner_probability, _ = held_out(inner, l2=l2)
            threshold[rows] = best_threshold(inner_probability[train], data.y[train])
    return probability, threshold


def ceiling(data: Dataset, probability: np.ndarray) -> tuple[tuple[int, int, int], float]:
    """What the held-out *ranking* allows: counts with each interest cut at its best rank (chosen on its
    own answers, so an upper bound no threshold reaches), and the mean average precision over interests."""
    tp = fp = fn = 0
    precisions: list[float] = []
    for interest in range(len(data.interests)):
        rows = (data.group == interest) & (data.y >= 0)
        labels = data.y[rows][np.argsort(-probability[rows], kind="stable")]
        found = np.cumsum(labels)
        taken = np.arange(1, len(labels) + 1)
        positives = int(labels.sum())
        if not positives:
            continue
        best = int(np.argmax(2 * found / (taken + positives)))
        tp, fp, fn = tp + int(found[best]), fp + best + 1 - int(found[best]), fn + positives - int(found[best])
        precisions.append(float((found / taken)[labels == 1].mean()))
    return (tp, fp, fn), float(np.mean(precisions)) if precisions else 0.0


def _unit(a: np.ndarray) -> np.ndarray:
    return a / (np.linalg.norm(a, axis=-1, keepdims=True) + 1e-9)


def prototype(parts: Parts, *, fallback: int = 5) -> np.ndarray:
    """(m, n) cosine of each paper to its interest's Rocchio prototype: the mean vector of the papers whose
    title the words hit (pseudo-relevance feedback), or of the `fallback` closest papers when none is."""
    doc = parts.vectors.doc.astype(np.float64)
    seeds = parts.lexical[:, :, LEXICAL_FEATURES.index("title_hit")] > 0
    centres = np.zeros((len(seeds), doc.shape[1]))
    for row in range(len(seeds)):
        chosen = np.flatnonzero(seeds[row])
        if not len(chosen):
            chosen = np.argsort(-parts.semantic.cos_doc[row], kind="stable")[:fallback]
        centres[row] = _unit(doc[chosen].mean(axis=0))
    return _unit(centres) @ doc.T


def _z(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """As fusion's z-scores: among the batch's papers that have vectors."""
    among = values[:, present]
    return (values - among.mean(axis=1, keepdims=True)) / (among.std(axis=1, keepdims=True) + 1e-3)


def _rank(cos: np.ndarray) -> np.ndarray:
    order = np.argsort(-cos, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(1, cos.shape[1] + 1)[None, :].repeat(len(cos), 0), axis=1)
    return rank


def _candidate_columns(parts: Parts) -> dict[str, list[np.ndarray]]:
    """Features measured and not kept (docs/matching.md): each is added alone to FEATURES."""
    s, present = parts.semantic, parts.vectors.present
    matched = parts.lexical[:, :, LEXICAL_FEATURES.index("lexical_match")]
    picks = matched.sum(axis=1, keepdims=True)
    cos_proto = prototype(parts)
    doc = parts.vectors.doc.astype(np.float64)
    similar = doc @ doc.T
    np.fill_diagonal(similar, -np.inf)
    nearest = np.argsort(-similar, axis=1, kind="stable")
    coverage = parts.lexical[:, :, LEXICAL_FEATURES.index("coverage")]
    return {
        "Rocchio prototype of the title hits: cosine and z-score": [cos_proto, _z(cos_proto, present)],
        "Rocchio prototype: cosine only": [cos_proto],
        "breadth: log(1 + lexical picks of the interest)": [np.log1p(picks) * np.ones_like(matched)],
        "rank by cos_doc relative to the lexical picks, log": [np.log(_rank(s.cos_doc) / (picks + 1))],
        "rank by cos_sentence relative to the lexical picks, log": [np.log(_rank(s.cos_sentence) / (picks + 1))],
        "lexical_match x z_doc": [matched * s.z_doc],
        "z_doc squared (positive part)": [np.maximum(s.z_doc, 0) ** 2],
        "gap to the interest's best cos_doc": [s.cos_doc - s.cos_doc.max(axis=1, keepdims=True)],
        "coverage as a z-score among the batch": [_z(coverage, present)],
        "neighbour shares minus the interest's match rate": [
            matched[:, nearest[:, :k]].mean(axis=2) - matched[:, present].mean(axis=1, keepdims=True) for k in (5, 10)
        ],
        "share of the 20 nearest papers matched": [matched[:, nearest[:, :20]].mean(axis=2)],
    }


Row = tuple[str, tuple[int, int, int], float]  # name, LOIO counts, F1 of its ranking cut per interest (ceiling)


def candidate_rows(data: Dataset) -> list[Row]:
    """LOIO counts of the kept model, of it with each candidate added, and with another L2 penalty."""
    assert data.parts is not None
    variants: list[tuple[str, np.ndarray | None, float]] = [("kept: the 15 features", None, L2)]
    for name, columns in _candidate_columns(data.parts).items():
        extra = np.stack([column.reshape(-1) for column in columns], axis=1)
        variants.append((f"+ {name}", np.hstack([data.x, extra]), L2))
    variants += [(f"L2 penalty {l2} instead of {L2}", None, l2) for l2 in (0.1, 10.0)]
    rows: list[Row] = []
    for name, x, l2 in variants:
        probability, threshold = held_out(data, x=x, l2=l2)
        best, _ = ceiling(data, probability)
        rows.append((name, counts(probability >= threshold, data.y), prf(*best)[2]))
    for name, x, _ in variants[:2]:  # is a gain better evidence, or where the threshold fell?
        probability, threshold = held_out(data, x=x, nested=True)
        rows.append((f"{name.split(':')[0]}, threshold by nested LOIO", counts(probability >= threshold, data.y), 0.0))
    return rows


def counts(picked: np.ndarray, y: np.ndarray) -> tuple[int, int, int]:
    judged = y >= 0
    tp = int((picked & (y == 1)).sum())
    fp = int((picked & (y == 0) & judged).sum())
    fn = int((~picked & (y == 1)).sum())
    return tp, fp, fn


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from eval_matching import DEFAULT_JUDGEMENTS, load_papers

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judgements", type=Path, default=DEFAULT_JUDGEMENTS)
    parser.add_argument("--dry-run", action="store_true", help="print the LOIO figures, write nothing")
    args = parser.parse_args()
    papers = load_papers(ROOT / "seeds")
    queries = json.loads(args.judgements.read_text(encoding="utf-8"))["queries"]
    data, _ = dataset(papers, queries)
    probability, threshold = held_out(data)
    tp, fp, fn = counts(probability >= threshold, data.y)
    p, r, f1 = prf(tp, fp, fn)
    print(f"fused, leave-one-interest-out: P {p:.3f} R {r:.3f} F1 {f1:.3f} (TP {tp} FP {fp} FN {fn})")
    (btp, bfp, bfn), average_precision = ceiling(data, probability)
    bp, br, bf1 = prf(btp, bfp, bfn)
    print(f"  its ranking cut at each interest's best rank: P {bp:.3f} R {br:.3f} F1 {bf1:.3f}")
    print(f"  mean average precision of its ranking: {average_precision:.3f}")
    judged = data.y >= 0
    model = fit(data.x[judged], data.y[judged])
    print(json.dumps(model.to_json(), indent=1))
    if not args.dry_run:
        payload = {
            "fitted_by": "scripts/fit_fusion.py",
            "data": f"{len(papers)} seed papers x {len(queries)} judged interests of {args.judgements.name}",
            "loio": {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f1, 3)},
            "model": model.to_json(),
        }
        WEIGHTS_PATH.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
