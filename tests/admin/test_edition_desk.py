"""The edition page as a desk: search, filters, one-step moves, reach and matched interests, sentences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from newsletter.admin.desk import edition_reach, review_sentence, when, window_sentence
from newsletter.models import Delivery, Edition, EditionPaper
from tests.admin.conftest import messages_of
from tests.newsletter.conftest import subscriber_create

pytestmark = pytest.mark.django_db


def _page(edition: Edition) -> str:
    return f"/admin/newsletter/edition/{edition.pk}/change/"


def _order(edition: Edition) -> list[int]:
    return list(EditionPaper.objects.filter(edition=edition).order_by("position", "id").values_list("pk", flat=True))


def _shown(response: Any) -> list[EditionPaper]:
    return [row.entry for row in response.context["rows"]]


def test_a_search_shows_only_the_papers_with_every_word(editor_client: Client, edition: Edition) -> None:
    entry = EditionPaper.objects.filter(edition=edition).select_related("paper").order_by("position")[5]
    words = " ".join(entry.paper.title.split()[:3])

    response = editor_client.get(_page(edition), {"q": words})

    shown = _shown(response)
    assert entry in shown and 0 < len(shown) < 20
    assert all(all(w.casefold() in (e.paper.title + e.paper.abstract + " ".join(e.paper.authors)).casefold()
                   for w in words.split()) for e in shown)  # fmt: skip
    assert f"{len(shown)} of 287 papers shown." in response.content.decode()


def test_the_picks_filter_shows_the_picks(editor_client: Client, edition: Edition) -> None:
    picks = list(EditionPaper.objects.filter(edition=edition).order_by("position")[:2])
    EditionPaper.objects.filter(pk__in=[e.pk for e in picks]).update(is_featured=True)

    response = editor_client.get(_page(edition), {"show": "picks"})

    assert {e.pk for e in _shown(response)} == {e.pk for e in picks}


def test_a_paper_moves_to_the_top_in_one_step_and_the_search_is_kept(editor_client: Client, edition: Edition) -> None:
    last = EditionPaper.objects.filter(edition=edition).select_related("paper").order_by("-position").first()
    assert last is not None
    url = f"/admin/newsletter/edition/{edition.pk}/entries/{last.pk}/top/"

    response = editor_client.post(url, {"back": "q=agents&show="})

    assert _order(edition)[0] == last.pk
    assert response["Location"].endswith(f"?q=agents#entry-{last.pk}")
    followed = editor_client.get(response["Location"])
    assert messages_of(followed) == [f"“{last.paper.title}” is now first in the edition."]


def test_a_paper_moves_to_a_given_position(editor_client: Client, edition: Edition) -> None:
    first = _order(edition)[0]
    url = f"/admin/newsletter/edition/{edition.pk}/entries/{first}/to/"

    editor_client.post(url, {f"position-{first}": "10"})

    assert _order(edition).index(first) == 9


def test_a_position_that_is_not_a_number_is_refused_with_a_reason(editor_client: Client, edition: Edition) -> None:
    first = _order(edition)[0]
    url = f"/admin/newsletter/edition/{edition.pk}/entries/{first}/to/"

    response = editor_client.post(url, {f"position-{first}": "top"}, follow=True)

    assert _order(edition)[0] == first
    assert messages_of(response) == ["Give the position to move the paper to: a whole number, 1 for the top."]


def test_reach_is_estimated_from_interests_before_planning(editor_client: Client, edition: Edition) -> None:
    for n in range(3):
        subscriber_create(f"r{n}@example.org", ["diffusion"])
    subscriber_create("other@example.org", ["xylophone restoration"])

    reach = edition_reach(edition=edition)
    response = editor_client.get(_page(edition), {"show": "reaching"})

    assert reach.estimated and reach.readers and set(reach.readers.values()) == {3}
    assert all(reach.interests[pk] == ["diffusion"] for pk in reach.readers)
    html = response.content.decode()
    assert len(_shown(response)) == len(reach.readers)
    assert 'data-readers="3"' in html and "matched: diffusion" in html and "estimated" in html


def test_reach_comes_from_the_ledger_once_planned(edition: Edition) -> None:
    reader = subscriber_create("r@example.org", ["agents"])
    other = subscriber_create("s@example.org", ["agents"])
    paper_id = EditionPaper.objects.filter(edition=edition).values_list("paper_id", flat=True).first()
    for subscriber, period in ((reader, "2026-12-01"), (other, "2026-12-02")):
        Delivery.objects.create(
            subscriber=subscriber, period=period, edition=edition, status="sent",
            papers=[{"paper_id": paper_id, "score": 1.0, "interests": ["agents"]}],
        )  # fmt: skip

    reach = edition_reach(edition=edition)

    assert not reach.estimated and reach.readers == {paper_id: 2} and reach.interests == {paper_id: ["agents"]}


def test_the_edition_says_its_status_and_window_in_sentences(edition: Edition) -> None:
    edition.approved_at = timezone.make_aware(datetime(2026, 12, 2, 2, 15))
    edition.papers_after = timezone.make_aware(datetime(2026, 12, 1, 14, 5))

    assert review_sentence(edition=edition) == "Approved on Dec 2, 2026 at 02:15."
    assert window_sentence(edition=edition) == (
        f"Papers first seen after Dec 1, 2026 at 14:05, through {when(edition.papers_through)}."
    )


def test_the_edition_page_has_no_stray_space_or_double_dot(editor_client: Client, edition: Edition) -> None:
    html = editor_client.get(_page(edition)).content.decode()

    assert " ." not in html.replace("...", "") and ".." not in html.replace("...", "")
    assert "Approved when it was prepared (no review is required)." in html


def test_the_edition_lists_the_dumps_and_dates_it_covers(editor_client: Client, edition: Edition) -> None:
    html = editor_client.get(_page(edition)).content.decode()

    assert html.count('href="/admin/papers/dump/') >= 5 and "000_672c293092104e7e.txt" in html
    assert ", listed on " in html
