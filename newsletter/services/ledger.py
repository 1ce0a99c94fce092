"""The ledger's writes: each chunk of planned digests, with the explanations they show, in one transaction.

Planning (services.planning) hands each chunk to a LedgerWriter; a row per subscriber and period is
inserted (a row already there stays as it is), the explanations go in first, and the subscribers' last
edition is moved on. On PostgreSQL the inserts go through COPY and an array UPDATE (services.postgres).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, connections, transaction

from newsletter.models import Delivery, Edition, Subscriber
from newsletter.services import postgres
from newsletter.services.explanations import ExplanationRow, explanations_store
from newsletter.services.timing import phase


@dataclass
class PlanReport:
    due: int = 0
    planned: int = 0  # ledger rows with papers, pending
    skipped: int = 0  # ledger rows with nothing matched: no email
    pending_ids: list[int] = field(default_factory=list)


def ledger_writes_can_overlap() -> bool:
    """A second connection sees what this one committed: not so inside a transaction (a test's, say)."""
    return postgres.fast_paths_on() and not connection.in_atomic_block


class LedgerWriter:
    """Writes each chunk's ledger rows in one transaction, in submission order, one chunk at a time.

    Threaded (PostgreSQL), the writes run in a thread with its own connection while this thread matches the
    next chunk: the database then inserts, updates and checks foreign keys on one core while matching runs on
    the other (the writes are mostly the server's work; at 100,000 subscribers about 20 s of 88 s of planning).
    """

    def __init__(self, *, threaded: bool, on_written: Callable[[list[int]], object] | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="digest-ledger") if threaded else None
        self._pending: tuple[Future[Written], PlanReport] | None = None
        self._on_written = on_written

    def submit(self, write: Callable[[], Written], report: PlanReport) -> None:
        self.wait()  # one chunk in flight: bounds memory, keeps the order
        if self._pool is None:
            self._written(write(), report)
        else:
            self._pending = (self._pool.submit(write), report)

    def wait(self) -> None:
        if self._pending is not None:
            future, report = self._pending
            self._pending = None
            with phase("waiting for the ledger writer"):
                self._written(future.result(), report)

    def _written(self, written: Written, report: PlanReport) -> None:
        """A chunk is committed (in this thread: whatever `on_written` queues is queued from here)."""
        written.add_to(report)
        if self._on_written is not None and written.pending_ids:
            self._on_written(written.pending_ids)

    def __enter__(self) -> LedgerWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.wait()
        finally:
            if self._pool is not None:
                self._pool.submit(connections.close_all).result()  # the thread's own connection
                self._pool.shutdown()


@dataclass
class Written:
    pending_ids: list[int] = field(default_factory=list)
    skipped: int = 0

    def add_to(self, report: PlanReport) -> None:
        report.pending_ids.extend(self.pending_ids)
        report.planned += len(self.pending_ids)
        report.skipped += self.skipped


def ledger_chunk_write(
    *, groups: list[tuple[int | None, list[LedgerEntry]]], latest: Edition, explanations: list[ExplanationRow]
) -> Written:
    written = Written()
    with phase("ledger writes"), transaction.atomic():
        explanations_store(edition=latest, rows=explanations)  # with the rows that show them, never after
        for covers_after_id, entries in groups:
            with phase("of which rows inserted"):
                pending = _ledger_write(entries=entries, latest=latest, covers_after_id=covers_after_id)
            ids = [entry.subscriber_id for entry in entries]
            _last_edition_set(subscriber_ids=ids, latest=latest)
            written.pending_ids += pending if pending is not None else _pending_of(entries=entries, latest=latest)
            written.skipped += sum(1 for entry in entries if entry.status == Delivery.Status.SKIPPED)
    return written


def _last_edition_set(*, subscriber_ids: list[int], latest: Edition) -> None:
    if postgres.fast_paths_on():
        postgres.last_edition_set(subscriber_ids=subscriber_ids, latest=latest)
    else:
        Subscriber.objects.filter(pk__in=subscriber_ids).update(last_edition=latest)


def _pending_of(*, entries: list[LedgerEntry], latest: Edition) -> list[int]:
    """The pending rows just written for `entries` (not an older period's row still pending: the tick's)."""
    created = Delivery.objects.filter(
        subscriber_id__in=[entry.subscriber_id for entry in entries],
        period__in={entry.period for entry in entries},
        edition=latest,
    )
    return sorted(created.filter(status=Delivery.Status.PENDING).values_list("pk", flat=True))


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    subscriber_id: int
    period: str
    status: str
    papers_json: str  # the picks as the matching step encoded them (COPY sends the text as it is)
    created_at: datetime


def _ledger_write(*, entries: list[LedgerEntry], latest: Edition, covers_after_id: int | None) -> list[int] | None:
    """Insert the ledger rows; a row already there for (subscriber, period) stays as it is.

    On PostgreSQL, returns the ids of the pending rows inserted (else None: the caller reads them back).
    """
    if postgres.fast_paths_on():
        rows = ((e.subscriber_id, e.period, e.status, e.papers_json, e.created_at) for e in entries)
        return postgres.ledger_copy(rows=rows, latest=latest, covers_after_id=covers_after_id)
    deliveries = [
        Delivery(subscriber_id=entry.subscriber_id, period=entry.period, status=entry.status, edition=latest,
                 covers_after_id=covers_after_id, papers=json.loads(entry.papers_json),
                 created_at=entry.created_at)
        for entry in entries
    ]  # fmt: skip
    Delivery.objects.bulk_create(deliveries, batch_size=2000, ignore_conflicts=True)
    return None
