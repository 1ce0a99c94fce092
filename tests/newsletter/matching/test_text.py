"""Words meet in any inflection, spelling and dash; case never matters."""

from __future__ import annotations

import pytest

from newsletter.matching.text import normalise, sentence_starts, stem, tokenise

from .helpers import index_of, matched_ids


@pytest.mark.parametrize("word", ["quantized", "quantizing", "quantisation", "Quantised", "QUANTIZATION"])
def test_inflections_and_british_spellings_share_a_stem(word: str) -> None:
    assert stem(tokenise(normalise(word))[0].surface) == stem("quantization")


def test_supervised_still_meets_supervision_after_spelling_folding() -> None:
    assert stem("supervised") == stem("supervision") == stem("supervise")


def test_short_words_that_end_like_british_spellings_are_left_alone() -> None:
    assert stem("rise") != stem("rize")
    assert stem("four") == "four"
    assert stem("behaviour") == stem("behavior")


@pytest.mark.parametrize("dash", ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212", "\ufe63", "\uff0d"])
def test_every_unicode_dash_joins_a_compound_like_a_hyphen(dash: str) -> None:
    tokens = tokenise(normalise(f"chain{dash}of{dash}thought"))
    assert [t.surface for t in tokens] == ["chain", "of", "thought"]
    assert [t.hyphen_before for t in tokens] == [False, True, True]


def test_plural_acronyms_are_the_acronym() -> None:
    assert [t.stem for t in tokenise("LLMs GANs ViTs llms")] == ["llm", "gan", "vit", "llm"]


def test_sentences_do_not_end_at_abbreviations() -> None:
    text = normalise("We use e.g. transformers. Then we stop. Finally done.")
    tokens = tokenise(text)
    starts = sentence_starts(text, tokens)
    assert [tokens[i].surface for i in starts] == ["then", "finally"]


def test_a_quantization_interest_finds_quantized_and_quantizing_papers() -> None:
    index = index_of(
        ("Quantized Transformers", "We train quantized models. " + "Nothing else here."),
        ("Faster inference", "Quantizing weights to four bits keeps accuracy."),
        ("Unrelated", "We study graph colouring on planar graphs."),
    )
    assert matched_ids(index, "quantization") == {0, 1}


def test_spelled_variants_of_a_compound_all_match() -> None:
    index = index_of(
        ("Chain of thought prompting", "Reasoning step by step."),
        ("Chain\u2011of\u2011thought distillation", "Smaller students."),
        ("Chain-of-Thought at scale", "Large models."),
        ("Supply chains", "We thought about logistics of every chain of stores."),
    )
    for spelling in ("chain-of-thought", "chain of thought", "Chain\u2013of\u2013Thought"):
        assert matched_ids(index, spelling) == {0, 1, 2}, spelling


def test_a_closed_compound_matches_its_hyphenated_form_and_back() -> None:
    index = index_of(
        ("Pre-training at scale", "We pre-train large encoders."),
        ("Pretraining data", "Pretraining corpora are filtered."),
    )
    assert matched_ids(index, "pretraining") == {0, 1}
    assert matched_ids(index, "pre-training") == {0, 1}


def test_words_of_a_web_address_are_not_indexed() -> None:
    index = index_of(
        ("Hessian alignment", "We align Hessians. Code: https://github.com/lab/Federated-Learning/tree/main/x"),
        ("Clients", "We study federated learning across hospitals. Code: www.example.org/fl"),
    )
    assert matched_ids(index, "federated learning") == {1}
    assert "https://github.com/lab/Federated-Learning" in index.papers[0].text  # kept for snippets
