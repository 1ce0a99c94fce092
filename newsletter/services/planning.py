"""Planning digests: who is due, what their digest holds, and the ledger rows written before any send.

Who is due is newsletter.schedule's question (reads only).
Matching is batched: subscribers are read in chunks, grouped by the editions their digest covers, and each
group is matched at once (every distinct interest evaluated once). No query runs per subscriber.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from newsletter.matching import AcronymTable, PaperIndex
from newsletter.matching.percolation import PercolationMemo
from newsletter.models import Delivery, Edition, EditionPaper, Subscriber
from newsletter.paper_indexes import acronyms_current, paper_index_build
from newsletter.schedule import period_key, subscribers_due, zone_of
from newsletter.services.explanations import explanation_rows
from newsletter.services.fusion import semantic_layer
from newsletter.services.indexing import ExplanationLog, acronyms_learn, subscriber_picks, subscriber_picks_json
from newsletter.services.ledger import (
    LedgerEntry,
    LedgerWriter,
    PlanReport,
    ledger_chunk_write,
    ledger_writes_can_overlap,
)
from newsletter.services.rendering import DigestRenderer, RenderedDigest
from newsletter.services.rendering.cache import gc_paused
from newsletter.services.timing import phase, phase_iter
from papers.selectors import paper_texts

logger = logging.getLogger(__name__)

# Subscribers read and planned per transaction: bounds memory and how long rows stay locked.
PLAN_CHUNK = 20_000
# The first chunk is smaller and each next one twice as large, up to PLAN_CHUNK: a chunk's digests are handed to
# the senders once the chunk after it is matched, so a full first chunk kept a core idle for the first two
# chunks' matching (about 20 s at 100,000 subscribers on this project's machine) before any email went out.
PLAN_FIRST_CHUNK = 1_000
WEEKLY_LOOKBACK_DAYS = 7


def digest_plan(
    *,
    at: datetime | None = None,
    on_written: Callable[[list[int]], object] | None = None,
    id_range: tuple[int, int] | None = None,
) -> PlanReport:
    """Write a ledger row for every due subscriber. Re-running plans nothing twice (the unique period key).

    `id_range` (from, to): only the subscribers with from <= id < to (a shard: services/plan_shards.py).

    `on_written` gets the pending ids of each chunk of rows once they are committed (handed on when the next
    chunk has been matched, from this thread): sending starts on the first 1,000 digests (chunks then double, up
    to 20,000) instead of after the last.
    """
    at = at or timezone.now()
    report = PlanReport()
    latest = Edition.objects.filter(status=Edition.Status.APPROVED, issue_date__lte=timezone.localdate(at)).first()
    if latest is None:
        return report
    with phase("index"):
        acronyms = acronyms_learn()
    coverage = _Coverage(latest=latest, acronyms=acronyms)
    explained = ExplanationLog()  # each (paper, interest) pair is explained and stored once per run
    with gc_paused(), LedgerWriter(threaded=ledger_writes_can_overlap(), on_written=on_written) as writer:
        due = subscribers_due(at=at, latest=latest)
        if id_range is not None:
            due = due.filter(pk__gte=id_range[0], pk__lt=id_range[1])
        for chunk in phase_iter("due", _chunks(due)):
            report.due += len(chunk)
            groups = [
                (
                    covers_after_id,
                    _group_entries(rows=rows, memo=coverage.memo(covers_after_id), at=at, explained=explained),
                )
                for covers_after_id, rows in coverage.grouped(chunk).items()
            ]
            explanations = explanation_rows(explained.take())
            writer.submit(partial(ledger_chunk_write, groups=groups, latest=latest, explanations=explanations), report)
    logger.info("planned digests: %d due, %d to send, %d with nothing new", report.due, report.planned, report.skipped)
    return report


class _Coverage:
    """Subscribers grouped by the editions their digest covers, and one index and memo per coverage: each
    distinct interest is evaluated once per coverage for all the chunks."""

    def __init__(self, *, latest: Edition, acronyms: AcronymTable) -> None:
        self.latest, self.acronyms = latest, acronyms
        self.starts_after = {frequency: _window_start(frequency, latest) for frequency in Subscriber.Frequency}
        self.memos: dict[int | None, PercolationMemo] = {}

    def grouped(self, chunk: list[_Due]) -> dict[int | None, list[_Due]]:
        by_coverage: dict[int | None, list[_Due]] = defaultdict(list)
        for row in chunk:
            by_coverage[row.last_edition_id or self.starts_after[Subscriber.Frequency(row.frequency)]].append(row)
        return by_coverage

    def memo(self, covers_after_id: int | None) -> PercolationMemo:
        if covers_after_id not in self.memos:
            with phase("index"):
                _, index = _coverage_index(self.latest, covers_after_id, self.acronyms)
            # The fused matcher where the papers have vectors, the words alone where not.
            self.memos[covers_after_id] = PercolationMemo(index=index, semantic=semantic_layer(index=index))
        return self.memos[covers_after_id]


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
    latest: Edition, covers_after_id: int | None, acronyms: AcronymTable, *, approved_only: bool = True
) -> tuple[Edition | None, PaperIndex]:
    entries = EditionPaper.objects.filter(edition__issue_date__lte=latest.issue_date, paper__is_hidden=False)
    if approved_only:
        entries = entries.filter(edition__status=Edition.Status.APPROVED)
    after = Edition.objects.filter(pk=covers_after_id).first() if covers_after_id else None
    if after is not None:
        entries = entries.filter(edition__issue_date__gt=after.issue_date)
    paper_ids = set(entries.values_list("paper_id", flat=True))
    index = paper_index_build(papers=paper_texts(ids=paper_ids), acronyms=acronyms)
    return after, index


def _group_entries(
    *, rows: list[_Due], memo: PercolationMemo, at: datetime, explained: ExplanationLog
) -> list[LedgerEntry]:
    """The ledger rows of subscribers whose digests cover the same editions: matched at once."""
    subscribers = [(row.id, row.interests) for row in rows]
    with phase("match"):
        picks = subscriber_picks_json(memo=memo, subscribers=subscribers, explained=explained)
    periods: dict[tuple[str, str], str] = {}  # by (zone, frequency): a few, shared by thousands of rows
    entries: list[LedgerEntry] = []
    for row in rows:
        papers_json = picks.get(row.id, "")
        period = periods.get((row.timezone, row.frequency))
        if period is None:
            local = at.astimezone(zone_of(row.timezone))
            period = periods[row.timezone, row.frequency] = period_key(frequency=row.frequency, local=local)
        status = Delivery.Status.PENDING if papers_json else Delivery.Status.SKIPPED
        # The JSON text as the matching step encoded it: the parsed picks of a chunk are large.
        entries.append(LedgerEntry(row.id, period, status, papers_json or "[]", timezone.now()))
    return entries


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
