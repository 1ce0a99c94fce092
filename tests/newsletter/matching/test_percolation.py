"""Percolation gives every subscriber what running their interests one by one would, from one pass."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from newsletter.matching import PaperIndex, PaperText, build_index, learn_acronyms, percolate
from newsletter.matching.evaluation import can_fork
from papers.parsers import parse_dump  # pure, like the matcher: no Django

from .helpers import FILLER, index_of, matched_ids

SEEDS = Path(__file__).resolve().parents[3] / "seeds"


def _seed_index() -> PaperIndex:
    unique: dict[str, str] = {}
    for path in sorted(SEEDS.glob("*.txt"))[:2]:
        for item in parse_dump(path.read_bytes(), today=date(2025, 1, 1)).items:
            unique.setdefault(item.title, item.abstract)
    papers = [PaperText(id=n, title=t, abstract=a) for n, (t, a) in enumerate(unique.items())]
    return build_index(papers=papers, acronyms=learn_acronyms(texts=(f"{p.title}\n{p.abstract}" for p in papers)))


INTERESTS = [
    "in-context learning", "ICL", "large language models", "LLMs", "chain-of-thought", "quantization",
    "prompt optimization", "math reasoning", '"language models"', "reinforcement learning", "RLHF",
    "diffusion", "retrieval -survey", "-survey", "knowledge distillation", "transformers", "protein folding",
]  # fmt: skip


def _per_subscriber(index: PaperIndex, interests: list[str]) -> set[object]:
    """The straightforward way: run each of one subscriber's interests on its own, then take the union."""
    found: set[object] = set()
    for interest in interests:
        found |= matched_ids(index, interest)
    return found


def test_percolation_equals_running_each_subscriber_alone_on_a_random_sample() -> None:
    index = _seed_index()
    rng = random.Random(7)
    subscribers = [(n, rng.sample([i for i in INTERESTS if i != "-survey"], rng.randint(1, 6))) for n in range(60)]
    result = percolate(index=index, subscribers=subscribers)
    assert result.stats.subscribers == 60
    assert any(result.paper_ids(key) for key, _ in subscribers)
    for key, interests in subscribers:
        assert set(result.paper_ids(key)) == _per_subscriber(index, interests), interests


def test_each_distinct_interest_is_evaluated_once_however_many_subscribers_share_it() -> None:
    index = index_of(("LLM agents", "Large language models (LLMs) act as agents. " + FILLER))
    subscribers = [(n, ["LLMs", "llm", "large language models"]) for n in range(1000)]
    result = percolate(index=index, subscribers=subscribers)
    assert result.stats.interest_uses == 3000
    assert result.stats.distinct_texts == 3
    assert result.stats.distinct_interests == 2  # "LLMs" and "llm" compile to the same interest
    assert all(result.paper_ids(n) == [0] for n in (0, 500, 999))


def test_an_exclusion_only_item_applies_to_all_the_subscribers_interests() -> None:
    index = index_of(
        ("Diffusion survey", "A survey of diffusion models. " + FILLER),
        ("Fast diffusion", "Diffusion models, faster. " + FILLER),
        ("Transformers survey", "A survey of transformers. " + FILLER),
    )
    result = percolate(index=index, subscribers=[("a", ["diffusion", "transformers", "-survey"]), ("b", ["diffusion"])])
    assert result.paper_ids("a") == [1]
    assert set(result.paper_ids("b")) == {0, 1}


def test_digest_lists_papers_best_first_with_every_matching_interest_explained() -> None:
    index = index_of(
        ("Knowledge distillation of LLMs", "We distil large language models (LLMs). " + FILLER),
        ("Other", "We mention knowledge distillation once. " + FILLER),
    )
    result = percolate(index=index, subscribers=[("s", ["knowledge distillation", "LLM"])])
    digest = result.matches("s")
    assert [item.paper_id for item in digest] == [0, 1]
    assert digest[0].score >= digest[1].score
    assert {m.interest for m in digest[0].matches} == {"knowledge distillation", "llm"}
    assert all(m.explanation.words for item in digest for m in item.matches)


def test_a_limited_digest_explains_only_the_first_papers_and_shares_explanations() -> None:
    index = index_of(*[(f"Graph networks {n}", "Graph neural networks. " * (n + 1) + FILLER) for n in range(5)])
    result = percolate(index=index, subscribers=[("a", ["graph"]), ("b", ["graph", "networks"])])
    top = result.matches("a", limit=2)
    assert [item.paper_id for item in top] == [item.paper_id for item in result.matches("a")][:2]
    shared = result.matches("b", limit=2)[0].matches
    assert any(match is top[0].matches[0] for match in shared)  # explained once, reused


def test_invalid_interests_are_skipped_and_reported_not_fatal() -> None:
    index = index_of(("Graphs", "Graph neural networks. " + FILLER))
    result = percolate(index=index, subscribers=[(1, ["graph", "x" * 150])])
    assert result.paper_ids(1) == [0]
    assert list(result.stats.invalid) == ["x" * 150]


def test_a_subscriber_without_matches_gets_an_empty_digest() -> None:
    index = index_of(("Graphs", FILLER))
    result = percolate(index=index, subscribers=[(1, ["protein folding"]), (2, [])])
    assert result.matches(1) == [] and result.paper_bits(2) == 0
    assert [key for key, _ in result.iter_paper_bits()] == [1, 2]


@pytest.mark.skipif(not can_fork(), reason="needs the fork start method")
def test_several_workers_give_the_same_results_as_one() -> None:
    index = _seed_index()
    rng = random.Random(3)
    subscribers = [(n, rng.sample(INTERESTS, rng.randint(1, 5))) for n in range(200)]
    one = dict(percolate(index=index, subscribers=subscribers).iter_paper_bits())
    two = percolate(index=index, subscribers=subscribers, workers=2)
    assert dict(two.iter_paper_bits()) == one
    key = next(k for k, bits in one.items() if bits)
    assert two.matches(key)[0].matches[0].explanation.words  # explained after the fact, from the text
