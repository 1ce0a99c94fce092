"""A reader's own archive and private Atom feed: linked from every digest, listing what was sent and why, signed,
and revoked when the reader unsubscribes or erases their data."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import feedparser
import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsletter import links
from newsletter.models import Delivery, Edition, Feedback, Subscriber
from newsletter.services.editions import edition_prepare
from newsletter.services.planning import digest_plan
from newsletter.services.privacy import subscriber_erase
from newsletter.services.reader_archive import ArchivedDigest, archive_digests
from newsletter.services.sending import deliveries_send
from newsletter.services.subscriptions import subscriber_unsubscribe
from newsletter.tokens import Purpose, token_make, token_read
from papers.models import Paper
from papers.services import dump_ingest
from tests.factories import seed_dump
from tests.newsletter.conftest import links_in_last_email, path_of, subscriber_create

pytestmark = pytest.mark.django_db


def _two_digests() -> Subscriber:
    """A reader with two digests sent, a day apart (the second from a later edition), and one skipped."""
    subscriber = subscriber_create("reader@example.org", ["in-context learning", "agents"])
    subscriber_create("nothing@example.org", ["protein folding"])
    deliveries_send(delivery_ids=digest_plan().pending_ids)
    dump_ingest(data=seed_dump(("Tool-Using Agents That Plan", "We study agents that plan with tools.")), name="x.txt")
    tomorrow = timezone.now() + timedelta(days=1)
    edition_prepare(at=tomorrow)
    deliveries_send(delivery_ids=digest_plan(at=tomorrow).pending_ids)
    assert Delivery.objects.filter(subscriber=subscriber, status="sent").count() == 2
    return subscriber


def test_every_digest_links_the_readers_archive_in_its_footer(edition: Edition) -> None:
    subscriber = subscriber_create("reader@example.org", ["in-context learning"])
    deliveries_send(delivery_ids=digest_plan().pending_ids)

    (url,) = links_in_last_email("/archive/")
    message: Any = mail.outbox[-1]  # an EmailMultiAlternatives
    html = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
    assert f'href="{url}"' in html and "Your past digests" in html
    assert path_of(url).startswith("/manage/") and path_of(url).endswith("/archive/")
    token = path_of(url).split("/")[2]  # the manage token the digest signs anyway: no token more per digest
    assert token_read(purpose=Purpose.MANAGE, token=token).subject_id == subscriber.pk
    page = Client().get(path_of(url))
    assert page.status_code == 200 and "Your past digests" in page.content.decode()


def test_the_archive_lists_the_digests_sent_newest_first_with_why_each_paper_was_picked(
    client: Client, edition: Edition
) -> None:
    subscriber = _two_digests()

    response = client.get(path_of(links.archive_url(subscriber)))

    html = response.content.decode()
    text = html.replace("<mark>", "").replace("</mark>", "")
    assert response.status_code == 200
    assert response.headers["X-Robots-Tag"] == "noindex" and not response.cookies
    sent = list(Delivery.objects.filter(subscriber=subscriber).order_by("-sent_at"))
    positions = [html.index(f'id="digest-{delivery.pk}"') for delivery in sent]
    assert positions == sorted(positions)  # newest first
    assert html.count('class="digest"') == 2  # the skipped reader's row and nobody else's
    assert "Tool-Using Agents That Plan" in text
    first_title = Paper.objects.get(pk=sent[-1].papers[0]["paper_id"]).title
    assert first_title in text
    assert "Matched your interest in-context learning: " in html and "<mark>" in html
    views = re.findall(r'href="([^"]+/digest/[^"]+/)">as it was mailed', html)
    tokens = [token_read(purpose=Purpose.VIEW, token=path_of(view).split("/")[2]) for view in views]
    assert [payload.subject_id for payload in tokens] == [delivery.pk for delivery in sent]
    assert client.get(path_of(views[0])).status_code == 200
    not_for_me = re.findall(r'href="([^"]+/not-for-me/)"', html)
    assert len(not_for_me) == sum(len(d.papers) for d in sent)  # each paper keeps its feedback links
    assert client.get(path_of(not_for_me[0])).status_code == 200
    assert not Feedback.objects.exists()


def test_the_archive_says_when_each_digest_was_sent_in_the_readers_time_zone(client: Client, edition: Edition) -> None:
    subscriber = _two_digests()
    Subscriber.objects.filter(pk=subscriber.pk).update(timezone="Asia/Tokyo")
    html = client.get(path_of(links.archive_url(subscriber))).content.decode()
    assert html.count(" JST · ") == 2


@pytest.mark.parametrize(
    ("period", "label"),
    [("2026-12-03", "December 3, 2026"), ("2026-W48", "the week of Nov 23, 2026"), ("odd", "odd")],
)
def test_a_digests_period_reads_as_a_date_or_a_week(period: str, label: str) -> None:
    assert ArchivedDigest(delivery=Delivery(period=period), view_url="").period_label == label


def test_the_archive_reads_in_a_fixed_number_of_queries(edition: Edition) -> None:
    subscriber = _two_digests()
    with CaptureQueriesContext(connection) as queries:
        digests = archive_digests(subscriber=subscriber)
    assert len(digests) == 2 and sum(len(d.papers) for d in digests) > 10
    assert len(queries) == 3  # deliveries, papers, explanations


def test_the_private_feed_is_atom_with_one_entry_per_digest_sent(client: Client, edition: Edition) -> None:
    subscriber = _two_digests()

    feed_path = path_of(links.archive_feed_url(subscriber))
    response = client.get(feed_path)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Your Paperboy digests"
    page = links.absolute(feed_path.removesuffix("feed.atom"))
    assert feed.feed.link == page
    assert feed.feed.id == links.absolute(feed_path)
    sent = list(Delivery.objects.filter(subscriber=subscriber).order_by("-sent_at"))
    assert [entry.link for entry in feed.entries] == [f"{page}#digest-{delivery.pk}" for delivery in sent]
    assert client.get(feed_path).content == response.content  # the same feed on every fetch, links included
    assert len({entry.id for entry in feed.entries}) == 2
    assert all(entry.updated_parsed for entry in feed.entries)
    newest = feed.entries[0]
    day = date.fromisoformat(sent[0].period)
    assert newest.title == f"1 paper for you, {day:%B} {day.day}, {day.year}"
    assert "Tool-Using Agents That Plan" in newest.summary and "Matched your interest agents" in newest.summary


def test_the_archive_page_points_feed_readers_at_the_feed(client: Client, edition: Edition) -> None:
    subscriber = _two_digests()
    html = client.get(path_of(links.archive_url(subscriber))).content.decode()
    feed = re.search(r'type="application/atom\+xml" title="Your Paperboy digests" href="([^"]+)"', html)
    assert feed and re.search(rf'class="feed-link" href="{re.escape(feed[1])}"', html)
    assert token_read(purpose=Purpose.ARCHIVE, token=path_of(feed[1]).split("/")[2]).subject_id == subscriber.pk
    assert client.get(path_of(feed[1])).status_code == 200


@pytest.mark.parametrize("leave", [subscriber_unsubscribe, subscriber_erase])
def test_the_archive_and_its_feed_are_revoked_when_the_reader_leaves(
    client: Client, edition: Edition, leave: object
) -> None:
    subscriber = _two_digests()
    urls = [path_of(links.archive_url(subscriber)), path_of(links.archive_feed_url(subscriber))]
    assert [client.get(url).status_code for url in urls] == [200, 200]
    from_digest_url = path_of(links.manage_archive_url(subscriber))

    leave(subscriber=subscriber)  # type: ignore[operator]

    for url in urls:
        response = client.get(url)
        assert response.status_code == 400
        assert "This link doesn't work" in response.content.decode()
    from_digest = client.get(from_digest_url)
    if leave is subscriber_erase:
        assert from_digest.status_code == 400
    else:  # their own pages stay theirs (as the manage page does), without the revoked feed
        assert from_digest.status_code == 200 and "feed.atom" not in from_digest.content.decode()


def test_forged_and_other_purposes_tokens_open_no_archive(client: Client, edition: Edition) -> None:
    subscriber = _two_digests()
    good = links.archive_token(subscriber)
    manage = token_make(purpose=Purpose.MANAGE, subject_id=subscriber.pk, nonce=subscriber.link_nonce)
    for token in (good[:-2], good[:-1] + ("x" if good[-1] != "x" else "y"), manage, "nonsense"):
        for path in (f"/archive/{token}/", f"/archive/{token}/feed.atom"):
            response = client.get(path)
            assert response.status_code == 400, path
            assert "This link doesn't work" in response.content.decode()
    assert client.post(f"/archive/{good}/").status_code == 405  # nothing to change here
