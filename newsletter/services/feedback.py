"""Feedback from the email: a reader's "More like this" / "Not for me" on one paper of one digest.

The links carry the digest's signed token (its web view's) and the paper's id; a paper the ledger row does not
list is refused.
A GET only shows the page (mail scanners fetch every link): recording the verdict, applying an edit of the
interests and undoing it are POSTs, each a service here. What each edit would change is
the work of `feedback_proposals` and `feedback_effects`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from newsletter.matching import InterestError, parse_interests
from newsletter.models import Delivery, Feedback, InterestEdit, Subscriber
from newsletter.services import subscriptions as subs
from newsletter.services.feedback_effects import Edit, Proposal, edit_label
from newsletter.services.feedback_proposals import proposals_more_like_this, proposals_not_for_me
from newsletter.tokens import Purpose, TokenInvalid, token_read
from papers.models import Paper

logger = logging.getLogger(__name__)


class EditUnavailable(Exception):
    """The edit asked for is not (or no longer) one the page offers; the message says why, for the reader."""


@dataclass(frozen=True, slots=True)
class FeedbackTarget:
    """One paper of one digest, as its feedback link points at it."""

    delivery: Delivery
    paper: Paper
    brought_by: list[str]  # the reader's interests that brought the paper into that digest (the ledger's)

    @property
    def subscriber(self) -> Subscriber:
        return self.delivery.subscriber


def feedback_target_from_link(*, token: str, paper_id: int) -> FeedbackTarget:
    """The digest and paper a feedback link is for, or TokenInvalid (forged, revoked, or not in that digest)."""
    payload = token_read(purpose=Purpose.VIEW, token=token)  # the digest's own token: see links.feedback_token
    delivery = (
        Delivery.objects.select_related("subscriber")
        .filter(pk=payload.subject_id, subscriber__link_nonce=payload.nonce)
        .first()
    )
    if delivery is None:
        raise TokenInvalid("no such digest (the data may have been erased)")
    if delivery.subscriber.status == Subscriber.Status.UNSUBSCRIBED:
        raise TokenInvalid("the reader unsubscribed")
    item = next((item for item in delivery.papers if item.get("paper_id") == paper_id), None)
    paper = Paper.objects.filter(pk=paper_id).first() if item is not None else None
    if item is None or paper is None:
        raise TokenInvalid("that paper is not in this digest")
    return FeedbackTarget(delivery=delivery, paper=paper, brought_by=list(item.get("interests", [])))


def feedback_proposals(*, target: FeedbackTarget, verdict: str) -> list[Proposal]:
    current = list(target.subscriber.interests)
    if verdict == Feedback.Verdict.MORE:
        return proposals_more_like_this(current=current, paper=target.paper)
    return proposals_not_for_me(current=current, brought=target.brought_by, paper=target.paper)


def feedback_record(*, target: FeedbackTarget, verdict: str) -> Feedback:
    """Store the verdict once per (digest, paper, verdict); a second POST finds the first."""
    if verdict not in Feedback.Verdict.values:
        raise ValueError(f"verdict {verdict!r}; expected one of {Feedback.Verdict.values}")
    lookup = {"delivery": target.delivery, "paper": target.paper, "verdict": verdict}
    found = Feedback.objects.filter(**lookup).first()
    if found is not None:
        return found
    interest = target.brought_by[0] if target.brought_by else ""
    try:
        with transaction.atomic():
            return Feedback.objects.create(**lookup, interest=interest)
    except IntegrityError:  # the same POST twice at once: the other one stored it
        return Feedback.objects.get(**lookup)


def feedback_edit_apply(*, target: FeedbackTarget, verdict: str, key: str) -> InterestEdit:
    """Apply the offered edit whose key is `key` to the reader's interests, and record the verdict with it."""
    edit = next((p.edit for p in feedback_proposals(target=target, verdict=verdict) if p.edit.key == key), None)
    if edit is None:
        raise EditUnavailable("That change is no longer on offer: your interests have changed since.")
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=target.subscriber.pk)
        current = list(subscriber.interests)
        _interests_save(subscriber, edit.applied_to(current))
        feedback = feedback_record(target=target, verdict=verdict)
        position = current.index(edit.before) if edit.before in current else len(current)
        applied = InterestEdit.objects.create(
            feedback=feedback, kind=edit.kind, before=edit.before, after=edit.after, position=position
        )
    logger.info("interest edit %s applied from feedback %s", applied.pk, feedback.pk)
    return applied


def feedback_edit_undo(*, target: FeedbackTarget, edit_id: int) -> InterestEdit:
    """Put back what the edit replaced, in whatever the reader's interests hold by now."""
    with transaction.atomic():
        applied = (
            InterestEdit.objects.select_for_update()
            .filter(pk=edit_id, feedback__delivery=target.delivery, feedback__paper=target.paper, undone_at=None)
            .first()
        )
        if applied is None:
            raise EditUnavailable("That change was undone already.")
        subscriber = Subscriber.objects.select_for_update().get(pk=target.subscriber.pk)
        interests = [text for text in subscriber.interests if text != applied.after]
        if applied.before and applied.before not in interests:
            interests.insert(min(applied.position, len(interests)), applied.before)
        _interests_save(subscriber, interests)
        applied.undone_at = timezone.now()
        applied.save(update_fields=["undone_at"])
    return applied


def feedback_edits_applied(*, target: FeedbackTarget) -> list[tuple[InterestEdit, str]]:
    """The edits applied from this paper's page and not undone, newest first, each with its label."""
    edits = InterestEdit.objects.filter(
        feedback__delivery=target.delivery, feedback__paper=target.paper, undone_at=None
    ).order_by("-applied_at", "-pk")
    return [(edit, edit_label(Edit(kind=edit.kind, before=edit.before, after=edit.after))) for edit in edits]


def _interests_save(subscriber: Subscriber, interests: list[str]) -> None:
    try:
        parse_interests("\n".join(interests))
    except InterestError as error:
        raise EditUnavailable(" ".join(error.errors)) from error
    preferences = subs.Preferences(
        interests=tuple(interests),
        frequency=subscriber.frequency,
        weekday=subscriber.weekday,
        send_hour=subscriber.send_hour,
        timezone=subscriber.timezone,
    )
    subs.subscriber_update_preferences(subscriber=subscriber, preferences=preferences)
