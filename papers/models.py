"""Papers, the dumps they arrive in, and each paper's listing in a dump."""

from __future__ import annotations

from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from papers.parsers.urls import http_url


def validate_http_links(value: object) -> None:
    """Paper.links holds names and absolute http(s) URLs only: anything else would be a link that runs script."""
    if not isinstance(value, dict):
        raise ValidationError('Links are an object of names and URLs, e.g. {"github": "https://github.com/…"}.')
    refused = sorted(str(name) for name, url in value.items() if http_url(url) != url)
    if refused:
        raise ValidationError(
            f"Only absolute http(s) URLs can be links; not these: {', '.join(refused)}.", code="http_links"
        )


# Fields an editor can change; a later dump never overwrites one an editor has changed (Paper.edited_fields).
EDITABLE_FIELDS = ("title", "abstract", "authors", "links")


class Paper(models.Model):
    """One clean record per paper, across every dump and format that lists it."""

    title = models.CharField(max_length=1000)
    abstract = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True)
    # Natural key when known; otherwise title_key is (see the constraints).
    arxiv_id = models.CharField("arXiv id", max_length=40, unique=True, null=True, blank=True)
    title_key = models.CharField(max_length=1000, db_index=True, editable=False)
    links = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_http_links],
        help_text='e.g. {"arxiv": ..., "pdf": ..., "paper": ...}; http(s) URLs only',
    )
    published_on = models.DateField(null=True, blank=True)
    upvotes = models.PositiveIntegerField(null=True, blank=True, help_text="Highest count seen in any listing.")
    first_seen_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    first_listed_on = models.DateField(null=True, blank=True, db_index=True)
    last_listed_on = models.DateField(null=True, blank=True, db_index=True)

    is_hidden = models.BooleanField("hidden", default=False, db_index=True)
    is_featured = models.BooleanField("featured", default=False, db_index=True)
    editor_note = models.TextField(blank=True)
    edited_fields = models.JSONField(default=list, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["-first_listed_on", "-first_seen_at", "id"]
        constraints: ClassVar = [
            # Papers without an arXiv id are keyed by title; two papers with an id may share a title.
            models.UniqueConstraint(
                fields=["title_key"],
                condition=models.Q(arxiv_id__isnull=True),
                name="paper_unique_title_key_without_arxiv_id",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("papers:detail", kwargs={"pk": self.pk})

    @property
    def best_link(self) -> str:
        for key in ("arxiv", "paper", "pdf", "project", "github"):
            if url := http_url(self.links.get(key)):  # a row stored before links were checked may hold others
                return url
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else ""


class Dump(models.Model):
    """One ingested file, keyed by its content: the same bytes are never ingested twice."""

    class Status(models.TextChoices):
        INGESTED = "ingested", "ingested"
        FAILED = "failed", "failed"

    name = models.CharField(max_length=255)
    source_path = models.CharField(max_length=1024, blank=True)
    sha256 = models.CharField(max_length=64, unique=True)
    size_bytes = models.BigIntegerField()
    # With source_path and size, lets a folder scan skip an unchanged file without reading it.
    mtime_ns = models.BigIntegerField(null=True, blank=True)
    source_format = models.CharField(max_length=32, blank=True)
    listing_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    items_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    enriched_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    ingested_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering: ClassVar = ["-ingested_at", "-id"]
        indexes: ClassVar = [models.Index(fields=["source_path", "size_bytes", "mtime_ns"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class Listing(models.Model):
    """A paper as one dump listed it: where it ranked and how many upvotes it had then."""

    dump = models.ForeignKey(Dump, on_delete=models.CASCADE, related_name="listings")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="listings")
    rank = models.PositiveIntegerField()
    upvotes = models.PositiveIntegerField(null=True, blank=True)
    listed_on = models.DateField(db_index=True)

    class Meta:
        ordering: ClassVar = ["dump", "rank"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["dump", "paper"], name="listing_unique_paper_per_dump")
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.paper_id} in {self.dump_id}"


class PaperVector(models.Model):
    """A paper's sentence vectors (papers/embedding.py), computed once at ingest: float16 rows, in order
    title + abstract, title, then each abstract sentence (`sentences` holds those sentences' text, so a
    "related" pick can quote the one closest to the interest)."""

    paper = models.OneToOneField(Paper, on_delete=models.CASCADE, primary_key=True, related_name="vector")
    model_id = models.CharField(max_length=60)  # vectors of another model are not comparable: recomputed
    text_hash = models.CharField(max_length=40)  # of the title and abstract encoded: an edit recomputes
    vectors = models.BinaryField()
    sentences = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"vectors of paper {self.paper_id}"
