"""Writes for papers: ingestion of dumps (`ingestion`) and the editors' curation (`curation`)."""

from __future__ import annotations

from papers.services.curation import (
    ReingestRefused,
    dump_reingest,
    paper_edit,
    papers_flag,
    papers_merge_records,
)
from papers.services.embedding import papers_embed
from papers.services.ingestion import (
    DumpIngestResult,
    IngestStatus,
    dump_files_in,
    dump_ingest,
    dump_ingest_file,
    dumps_scan,
)
from papers.services.upsert import PaperOutcome, paper_enrich, papers_upsert

__all__ = [
    "DumpIngestResult",
    "IngestStatus",
    "PaperOutcome",
    "ReingestRefused",
    "dump_files_in",
    "dump_ingest",
    "dump_ingest_file",
    "dump_reingest",
    "dumps_scan",
    "paper_edit",
    "paper_enrich",
    "papers_embed",
    "papers_flag",
    "papers_merge_records",
    "papers_upsert",
]
