"""Ranking without explanations gives what `matches` gives, and one pair is explained as `matches` explains it."""

from __future__ import annotations

import random

from newsletter.matching import percolate
from newsletter.matching.percolation import percolation_explain, percolation_iter_ranked, percolation_ranked

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
            (item.paper_id, item.score, tuple(match.interest for match in item.matches))
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
