"""Ranking without explanations gives what `matches` gives, and one pair is explained as `matches` explains it."""

from __future__ import annotations

import random

from newsletter.matching import percolate
from newsletter.matching.percolation import PercolationMemo, percolate_memo
from newsletter.matching.ranking import (
    percolation_explain,
    percolation_iter_formatted,
    percolation_iter_ranked,
    percolation_ranked,
)

from .test_percolation import INTERESTS, _seed_index


def _subscribers(count: int) -> list[tuple[int, list[str]]]:
    rng = random.Random(11)
    return [(n, rng.sample(INTERESTS, rng.randint(1, 6))) for n in range(count)]


def test_ranked_lists_the_papers_scores_and_interests_of_matches_in_the_same_order() -> None:
    subscribers = _subscribers(80)
    result = percolate(index=_seed_index(), subscribers=subscribers)
    compared = 0
    for key, _ in subscribers:
        expected = [
            (item.paper_id, item.score, tuple(match.interest for match in item.matches), False)
            for item in result.matches(key, limit=25)
        ]
        assert percolation_ranked(result, key, limit=25) == expected
        compared += len(expected)
    assert compared > 200  # the sample matched something worth comparing


def test_iter_ranked_yields_every_subscriber_with_a_match_in_input_order() -> None:
    subscribers = [*_subscribers(30), (99, ["protein folding"])]
    result = percolate(index=_seed_index(), subscribers=subscribers)

    ranked = dict(percolation_iter_ranked(result, limit=10))

    assert list(ranked) == [key for key, _ in subscribers if result.paper_bits(key)]
    assert 99 not in ranked
    assert all(ranked[key] == percolation_ranked(result, key, limit=10) for key in ranked)


def test_explain_one_pair_equals_the_explanation_matches_builds() -> None:
    subscribers = _subscribers(40)
    result = percolate(index=_seed_index(), subscribers=subscribers)
    checked = 0
    for key, _ in subscribers:
        for item in result.matches(key, limit=5):
            for match in item.matches:
                assert percolation_explain(result, paper_id=item.paper_id, interest=match.interest) == match
                checked += 1
    assert checked > 50
    assert percolation_explain(result, paper_id=-1, interest=INTERESTS[0]) is None
    assert percolation_explain(result, paper_id=0, interest="not an interest of anyone") is None


def test_percolating_in_chunks_with_a_memo_ranks_as_one_percolation_and_evaluates_each_interest_once() -> None:
    index = _seed_index()
    subscribers = [*_subscribers(90), (500, ["LLMs"]), (501, ["llm", "LLMs"]), (502, ["x" * 150, "diffusion"])]
    whole = percolate(index=index, subscribers=subscribers)
    memo = PercolationMemo(index=index)

    chunks = [percolate_memo(memo=memo, subscribers=subscribers[start : start + 25]) for start in range(0, 93, 25)]

    ranked = {key: value for chunk in chunks for key, value in percolation_iter_ranked(chunk, limit=40)}
    assert ranked == dict(percolation_iter_ranked(whole, limit=40))
    assert len(memo.evaluated) == whole.stats.distinct_interests  # not once per chunk
    assert memo.invalid == whole.stats.invalid and memo.invalid


def test_formatted_items_are_the_ranked_items_formatted_and_shared_across_chunks() -> None:
    index = _seed_index()
    subscribers = _subscribers(60)
    memo = PercolationMemo(index=index)
    calls: list[tuple[object, ...]] = []

    def item(paper_id: object, score: float, interests: tuple[str, ...], related: bool) -> str:
        calls.append((paper_id, score, interests, related))
        return repr((paper_id, score, interests, related))

    formatted = {}
    for start in (0, 30):
        chunk = percolate_memo(memo=memo, subscribers=subscribers[start : start + 30])
        for key, items, tops in percolation_iter_formatted(chunk, limit=40, item=item):
            formatted[key] = (items, tops)

    whole = percolate(index=index, subscribers=subscribers)
    for key, ranked in percolation_iter_ranked(whole, limit=40):
        assert formatted[key] == ([repr(r) for r in ranked], [(r[0], r[2][0]) for r in ranked])
    assert len(calls) == len(set(calls))  # each distinct item formatted once over both chunks
