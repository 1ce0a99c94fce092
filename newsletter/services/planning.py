"""Planning digests: who is due, what their digest holds, and the ledger rows written before any send.

Who is due is newsletter.schedule's question (reads only).
Matching is batched: subscribers are read in chunks, grouped by the editions their digest covers, and each
group is matched at once (every distinct interest evaluated once). No query runs per subscriber.
"""

from __future__ import annotations

import gc
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

from newsletter.matching import PaperIndex
from newsletter.matching.percolation import PercolationMemo
from newsletter.models import Delivery, Edition, EditionPaper, Subscriber
from newsletter.schedule import period_key, subscribers_due, zone_of
from newsletter.selectors import acronyms_current, paper_index_build
from newsletter.services.explanations import ExplanationRow, explanation_rows, explanations_store
from newsletter.services.fusion import semantic_layer
from newsletter.services.indexing import ExplanationLog, acronyms_learn, subscriber_picks, subscriber_picks_json
from newsletter.services.rendering import DigestRenderer, RenderedDigest
from newsletter.services.staging import column_compression, staged_copy
from papers.selectors import paper_texts

logger = logging.getLogger(__name__)

# Subscribers read and planned per transaction: bounds memory and how long rows stay locked.
PLAN_CHUNK = 20_000
# The first chunk is smaller and each next one twice as large, up to PLAN_CHUNK: a chunk's digests are handed to
# the senders once the chunk after it is matched, so a full first chunk kept a core idle for the first two
# chunks' matching (about 20 s at 100,000 subscribers on this project's machine) before any email went out.
PLAN_FIRST_CHUNK = 1_000
WEEKLY_LOOKBACK_DAYS = 7


@dataclass
class PlanReport:
    due: int = 0
    planned: int = 0  # ledger rows with papers, pending
    skipped: int = 0  # ledger rows with nothing matched: no email
    pending_ids: list[int] = field(default_factory=list)


def digest_plan(*, at: datetime | None = None, on_written: Callable[[list[int]], object] | None = None) -> PlanReport:
    """Write a ledger row for every due subscriber. Re-running plans nothing twice (the unique period key).

    `on_written` gets the pending ids of each chunk of rows once they are committed (handed on when the next
    chunk has been matched, from this thread): sending starts on the first 1,000 digests (chunks then double, up
    to 20,000) instead of after the last.
    """
    at = at or timezone.now()
    report = PlanReport()
    latest = Edition.objects.filter(status=Edition.Status.APPROVED, issue_date__lte=timezone.localdate(at)).first()
    if latest is None:
        return report
    indexes: dict[int | None, tuple[Edition | None, PaperIndex]] = {}
    memos: dict[int | None, PercolationMemo] = {}  # per index: each interest evaluated once for all chunks
    acronyms = acronyms_learn()
    first_digest_starts_after = {frequency: _window_start(frequency, latest) for frequency in Subscriber.Frequency}
    explained = ExplanationLog()  # each (paper, interest) pair is explained and stored once per run
    with _gc_paused(), _LedgerWriter(threaded=_writes_can_overlap(), on_written=on_written) as writer:
        for chunk in _chunks(subscribers_due(at=at, latest=latest)):
            report.due += len(chunk)
            by_coverage: dict[int | None, list[_Due]] = defaultdict(list)
            for row in chunk:
                covers_after = row.last_edition_id or first_digest_starts_after[Subscriber.Frequency(row.frequency)]
                by_coverage[covers_after].append(row)
            groups = []
            for covers_after_id, rows in by_coverage.items():
                if covers_after_id not in indexes:
                    indexes[covers_after_id] = _coverage_index(latest, covers_after_id, acronyms)
                    index = indexes[covers_after_id][1]
                    # The fused matcher where the papers have vectors, the words alone where not.
                    memos[covers_after_id] = PercolationMemo(index=index, semantic=semantic_layer(index=index))
                entries = _group_entries(rows=rows, memo=memos[covers_after_id], at=at, explained=explained)
                groups.append((covers_after_id, entries))
            explanations = explanation_rows(explained.take())
            writer.submit(partial(_chunk_write, groups=groups, latest=latest, explanations=explanations), report)
    logger.info("planned digests: %d due, %d to send, %d with nothing new", report.due, report.planned, report.skipped)
    return report


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while planning, one at the end.

    Planning holds hundreds of thousands of long-lived objects (the explained pairs, formatted items, a chunk's
    rows) and frees what it makes by reference counting; the collector's full passes over them took 10% of
    planning at 100,000 subscribers, more as they grow.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            gc.collect()


def _writes_can_overlap() -> bool:
    """A second connection sees what this one committed: not so inside a transaction (a test's, say)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


class _LedgerWriter:
    """Writes each chunk's ledger rows in one transaction, in submission order, one chunk at a time.

    Threaded (PostgreSQL), the writes run in a thread with its own connection while this thread matches the
    next chunk: the database then inserts, updates and checks foreign keys on one core while matching runs on
    the other (the writes are mostly the server's work; at 100,000 subscribers about 20 s of 88 s of planning).
    """

    def __init__(self, *, threaded: bool, on_written: Callable[[list[int]], object] | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="digest-ledger") if threaded else None
        self._pending: tuple[Future[_Written], PlanReport] | None = None
        self._on_written = on_written

    def submit(self, write: Callable[[], _Written], report: PlanReport) -> None:
        self.wait()  # one chunk in flight: bounds memory, keeps the order
        if self._pool is None:
            self._written(write(), report)
        else:
            self._pending = (self._pool.submit(write), report)

    def wait(self) -> None:
        if self._pending is not None:
            future, report = self._pending
            self._pending = None
            self._written(future.result(), report)

    def _written(self, written: _Written, report: PlanReport) -> None:
        """A chunk is committed (in this thread: whatever `on_written` queues is queued from here)."""
        written.add_to(report)
        if self._on_written is not None and written.pending_ids:
            self._on_written(written.pending_ids)

    def __enter__(self) -> _LedgerWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.wait()
        finally:
            if self._pool is not None:
                self._pool.submit(connections.close_all).result()  # the thread's own connection
                self._pool.shutdown()


@dataclass
class _Written:
    pending_ids: list[int] = field(default_factory=list)
    skipped: int = 0

    def add_to(self, report: PlanReport) -> None:
        report.pending_ids.extend(self.pending_ids)
        report.planned += len(self.pending_ids)
        report.skipped += self.skipped


@dataclass(frozen=True, slots=True)
class _Due:
    id: int
    interests: list[str]
    frequency: str
    timezone: str
    last_edition_id: int | None


def _chunks(due: QuerySet[Subscriber]) -> Iterator[list[_Due]]:
    """The due subscribers in id order, PLAN_FIRST_CHUNK first, each chunk twice the last, at most PLAN_CHUNK."""
    rows = due.order_by("pk").values_list("pk", "interests", "frequency", "timezone", "last_edition_id")
    size = min(PLAN_FIRST_CHUNK, PLAN_CHUNK)
    chunk: list[_Due] = []
    for row in rows.iterator(chunk_size=PLAN_CHUNK):
        chunk.append(_Due(*row))
        if len(chunk) == size:
            yield chunk
            chunk, size = [], min(size * 2, PLAN_CHUNK)
    if chunk:
        yield chunk


def _window_start(frequency: Subscriber.Frequency, latest: Edition) -> int | None:
    """Where a subscriber's first digest starts: the latest edition (daily) or the last week's (weekly)."""
    if frequency == Subscriber.Frequency.WEEKLY:
        window_start = latest.issue_date - timedelta(days=WEEKLY_LOOKBACK_DAYS)
        before = Edition.objects.filter(issue_date__lte=window_start).order_by("-issue_date").first()
    else:
        before = Edition.objects.filter(issue_date__lt=latest.issue_date).order_by("-issue_date").first()
    return before.pk if before else None


def _coverage_index(
    latest: Edition, covers_after_id: int | None, acronyms: object, *, approved_only: bool = True
) -> tuple[Edition | None, PaperIndex]:
    entries = EditionPaper.objects.filter(edition__issue_date__lte=latest.issue_date, paper__is_hidden=False)
    if approved_only:
        entries = entries.filter(edition__status=Edition.Status.APPROVED)
    after = Edition.objects.filter(pk=covers_after_id).first() if covers_after_id else None
    if after is not None:
        entries = entries.filter(edition__issue_date__gt=after.issue_date)
    paper_ids = set(entries.values_list("paper_id", flat=True))
    index = paper_index_build(papers=paper_texts(ids=paper_ids), acronyms=acronyms)  # type: ignore[arg-type]
    return after, index


def _group_entries(*, rows: list[_Due], memo: PercolationMemo, at: datetime, explained: ExplanationLog) -> list[_Entry]:
    """The ledger rows of subscribers whose digests cover the same editions: matched at once."""
    subscribers = [(row.id, row.interests) for row in rows]
    picks = subscriber_picks_json(memo=memo, subscribers=subscribers, explained=explained)
    periods: dict[tuple[str, str], str] = {}  # by (zone, frequency): a few, shared by thousands of rows
    as_json = connection.vendor == "postgresql"  # JSON text as encoded by the matching step, for COPY
    entries: list[_Entry] = []
    for row in rows:
        papers_json = picks.get(row.id, "")
        period = periods.get((row.timezone, row.frequency))
        if period is None:
            local = at.astimezone(zone_of(row.timezone))
            period = periods[row.timezone, row.frequency] = period_key(frequency=row.frequency, local=local)
        status = Delivery.Status.PENDING if papers_json else Delivery.Status.SKIPPED
        # On PostgreSQL only the JSON text is kept (for COPY): the parsed picks of a chunk are large.
        text = papers_json or "[]"
        papers: list[dict[str, Any]] = [] if as_json else json.loads(text)
        entries.append(_Entry(row.id, period, status, papers, text if as_json else "", timezone.now()))
    return entries


def _chunk_write(
    *, groups: list[tuple[int | None, list[_Entry]]], latest: Edition, explanations: list[ExplanationRow]
) -> _Written:
    written = _Written()
    with transaction.atomic():
        explanations_store(edition=latest, rows=explanations)  # with the rows that show them, never after
        for covers_after_id, entries in groups:
            pending = _ledger_write(entries=entries, latest=latest, covers_after_id=covers_after_id)
            ids = [entry.subscriber_id for entry in entries]
            _last_edition_set(subscriber_ids=ids, latest=latest)
            written.pending_ids += pending if pending is not None else _pending_of(entries=entries, latest=latest)
            written.skipped += sum(1 for entry in entries if entry.status == Delivery.Status.SKIPPED)
    return written


def _last_edition_set(*, subscriber_ids: list[int], latest: Edition) -> None:
    if connection.vendor != "postgresql":
        Subscriber.objects.filter(pk__in=subscriber_ids).update(last_edition=latest)
        return
    # The same UPDATE with the ids as one array parameter: an IN list of 20,000 literals took PostgreSQL
    # longer to parse and plan than to run.
    table = connection.ops.quote_name(Subscriber._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET last_edition_id = %s WHERE id = ANY(%s)", [latest.pk, subscriber_ids])


def _pending_of(*, entries: list[_Entry], latest: Edition) -> list[int]:
    """The pending rows just written for `entries` (not an older period's row still pending: the tick's)."""
    created = Delivery.objects.filter(
        subscriber_id__in=[entry.subscriber_id for entry in entries],
        period__in={entry.period for entry in entries},
        edition=latest,
    )
    return sorted(created.filter(status=Delivery.Status.PENDING).values_list("pk", flat=True))


@dataclass(frozen=True, slots=True)
class _Entry:
    subscriber_id: int
    period: str
    status: str
    papers: list[dict[str, Any]]
    papers_json: str  # on PostgreSQL, for COPY
    created_at: datetime


def _ledger_write(*, entries: list[_Entry], latest: Edition, covers_after_id: int | None) -> list[int] | None:
    """Insert the ledger rows; a row already there for (subscriber, period) stays as it is.

    On PostgreSQL, returns the ids of the pending rows inserted (else None: the caller reads them back).
    """
    if connection.vendor == "postgresql":
        return _ledger_copy(entries=entries, latest=latest, covers_after_id=covers_after_id)
    deliveries = [
        Delivery(subscriber_id=entry.subscriber_id, period=entry.period, status=entry.status, edition=latest,
                 covers_after_id=covers_after_id, papers=entry.papers, created_at=entry.created_at)
        for entry in entries
    ]  # fmt: skip
    Delivery.objects.bulk_create(deliveries, batch_size=2000, ignore_conflicts=True)
    return None


# Rows of one group, before they join the ledger (per connection; emptied before each use).
_LEDGER_STAGING = "paperboy_ledger_staging"
_LEDGER_STAGING_COLUMNS = (
    "subscriber_id bigint, period varchar(16), status varchar(12), papers jsonb{papers_compression}, "
    "created_at timestamptz"
)


def _ledger_copy(*, entries: list[_Entry], latest: Edition, covers_after_id: int | None) -> list[int]:
    """PostgreSQL: COPY the rows into a temporary table, then INSERT ... SELECT ... ON CONFLICT DO NOTHING.

    The same rows and conflict rule as bulk_create(ignore_conflicts=True), whose INSERT spent most of its time
    adapting the JSON of each row as a parameter (psycopg quotes it into an array for UNNEST): 19 s of 24 per
    20,000 rows. COPY sends the JSON text as it is. RETURNING gives the pending rows' ids (a row that was
    already there is not returned: planning skips subscribers who have this period's row, see subscribers_due).
    """
    table = connection.ops.quote_name(Delivery._meta.db_table)
    with connection.cursor() as cursor:
        staging = staged_copy(
            cursor,
            staging=_LEDGER_STAGING,
            columns=_LEDGER_STAGING_COLUMNS.format(papers_compression=column_compression(Delivery, "papers")),
            rows=((e.subscriber_id, e.period, e.status, e.papers_json, e.created_at) for e in entries),
        )
        # The columns bulk_create writes: the model's defaults for those planning leaves empty.
        cursor.execute(
            f"INSERT INTO {table} (subscriber_id, period, status, edition_id, covers_after_id, papers, attempts, "
            "claim, error, esp_message_id, created_at) "
            f"SELECT subscriber_id, period, status, %s, %s, papers, 0, '', '', '', created_at FROM {staging} "
            "ORDER BY subscriber_id ON CONFLICT DO NOTHING "  # ids in planning order, as bulk_create gives them
            "RETURNING id, status",
            [latest.pk, covers_after_id],
        )
        return sorted(pk for pk, status in cursor.fetchall() if status == Delivery.Status.PENDING)


def deliveries_pending_ids() -> list[int]:
    """Pending rows no task is about to pick up (e.g. queued when the broker was down): sent again by the tick."""
    cutoff = timezone.now() - timedelta(seconds=settings.PAPERBOY_PENDING_REDISPATCH_SECONDS)
    return list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, created_at__lt=cutoff).values_list("pk", flat=True)
    )


def digest_preview(*, edition: Edition, subscriber: Subscriber) -> RenderedDigest | None:
    """The digest `subscriber` would get from `edition` (its papers only), rendered as it would be mailed.

    For editors: nothing is written. None when none of the edition's papers match the subscriber.
    """
    previous = Edition.objects.filter(issue_date__lt=edition.issue_date).order_by("-issue_date").first()
    covers_after_id = previous.pk if previous else None
    _, index = _coverage_index(edition, covers_after_id, acronyms_current(), approved_only=False)
    items = subscriber_picks(index=index, subscribers=[(subscriber.pk, list(subscriber.interests))]).get(
        subscriber.pk, []
    )
    if not items:
        return None
    renderer = DigestRenderer.for_coverage(edition=edition, covers_after_id=covers_after_id)
    return renderer.render(delivery_id=0, subscriber=subscriber, items=items)
