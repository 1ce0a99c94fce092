"""A subscriber's history: every change of status, with its cause (a model of newsletter.models)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.timezone import now


class SubscriberEvent(models.Model):
    """A change of a subscriber's status (or a suppression of their address), with what caused it: their
    history, kept as it happened (the subscriber row holds only the latest dates), and what the dashboard's
    "subscribers over time" is counted from (each event moves one subscriber from `previous` to `status`)."""

    class Kind(models.TextChoices):
        SUBSCRIBED = "subscribed", "subscribed"
        CONFIRMED = "confirmed", "confirmed"
        PAUSED = "paused", "paused"
        RESUMED = "resumed", "resumed"
        UNSUBSCRIBED = "unsubscribed", "unsubscribed"
        RESUBSCRIBED = "resubscribed", "resubscribed"
        SUPPRESSED = "suppressed", "suppressed"

    subscriber = models.ForeignKey(
        "newsletter.Subscriber", on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    previous = models.CharField(max_length=16, blank=True)  # the status before ("" for a new subscriber)
    status = models.CharField(max_length=16)  # the status after (unchanged by a suppression)
    cause = models.CharField(max_length=200)  # who or what: "the confirmation link", "editor ed", "a hard bounce"
    at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["-at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["subscriber", "at"], name="subscriber_event_history"),
            models.Index(fields=["at"], name="subscriber_event_at"),  # the dashboard's window
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.cause}) at {self.at:%Y-%m-%d %H:%M}"
