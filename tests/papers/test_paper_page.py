"""A paper's page leads somewhere: arXiv abstract and PDF, its stored links (http(s) only), authors, upvotes,
and every listing it appeared in."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from papers.models import Paper
from papers.pages import arxiv_links, paper_links
from papers.services import dump_ingest
from tests.factories import paper_create, seed_dump

pytestmark = pytest.mark.django_db


def test_an_arxiv_paper_links_to_its_abstract_and_pdf(client: Client) -> None:
    paper = paper_create(arxiv_id="2410.05434", authors=["Ada Lovelace", "Alan Turing"], upvotes=42)

    html = client.get(paper.get_absolute_url()).content.decode()

    assert 'href="https://arxiv.org/abs/2410.05434"' in html
    assert 'href="https://arxiv.org/pdf/2410.05434"' in html
    assert "Ada Lovelace, Alan Turing" in html
    assert "▲ 42 upvotes" in html


@pytest.mark.parametrize("arxiv_id", [None, "", "not an id", "2410.05434/../../evil", "javascript:alert(1)"])
def test_no_arxiv_link_without_an_id_of_arxivs_shape(arxiv_id: str | None) -> None:
    assert arxiv_links(arxiv_id) == []


def test_old_style_ids_link_too() -> None:
    assert [link.url for link in arxiv_links("hep-th/9901001")] == [
        "https://arxiv.org/abs/hep-th/9901001",
        "https://arxiv.org/pdf/hep-th/9901001",
    ]


def test_stored_links_follow_named_and_only_http_ones_survive(client: Client) -> None:
    paper = paper_create(arxiv_id="2410.05434")
    # Written past the model's validator, as rows stored before links were checked may be (issue 15).
    Paper.objects.filter(pk=paper.pk).update(
        links={
            "github": "https://github.com/example/code",
            "project": "javascript:alert(document.domain)",
            "arxiv": "https://arxiv.org/abs/2410.05434/",  # the same page as the arXiv link: once
            "data": "data:text/html,<script>alert(1)</script>",
        }
    )
    paper.refresh_from_db()

    labels = [(link.label, link.url) for link in paper_links(paper)]
    html = client.get(paper.get_absolute_url()).content.decode()

    assert labels == [
        ("arXiv abstract", "https://arxiv.org/abs/2410.05434"),
        ("PDF", "https://arxiv.org/pdf/2410.05434"),
        ("Code", "https://github.com/example/code"),
    ]
    assert "javascript:" not in html and "data:text" not in html


def test_the_page_lists_the_listings_the_paper_appeared_in(client: Client) -> None:
    title, abstract = "Listed Twice: A Study", "We are listed on two days."
    dump_ingest(data=seed_dump((title, abstract), date="Mar 11"), name="daily-mar-11.txt", today=date(2026, 3, 11))
    dump_ingest(data=seed_dump((title, abstract), date="Mar 12"), name="daily-mar-12.txt", today=date(2026, 3, 12))
    paper = Paper.objects.get(title=title)

    html = client.get(paper.get_absolute_url()).content.decode()

    listings = html[html.index("Listed in") :]
    assert listings.index("Mar 12, 2026") < listings.index("Mar 11, 2026")  # newest first
    assert "daily-mar-11.txt" in listings and "daily-mar-12.txt" in listings
    assert "#1" in listings


def test_the_page_costs_the_same_queries_with_one_listing_or_many(client: Client) -> None:
    title, abstract = "Listed Often", "An abstract."
    for day in range(1, 8):
        dump_ingest(data=seed_dump((title, abstract), date=f"Mar {day}"), name=f"d{day}.txt", today=date(2026, 3, day))
    often = Paper.objects.get(title=title)
    dump_ingest(data=seed_dump(("Listed Once", "Another."), date="Mar 9"), name="once.txt", today=date(2026, 3, 9))
    once = Paper.objects.get(title="Listed Once")

    counts = []
    for paper in (once, often):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(paper.get_absolute_url()).status_code == 200
        counts.append(len(queries))

    assert counts == [2, 2]  # the paper, its listings with their dumps
