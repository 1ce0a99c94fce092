"""The public paper pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import paper_create

pytestmark = pytest.mark.django_db


def test_home_lists_visible_papers_newest_first(client: Client) -> None:
    from datetime import date

    paper_create(title="Older Paper On Graphs", first_listed_on=date(2026, 1, 1))
    paper_create(title="Newer Paper On Agents", first_listed_on=date(2026, 2, 1))
    paper_create(title="Hidden Paper", is_hidden=True)

    html = client.get(reverse("home")).content.decode()

    assert html.index("Newer Paper On Agents") < html.index("Older Paper On Graphs")
    assert "Hidden Paper" not in html


def test_search_narrows_the_list_by_title_abstract_or_author(client: Client) -> None:
    paper_create(title="Diffusion for Video", abstract="We generate video.", authors=["Ada Lovelace"])
    paper_create(title="Speech Recognition", abstract="Audio models.")

    # Search results highlight the words found: compare the text without the marks.
    by_word = _unmarked(client.get(reverse("papers:list"), {"q": "video"}).content.decode())
    by_author = _unmarked(client.get(reverse("papers:list"), {"q": "Lovelace"}).content.decode())

    assert "Diffusion for Video" in by_word and "Speech Recognition" not in by_word
    assert "Diffusion for Video" in by_author and "Speech Recognition" not in by_author
    assert "1 paper match" in by_word


def _unmarked(html: str) -> str:
    return html.replace("<mark>", "").replace("</mark>", "")


def test_paper_page_shows_the_paper_and_escapes_its_text(client: Client) -> None:
    paper = paper_create(title="Attention <Is> All", abstract="x < y & z", arxiv_id="1706.03762")

    html = client.get(paper.get_absolute_url()).content.decode()

    assert "Attention &lt;Is&gt; All" in html
    assert "x &lt; y &amp; z" in html
    assert "https://arxiv.org/abs/1706.03762" in html


@pytest.mark.parametrize("path", ["/papers/999999/", "/no-such-page/"])
def test_a_bad_link_gets_a_friendly_404_page(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert "couldn't find that page" in response.content.decode()


def test_a_hidden_paper_has_no_public_page(client: Client) -> None:
    paper = paper_create(is_hidden=True)

    assert client.get(paper.get_absolute_url()).status_code == 404


def test_the_list_is_paginated(client: Client) -> None:
    for n in range(30):
        paper_create(title=f"Numbered Paper {n:02d}")

    first = client.get(reverse("papers:list")).content.decode()
    second = client.get(reverse("papers:list"), {"page": 2}).content.decode()

    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert first.count('class="paper-card') == 25 and second.count('class="paper-card') == 5
