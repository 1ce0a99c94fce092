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
from papers.parsers import DumpParseError, ParsedDump, ParsedPaper, parse_dump, title_key
from papers.parsers.urls import http_links
from papers.selectors import dump_find_unchanged_file, papers_by_natural_keys

logger = logging.getLogger(__name__)

# Any constant works: it only has to be the same for every process that ingests.
_INGEST_ADVISORY_LOCK = 0x50415045  # "PAPE"
_HASH_CHUNK = 1024 * 1024


class IngestStatus(StrEnum):
    INGESTED = "ingested"
    FAILED = "failed"
    SKIPPED = "skipped"  # these exact bytes were ingested (or failed) before


class PaperOutcome(StrEnum):
    CREATED = "created"
    ENRICHED = "enriched"
    UNCHANGED = "unchanged"


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


def papers_upsert(*, items: Sequence[ParsedPaper], listed_on: date) -> list[tuple[Paper, PaperOutcome]]:
    """One Paper per item, created or enriched, in a few queries whatever the number of items."""
    by_arxiv_id, by_title_key = papers_by_natural_keys(
        arxiv_ids={item.arxiv_id for item in items if item.arxiv_id},
        title_keys={title_key(i.title) for i in items},
    )
    results: list[tuple[Paper, PaperOutcome]] = []
    to_create: list[Paper] = []
    to_update: dict[int, Paper] = {}
    for item in items:
        key = title_key(item.title)
        paper = _find_existing(item=item, key=key, by_arxiv_id=by_arxiv_id, by_title_key=by_title_key)
        if paper is None:
            paper = _new_paper(item=item, key=key, listed_on=listed_on)
            to_create.append(paper)
            outcome = PaperOutcome.CREATED
        else:
            enriched = paper_enrich(paper=paper, item=item)
            outcome = PaperOutcome.ENRICHED if enriched else PaperOutcome.UNCHANGED
            if (_note_listing_date(paper=paper, listed_on=listed_on) or enriched) and paper.pk is not None:
                to_update[paper.pk] = paper
        # Later items of the same dump must find this paper too.
        if paper.arxiv_id:
            by_arxiv_id[paper.arxiv_id] = paper
        by_title_key.setdefault(key, []).append(paper)
        results.append((paper, outcome))
    Paper.objects.bulk_create(to_create, batch_size=500)
    _papers_update(list(to_update.values()))
    return results


_UPSERT_FIELDS = (
    "abstract",
    "authors",
    "arxiv_id",
    "links",
    "published_on",
    "upvotes",
    "first_listed_on",
    "last_listed_on",
    "updated_at",
)


def _papers_update(papers: list[Paper]) -> None:
    """Write the upsert fields of many papers with one prepared statement.

    Django's bulk_update builds a CASE expression per field and row: 30 s of Python for 10,000 papers.
    """
    if not papers:
        return
    now = timezone.now()
    fields = [field for field in Paper._meta.concrete_fields if field.name in _UPSERT_FIELDS]
    assignments = ", ".join(f"{connection.ops.quote_name(str(f.column))} = %s" for f in fields)
    sql = f"UPDATE {Paper._meta.db_table} SET {assignments} WHERE id = %s"
    rows = []
    for paper in papers:
        paper.updated_at = now
        values = [f.get_db_prep_save(getattr(paper, f.attname), connection) for f in fields]
        rows.append([*values, paper.pk])
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def paper_enrich(*, paper: Paper, item: ParsedPaper) -> bool:
    """Fill in what the record lacks from a later listing; never touch a field an editor changed."""
    edited = set(paper.edited_fields)
    changed = False
    if item.arxiv_id and not paper.arxiv_id:
        paper.arxiv_id, changed = item.arxiv_id, True
    if "abstract" not in edited and item.abstract and not paper.abstract:
        paper.abstract, changed = item.abstract, True
    if "authors" not in edited and len(item.authors) > len(paper.authors):
        paper.authors, changed = list(item.authors), True
    if "links" not in edited:
        # A link stored before links were checked, and not http(s), gives way to the listing's (issue 15).
        stored = paper.links if isinstance(paper.links, dict) else {}
        links = {**item.links, **http_links(stored)[0]}
        if links != paper.links:
            paper.links, changed = links, True
    if item.published_on and not paper.published_on:
        paper.published_on, changed = item.published_on, True
    if item.upvotes is not None and (paper.upvotes is None or item.upvotes > paper.upvotes):
        paper.upvotes, changed = item.upvotes, True
    return changed


def _find_existing(
    *, item: ParsedPaper, key: str, by_arxiv_id: dict[str, Paper], by_title_key: dict[str, list[Paper]]
) -> Paper | None:
    if item.arxiv_id and item.arxiv_id in by_arxiv_id:
        return by_arxiv_id[item.arxiv_id]
    for candidate in by_title_key.get(key, ()):
        # Same title but a different arXiv id is a different paper that happens to share the title.
        if not item.arxiv_id or candidate.arxiv_id in (None, item.arxiv_id):
            return candidate
    return None


def _new_paper(*, item: ParsedPaper, key: str, listed_on: date) -> Paper:
    return Paper(
        title=item.title,
        abstract=item.abstract,
        authors=list(item.authors),
        arxiv_id=item.arxiv_id,
        title_key=key,
        links=dict(item.links),
        published_on=item.published_on,
        upvotes=item.upvotes,
        first_listed_on=listed_on,
        last_listed_on=listed_on,
    )


def _note_listing_date(*, paper: Paper, listed_on: date) -> bool:
    """Widen the paper's first/last listing dates to include `listed_on`; True if either moved."""
    before = (paper.first_listed_on, paper.last_listed_on)
    paper.first_listed_on = min(filter(None, (paper.first_listed_on, listed_on)))
    paper.last_listed_on = max(filter(None, (paper.last_listed_on, listed_on)))
    return (paper.first_listed_on, paper.last_listed_on) != before


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
