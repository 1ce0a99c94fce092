"""Writes for papers: ingest dumps (atomic, idempotent, keyed by content) and upsert their papers.

Reading, parsing and storing are separate steps so a failure in any of them is recorded the same way: a
failed `Dump` row saying what went wrong, and no paper or listing rows from that file.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from papers.models import Dump, Listing, Paper
from papers.parsers import DumpParseError, ParsedDump, ParsedPaper, parse_dump
from papers.selectors import dump_find_unchanged_file
from papers.services.upsert import PaperOutcome, papers_upsert

logger = logging.getLogger(__name__)

# Any constant works: it only has to be the same for every process that ingests.
_INGEST_ADVISORY_LOCK = 0x50415045  # "PAPE"
_HASH_CHUNK = 1024 * 1024


class IngestStatus(StrEnum):
    INGESTED = "ingested"
    FAILED = "failed"
    SKIPPED = "skipped"  # these exact bytes were ingested (or failed) before


@dataclass(frozen=True, slots=True)
class DumpIngestResult:
    name: str
    status: IngestStatus
    dump_id: int | None = None
    source_format: str = ""
    items: int = 0
    created: int = 0
    enriched: int = 0
    unchanged: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True)
class _FileFacts:
    name: str
    source_path: str
    sha256: str
    size_bytes: int
    mtime_ns: int | None


# --- entry points ---------------------------------------------------------------------------------------


def dumps_scan(*, folder: Path) -> list[DumpIngestResult]:
    """Ingest every new or changed file in `folder`; one bad file never stops the others."""
    if not folder.is_dir():
        logger.warning("dumps folder %s does not exist; nothing to scan", folder)
        return []
    return [dump_ingest_file(path=path) for path in dump_files_in(folder=folder)]


def dump_files_in(*, folder: Path) -> list[Path]:
    """The files a scan considers, in name order (hidden and partial files are being written: skip them)."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".part")
    )


def dump_ingest_file(*, path: Path, today: date | None = None) -> DumpIngestResult:
    """Ingest one file from disk, skipping it without reading when its size and mtime are already known."""
    try:
        stat = path.stat()
        known = dump_find_unchanged_file(source_path=str(path), size_bytes=stat.st_size, mtime_ns=stat.st_mtime_ns)
        if known is not None:
            return DumpIngestResult(name=path.name, status=IngestStatus.SKIPPED, dump_id=known.pk)
        limit = settings.PAPERBOY_DUMP_MAX_BYTES
        if stat.st_size > limit:
            facts = _FileFacts(path.name, str(path), _sha256_of_file(path), stat.st_size, stat.st_mtime_ns)
            return _ingest_oversized(facts=facts, limit=limit)
        data = path.read_bytes()
    except OSError as exc:
        logger.warning("could not read dump %s: %s", path, exc)
        return DumpIngestResult(name=path.name, status=IngestStatus.FAILED, error=f"could not read the file: {exc}")
    return dump_ingest(data=data, name=path.name, source_path=str(path), mtime_ns=stat.st_mtime_ns, today=today)


def dump_ingest(
    *, data: bytes, name: str, source_path: str = "", mtime_ns: int | None = None, today: date | None = None
) -> DumpIngestResult:
    """Parse and store one dump. The same bytes twice is a no-op; a failure stores a failed Dump, nothing else."""
    facts = _FileFacts(name, source_path, hashlib.sha256(data).hexdigest(), len(data), mtime_ns)
    if (seen := _dump_already_seen(facts=facts)) is not None:
        return seen
    today = today or timezone.localdate()
    try:
        parsed = parse_dump(data, today=today, max_bytes=settings.PAPERBOY_DUMP_MAX_BYTES)
        _validate_items(parsed.items)
    except DumpParseError as exc:
        return _dump_record_failure(facts=facts, error=str(exc))
    try:
        return _dump_store(facts=facts, parsed=parsed, today=today)
    except Exception as exc:
        logger.exception("storing dump %s failed; nothing from it was kept", name)
        return _dump_record_failure(facts=facts, error=f"could not store the papers ({type(exc).__name__}: {exc})")


# --- storing --------------------------------------------------------------------------------------------


def _dump_store(*, facts: _FileFacts, parsed: ParsedDump, today: date) -> DumpIngestResult:
    listed_on = parsed.listing_date or today
    with transaction.atomic():
        _serialize_ingestion()
        if (seen := _dump_already_seen(facts=facts)) is not None:  # another worker got here first
            return seen
        dump = Dump.objects.create(
            **_facts_fields(facts),
            source_format=str(parsed.source_format),
            listing_date=parsed.listing_date,
            status=Dump.Status.INGESTED,
            items_count=len(parsed.items),
            warnings=list(parsed.warnings),
        )
        outcomes = papers_upsert(items=parsed.items, listed_on=listed_on)
        _listings_create(dump=dump, items=parsed.items, papers=[paper for paper, _ in outcomes], listed_on=listed_on)
        counts = {outcome: sum(1 for _, o in outcomes if o is outcome) for outcome in PaperOutcome}
        dump.created_count = counts[PaperOutcome.CREATED]
        dump.enriched_count = counts[PaperOutcome.ENRICHED]
        dump.unchanged_count = counts[PaperOutcome.UNCHANGED]
        dump.save(update_fields=["created_count", "enriched_count", "unchanged_count"])
    logger.info("ingested %s: %d papers (%d new)", facts.name, len(parsed.items), dump.created_count)
    return _result_of(dump)


def _listings_create(*, dump: Dump, items: Sequence[ParsedPaper], papers: Sequence[Paper], listed_on: date) -> None:
    Listing.objects.bulk_create(
        [
            Listing(dump=dump, paper=paper, rank=item.rank, upvotes=item.upvotes, listed_on=listed_on)
            for item, paper in zip(items, papers, strict=True)
        ],
        batch_size=1000,
    )


# --- failures and bookkeeping ---------------------------------------------------------------------------

_LIMITS = {"title": 1000, "arxiv_id": 40}


def _validate_items(items: Iterable[ParsedPaper]) -> None:
    """Reject what the database would refuse, before anything is written, with the item that is wrong."""
    for item in items:
        for field_name, limit in _LIMITS.items():
            value = getattr(item, field_name) or ""
            if len(value) > limit:
                raise DumpParseError(
                    f"{field_name} is {len(value):,} characters long; expected at most {limit:,}",
                    location=f"item {item.rank}",
                )


def _ingest_oversized(*, facts: _FileFacts, limit: int) -> DumpIngestResult:
    if (seen := _dump_already_seen(facts=facts)) is not None:
        return seen
    mb = 1024 * 1024
    error = (
        f"the file is {facts.size_bytes / mb:.1f} MB; the limit is {limit / mb:.1f} MB "
        "(PAPERBOY_DUMP_MAX_BYTES). Split it, or raise the limit."
    )
    return _dump_record_failure(facts=facts, error=error)


def _dump_record_failure(*, facts: _FileFacts, error: str) -> DumpIngestResult:
    with transaction.atomic():
        _serialize_ingestion()
        dump, _ = Dump.objects.get_or_create(
            sha256=facts.sha256,
            defaults={**_facts_fields(facts), "status": Dump.Status.FAILED, "error": error},
        )
    logger.warning("dump %s failed: %s", facts.name, dump.error)
    return _result_of(dump)


def _dump_already_seen(*, facts: _FileFacts) -> DumpIngestResult | None:
    dump = Dump.objects.filter(sha256=facts.sha256).first()
    if dump is None:
        return None
    if facts.source_path and (dump.source_path, dump.mtime_ns) != (facts.source_path, facts.mtime_ns):
        # Same bytes at a new path or mtime (copied, touched): remember it so the next scan skips it unread.
        Dump.objects.filter(pk=dump.pk).update(
            source_path=facts.source_path, mtime_ns=facts.mtime_ns, size_bytes=facts.size_bytes
        )
    return DumpIngestResult(name=facts.name, status=IngestStatus.SKIPPED, dump_id=dump.pk, error=dump.error)


def _serialize_ingestion() -> None:
    """Ingestions run one at a time: two workers upserting the same new paper would collide on its key."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_INGEST_ADVISORY_LOCK])
    # SQLite needs nothing: its IMMEDIATE transactions (see settings) already admit one writer at a time.


def _facts_fields(facts: _FileFacts) -> dict[str, object]:
    return {
        "name": facts.name[:255],
        "source_path": facts.source_path[:1024],
        "sha256": facts.sha256,
        "size_bytes": facts.size_bytes,
        "mtime_ns": facts.mtime_ns,
    }


def _result_of(dump: Dump) -> DumpIngestResult:
    return DumpIngestResult(
        name=dump.name,
        status=IngestStatus(dump.status),
        dump_id=dump.pk,
        source_format=dump.source_format,
        items=dump.items_count,
        created=dump.created_count,
        enriched=dump.enriched_count,
        unchanged=dump.unchanged_count,
        error=dump.error,
    )


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
