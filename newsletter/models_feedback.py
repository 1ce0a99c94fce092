"""Readers' feedback on a digest's papers and the interest edits applied from it (issue 19); its own module
(the size limit of models.py), imported by newsletter.models so Django registers the models with the others."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.timezone import now


class Feedback(models.Model):
    """A reader's verdict on one paper of one digest, from its "More like this" / "Not for me" links.

    Recorded only by a POST (mail scanners GET every link), once per (delivery, paper, verdict). `interest` is
    the reader's interest that brought the paper (the first of the digest item's), so editors can see which
    interests bring papers readers reject.
    """

    class Verdict(models.TextChoices):
        MORE = "more", "more like this"
        LESS = "less", "not for me"

    delivery = models.ForeignKey(
        "newsletter.Delivery", on_delete=models.CASCADE, related_name="feedback", db_index=False
    )
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=4, choices=Verdict.choices)
    interest = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]
        verbose_name_plural = "feedback"
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["delivery", "paper", "verdict"], name="feedback_once_per_paper"),
        ]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} on paper {self.paper_id}"


class InterestEdit(models.Model):
    """One edit of a reader's interests applied from a feedback page, kept so one click can undo it.

    `before` is the interest item replaced (empty when one was added), `after` what replaced it (empty when
    it was dropped); undoing swaps them back in whatever the reader's list holds by then.
    """

    class Kind(models.TextChoices):
        EXCLUDE = "exclude", "exclude a word"
        PHRASE = "phrase", "require the exact phrase"
        DROP = "drop", "drop the interest"
        ADD = "add", "add a term"

    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="edits")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    before = models.TextField(blank=True)
    after = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)  # where `before` stood in the list
    applied_at = models.DateTimeField(default=now)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-applied_at"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.before!r} -> {self.after!r}"
