"""The Atom feeds: valid Atom as feedparser reads it and as RFC 4287 requires, the interest feed matched as
a digest is, cached per edition, and a query it cannot use answered with a 400 that says why."""

from __future__ import annotations

from datetime import date
from typing import Any

import feedparser
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from lxml import etree

from newsletter.forms import MAX_INTERESTS_FIELD_LENGTH
from papers.models import Paper
from tests.factories import paper_create
from tests.newsletter.archive_data import edition_make

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
NOV_20, NOV_21 = date(2026, 11, 20), date(2026, 11, 21)


def fetch(client: Client, url: str, **params: str) -> Any:
    response = client.get(url, params)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert_rfc4287(response.content)
    return parsed


def assert_rfc4287(xml: bytes) -> None:
    """What RFC 4287 requires of a feed and of each entry, read from the XML itself (feedparser forgives)."""
    feed = etree.fromstring(xml)
    assert feed.tag == f"{ATOM}feed"
    for element in (feed, *feed.findall(f"{ATOM}entry")):
        for name in ("id", "title", "updated"):
            assert (element.findtext(f"{ATOM}{name}") or "").strip(), f"{element.tag!r} lacks {name}"
    rels = {link.get("rel"): link.get("href") or "" for link in feed.findall(f"{ATOM}link")}
    assert rels.get("alternate", "").startswith("http") and rels.get("self", "").startswith("http")
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None  # a feed has an author unless every entry has
    for entry in feed.findall(f"{ATOM}entry"):
        link = entry.find(f"{ATOM}link[@rel='alternate']")
        assert link is not None and (link.get("href") or "").startswith("http")


@pytest.fixture
def two_editions() -> dict[str, Paper]:
    papers = {
        "rlhf": paper_create(title="Reward Models for RLHF", abstract="We align language models with feedback."),
        "survey": paper_create(title="A Survey of Reward Models", abstract="Reward models, surveyed."),
        "graphs": paper_create(title="Graph Transformers", abstract="Attention over graphs.", authors=["Ada L"]),
        "pick": paper_create(title="Reward Hacking in Practice", abstract="Reward models are gamed."),
    }
    edition_make(NOV_20, [papers["rlhf"], papers["survey"]])
    edition_make(NOV_21, [papers["graphs"], papers["pick"]], picks=[papers["pick"]])
    return papers


def test_the_editions_feed_is_atom_with_one_entry_per_edition_newest_first(
    client: Client, two_editions: dict[str, Paper]
) -> None:
    feed = fetch(client, reverse("archive:feed_editions"))

    assert feed.feed.title == "Paperboy: every edition"
    assert [entry.title for entry in feed.entries] == ["Papers of November 21, 2026", "Papers of November 20, 2026"]
    assert feed.entries[0].link.endswith(reverse("archive:edition_detail", kwargs={"day": "2026-11-21"}))
    assert feed.entries[0].id != feed.entries[1].id
    summary = feed.entries[0].summary
    assert summary.index("Reward Hacking in Practice") < summary.index("Graph Transformers")  # the pick first
    assert "Editor's pick" in summary
    assert two_editions["pick"].get_absolute_url() in summary


def test_the_editions_feed_leaves_out_unapproved_editions_and_hidden_papers(client: Client) -> None:
    shown, hidden = paper_create(title="Shown Paper"), paper_create(title="Hidden Paper", is_hidden=True)
    edition_make(NOV_20, [shown, hidden])
    edition_make(NOV_21, [paper_create(title="Waiting Paper")], status="awaiting_review")

    feed = fetch(client, reverse("archive:feed_editions"))

    assert len(feed.entries) == 1
    assert "Shown Paper" in feed.entries[0].summary and "Hidden Paper" not in feed.entries[0].summary


def test_an_empty_archive_is_still_a_valid_feed(client: Client) -> None:
    assert fetch(client, reverse("archive:feed_editions")).entries == []
    assert fetch(client, reverse("archive:feed_interest"), q="reward models").entries == []


def test_the_interest_feed_has_the_papers_a_digest_would_pick(client: Client, two_editions: dict[str, Paper]) -> None:
    feed = fetch(client, reverse("archive:feed_interest"), q="reward model -survey")

    titles = [entry.title for entry in feed.entries]
    assert titles == ["Reward Hacking in Practice", "Reward Models for RLHF"]  # newest edition first
    assert feed.feed.title == "Paperboy: new papers on reward model -survey"
    assert feed.entries[0].link.endswith(two_editions["pick"].get_absolute_url())
    assert "<strong>Reward models</strong> are gamed" in feed.entries[0].summary  # why it matched, as a digest says it
    self_link = next(link.href for link in feed.feed.links if link.rel == "self")
    assert "feeds/interest/?q=reward+model+-survey" in self_link


def test_the_interest_feed_reads_acronyms_as_digests_do(client: Client, two_editions: dict[str, Paper]) -> None:
    titles = [entry.title for entry in fetch(client, reverse("archive:feed_interest"), q="RLHF").entries]

    assert titles == ["Reward Models for RLHF"]


def test_the_interest_feed_is_cached_per_edition(client: Client, two_editions: dict[str, Paper]) -> None:
    url = reverse("archive:feed_interest")
    first = client.get(url, {"q": "graph"}).content

    with CaptureQueriesContext(connection) as queries:
        again = client.get(url, {"q": "graph"}).content
    assert again == first
    assert len(queries) == 2  # the latest edition and the papers' version: no matching

    edition_make(date(2026, 11, 22), [paper_create(title="Graph Diffusion")])
    titles = [entry.title for entry in feedparser.parse(client.get(url, {"q": "graph"}).content).entries]
    assert titles == ["Graph Diffusion", "Graph Transformers"]


@pytest.mark.parametrize(
    ("q", "says"),
    [
        ("", "Add your interest to the address"),
        ("   ", "Add your interest to the address"),
        ('"unclosed', "opening quote without a closing one"),
        ("reward -a -b -c -d -e -f -g", "at most 6 per interest"),
        ("-survey", "-word only leaves papers out"),
        ("price in $", "cannot be matched"),
        (", ".join(f"topic{n}" for n in range(21)), "At most 20 interests"),
        ("x" * (MAX_INTERESTS_FIELD_LENGTH + 1), f"longer than {MAX_INTERESTS_FIELD_LENGTH} characters"),
    ],
)
def test_a_feed_query_it_cannot_use_is_a_400_that_says_why(
    client: Client, two_editions: dict[str, Paper], q: str, says: str
) -> None:
    response = client.get(reverse("archive:feed_interest"), {"q": q})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert says in response.content.decode()


def test_a_feed_without_q_is_a_400_too(client: Client) -> None:
    assert client.get(reverse("archive:feed_interest")).status_code == 400


def test_new_feeds_are_rate_limited_per_client_but_cached_ones_are_not(
    client: Client, two_editions: dict[str, Paper], settings: Any
) -> None:
    settings.PAPERBOY_PREVIEWS_PER_IP = 2
    url = reverse("archive:feed_interest")

    statuses = [client.get(url, {"q": q}).status_code for q in ("graph", "reward", "hacking")]
    cached = client.get(url, {"q": "graph"}).status_code

    assert statuses == [200, 200, 429]
    assert cached == 200


def test_feed_readers_may_ask_head_but_nothing_is_posted(client: Client, two_editions: dict[str, Paper]) -> None:
    url = reverse("archive:feed_interest")

    assert client.head(url, {"q": "graph"}).status_code == 200
    assert client.post(url, {"q": "graph"}).status_code == 405
    assert client.head(reverse("archive:edition_list")).status_code == 200
