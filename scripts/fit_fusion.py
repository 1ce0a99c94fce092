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
    WEIGHTS_PATH,
    FusionModel,
    PaperVectors,
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
class Dataset:
    interests: list[str]
    x: np.ndarray  # (interests x papers, features)
    y: np.ndarray  # 1 relevant, 0 not, -1 disputed (left out)
    group: np.ndarray  # interest number of each row
    twins: list[set[int]]  # per interest: itself and its acronym twins


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


def features_of(index: PaperIndex, vectors: PaperVectors, interests: list[str]) -> np.ndarray:
    """(len(interests), papers, features)."""
    texts = [interest_vector_text(text, index.acronyms) for text in interests]
    semantic = semantic_scores(encode_cached(texts), vectors)
    lexical = lexical_matrix(index, [compile_interest(text, acronyms=index.acronyms) for text in interests])
    return assemble(lexical=lexical, semantic=semantic, nearest=neighbours(vectors), present=vectors.present)


def dataset(papers: dict[str, str], queries: list[dict[str, Any]]) -> tuple[Dataset, PaperIndex]:
    texts = [PaperText(id=title, title=title, abstract=abstract) for title, abstract in papers.items()]
    index = build_index(papers=texts, acronyms=learn_acronyms(texts=(f"{p.title}\n{p.abstract}" for p in texts)))
    interests = [str(query["query"]) for query in queries]
    x = features_of(index, paper_vectors(papers), interests)
    titles = list(papers)
    y = np.zeros((len(interests), len(titles)), dtype=np.int64)
    for row, query in enumerate(queries):
        relevant, disputed = set(query["relevant"]), set(query["disputed"])
        y[row] = [1 if t in relevant else -1 if t in disputed else 0 for t in titles]
    keys = [twin_keys(text, index.acronyms) for text in interests]
    twins = [{j for j in range(len(interests)) if keys[i] & keys[j]} for i in range(len(interests))]
    group = np.repeat(np.arange(len(interests)), len(titles))
    return Dataset(interests, x.reshape(-1, len(FEATURES)), y.reshape(-1), group, twins), index


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


def loio(data: Dataset, columns: list[int] | None = None) -> np.ndarray:
    """Held-out picks of every row (bool), each interest judged by a model fitted without it and its twins
    (`columns`: only these features, for the ablation)."""
    cols = list(range(len(FEATURES))) if columns is None else columns
    judged = data.y >= 0
    picked = np.zeros(len(data.y), dtype=bool)
    for interest in range(len(data.interests)):
        train = judged & ~np.isin(data.group, list(data.twins[interest]))
        model = fit(data.x[train][:, cols], data.y[train])
        rows = data.group == interest
        picked[rows] = model.probability(data.x[rows][:, cols]) >= model.threshold
    return picked


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
    picked = loio(data)
    tp, fp, fn = counts(picked, data.y)
    p, r, f1 = prf(tp, fp, fn)
    print(f"fused, leave-one-interest-out: P {p:.3f} R {r:.3f} F1 {f1:.3f} (TP {tp} FP {fp} FN {fn})")
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
