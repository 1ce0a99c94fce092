"""Every match says which interest, which words, and shows a short highlighted snippet."""

from __future__ import annotations

from .helpers import FILLER, index_of, matches


def test_explanation_names_the_interest_and_the_words_found() -> None:
    index = index_of(("Prompting", "Chain\u2011of\u2011thought (CoT) prompting helps. " + FILLER))
    [match] = matches(index, "Chain of Thought")
    assert match.interest == "chain of thought"
    assert match.explanation.words[0] == "Chain-of-thought"


def test_snippet_highlights_the_matched_words_as_segments() -> None:
    abstract = "Models are large. " + "We study reasoning about math problems in depth with tools. " + FILLER
    index = index_of(("Title without it", abstract))
    [match] = matches(index, "math reasoning")
    snippet = match.explanation.snippet
    highlighted = [text for text, lit in snippet if lit]
    assert highlighted == ["reasoning", "math"]
    assert "".join(text for text, _ in snippet).startswith("We study reasoning about math problems")
    assert match.explanation.snippet_text(mark="**").count("**") == 4


def test_long_sentences_are_cut_with_an_ellipsis() -> None:
    words = " ".join(f"word{n}" for n in range(40))
    index = index_of(("T", f"{words} federated learning {words}."))
    [match] = matches(index, "federated learning")
    snippet = match.explanation.snippet
    assert snippet[0] == ("… ", False) and snippet[-1] == (" …", False)
    assert len("".join(text for text, _ in snippet).split()) < 35


def test_title_segments_reproduce_the_title_with_hits_highlighted() -> None:
    index = index_of(("Efficient Knowledge Distillation", "Compress. " + FILLER))
    [match] = matches(index, "knowledge distillation")
    title = match.explanation.title
    assert "".join(text for text, _ in title) == "Efficient Knowledge Distillation"
    assert [text for text, lit in title if lit] == ["Knowledge Distillation"]
    assert match.explanation.in_title


def test_segments_are_plain_text_so_markup_in_a_paper_stays_text() -> None:
    index = index_of(("<b>Bold</b> claims", "We use <i>federated learning</i> here. " + FILLER))
    [match] = matches(index, "federated learning")
    joined = "".join(text for text, _ in match.explanation.snippet)
    assert "<i>" in joined  # left for the renderer to escape, never interpreted here
