"""The public archive of editions: what is public, picks first, a bad address answered plainly, no N+1."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from newsletter.models import Edition
from tests.factories import paper_create
from tests.newsletter.archive_data import edition_make

pytestmark = pytest.mark.django_db

NOV_20, NOV_21 = date(2026, 11, 20), date(2026, 11, 21)


def day_url(day: date) -> str:
    return reverse("archive:edition_detail", kwargs={"day": day.isoformat()})


def test_the_archive_lists_approved_editions_newest_first(client: Client) -> None:
    paper = paper_create(title="Shared Paper")
    edition_make(NOV_20, [paper])
    edition_make(NOV_21, [paper_create()])
    edition_make(date(2026, 11, 22), [paper_create()], status=Edition.Status.AWAITING_REVIEW)
    edition_make(date(2026, 11, 23), [paper_create()], status=Edition.Status.HELD)
    edition_make(timezone.localdate() + timedelta(days=1), [paper_create()])

    html = client.get(reverse("archive:edition_list")).content.decode()

    assert html.index(day_url(NOV_21)) < html.index(day_url(NOV_20))
    assert day_url(date(2026, 11, 22)) not in html and day_url(date(2026, 11, 23)) not in html
    assert day_url(timezone.localdate() + timedelta(days=1)) not in html
    assert "1 paper" in html


def test_the_archive_names_each_editions_picks(client: Client) -> None:
    pick = paper_create(title="The Editors Chose This")
    edition_make(NOV_20, [paper_create(), pick], picks=[pick])

    html = client.get(reverse("archive:edition_list")).content.decode()

    assert "2 papers · 1 editor's pick" in html
    assert "The Editors Chose This" in html and pick.get_absolute_url() in html


def test_an_edition_page_shows_the_editors_picks_first_then_the_rest_in_order(client: Client) -> None:
    first, second, pick = (
        paper_create(title="First In Order"),
        paper_create(title="Second In Order"),
        paper_create(title="Picked Last In Order", editor_note="A clear result."),
    )
    hidden = paper_create(title="Hidden Since", is_hidden=True)
    edition_make(NOV_20, [first, second, hidden, pick], picks=[pick])

    html = client.get(day_url(NOV_20)).content.decode()

    assert html.index("Picked Last In Order") < html.index("First In Order") < html.index("Second In Order")
    assert "Hidden Since" not in html
    assert "Why it was picked:</strong> A clear result." in html
    assert "3 papers, 1 editor's pick first" in html
    assert first.get_absolute_url() in html


def test_an_edition_page_links_to_its_neighbours(client: Client) -> None:
    for day in (NOV_20, NOV_21, date(2026, 11, 22)):
        edition_make(day, [paper_create()])

    html = client.get(day_url(NOV_21)).content.decode()

    assert day_url(NOV_20) in html and day_url(date(2026, 11, 22)) in html


@pytest.mark.parametrize("day", ["2026-13-45", "yesterday", "2026-11-19", "0000-00-00", "2026-11-22"])
def test_a_bad_or_unknown_day_gets_the_friendly_404(client: Client, day: str) -> None:
    edition_make(NOV_20, [paper_create()])
    edition_make(date(2026, 11, 22), [paper_create()], status=Edition.Status.AWAITING_REVIEW)

    response = client.get(f"/editions/{day}/")

    assert response.status_code == 404
    assert "couldn't find that page" in response.content.decode()


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_archive_costs_the_same_queries_for_few_or_many_editions(client: Client) -> None:
    def with_editions(n: int) -> int:
        Edition.objects.all().delete()
        for k in range(n):
            papers = [paper_create() for _ in range(3)]
            edition_make(NOV_20 - timedelta(days=k), papers, picks=papers[:2])
        return _queries(client, reverse("archive:edition_list"))

    few, many = with_editions(2), with_editions(12)

    assert few == many == 3  # the count, the page of editions (counts as subqueries), their picks


def test_an_edition_page_costs_the_same_queries_for_few_or_many_papers(client: Client) -> None:
    def with_papers(day: date, n: int) -> int:
        papers = [paper_create(authors=["A B", "C D"]) for _ in range(n)]
        edition_make(day, papers, picks=papers[:1])
        return _queries(client, day_url(day))

    few, many = with_papers(NOV_20, 2), with_papers(NOV_21, 30)

    assert few == many == 4  # the edition, its papers, the newer and the older edition


def test_the_site_links_to_the_archive_and_the_feed_from_every_page(client: Client) -> None:
    for url in (reverse("home"), reverse("papers:list"), reverse("archive:edition_list")):
        html = client.get(url).content.decode()
        assert f'href="{reverse("archive:edition_list")}"' in html
        assert f'href="{reverse("archive:feed_editions")}"' in html
    home = client.get(reverse("home")).content.decode()
    assert 'rel="alternate" type="application/atom+xml"' in home  # feed readers find it from the home page
