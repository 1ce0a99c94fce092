"""A reader's own archive: the digests they were sent, as the ledger holds them, with the same explanations;
and the same as a private Atom feed.

Both sit behind one signed link per subscriber (the footer of every digest). The subscriber's link nonce signs
it; erasing the data deletes the subscriber (the link then finds no one) and unsubscribing revokes it here,
so a feed reader polling the URL stops getting digests the moment the reader leaves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
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
_PAPER_ID_PROBE = 2_000_000_001  # stands for a paper's id in a feedback URL reversed once per digest
_WEEK = re.compile(r"(\d{4})-W(\d{2})")


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
    more_like_this_url: str  # the same feedback links as the digest's
    not_for_me_url: str


@dataclass(slots=True)
class ArchivedDigest:
    delivery: Delivery
    view_url: str  # the digest as it was mailed (the signed "view in browser" page)
    papers: list[ArchivedPaper] = field(default_factory=list)

    @property
    def sent_at(self) -> datetime:
        return self.delivery.sent_at or self.delivery.created_at

    @property
    def period_label(self) -> str:
        """The ledger's period as a reader says it: "December 3, 2026", or "the week of Nov 23, 2026"."""
        period = self.delivery.period
        week = _WEEK.fullmatch(period)
        if week:
            monday = date.fromisocalendar(int(week[1]), int(week[2]), 1)
            return f"the week of {monday:%b} {monday.day}, {monday.year}"
        try:
            day = date.fromisoformat(period)
        except ValueError:
            return period
        return f"{day:%B} {day.day}, {day.year}"

    @property
    def title(self) -> str:
        count = len(self.papers)
        return f"{count} paper{'s' if count != 1 else ''} for you, {self.period_label}"


def archive_subscriber_from_link(*, token: str) -> Subscriber:
    """The reader an archive or feed link is for; TokenInvalid if forged, erased or unsubscribed."""
    subscriber = subs.subscriber_from_link(purpose=Purpose.ARCHIVE, token=token)
    if subscriber.status == Subscriber.Status.UNSUBSCRIBED:
        raise TokenInvalid("the reader unsubscribed: their archive link is revoked")
    return subscriber


def archive_feed_url_or_none(*, subscriber: Subscriber) -> str | None:
    """The reader's private feed, unless they unsubscribed (then it is revoked and not offered)."""
    if subscriber.status == Subscriber.Status.UNSUBSCRIBED:
        return None
    return links.archive_feed_url(subscriber)


def archive_digests(*, subscriber: Subscriber, limit: int = ARCHIVE_DIGESTS_SHOWN) -> list[ArchivedDigest]:
    """The reader's sent digests, newest first, each paper with why it was picked: three queries in all."""
    deliveries = list(subscriber.deliveries.filter(status=Delivery.Status.SENT).order_by("-sent_at", "-pk")[:limit])
    paper_ids = {item["paper_id"] for delivery in deliveries for item in delivery.papers}
    papers = {p.pk: p for p in Paper.objects.filter(pk__in=paper_ids).only("id", "title")}
    explanations = _explanations(deliveries, paper_ids)
    digests = []
    for delivery in deliveries:
        digest = ArchivedDigest(
            delivery=delivery, view_url=links.digest_view_url(delivery_id=delivery.pk, subscriber=subscriber)
        )
        feedback = _feedback_urls(delivery, subscriber)
        for item in delivery.papers:
            paper = papers.get(item["paper_id"])
            if paper is not None:  # merged into another paper or deleted since
                digest.papers.append(_archived(item, paper, explanations.get(_key(delivery, item)), feedback))
        digests.append(digest)
    return digests


def _feedback_urls(delivery: Delivery, subscriber: Subscriber) -> dict[str, tuple[str, str]]:
    """Per verdict, the digest's feedback URL around the paper id: signed and reversed once per digest."""
    token = links.feedback_token(delivery_id=delivery.pk, nonce=subscriber.link_nonce)
    around = {}
    for verdict in ("more", "less"):
        before, after = links.feedback_url(token=token, paper_id=_PAPER_ID_PROBE, verdict=verdict).rsplit(
            str(_PAPER_ID_PROBE), 1
        )
        around[verdict] = (before, after)
    return around


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


def _archived(
    item: dict[str, Any],
    paper: Paper,
    explanation: DigestExplanation | None,
    feedback: dict[str, tuple[str, str]],
) -> ArchivedPaper:
    more, less = feedback["more"], feedback["less"]
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
        more_like_this_url=f"{more[0]}{paper.pk}{more[1]}",
        not_for_me_url=f"{less[0]}{paper.pk}{less[1]}",
    )


def archive_feed(*, subscriber: Subscriber, token: str) -> str:
    """The reader's digests as an Atom feed (RFC 4287): one entry per digest sent, its papers and why.

    Its links are made with the token it was fetched with, not a fresh one (a token carries the time it was
    made): a feed reader sees the same feed and entry links on every fetch. Each entry links to its digest on
    the archive page, which has the digest as mailed one click further.
    """
    page = links.absolute(links.token_path("newsletter:reader_archive", token))
    feed_url = links.absolute(links.token_path("newsletter:reader_archive_feed", token))
    feed = Atom1Feed(
        title="Your Paperboy digests",
        link=page,
        feed_url=feed_url,
        description="Every digest Paperboy sent you, newest first.",
        language="en",
        feed_guid=feed_url,
    )
    for digest in archive_digests(subscriber=subscriber, limit=FEED_ENTRIES):
        feed.add_item(
            title=digest.title,
            link=f"{page}#digest-{digest.delivery.pk}",
            description=render_to_string("newsletter/reader_archive_entry.html", {"digest": digest}),
            unique_id=f"{links.absolute('/')}#digest-{digest.delivery.pk}",
            unique_id_is_permalink=False,
            pubdate=digest.sent_at,
            updateddate=digest.sent_at,
        )
    return feed.writeString("utf-8")
