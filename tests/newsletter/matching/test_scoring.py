"""Multi-word interests match the concept nearby, titles weigh more, passing mentions little."""

from __future__ import annotations

from newsletter.matching import compile_interest
from newsletter.matching.scoring import paper_hits, score_paper

from .helpers import FILLER, index_of, matched_ids, matches, score_of


def test_a_multi_word_interest_matches_its_words_close_together_in_any_order() -> None:
    index = index_of(
        ("Solving problems", "We study reasoning about math problems with small models. " + FILLER),
        ("Adjacent", "Math reasoning benchmarks are saturated. " + FILLER),
    )
    assert matched_ids(index, "math reasoning") == {0, 1}
    assert score_of(index, "math reasoning", 1) > score_of(index, "math reasoning", 0)


def test_words_far_apart_and_about_other_things_do_not_match() -> None:
    index = index_of(
        (
            "Robot navigation",
            "We use simple math to compute robot paths in warehouses and ports. "
            "A separate section on planning discusses reasoning under uncertainty. " + FILLER,
        ),
        (
            "Same sentence but far",
            "Math is used for the loss while the many other parts of the system do reasoning. ",
        ),
    )
    assert matched_ids(index, "math reasoning") == set()


def test_a_title_hit_weighs_more_than_an_abstract_hit() -> None:
    index = index_of(
        ("Knowledge distillation for small models", "We compress networks. " + FILLER),
        ("Small models", "We compress networks with knowledge distillation. " + FILLER),
    )
    assert score_of(index, "knowledge distillation", 0) > score_of(index, "knowledge distillation", 1) > 0


def test_a_passing_mention_in_a_long_abstract_weighs_less_than_in_a_short_one() -> None:
    long_abstract = "We mention federated learning once. " + " ".join([FILLER] * 6)
    short_abstract = "We mention federated learning once. " + FILLER
    index = index_of(("Long", long_abstract), ("Short", short_abstract), ("Other", FILLER), ("Other 2", FILLER))
    compiled = compile_interest("federated learning", acronyms=index.acronyms)
    long_score, short_score = (score_paper(index, n, paper_hits(index, n, compiled)) for n in (0, 1))
    assert 0 < long_score < short_score
    assert matched_ids(index, "federated learning") == {1}  # so little that it is no match at all


def test_repeated_mentions_score_higher_but_saturate() -> None:
    once = "Federated learning is used. " + FILLER
    twice = "Federated learning is used. Federated learning again. " + FILLER
    many = "Federated learning. " * 10 + FILLER
    index = index_of(("A", once), ("B", twice), ("C", many))
    a, b, c = (score_of(index, "federated learning", n) for n in range(3))
    assert a < b < c < 4 * a


def test_a_quoted_phrase_means_the_exact_words_in_order() -> None:
    index = index_of(
        ("Mixture of experts", "Sparse routing. " + FILLER),
        ("Expert mixtures", "A mixture of many experts is trained. " + FILLER),
        ("Mixtures of experts", "Plural form. " + FILLER),
    )
    assert matched_ids(index, '"mixture of experts"') == {0}
    assert matched_ids(index, "mixture of experts") >= {0, 2}


def test_an_exclusion_drops_papers_containing_the_word() -> None:
    index = index_of(
        ("Diffusion models: a survey", "We review diffusion models. " + FILLER),
        ("Faster diffusion models", "We speed up diffusion models. " + FILLER),
    )
    assert matched_ids(index, "diffusion models") == {0, 1}
    assert matched_ids(index, "diffusion models -survey") == {1}
    assert matched_ids(index, "diffusion models -surveys") == {1}  # in any inflection


def test_a_title_that_carries_the_specific_part_of_the_interest_matches() -> None:
    others = [(f"Paper {n}", f"Knowledge about topic {n} matters. " + FILLER) for n in range(12)]
    index = index_of(("Self-Distillation for Transformers", "We apply distillation to a model. " + FILLER), *others)
    assert 0 in matched_ids(index, "knowledge distillation")
    assert matched_ids(index, "knowledge distillation") == {0}


# Papers that make "large" a common word (more than RELAXED_MAX_SHARE of them) and "graph" a rare one.
_LARGE_IS_COMMON = [(f"Study {n}", f"We train on a large corpus about topic {n}. " + FILLER) for n in range(12)]


def test_a_long_interest_led_by_a_common_word_also_matches_without_it_in_a_title() -> None:
    index = index_of(
        ("Language Models are Few-Shot Learners", "We train language models and test them. " + FILLER),
        ("Vision Transformers", "Unlike language models, we study images. " + FILLER),
        ("Vision-Language Models for Charts", "Vision-language models read charts. " + FILLER),
        *_LARGE_IS_COMMON,
    )
    found = matches(index, "large language models")
    # Not the passing mention in paper 1, nor the compound "vision-language models" of paper 2.
    assert [match.paper_id for match in found] == [0]
    assert "Language Models" in found[0].explanation.words
    # Discounted: below what the whole interest in the same title would score.
    full = index_of(
        ("Large Language Models are Few-Shot Learners", "We train language models and test them. " + FILLER),
        *_LARGE_IS_COMMON,
    )
    assert found[0].score < score_of(full, "large language models", 0)


def test_a_specific_leading_word_is_never_dropped() -> None:
    index = index_of(
        ("Neural Networks for Tabular Data", "Neural networks on tables. " + FILLER),
        ("Graph Neural Networks at Scale", "We scale graph neural networks. " + FILLER),
        *_LARGE_IS_COMMON,
    )
    assert matched_ids(index, "graph neural networks") == {1}


def test_nothing_matches_an_interest_absent_from_every_paper() -> None:
    index = index_of(("Graphs", FILLER), ("Images", FILLER))
    assert matched_ids(index, "protein folding") == set()


def test_a_relaxed_title_needs_the_head_of_the_interest() -> None:
    # "video" is rare (2 of 20 papers), "generation" in 6 of them: a title with "video" alone is not enough.
    others = [(f"Study {n}", f"Text generation for topic {n}. " + FILLER) for n in range(5)]
    others += [(f"Survey {n}", f"Graphs of kind {n}. " + FILLER) for n in range(13)]
    index = index_of(
        ("A Dataset for Instructional Video Comprehension", "Clips of video. A generation step writes captions."),
        ("Fast Video Generation", "We make video generation fast. " + FILLER),
        *others,
    )
    assert matched_ids(index, "video generation") == {1}


def test_a_relaxed_title_may_lack_a_head_that_most_papers_use() -> None:
    # "learning" is in most papers: "Federated PCA" is about federated learning without it.
    others = [(f"Study {n}", f"Learning about topic {n}. " + FILLER) for n in range(12)]
    index = index_of(
        ("Federated PCA on Manifolds", "Federated clients compute components. We study learning of subspaces."),
        *others,
    )
    assert matched_ids(index, "federated learning") == {0}


_ABOUT_PROMPTS = (
    "Prompts decide what a frozen model does, and searching them by hand is no optimization. "
    "Gradient-free optimization has received growing interest. "
    "We cluster the prompts by their influence on the output. The search space matters for optimization. "
    "Pruned candidates make short prompts."
)


def test_a_paper_that_keeps_returning_to_every_word_of_the_interest_matches() -> None:
    index = index_of(
        ("Black-Box Search via Clustering", _ABOUT_PROMPTS + " Optimization then converges in fewer steps."),
        ("Clustering Candidates", _ABOUT_PROMPTS.replace("optimization.", "good.")),  # in two sentences only
        ("Other", FILLER),
    )
    found = matches(index, "prompt optimization")
    assert [match.paper_id for match in found] == [0]
    assert {"Prompts", "optimization"} <= set(found[0].explanation.words)


def test_words_that_recur_but_never_meet_in_a_sentence_are_two_topics() -> None:
    translation = (
        "Machine translation systems improve every year. Each machine is trained on a parallel corpus. "
        "Learning rates are warmed up. Curriculum learning orders the sentences. The machine output is scored. "
        "Transfer learning helps rare languages."
    )
    index = index_of(("Translation Systems at Scale", translation), ("Other", FILLER))
    assert matched_ids(index, "machine learning") == set()
    # Far apart in one sentence (more than the proximity window): the theme rule, not a hit.
    meeting = translation.replace("is trained on", "which we first train on a large corpus, keeps learning from")
    assert matched_ids(index_of(("Translation Systems at Scale", meeting), ("Other", FILLER)), "machine learning") == {
        0
    }


def test_words_turned_round_need_a_word_between_them() -> None:
    index = index_of(
        ("Abrupt learning", "In-context learning contrasts with in-weights learning. " + FILLER),
        ("Views", "We study learning with contrastive views of images. " + FILLER),
    )
    assert matched_ids(index, "contrastive learning") == {1}
    three = index_of(
        ("Molecules", "We train neural graph networks on molecules. " + FILLER),
        ("Citations", "We train graph neural networks on citations. " + FILLER),
    )
    assert matched_ids(three, "graph neural networks") == {1}


def test_a_coordinated_word_between_the_units_does_not_part_them() -> None:
    index = index_of(
        ("Ensembles", "Broad experiments with large language and vision models show gains. " + FILLER),
        ("Rivers", "Large rivers, language of the region, and the valley models are compared. " + FILLER),
    )
    assert matched_ids(index, "large language models") == {0}
    hits = paper_hits(index, 0, compile_interest("large language models", acronyms=index.acronyms))
    assert [hit.quality for hit in hits] == [1.0]  # as good as the words side by side
    turned = index_of(("Mixed", "We compare models and vision language tasks. " + FILLER), ("Other", FILLER))
    reversed_hits = paper_hits(turned, 0, compile_interest("language models", acronyms=turned.acronyms))
    assert all(hit.quality < 1.0 for hit in reversed_hits)  # a conjunct counts only in the order typed


def test_an_exclusion_remembered_on_the_index_excludes_the_same_papers_as_a_fresh_one() -> None:
    papers = (
        ("Diffusion models: a survey", "We review diffusion models. " + FILLER),
        ("Faster diffusion models", "We speed up diffusion models, unlike the survey by Ho. " + FILLER),
        ("Video generation", "Diffusion models for video; a survey of video models. " + FILLER),
        ("Image generation", "Diffusion models for images. " + FILLER),
    )
    warmed = index_of(*papers)
    for interest in ("video -survey", 'image generation -survey -"video models"'):  # remembered on `warmed`
        matched_ids(warmed, interest)

    for interest in ("diffusion models -survey", 'diffusion models -"video models" -survey', "models -surveys"):
        assert matched_ids(warmed, interest) == matched_ids(index_of(*papers), interest), interest
    assert matched_ids(warmed, "diffusion models -survey") == {3}
