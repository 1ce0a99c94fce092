"""Acronyms are learned from the papers, work in both directions, and the table merges and round-trips."""

from __future__ import annotations

import json

from newsletter.matching import AcronymTable, learn_acronyms
from newsletter.matching.acronyms import find_definitions

from .helpers import FILLER, index_of, matched_ids


def test_definitions_are_found_with_plural_and_hyphenated_long_forms() -> None:
    found = find_definitions(
        "Large language models (LLMs) excel at in-context learning (ICL). "
        "We also use reinforcement learning from human feedback (RLHF)."
    )
    assert [(d.acronym, d.expansion) for d in found] == [
        ("LLM", "Large language models"),
        ("ICL", "in-context learning"),
        ("RLHF", "reinforcement learning from human feedback"),
    ]


def test_parentheses_that_are_not_definitions_are_ignored() -> None:
    assert find_definitions("We report accuracy (see Table 2) and speed (e.g. tokens per second) (LLM).") == []


def test_the_acronym_first_form_is_learned_too() -> None:
    found = find_definitions("We fine-tune a VLM (vision language model) on charts.")
    assert [(d.acronym, d.expansion) for d in found] == [("VLM", "vision language model")]


def _papers() -> list[tuple[str, str]]:
    return [
        ("Demonstrations matter", "We analyse in-context learning (ICL) in transformers. " + FILLER),
        ("Better ICL", "ICL works better with good examples. We find ICL is brittle to order. " + FILLER),
        (
            "Prompts without examples",
            "We study in-context learning of new tasks from demonstrations. " + FILLER,
        ),
        ("Cells", "Induced cell lines (ICL) are grown in vitro. We grow ICL for days. " + FILLER),
        ("Learning ICL", "In-context learning (ICL) is the topic; ICL is everywhere. " + FILLER),
    ]


def test_an_expansion_interest_finds_papers_that_only_use_the_acronym() -> None:
    index = index_of(*_papers())
    # Paper 1 never spells it out; paper 3 defines ICL as something else and must not match.
    assert matched_ids(index, "in-context learning") == {0, 1, 2, 4}


def test_an_acronym_interest_finds_papers_that_only_spell_it_out() -> None:
    index = index_of(*_papers())
    assert 2 in matched_ids(index, "ICL")
    assert 2 in matched_ids(index, "icl")  # case never matters


def test_an_ambiguous_acronym_is_trusted_only_where_the_paper_defines_it() -> None:
    index = index_of(
        ("A", "Continual learning (CL) avoids forgetting. CL is hard. " + FILLER),
        ("B", "Contrastive learning (CL) pulls pairs together. CL scales. " + FILLER),
        ("C", "Curriculum learning (CL) orders data. " + FILLER),
        ("D", "We show CL improves robustness and CL is cheap. " + FILLER),
    )
    assert matched_ids(index, "contrastive learning") == {1}


def test_a_short_acronym_never_matches_inside_another_word() -> None:
    index = index_of(
        ("Reward shaping", "Reinforcement learning (RL) with sparse rewards. RL agents explore. " + FILLER),
        ("Links", "Every URL is parsed and the CTRL key is pressed; URLs and CTRL-C. " + FILLER),
        ("RLHF at scale", "We study RLHF pipelines. " + FILLER),
    )
    assert matched_ids(index, "RL") == {0}


def test_learning_counts_each_pair_once_per_paper() -> None:
    table = learn_acronyms(texts=["Graph neural networks (GNNs). Graph neural networks (GNN)."])
    assert list(table) == [("GNN", "Graph neural networks", 1)]


def test_tables_merge_by_adding_counts_and_round_trip_through_json() -> None:
    first = learn_acronyms(texts=["Large language models (LLMs) are big.", "Retrieval-augmented generation (RAG)."])
    second = learn_acronyms(texts=["We prompt large language models (LLM)."])
    merged = first.merge(second)
    counts = {(acronym, expansion.lower()): count for acronym, expansion, count in merged}
    assert counts[("LLM", "large language models")] == 2
    assert counts[("RAG", "retrieval-augmented generation")] == 1

    stored = json.loads(json.dumps(merged.to_json()))
    restored = AcronymTable.from_json(stored)
    assert sorted(restored) == sorted(merged)
    assert len(first) == 2  # merging made a new table


def test_learning_in_place_updates_the_table_incrementally() -> None:
    table = AcronymTable()
    table.learn(texts=["Knowledge distillation (KD) compresses models."])
    table.learn(texts=["We apply knowledge distillation (KD) again."])
    assert list(table) == [("KD", "Knowledge distillation", 2)]


def test_an_acronym_is_found_inside_a_longer_acronym_whose_expansion_holds_it() -> None:
    rlhf = "Reinforcement learning from human feedback (RLHF) aligns models. "
    index = index_of(
        ("Reward shaping", "Reinforcement learning (RL) with sparse rewards. RL agents explore. " + FILLER),
        ("Policies", "We train RL agents; reinforcement learning (RL) is hard. " + FILLER),
        ("Preference tuning", rlhf + FILLER),
        ("Aligning chat models", "We study RLHF pipelines and why RLHF overfits. " + FILLER),
        ("Another one", rlhf + "RLHF is costly. " + FILLER),
    )
    assert {3} <= matched_ids(index, "RL")
    assert {3} <= matched_ids(index, "reinforcement learning")
