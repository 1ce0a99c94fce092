"""The matcher on stored papers: `manage.py match`, learned acronyms kept up to date, the live preview."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from newsletter.models import AcronymState
from newsletter.paper_indexes import acronyms_current
from newsletter.services.indexing import acronyms_learn
from papers.models import Paper
from papers.services import dump_ingest, dump_ingest_file
from tests.factories import seed_dump

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 24)


@pytest.fixture
def seed_papers(seed_files: list[Path]) -> None:
    for path in seed_files:
        dump_ingest_file(path=path, today=TODAY)


@pytest.mark.usefixtures("seed_papers")
def test_match_command_prints_json_best_first_with_an_explanation() -> None:
    out = io.StringIO()
    call_command("match", "--interest", "in-context learning", "--interest", "protein folding", "--json", stdout=out)

    data = json.loads(out.getvalue())
    assert set(data) == {"in-context learning", "protein folding"}
    picks = data["in-context learning"]
    assert len(picks) >= 10
    scores = [pick["score"] for pick in picks]
    assert scores == sorted(scores, reverse=True)
    assert all(pick["title"] and pick["why"] for pick in picks)
    assert picks[0]["why"]["kind"] == "words"
    assert "in-context learning" in picks[0]["why"]["text"].lower()
    assert data["protein folding"] == []


@pytest.mark.usefixtures("seed_papers")
def test_match_command_plain_output_lists_scores_and_reasons() -> None:
    out = io.StringIO()
    call_command("match", "--interest", "chain-of-thought", "--limit", "3", stdout=out)

    text = out.getvalue()
    assert text.startswith("chain-of-thought:")
    assert text.count("matched ") == 3


def test_match_command_rejects_an_invalid_interest_with_the_reason() -> None:
    with pytest.raises(CommandError, match="100"):
        call_command("match", "--interest", "x" * 150)


def test_acronyms_are_learned_from_papers_as_they_arrive() -> None:
    dump_ingest(
        data=seed_dump(("Speedy Widgets", "We present quantum widget folding (QWF), a method.")),
        name="one.txt",
        today=TODAY,
    )
    first = acronyms_learn()
    assert AcronymState.objects.get().learned_through_paper_id == Paper.objects.get().pk

    dump_ingest(
        data=seed_dump(("Other Things", "We study sparse gadget routing (SGR) at scale.")), name="two.txt", today=TODAY
    )
    read = acronyms_current()  # a read learns the new paper in memory and writes nothing (issue 17)
    assert AcronymState.objects.get().learned_through_paper_id == Paper.objects.earliest("pk").pk
    second = acronyms_learn()
    assert read.to_json() == second.to_json()

    learned_first, learned_second = json.dumps(first.to_json()).lower(), json.dumps(second.to_json()).lower()
    assert "qwf" in learned_first and "sgr" not in learned_first
    assert "qwf" in learned_second and "sgr" in learned_second
    assert AcronymState.objects.get().learned_through_paper_id == Paper.objects.latest("pk").pk


def test_an_acronym_interest_finds_papers_that_only_spell_it_out() -> None:
    dump_ingest(
        data=seed_dump(
            ("Teaching Models with Demonstrations", "We analyse in-context learning (ICL) in transformers."),
            ("Why Demonstrations Help", "In-context learning (ICL) lets a model adapt without training."),
            (
                "Prompting at Scale",
                "Transformers can do in-context learning from a handful of demonstrations.",
            ),
        ),
        name="icl.txt",
        today=TODAY,
    )
    out = io.StringIO()
    call_command("match", "--interest", "ICL", "--json", stdout=out)

    titles = {pick["title"] for pick in json.loads(out.getvalue())["ICL"]}
    # Two papers define ICL, so the pair is learned; the third never writes "ICL" and is found all the same.
    assert titles == {"Teaching Models with Demonstrations", "Why Demonstrations Help", "Prompting at Scale"}


@pytest.mark.usefixtures("seed_papers")
def test_the_preview_endpoint_shows_matches_with_highlights(client: Client) -> None:
    response = client.get("/subscribe/preview.json", {"interests": "in-context learning, -transformers\nzzqx"})
    without_exclusion = client.get("/subscribe/preview.json", {"interests": "in-context learning"}).json()

    assert response.status_code == 200
    data = response.json()
    assert data["papers_considered"] == 287
    first, nothing = data["interests"]
    assert first["interest"] == "in-context learning" and first["count"] > 3
    # "-transformers" on its own item applies to every interest, as it will in the digest.
    assert first["count"] < without_exclusion["interests"][0]["count"]
    paper = first["papers"][0]
    assert paper["url"].startswith("/papers/")
    assert any(highlight for _, highlight in paper["snippet"])
    assert nothing == {"interest": "zzqx", "count": 0, "papers": []}


@pytest.mark.usefixtures("seed_papers")
def test_the_preview_reports_invalid_interests_instead_of_failing(client: Client) -> None:
    response = client.get("/subscribe/preview.json", {"interests": "x" * 150})

    assert response.status_code == 200
    assert response.json()["errors"]


def test_the_preview_is_rate_limited_per_ip(client: Client, settings: object) -> None:
    from django.core.cache import cache

    cache.clear()
    settings.PAPERBOY_PREVIEWS_PER_IP = 2  # type: ignore[attr-defined]
    statuses = [client.get("/subscribe/preview.json", {"interests": "agents"}).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


# --- the preview's bounded work (issue 15 item 6) ----------------------------------------------------------

ADVERSARIAL_PREVIEW = "\n".join(f"model{n} " + " ".join(f"-x{n}y{k}" for k in range(10)) for n in range(20))


@pytest.fixture
def unhurried_preview(monkeypatch: pytest.MonkeyPatch) -> None:
    """No time budget: the tests of the term bounds count interests, which a slow machine must not cut early."""
    from newsletter.services import indexing as matching

    monkeypatch.setattr(matching, "PREVIEW_TIME_BUDGET_SECONDS", 3600.0)


@pytest.mark.usefixtures("seed_papers", "unhurried_preview")
def test_a_preview_with_200_exclusions_is_cut_to_the_bounds_and_says_so(client: Client) -> None:
    from newsletter.matching.interests import MAX_EXCLUSIONS_PER_INTEREST, MAX_TERMS

    assert ADVERSARIAL_PREVIEW.count(" -") == 200
    data = client.get("/subscribe/preview.json", {"interests": ADVERSARIAL_PREVIEW}).json()

    assert data["errors"] == []
    # Each interest keeps its first 6 exclusions (7 terms), and interests are kept while the terms fit.
    kept = [result["interest"].count(" -") for result in data["interests"]]
    assert kept == [MAX_EXCLUSIONS_PER_INTEREST] * (MAX_TERMS // (MAX_EXCLUSIONS_PER_INTEREST + 1))
    assert data["interests"][0]["interest"] == "model0 " + " ".join(f"-x0y{k}" for k in range(6))
    notices = " ".join(data["notices"])
    assert "first 6 exclusions" in notices and f"at most {MAX_TERMS} words" in notices, notices


@pytest.mark.usefixtures("seed_papers", "unhurried_preview")
def test_a_preview_past_the_term_bound_keeps_the_first_interests_and_says_so(client: Client) -> None:
    from newsletter.matching.interests import MAX_TERMS

    text = "\n".join(f"w{n}a w{n}b w{n}c w{n}d w{n}e -v{n}" for n in range(20))  # 6 terms each, 120 in all
    data = client.get("/subscribe/preview.json", {"interests": text}).json()

    assert len(data["interests"]) == MAX_TERMS // 6
    assert any(f"at most {MAX_TERMS} words" in notice for notice in data["notices"]), data["notices"]


def test_the_form_refuses_the_same_texts_with_a_message_next_to_the_interests(client: Client) -> None:
    from tests.newsletter.conftest import form_data

    response = client.post("/subscribe/", form_data(interests=ADVERSARIAL_PREVIEW))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == ["interests"]
    assert any("at most 6 per interest" in message for message in errors["interests"])


@pytest.mark.usefixtures("seed_papers")
def test_a_preview_past_its_time_budget_shows_what_it_has_and_says_so(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsletter.services import indexing as matching

    monkeypatch.setattr(matching, "PREVIEW_TIME_BUDGET_SECONDS", 0.0)  # every interest after the first is late
    data = client.get("/subscribe/preview.json", {"interests": "in-context learning\nagents\nRLHF"}).json()

    assert [result["interest"] for result in data["interests"]] == ["in-context learning"]
    assert data["interests"][0]["count"] > 3
    assert any("took too long" in notice for notice in data["notices"]), data["notices"]


@pytest.mark.usefixtures("seed_papers")
def test_a_second_preview_reuses_the_index_with_one_query(
    client: Client, django_assert_num_queries: Callable[..., Any]
) -> None:
    client.get("/subscribe/preview.json", {"interests": "agents"})  # builds this process's index

    with django_assert_num_queries(1):  # the papers' version, to see that the index is still current
        data = client.get("/subscribe/preview.json", {"interests": "in-context learning"}).json()

    assert data["interests"][0]["count"] > 3


@pytest.mark.usefixtures("seed_papers")
def test_the_preview_explains_only_the_papers_it_shows(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from newsletter.matching import evaluation as percolation  # where explaining moved (issue 17)

    explained: list[int] = []
    real = percolation.build_matches

    def counting(index: Any, compiled: Any, scored: list[tuple[int, float]]) -> Any:
        explained.append(len(scored))
        return real(index, compiled, scored)

    monkeypatch.setattr(percolation, "build_matches", counting)
    data = client.get("/subscribe/preview.json", {"interests": "models\nlearning\nlanguage"}).json()

    assert sum(result["count"] for result in data["interests"]) > 100  # broad words: many papers match
    assert sum(explained) == sum(len(result["papers"]) for result in data["interests"]) <= 9


@pytest.mark.usefixtures("seed_papers")
def test_the_preview_index_drops_its_memoised_plans_past_the_bound(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsletter.services import indexing as matching

    monkeypatch.setattr(matching, "PREVIEW_PLANS_KEPT", 50)
    for n in range(10):
        client.get("/subscribe/preview.json", {"interests": " ".join(f"novel{n}word{k}" for k in range(10))})

    assert len(matching.preview_index().unit_plans) <= 50 + 20
