"""Editors' writes from the admin: picks and hides that reach open editions, merges, previews, subscriber care.

Papers are upstream of the newsletter: the paper-only part of each write lives in `papers.services`; what
follows it into editions and the ledger is done here, in the same transaction.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Collection
from typing import Any

from anymail.message import AnymailMessage
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse

from newsletter import links
from newsletter.emails import message_send, one_line
from newsletter.models import ConfirmationRequest, Delivery, Edition, EditionPaper, Subscriber
from newsletter.queueing import task_queue_on_commit
from newsletter.services.edition_index import preview_shared
from newsletter.services.rendering import RenderedDigest
from papers.models import Paper
from papers.services import papers_flag, papers_merge_records

logger = logging.getLogger(__name__)

# Where a reader's personal links point in a preview: an editor must not act as the reader by accident.
DISABLED_LINK = "#link-disabled-in-preview"
PREVIEW_SUBJECT_PREFIX = "[Preview] "
_CHUNK = 5000


def papers_feature(*, paper_ids: Collection[int], featured: bool) -> int:
    """Feature or unfeature papers, here and in every edition not sent yet; the number of papers changed."""
    ids = sorted(paper_ids)
    with transaction.atomic():
        changed = papers_flag(paper_ids=ids, featured=featured)
        # Editions that went out keep the picks their readers got; "view in browser" must show the same.
        went_out = Exists(Delivery.objects.filter(edition=OuterRef("edition")))
        for i in range(0, len(ids), _CHUNK):  # below SQLite's limit of parameters per query
            EditionPaper.objects.filter(~went_out, paper_id__in=ids[i : i + _CHUNK]).update(is_featured=featured)
    return changed


def papers_hide(*, paper_ids: Collection[int], hidden: bool) -> int:
    """Hide or show papers everywhere. Edition entries stay: planning and rendering skip hidden papers, so an
    unhidden paper comes back in its place."""
    return papers_flag(paper_ids=paper_ids, hidden=hidden)


def papers_merge(*, keep: Paper, duplicate: Paper) -> Paper:
    """Fold two records of the same paper into `keep`, with its edition entries and pending digests; atomic."""
    with transaction.atomic():
        locked = {p.pk: p for p in Paper.objects.select_for_update().filter(pk__in=[keep.pk, duplicate.pk])}
        if len(locked) != 2:
            raise ValueError("both papers must exist and differ")
        keep, duplicate = locked[keep.pk], locked[duplicate.pk]
        _edition_entries_move(keep=keep, duplicate=duplicate)
        _pending_deliveries_repoint(keep_id=keep.pk, duplicate_id=duplicate.pk)
        return papers_merge_records(keep=keep, duplicate=duplicate)


def _edition_entries_move(*, keep: Paper, duplicate: Paper) -> None:
    # (edition, paper) is unique: where both are in one edition, keep's entry stays, a pick if either was.
    keep_editions = EditionPaper.objects.filter(paper=keep).values("edition_id")
    featured_dup = EditionPaper.objects.filter(paper=duplicate, is_featured=True).values("edition_id")
    EditionPaper.objects.filter(paper=keep, edition_id__in=featured_dup).update(is_featured=True)
    EditionPaper.objects.filter(paper=duplicate).exclude(edition_id__in=keep_editions).update(paper=keep)


def _pending_deliveries_repoint(*, keep_id: int, duplicate_id: int) -> None:
    """Digests planned but not sent name the duplicate by id: point them at `keep`, or they would lose it.

    Sent ones keep the record of what went out. Pending rows are few (planned, about to be sent).
    """
    changed = []
    for delivery in Delivery.objects.filter(status=Delivery.Status.PENDING).only("pk", "papers"):
        if any(item.get("paper_id") == duplicate_id for item in delivery.papers):
            delivery.papers = _items_merged(delivery.papers, keep_id=keep_id, duplicate_id=duplicate_id)
            changed.append(delivery)
    Delivery.objects.bulk_update(changed, ["papers"], batch_size=500)


def _items_merged(items: list[dict[str, Any]], *, keep_id: int, duplicate_id: int) -> list[dict[str, Any]]:
    kept = next((item for item in items if item.get("paper_id") == keep_id), None)
    merged: list[dict[str, Any]] = []
    for item in items:
        if item.get("paper_id") != duplicate_id:
            merged.append(item)
        elif kept is None:
            merged.append({**item, "paper_id": keep_id})
        else:  # both matched: one item, with what either matched
            kept["score"] = max(kept["score"], item["score"])
            kept["interests"] = list(dict.fromkeys([*kept["interests"], *item["interests"]]))
            if "words" in kept or "words" in item:  # rows planned before explanations were stored per edition
                kept["words"] = list(dict.fromkeys([*kept.get("words", []), *item.get("words", [])]))
    return merged


# --- previews -------------------------------------------------------------------------------------------


def edition_preview(*, edition: Edition, subscriber: Subscriber) -> RenderedDigest | None:
    """The digest `subscriber` would get from `edition`, with their personal links disabled; None if nothing
    matches. Their manage / unsubscribe links are signed keys to their subscription: an editor (or a mail
    client's unsubscribe button, for a preview sent by email) must not use them by accident. Made from the
    edition's kept index, and shared between processes (services/edition_index.py)."""
    return preview_shared(edition=edition, subscriber=subscriber, finish=_personal_links_disabled)


def _personal_links_disabled(rendered: RenderedDigest) -> RenderedDigest:
    pattern = _personal_links_pattern()
    return dataclasses.replace(
        rendered,
        html=pattern.sub(DISABLED_LINK, rendered.html),
        text=pattern.sub(DISABLED_LINK, rendered.text),
        headers={name: pattern.sub(DISABLED_LINK, value) for name, value in rendered.headers.items()},
    )


def _personal_links_pattern() -> re.Pattern[str]:
    """Any signed manage / unsubscribe / view / archive / feedback link. By shape, not value: a token made
    again differs (it is timestamped)."""
    shapes = []
    for name in ("newsletter:manage", "newsletter:unsubscribe", "newsletter:digest_view", "newsletter:reader_archive"):
        before, after = links.absolute(reverse(name, kwargs={"token": "TOKEN"})).split("TOKEN")
        shapes.append(re.escape(before) + r"[^\s\"'<>&]+" + re.escape(after))
    # A paper's feedback links carry the digest's view token and the paper's id.
    for name in ("newsletter:feedback_more", "newsletter:feedback_less"):
        url = links.absolute(reverse(name, kwargs={"token": "TOKEN", "paper_id": 0}))
        before, after = url.split("TOKEN")
        shapes.append(re.escape(before) + r"[^\s\"'<>&]+" + re.escape(after).replace("/0/", r"/\d+/", 1))
    # The List-Unsubscribe mailto carries the same signed token in its subject.
    shapes.append(re.escape(f"mailto:{settings.PAPERBOY_UNSUBSCRIBE_MAILTO}?subject=") + r"[^\s\"'<>&]+")
    return re.compile("|".join(shapes))


def edition_preview_send(*, edition: Edition, subscriber: Subscriber, to: str) -> bool:
    """Mail the preview to an editor's address; False (nothing sent) when nothing matches the subscriber."""
    rendered = edition_preview(edition=edition, subscriber=subscriber)
    if rendered is None:
        return False
    message = AnymailMessage(
        subject=one_line(PREVIEW_SUBJECT_PREFIX + rendered.subject),
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        # No List-Unsubscribe: the editor's mail client would offer to unsubscribe the reader.
        headers={"List-Id": settings.PAPERBOY_LIST_ID},
        tags=["preview"],
        metadata={"edition_id": str(edition.pk)},
    )
    message.attach_alternative(rendered.html, "text/html")
    message_send(message)
    return True


# --- subscribers ----------------------------------------------------------------------------------------


def subscriber_confirmation_resend(*, subscriber: Subscriber) -> bool:
    """Queue a new confirmation email for a subscriber still waiting; False for anyone else."""
    if subscriber.status != Subscriber.Status.PENDING:
        return False
    with transaction.atomic():
        confirmation = ConfirmationRequest.objects.create(subscriber=subscriber)
        task_queue_on_commit("newsletter.tasks.confirmation_send", confirmation.pk)
    return True
