"""A subscriber's text becomes validated, canonical interests; every problem gets a clear message."""

from __future__ import annotations

import pickle

import pytest

from newsletter.matching import MAX_INTERESTS, InterestError, compile_interest, parse_interest, parse_interests
from newsletter.matching.interests import TermKind


def test_lines_and_commas_both_separate_interests() -> None:
    parsed = parse_interests("in-context learning, RLHF\nknowledge distillation\n\n")
    assert [i.text for i in parsed] == ["in-context learning", "rlhf", "knowledge distillation"]


def test_a_comma_inside_quotes_does_not_split() -> None:
    parsed = parse_interests('"vision, language and action" models, robots')
    assert [i.text for i in parsed] == ['"vision language and action" models', "robots"]


def test_case_spaces_and_dashes_are_canonical_so_equal_interests_dedupe() -> None:
    parsed = parse_interests("Chain\u2013of\u2013Thought\n  chain-of-thought \nCHAIN-OF-THOUGHT")
    assert len(parsed) == 1
    assert parsed[0].text == "chain-of-thought"


def test_canonical_text_parses_back_to_the_same_interest() -> None:
    interest = parse_interest('Diffusion "video generation" -survey -"medical imaging"')
    assert parse_interest(interest.text) == interest
    assert interest.text == 'diffusion "video generation" -survey -"medical imaging"'


def test_quotes_make_a_phrase_and_a_leading_dash_an_exclusion() -> None:
    interest = parse_interest('"mixture of experts" routing -survey')
    assert [t.kind for t in interest.terms] == [TermKind.PHRASE, TermKind.WORD]
    assert interest.terms[0].words == ("mixture", "of", "experts")
    assert [t.words for t in interest.excludes] == [("survey",)]


def test_an_item_of_only_exclusions_is_subscriber_wide() -> None:
    assert parse_interest("-survey").exclusion_only
    assert not parse_interest("surveys -medical").exclusion_only


def test_too_long_interest_is_refused_with_the_limit_in_the_message() -> None:
    with pytest.raises(InterestError, match="longer than 100 characters"):
        parse_interests("a" * 101)


def test_too_many_interests_is_refused() -> None:
    raw = "\n".join(f"topic{n}" for n in range(MAX_INTERESTS + 1))
    with pytest.raises(InterestError, match=f"At most {MAX_INTERESTS}"):
        parse_interests(raw)
    assert len(parse_interests("\n".join(f"topic{n}" for n in range(MAX_INTERESTS)))) == MAX_INTERESTS


def test_disallowed_characters_are_named() -> None:
    with pytest.raises(InterestError) as caught:
        parse_interests("graphs <script>")
    assert "<" in caught.value.errors[0] and ">" in caught.value.errors[0]


def test_every_problem_is_reported_not_only_the_first() -> None:
    with pytest.raises(InterestError) as caught:
        parse_interests('ok topic\n"unbalanced\n' + "x" * 120)
    assert len(caught.value.errors) == 2
    assert "closing" in caught.value.errors[0]


def test_an_interest_of_only_common_words_is_refused() -> None:
    with pytest.raises(InterestError, match="common words"):
        parse_interest("of the")


def test_a_stored_canonical_interest_parses_like_the_typed_one() -> None:
    typed = parse_interest("Chain\u2013of\u2013Thought   Reasoning")
    assert parse_interest(typed.text) == typed == parse_interest("chain-of-thought reasoning")


def test_unicode_letters_are_allowed() -> None:
    assert parse_interest("Schrödinger équation").text == "schrödinger équation"


def test_a_compiled_interest_survives_pickling_with_its_hash_recomputed() -> None:
    compiled = compile_interest('"mixture of experts" routing -survey')
    copy = pickle.loads(pickle.dumps(compiled))
    assert copy == compiled and hash(copy) == hash(compiled) and copy.text == compiled.text
    assert {compiled: 1}[copy] == 1


def test_the_head_of_an_interest_is_its_last_word_or_the_last_before_a_function_word() -> None:
    def head(text: str) -> str:
        clause = compile_interest(text).clauses[0]
        return clause.units[clause.head].label

    assert head("video generation") == "generation"
    assert head("learning with noisy labels") == "learning"
    assert head("large language models") == "models"
