"""The live preview on the fused matcher: why each paper was picked, suggestions from the papers, bounded cost."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest
from django.test import Client

from newsletter.matching.fusion import FEATURES, FusionModel
from newsletter.models import InterestVector
from papers import embedding
from papers.services import dump_ingest, papers_embed
from tests.factories import seed_dump

from .test_fused_matching import ON_TOPIC, OTHER_TOPICS

pytestmark = pytest.mark.django_db


@pytest.fixture
def embedded_papers() -> None:
    dump_ingest(data=seed_dump(*OTHER_TOPICS, *ON_TOPIC), name="day.txt", today=date(2026, 11, 24))
    assert papers_embed() == len(OTHER_TOPICS) + len(ON_TOPIC)


def _trust_the_closest_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    # The stored weights are fitted on 26 judged interests; these tests pin the plumbing (kinds, the quote), so
    # they use a model that trusts the closest sentence's z-score alone (as tests/newsletter/test_fused_matching).
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("z_sentence")] = 1.0
    model = FusionModel(FEATURES, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), weights, -1.5, 0.5)
    monkeypatch.setattr("newsletter.services.fusion.stored_model", lambda: model)


def _preview(client: Client, interests: str) -> dict[str, Any]:
    response = client.get("/subscribe/preview.json", {"interests": interests})
    assert response.status_code == 200
    return dict(response.json())


@pytest.mark.usefixtures("embedded_papers")
def test_each_previewed_paper_says_why_words_first_then_a_related_passage(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _trust_the_closest_sentence(monkeypatch)

    result = _preview(client, "multimodal")["interests"][0]

    whys = [paper["why"] for paper in result["papers"]]
    assert [why["kind"] for why in whys] == ["words", "words", "related"]
    assert all("multimodal" in [word.lower() for word in why["words"]] for why in whys[:2])
    related = result["papers"][2]
    assert related["title"] == "Seeing and Reading: A Vision-Language Model"
    assert whys[2]["interest"] == "multimodal"
    assert whys[2]["sentence"] and whys[2]["sentence"] in ON_TOPIC[2][1]  # the paper's own closest sentence


@pytest.mark.usefixtures("embedded_papers")
def test_the_preview_suggests_related_terms_taken_from_the_papers(client: Client) -> None:
    data = _preview(client, "multimodal")

    suggestions = data["suggestions"]
    assert suggestions["interest"] == "multimodal"
    terms = suggestions["terms"]
    assert 1 <= len(terms) <= 5
    corpus = " ".join(f"{title} {abstract}" for title, abstract in ON_TOPIC + OTHER_TOPICS).lower()
    for term in terms:
        assert term.lower() in corpus  # found in the papers, not in a list
        assert "multimodal" not in term.lower()  # something the reader did not type
    assert any(term in {"vision", "images", "audio", "language", "text"} for term in terms), terms


@pytest.mark.usefixtures("embedded_papers")
def test_the_model_loads_once_per_process_not_per_preview(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[object] = []
    real_init = embedding.Encoder.__init__

    def counted(self: embedding.Encoder, *args: Any, **kwargs: Any) -> None:
        loads.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(embedding.Encoder, "__init__", counted)
    _preview(client, "multimodal")  # loads it, if no earlier test of this process did
    after_first = len(loads)

    for interests in ("protein folding", "radar nowcasting\nsorting networks", "multimodal, crop rotation"):
        _preview(client, interests)

    assert after_first <= 1
    assert len(loads) == after_first


@pytest.mark.usefixtures("embedded_papers")
def test_previews_store_no_vectors_and_keep_a_bounded_cache(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from newsletter.services import preview

    monkeypatch.setattr(preview, "PREVIEW_VECTORS_KEPT", 30)
    for n in range(12):
        _preview(client, f"topic{n} alpha, topic{n} beta")

    assert InterestVector.objects.count() == 0  # a public endpoint does not grow the database
    assert len(preview._vectors) <= 30
