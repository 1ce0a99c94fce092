"""The daily plan on the fused matcher: related picks after the reader's own words, interest vectors kept."""

from __future__ import annotations

import time

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsletter.matching.fusion import FEATURES, FusionModel
from newsletter.models import Delivery, DigestExplanation, InterestVector, Subscriber
from newsletter.services import fusion
from newsletter.services.editions import edition_prepare
from newsletter.services.indexing import interest_vectors_compute
from newsletter.services.planning import digest_plan
from papers.models import Paper, PaperVector
from tests.newsletter.conftest import subscriber_create
from tests.newsletter.test_fused_matching import ON_TOPIC, _ingest_and_embed

pytestmark = pytest.mark.django_db


@pytest.fixture
def z_sentence_model(monkeypatch: pytest.MonkeyPatch) -> FusionModel:
    # The stored weights are fitted on 26 judged interests; these tests pin the plumbing (kinds, order, the
    # quote), so they use a model that trusts the closest sentence's z-score alone.
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("z_sentence")] = 1.0
    model = FusionModel(FEATURES, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), weights, -1.5, 0.5)
    monkeypatch.setattr("newsletter.services.fusion.stored_model", lambda: model)
    return model


def test_the_plan_lists_related_picks_after_the_word_picks_with_their_closest_sentence(
    z_sentence_model: FusionModel,
) -> None:
    _ingest_and_embed()
    edition = edition_prepare()
    subscriber = subscriber_create("a@example.org", ["multimodal"])

    digest_plan()

    items = Delivery.objects.get(subscriber=subscriber).papers
    titles = dict(Paper.objects.values_list("pk", "title"))
    related = [titles[item["paper_id"]] for item in items if item.get("related")]
    assert related == ["Seeing and Reading: A Vision-Language Model"]
    assert [bool(item.get("related")) for item in items] == sorted(bool(item.get("related")) for item in items)
    stored = DigestExplanation.objects.get(edition=edition, paper__title=related[0], interest="multimodal")
    assert stored.kind == "related" and stored.words == []
    assert stored.snippet[0][0] in ON_TOPIC[2][1]
    words = DigestExplanation.objects.get(edition=edition, paper__title="Multimodal Pretraining at Scale")
    assert words.kind == "words" and words.words


def test_an_interest_is_encoded_once_and_its_vector_kept_for_every_later_plan(z_sentence_model: FusionModel) -> None:
    _ingest_and_embed()
    edition_prepare()
    assert interest_vectors_compute(interests=["multimodal", "protein folding"]) == 2
    assert interest_vectors_compute(interests=["multimodal"]) == 0  # already there
    subscriber_create("a@example.org", ["multimodal", "lock-free queues"])

    digest_plan()

    texts = set(InterestVector.objects.values_list("text", flat=True))
    assert {"multimodal", "protein folding"} <= texts
    assert any(text.startswith("lock-free queues") for text in texts)  # missing: encoded by the planner
    assert InterestVector.objects.count() == 3


def _plan_queries(subscribers: int, interests: list[str]) -> int:
    Delivery.objects.all().delete()
    Subscriber.objects.all().delete()
    for n in range(subscribers):
        subscriber_create(f"s{n}@example.org", interests)
    fusion._interest_vectors.clear()  # a new process: the interests' vectors are read from the table
    with CaptureQueriesContext(connection) as queries:
        digest_plan()
    assert Delivery.objects.count() == subscribers
    return len(queries)


def test_the_fused_plan_reads_the_interest_vectors_in_one_query_whatever_the_number_of_subscribers(
    z_sentence_model: FusionModel,
) -> None:
    _ingest_and_embed()
    edition_prepare()
    interests = ["multimodal", "weather nowcasting"]
    interest_vectors_compute(interests=interests)
    _plan_queries(1, interests)  # warm: the acronym table learnt, the explanations stored

    few, many = _plan_queries(2, interests), _plan_queries(40, interests)
    PaperVector.objects.all().delete()  # old rows: the words alone decide
    lexical = _plan_queries(40, interests)

    # The papers' vectors are looked up either way (one query: none found is the lexical path); the fused
    # plan reads the interests' vectors in one more (one per 5,000 distinct interests).
    assert few == many == lexical + 1


def test_the_digest_shows_related_picks_after_the_word_picks_under_their_heading_on_both_paths(
    z_sentence_model: FusionModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsletter.services.rendering import DigestRenderer

    _ingest_and_embed()
    edition = edition_prepare()
    assert edition is not None
    subscriber = subscriber_create("a@example.org", ["multimodal"])
    digest_plan()
    delivery = Delivery.objects.get(subscriber=subscriber)
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.5)  # both renderings' tokens stamp the same second

    def render(*, skeletons: bool) -> tuple[str, str]:
        renderer = DigestRenderer.for_coverage(edition=edition, covers_after_id=delivery.covers_after_id)
        if not skeletons:
            renderer._skeletons_on = False  # the reference path: every block by the templates
        rendered = renderer.render(delivery_id=delivery.pk, subscriber=subscriber, items=delivery.papers)
        if skeletons:
            assert renderer._skeletons_on is not False  # the words blocks kept the fast path
        return rendered.html, rendered.text

    html, text = render(skeletons=True)
    assert (html, text) == render(skeletons=False)
    for body in (html, text):
        heading = body.index("Related to your interests")
        assert body.index("Pretraining at Scale") < heading
        assert heading < body.index("Seeing and Reading: A Vision-Language Model")
    assert "Related to <em>multimodal</em>" in html and "Related to your interest *multimodal*" in text
    quoted = DigestExplanation.objects.get(paper__title__startswith="Seeing and Reading").snippet[0][0]
    assert f'"{quoted}"' in " ".join(text.split())  # wrapped near 78 characters
