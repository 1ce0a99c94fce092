"""A reader's own archive: the digests they were sent, as the ledger holds them, with the same explanations;
and the same as a private Atom feed.

Both sit behind one signed link per subscriber (the footer of every digest). The subscriber's link nonce signs
it; erasing the data deletes the subscriber (the link then finds no one) and unsubscribing revokes it here,
so a feed reader polling the URL stops getting digests the moment the reader leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils.feedgenerator import Atom1Feed

from newsletter import links
from newsletter.models import Delivery, DigestExplanation, Subscriber
from newsletter.services import subscriptions as subs
from newsletter.tokens import Purpose, TokenInvalid
from papers.models import Paper

ARCHIVE_DIGESTS_SHOWN = 50
FEED_ENTRIES = 20


@dataclass(frozen=True, slots=True)
class ArchivedPaper:
    paper_id: int
    title: str
    url: str
    interests: list[str]
    words: list[str]
    title_segments: list[tuple[str, bool]]  # the title as the digest showed it, matched words highlighted
    snippet: list[tuple[str, bool]]
    related: bool  # the semantic layer's pick: no words to show


@dataclass(slots=True)
class ArchivedDigest:
    delivery: Delivery
    view_url: str  # the digest as it was mailed (the signed "view in browser" page)
    papers: list[ArchivedPaper] = field(default_factory=list)

    @property
    def sent_at(self) -> datetime:
        return self.delivery.sent_at or self.delivery.created_at

    @property
    def title(self) -> str:
        count = len(self.papers)
        return f"{count} paper{'s' if count != 1 else ''} for you, {self.delivery.period}"


def archive_subscriber_from_link(*, token: str) -> Subscriber:
    """The reader an archive or feed link is for; TokenInvalid if forged, erased or unsubscribed."""
    subscriber = subs.subscriber_from_link(purpose=Purpose.ARCHIVE, token=token)
    if subscriber.status == Subscriber.Status.UNSUBSCRIBED:
        raise TokenInvalid("the reader unsubscribed: their archive link is revoked")
    return subscriber


def archive_digests(*, subscriber: Subscriber, limit: int = ARCHIVE_DIGESTS_SHOWN) -> list[ArchivedDigest]:
    """The reader's sent digests, newest first, each paper with why it was picked: three queries in all."""
    deliveries = list(
        subscriber.deliveries.filter(status=Delivery.Status.SENT).order_by("-sent_at", "-pk")[:limit]
    )
    paper_ids = {item["paper_id"] for delivery in deliveries for item in delivery.papers}
    papers = {p.pk: p for p in Paper.objects.filter(pk__in=paper_ids).only("id", "title")}
    explanations = _explanations(deliveries, paper_ids)
    digests = []
    for delivery in deliveries:
        digest = ArchivedDigest(
            delivery=delivery, view_url=links.digest_view_url(delivery_id=delivery.pk, subscriber=subscriber)
        )
        for item in delivery.papers:
            paper = papers.get(item["paper_id"])
            if paper is not None:  # merged into another paper or deleted since
                digest.papers.append(_archived(item, paper, explanations.get(_key(delivery, item))))
        digests.append(digest)
    return digests


def _key(delivery: Delivery, item: dict[str, Any]) -> tuple[int, int, str]:
    interests = item.get("interests") or [""]
    return delivery.edition_id, item["paper_id"], interests[0]


def _explanations(deliveries: list[Delivery], paper_ids: set[int]) -> dict[tuple[int, int, str], DigestExplanation]:
    if not deliveries:
        return {}
    rows = DigestExplanation.objects.filter(
        edition_id__in={delivery.edition_id for delivery in deliveries}, paper_id__in=paper_ids
    )
    return {(row.edition_id, row.paper_id, row.interest): row for row in rows}


def _archived(item: dict[str, Any], paper: Paper, explanation: DigestExplanation | None) -> ArchivedPaper:
    words = list(explanation.words) if explanation else list(item.get("words", []))
    return ArchivedPaper(
        paper_id=paper.pk,
        title=paper.title,
        url=links.absolute(paper.get_absolute_url()),
        interests=list(item.get("interests", [])),
        words=words,
        title_segments=[(t, bool(lit)) for t, lit in explanation.title] if explanation else [(paper.title, False)],
        snippet=[(t, bool(lit)) for t, lit in explanation.snippet] if explanation else [],
        related=bool(item.get("related")),
    )


def archive_feed(*, subscriber: Subscriber) -> str:
    """The reader's digests as an Atom feed (RFC 4287): one entry per digest sent, its papers and why."""
    feed = Atom1Feed(
        title="Your Paperboy digests",
        link=links.archive_url(subscriber),
        feed_url=links.archive_feed_url(subscriber),
        description="Every digest Paperboy sent you, newest first.",
        language="en",
        feed_guid=links.archive_feed_url(subscriber),
    )
    for digest in archive_digests(subscriber=subscriber, limit=FEED_ENTRIES):
        feed.add_item(
            title=digest.title,
            link=digest.view_url,
            description=render_to_string("newsletter/reader_archive_entry.html", {"digest": digest}),
            unique_id=f"{links.absolute('/')}#digest-{digest.delivery.pk}",
            unique_id_is_permalink=False,
            pubdate=digest.sent_at,
            updateddate=digest.sent_at,
        )
    return feed.writeString("utf-8")
