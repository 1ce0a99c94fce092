"""A big list for the admin's volume tests: 100,000 subscribers, 50,000 papers, 30,000 deliveries.

Rows are written with one prepared INSERT per batch (bulk_create builds a model and a multi-row statement per
row and took 20 s here), committed once for the test module, and removed with raw deletes afterwards.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from newsletter.models import ConfirmationRequest, Delivery, Edition, EditionPaper, Subscriber, TrackingEvent
from papers.models import Dump, Listing, Paper

SUBSCRIBERS = 100_000
PAPERS = 50_000
DELIVERIES = 30_000
EDITION_PAPERS = 300
BATCH = 5_000
INTERESTS = [f"topic {n}" for n in range(300)] + ["in-context learning", "diffusion models", "RLHF", "agents"]
STATUSES = ["active"] * 7 + ["pending", "paused", "unsubscribed"]
DELIVERY_STATUSES = ["sent"] * 8 + ["skipped", "failed"]


@dataclass(frozen=True)
class Volume:
    edition: Edition
    dump: Dump
    subscriber: Subscriber  # one with deliveries


@transaction.atomic  # one commit: row by row, SQLite would commit 180,000 times
def volume_create() -> Volume:
    rng = random.Random(20261124)
    now = timezone.now()
    _papers_create(now=now)
    paper_ids = list(Paper.objects.order_by("-id").values_list("pk", flat=True)[:EDITION_PAPERS])
    dump = Dump.objects.create(name="big.txt", sha256="f" * 64, size_bytes=1, status="ingested", items_count=300)
    Listing.objects.bulk_create(
        Listing(dump=dump, paper_id=pk, rank=n, listed_on=now.date()) for n, pk in enumerate(paper_ids, 1)
    )
    edition = Edition.objects.create(issue_date=now.date(), status="approved", papers_through=now)
    EditionPaper.objects.bulk_create(
        EditionPaper(edition=edition, paper_id=pk, position=n, is_featured=n < 3) for n, pk in enumerate(paper_ids)
    )
    _subscribers_create(rng=rng, now=now)
    subscriber_ids = list(Subscriber.objects.order_by("pk").values_list("pk", flat=True)[:DELIVERIES])
    _deliveries_create(rng=rng, now=now, edition=edition, subscriber_ids=subscriber_ids, paper_ids=paper_ids)
    TrackingEvent.objects.bulk_create(
        TrackingEvent(event_id=f"e{n}", event_type="bounced" if n % 3 else "complained") for n in range(60)
    )
    return Volume(edition=edition, dump=dump, subscriber=Subscriber.objects.get(pk=subscriber_ids[0]))


def _papers_create(*, now: datetime) -> None:
    columns = ["title", "title_key", "abstract", "authors", "arxiv_id", "links", "first_seen_at", "is_hidden",
               "is_featured", "editor_note", "edited_fields", "updated_at"]  # fmt: skip
    _insert(Paper, columns, (_paper_row(n, now) for n in range(PAPERS)))


def _paper_row(n: int, now: datetime) -> tuple[Any, ...]:
    title = f"Paper {n} on sparse routing and agents"
    abstract = f"We study topic {n % 300} with agents and in-context learning."
    authors = [f"Author {n % 977}", f"Author {n % 131}"]
    arxiv_id = f"2411.{n:05d}" if n % 2 else None
    return (title, title.lower(), abstract, authors, arxiv_id, {}, now, n % 50 == 0, n % 70 == 0, "", [], now)


def _subscribers_create(*, rng: random.Random, now: datetime) -> None:
    columns = ["email", "status", "interests", "frequency", "weekday", "send_hour", "timezone", "link_nonce",
               "created_at", "updated_at", "consent_text"]  # fmt: skip
    _insert(Subscriber, columns, (_subscriber_row(n, rng, now) for n in range(SUBSCRIBERS)))


def _subscriber_row(n: int, rng: random.Random, now: datetime) -> tuple[Any, ...]:
    interests = rng.sample(INTERESTS, rng.randint(1, 5))
    frequency = "weekly" if n % 5 == 0 else "daily"
    zone = ["UTC", "Europe/Paris", "America/New_York"][n % 3]
    created = now - timedelta(days=n % 60, minutes=n % 1440)
    email = f"reader{n}@example.org"
    return (email, rng.choice(STATUSES), interests, frequency, n % 7, n % 24, zone, f"nonce{n}", created, now, "")


def _deliveries_create(
    *, rng: random.Random, now: datetime, edition: Edition, subscriber_ids: list[int], paper_ids: list[int]
) -> None:
    columns = ["subscriber", "period", "status", "edition", "papers", "attempts", "claim", "error", "esp_message_id",
               "created_at"]  # fmt: skip

    def row(n: int, subscriber_id: int) -> tuple[Any, ...]:
        papers = [
            {"paper_id": paper_ids[(n + k) % EDITION_PAPERS], "score": 1.5, "interests": ["agents"], "words": ["agent"]}
            for k in range(3)
        ]
        period = f"2026-11-{n % 28 + 1:02d}"
        created = now - timedelta(days=n % 30)
        return (subscriber_id, period, rng.choice(DELIVERY_STATUSES), edition.pk, papers, 1, "", "", "", created)

    _insert(Delivery, columns, (row(n, pk) for n, pk in enumerate(subscriber_ids)))


def _insert(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    fields: list[Any] = [model._meta.get_field(name) for name in names]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    sql = f"INSERT INTO {model._meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append([f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)])
            if len(batch) == BATCH:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


@transaction.atomic
def volume_delete() -> None:
    """Raw deletes, children first: the ORM's cascade collector would read every row into memory first."""
    Subscriber.objects.update(last_edition=None)
    models_in_order: list[type[models.Model]] = [
        TrackingEvent, Delivery, ConfirmationRequest, EditionPaper, Listing, Subscriber, Edition, Dump, Paper,
    ]  # fmt: skip
    for model in models_in_order:
        model._default_manager.all()._raw_delete(model._default_manager.db)
