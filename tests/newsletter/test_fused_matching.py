"""The fused matcher on stored papers: vectors at ingest, picks on the words first, related ones with a quote."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command

from newsletter.matching.fusion import FEATURES, FusionModel
from papers.models import PaperVector
from papers.services import dump_ingest, papers_embed
from tests.factories import seed_dump

pytestmark = pytest.mark.django_db

OTHER_TOPICS = [
    ("Faster Sorting Networks", "We design sorting networks with fewer comparators. Proofs are given for small sizes."),
    ("Lock-Free Queues in Practice", "We benchmark lock-free queues on many cores. Contention dominates the cost."),
    (
        "Protein Folding with Physics Priors",
        "We fold proteins with a physics prior. Accuracy improves on hard targets.",
    ),
    ("Weather Nowcasting from Radar", "Radar sequences predict rain an hour ahead. We beat optical flow baselines."),
    ("Compiler Passes for Sparse Kernels", "A compiler pass fuses sparse kernels. Speedups reach three times."),
    ("Auction Design for Ad Slots", "We study auctions for ad slots. Revenue rises with reserve prices."),
    ("Graph Coloring Heuristics", "New heuristics color large graphs with fewer colors in less time."),
    ("Soil Moisture from Satellites", "Satellite data estimate soil moisture. We validate against field probes."),
]
# A day's batch is hundreds of papers: similarity is judged against the batch (z-scores), so the test's batch
# needs enough papers that are about something else.
OTHER_TOPICS += [
    (f"Notes on {thing}", f"We study {thing} in depth. Measurements on {thing} show a steady gain over prior methods.")
    for thing in (
        "bridge corrosion",
        "crop rotation",
        "tax policy",
        "glacier retreat",
        "urban traffic lights",
        "coral reefs",
        "battery chemistry",
        "bird migration",
        "rail scheduling",
        "earthquake early warning",
        "wine fermentation",
        "ocean salinity",
        "hospital staffing",
        "river sediment",
        "solar panel cleaning",
        "forest fires",
        "cache eviction policies",
        "disk scheduling",
        "packet routing",
        "garbage collection pauses",
        "voting systems",
        "insurance pricing",
        "steel welding",
        "textile dyeing",
    )
]
ON_TOPIC = [
    (
        "Multimodal Pretraining at Scale",
        "We pretrain a multimodal model on images and text. Multimodal benchmarks improve across the board.",
    ),
    (
        "A Survey of Multimodal Learning",
        "Multimodal learning combines vision, audio and language. We review multimodal fusion methods.",
    ),
    (
        "Seeing and Reading: A Vision-Language Model",
        "We train a vision-language model jointly on images, audio and text. "
        "One model reads pictures, hears speech and writes captions: vision and language in a single encoder.",
    ),
]


def _ingest_and_embed() -> None:
    dump_ingest(data=seed_dump(*OTHER_TOPICS, *ON_TOPIC), name="day.txt", today=date(2026, 11, 24))
    assert papers_embed() == len(OTHER_TOPICS) + len(ON_TOPIC)
    assert papers_embed() == 0  # computed once
    assert PaperVector.objects.count() == len(OTHER_TOPICS) + len(ON_TOPIC)


def _match_json(interest: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    call_command("match", "--interest", interest, "--json", stdout=out)
    return list(json.loads(out.getvalue())[interest])


def test_papers_get_vectors_once_and_word_picks_explain_their_words() -> None:
    _ingest_and_embed()
    picks = _match_json("multimodal")
    words = {pick["title"] for pick in picks if pick["why"]["kind"] == "words"}
    assert words == {"Multimodal Pretraining at Scale", "A Survey of Multimodal Learning"}
    assert all(pick["why"]["words"] == ["multimodal"] or "Multimodal" in pick["why"]["words"] for pick in picks)


def test_a_related_pick_comes_after_the_word_picks_and_quotes_its_closest_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The stored weights are fitted on 26 judged interests; this test pins the plumbing (kinds, order, the
    # quote), so it uses a model that trusts the closest sentence's z-score alone.
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("z_sentence")] = 1.0
    model = FusionModel(FEATURES, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), weights, -1.5, 0.5)
    monkeypatch.setattr("newsletter.services.fusion.stored_model", lambda: model)
    _ingest_and_embed()

    picks = _match_json("multimodal")

    kinds = [pick["why"]["kind"] for pick in picks]
    assert kinds == sorted(kinds, key=lambda kind: kind != "words")  # the reader's own words first
    related = [pick for pick in picks if pick["why"]["kind"] == "related"]
    assert [pick["title"] for pick in related] == ["Seeing and Reading: A Vision-Language Model"]
    assert related[0]["why"]["interest"] == "multimodal"
    assert related[0]["why"]["sentence"] in ON_TOPIC[2][1]
    assert related[0]["why"]["text"].startswith("related to multimodal: ")
