"""Subscribers, their consent, and the hashed suppression list."""

from __future__ import annotations

import secrets
from typing import ClassVar

from django.db import models
from django.utils.timezone import now


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


class Subscriber(models.Model):
    """One address with its interests and schedule. Status changes only through the services."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting for confirmation"
        ACTIVE = "active", "active"
        PAUSED = "paused", "paused"
        UNSUBSCRIBED = "unsubscribed", "unsubscribed"

    class Frequency(models.TextChoices):
        DAILY = "daily", "daily"
        WEEKLY = "weekly", "weekly"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    email = models.EmailField(max_length=254, unique=True)  # stored lower-cased (see services)
    # Not indexed alone: (status, timezone, send_hour) below leads with it. Every index here is rewritten when
    # planning stamps last_edition on each due subscriber.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    interests = models.JSONField(default=list, help_text="Canonical interest strings, as the matcher reads them.")
    # {canonical: as typed} where the reader's spelling differs ("rlhf": "RLHF"): shown to them, never matched.
    # Nullable: rows written in bulk (COPY, raw SQL) without it read as "no labels".
    interest_labels = models.JSONField(default=dict, blank=True, null=True)
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.DAILY)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, default=Weekday.MONDAY)
    send_hour = models.PositiveSmallIntegerField(default=7, help_text="Hour of day, 0-23, in the timezone below.")
    timezone = models.CharField(max_length=64, default="UTC")

    # Part of every signed link: rotating it revokes all links sent so far.
    link_nonce = models.CharField(max_length=32, default=new_nonce, editable=False)
    created_at = models.DateTimeField(default=now, db_index=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # The newest edition planned for this subscriber: the next digest covers the editions after it.
    # No index: nothing looks subscribers up by it (an edition a subscriber had has deliveries, so it is never
    # deleted: Delivery.edition protects it).
    last_edition = models.ForeignKey(
        "Edition", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False, db_index=False
    )

    # Consent, as given on the form (GDPR art. 7(1): be able to show it).
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    consent_text = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]
        indexes: ClassVar = [models.Index(fields=["status", "timezone", "send_hour"])]

    def __str__(self) -> str:
        return self.email

    @property
    def is_mailable(self) -> bool:
        return self.status == self.Status.ACTIVE


class Suppression(models.Model):
    """An address never to be mailed again, stored only as a keyed hash so erased addresses stay erased."""

    class Reason(models.TextChoices):
        BOUNCED = "bounced", "hard bounce"
        COMPLAINED = "complained", "spam complaint"
        UNSUBSCRIBED = "unsubscribed", "unsubscribed at the ESP"
        ERASED = "erased", "data erased on request"
        MANUAL = "manual", "suppressed by an editor"
        REJECTED = "rejected", "refused by the ESP"

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email_hash[:12]}… ({self.reason})"


class ConfirmationRequest(models.Model):
    """A confirmation email that was queued: the rate limit's memory, and a token's 'used once' record.

    It carries the settings and consent of the sign-up it was sent for: its link activates exactly those, so an
    anonymous form posted later for the same unconfirmed address cannot change what the owner confirms.
    """

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="confirmation_requests")
    nonce = models.CharField(max_length=32, default=new_nonce, unique=True)
    created_at = models.DateTimeField(default=now, db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # {"interests", "frequency", "weekday", "send_hour", "timezone"}; None on rows made before this was kept
    # (their links confirm the subscriber's stored settings, as they did).
    preferences = models.JSONField(null=True, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    consent_text = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return f"confirmation for {self.subscriber_id} at {self.created_at:%Y-%m-%d %H:%M}"


class AcronymState(models.Model):
    """The acronym <-> expansion pairs learned from papers so far (one row), extended as papers arrive."""

    table = models.JSONField(default=dict)
    learned_through_paper_id = models.BigIntegerField(default=0)  # papers with a larger id are still to learn
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"acronyms learned through paper {self.learned_through_paper_id}"


class Edition(models.Model):
    """One day's issue: the papers that arrived since the previous edition, curated before it goes out."""

    class Status(models.TextChoices):
        AWAITING_REVIEW = "awaiting_review", "waiting for an editor"
        APPROVED = "approved", "approved"
        HELD = "held", "held by an editor"

    issue_date = models.DateField(unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    # The papers first seen in (papers_after, papers_through] belong to this edition.
    papers_after = models.DateTimeField(null=True, blank=True)
    papers_through = models.DateTimeField()
    created_at = models.DateTimeField(default=now, editable=False)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    papers = models.ManyToManyField("papers.Paper", through="EditionPaper", related_name="editions")

    class Meta:
        ordering: ClassVar = ["-issue_date"]

    def __str__(self) -> str:
        return f"Edition of {self.issue_date:%b %-d, %Y}"

    @property
    def is_sendable(self) -> bool:
        return self.status == self.Status.APPROVED


class EditionPaper(models.Model):
    """A paper's place in an edition: editors reorder, feature or drop picks here without touching the paper."""

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="entries")
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="edition_entries")
    position = models.PositiveIntegerField(default=0)
    is_featured = models.BooleanField("editor's pick", default=False)

    class Meta:
        ordering: ClassVar = ["edition", "-is_featured", "position"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["edition", "paper"], name="edition_paper_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.paper_id} in {self.edition_id}"


class Delivery(models.Model):
    """The ledger: one row per subscriber per period, written before anything is sent.

    Its unique key is what makes every job re-runnable: planning twice finds the row, sending twice finds it
    claimed or stamped. `papers` holds the picks with their scores and the matcher's explanation.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending"
        SENT = "sent", "sent"
        SKIPPED = "skipped", "skipped (nothing matched)"
        FAILED = "failed", "failed"
        SUPPRESSED = "suppressed", "suppressed"

    # Each row is written three times (planned, claimed, stamped) and no update is HOT (status is indexed), so
    # every index costs on every write: only those the queries need (see Meta.indexes). The unique
    # (subscriber, period) serves lookups by subscriber, (edition, status) those by edition.
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    period = models.CharField(max_length=16, help_text='"2026-11-24" for a daily digest, "2026-W48" weekly')
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # The editions this digest covers: (covers_after, edition], by edition id.
    edition = models.ForeignKey(Edition, on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    covers_after = models.ForeignKey(
        Edition, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # [{"paper_id", "score", "interests": [...]}], best first (rows planned before explanations were stored per
    # edition also have "words"); why each paper matched is in DigestExplanation. Featured picks are per edition.
    papers = models.JSONField(default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Which send batch claimed the row (and its in-flight window W): after a crash, the batch's W lowest-id
    # unstamped rows are the ones in doubt (services/inflight.py).
    claim = models.CharField(max_length=32, blank=True)  # read with status "sending": see Meta.indexes
    error = models.TextField(blank=True)
    esp_message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=now, db_index=True)
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["subscriber", "period"], name="delivery_unique_per_period"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["edition", "status"]),
            # Partial: only the rows a query looks for are in them, so the other writes skip them. Pending rows
            # waiting too long (the tick's re-dispatch); rows left sending (recovery, by claim among them); an
            # ESP message id (webhooks).
            models.Index(fields=["created_at"], name="delivery_pending_since", condition=models.Q(status="pending")),
            models.Index(fields=["sending_at"], name="delivery_sending_since", condition=models.Q(status="sending")),
            models.Index(
                fields=["esp_message_id"], name="delivery_esp_message_id", condition=~models.Q(esp_message_id="")
            ),
        ]

    def __str__(self) -> str:
        kind = "Weekly" if "-W" in self.period else "Daily"
        return f"{kind} digest of {self.period} ({self.get_status_display()})"


class DigestExplanation(models.Model):
    """Why a paper matched an interest, as the digests of one edition show it: explained once when planning.

    A digest's paper block shows the explanation of its best interest; a million digests share a few hundred
    thousand (paper, interest) pairs, so each is explained and stored once per edition, and every send worker
    reads them instead of matching again. Segments are [text, is_highlight] pairs of unescaped text.
    """

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="+", db_index=False)
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="+")
    interest = models.TextField()  # canonical, as in Delivery.papers' "interests"
    words = models.JSONField(default=list)
    title = models.JSONField(default=list)
    snippet = models.JSONField(default=list)
    # "words" (highlighted matched words) or "related" (the semantic layer's pick: snippet is the paper's
    # sentence closest to the interest).
    kind = models.CharField(max_length=8, default="words")

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["edition", "paper", "interest"], name="digest_explanation_unique"),
        ]
        indexes: ClassVar = [
            # Send workers read an edition's explanations stored since the last id they read, once per batch
            # while planning goes on. With only the unique index, PostgreSQL combined every entry of the
            # edition with the id range (a bitmap AND): 42 ms per look at 230,000 rows, whatever was new.
            models.Index(fields=["edition", "id"], name="digest_explanation_since"),
        ]

    def __str__(self) -> str:
        return f"paper {self.paper_id} for {self.interest!r} in edition {self.edition_id}"


class InterestVector(models.Model):
    """The sentence vector of one distinct interest (as encoded: its canonical text with its learned acronym
    expansion), computed once when first seen (subscribe time, or by the planner for any missing) and kept.

    A million subscribers share about 40,000 interests; encoding them all at planning time would cost minutes,
    reading them is one query per few thousand. Keyed by the model too: another model's vectors do not compare.
    """

    text = models.TextField()
    model_id = models.CharField(max_length=60)
    vector = models.BinaryField()  # float16, papers.embedding.vectors_to_bytes
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["model_id", "text"], name="interest_vector_unique"),
        ]

    def __str__(self) -> str:
        return f"vector of {self.text!r}"


class TrackingEvent(models.Model):
    """An ESP event already applied (bounce, complaint, ...): webhooks retry, events apply once."""

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=32)
    esp_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    received_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class SignupRequest(models.Model):
    """A submitted sign-up form, waiting for the worker. Every submission is stored and queued the same way,
    so the web response takes the same time whatever the address; the row is deleted once processed."""

    email = models.EmailField(max_length=254)
    interests = models.JSONField(default=list)
    interest_labels = models.JSONField(default=dict, null=True)  # as Subscriber.interest_labels
    frequency = models.CharField(max_length=8)
    weekday = models.PositiveSmallIntegerField()
    send_hour = models.PositiveSmallIntegerField()
    timezone = models.CharField(max_length=64)
    ip = models.GenericIPAddressField(null=True, blank=True)
    consent_text = models.TextField()
    rate_limited = models.BooleanField(default=False)  # over the per-address limit: processed as a no-op
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"sign-up request {self.pk}"


# Its own module (the size limit); imported here so that Django registers it with the others.
from newsletter.models_events import SubscriberEvent  # noqa: E402
from newsletter.models_feedback import Feedback, InterestEdit  # noqa: E402

__all__ = [
    "AcronymState", "ConfirmationRequest", "Delivery", "DigestExplanation", "Edition", "EditionPaper", "Feedback",
    "InterestEdit", "InterestVector", "SignupRequest", "Subscriber", "SubscriberEvent", "Suppression",
    "TrackingEvent",
]  # fmt: skip
