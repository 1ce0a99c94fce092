"""Writes editors make from the admin: edit a paper (remembered, so dumps never undo it), flag, merge, re-ingest."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from django.db.models import Q
from django.utils import timezone

from papers.models import EDITABLE_FIELDS, Dump, Listing, Paper, PaperVector, validate_http_links
from papers.services.ingestion import DumpIngestResult, dump_ingest_file

logger = logging.getLogger(__name__)

# What an editor may change on a paper: the fields ingestion fills (EDITABLE_FIELDS) plus the editor's note,
# which no dump carries.
_EDITOR_FIELDS = frozenset({*EDITABLE_FIELDS, "editor_note"})


_FLAG_CHUNK = 5000


class ReingestRefused(Exception):
    """Why a dump cannot be ingested again, in words for the editor."""


def paper_edit(*, paper: Paper, changes: Mapping[str, Any], editor: Any = None) -> list[str]:
    """Apply an editor's changes and remember them, so a later dump of the same paper never overwrites them.

    title_key is left as ingestion set it: it is the natural key a later listing of the paper is found by.
    Returns the names of the fields that actually changed.
    """
    unknown = set(changes) - _EDITOR_FIELDS
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    if "links" in changes:
        validate_http_links(changes["links"])  # ValidationError: a link must be an http(s) URL (issue 15)
    changed = [name for name, value in changes.items() if getattr(paper, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(paper, name, changes[name])
    paper.edited_fields = sorted({*paper.edited_fields, *(name for name in changed if name in EDITABLE_FIELDS)})
    paper.save(update_fields=[*changed, "edited_fields", "updated_at"])
    if {"title", "abstract"} & set(changed):  # its vectors say what the old text meant: encode it again
        PaperVector.objects.filter(paper=paper).delete()
    logger.info("paper %s edited by %s: %s", paper.pk, getattr(editor, "pk", None), ", ".join(changed))
    return changed


def papers_flag(*, paper_ids: Collection[int], featured: bool | None = None, hidden: bool | None = None) -> int:
    """Feature / unfeature and hide / unhide papers; the number of papers that changed.

    updated_at moves with the flags: it is part of papers_version(), the key of the cached preview index.
    """
    values: dict[str, Any] = {}
    changed = Q()
    if featured is not None:
        values["is_featured"] = featured
        changed |= ~Q(is_featured=featured)
    if hidden is not None:
        values["is_hidden"] = hidden
        changed |= ~Q(is_hidden=hidden)
    if not values:
        return 0
    ids, now = sorted(paper_ids), timezone.now()
    # In chunks: "select all" in the admin can name 50,000 papers, above SQLite's limit of parameters.
    return sum(
        Paper.objects.filter(changed, pk__in=ids[i : i + _FLAG_CHUNK]).update(**values, updated_at=now)
        for i in range(0, len(ids), _FLAG_CHUNK)
    )


def papers_merge_records(*, keep: Paper, duplicate: Paper) -> Paper:
    """Fold `duplicate` into `keep`: its listings move over, gaps on `keep` are filled, the duplicate goes.

    Run inside the caller's transaction, after anything else that points at the duplicate has moved.
    """
    if keep.pk == duplicate.pk:
        raise ValueError("a paper cannot be merged into itself")
    # (dump, paper) is unique: where both were listed in the same dump, keep's listing stays.
    keep_dumps = Listing.objects.filter(paper=keep).values("dump_id")
    Listing.objects.filter(paper=duplicate).exclude(dump_id__in=keep_dumps).update(paper=keep)
    fields = _merge_fill(keep=keep, duplicate=duplicate)
    duplicate.delete()  # first: its arXiv id is unique and may be keep's now
    keep.save(update_fields=[*fields, "edited_fields", "updated_at"])
    logger.info("paper %s merged into %s", duplicate.pk, keep.pk)
    return keep


def _merge_fill(*, keep: Paper, duplicate: Paper) -> list[str]:
    """Copy onto `keep` (in memory) what it lacks and `duplicate` has; the names of the fields written."""
    edited = set(keep.edited_fields)
    filled: set[str] = set()
    for name in ("arxiv_id", "abstract", "published_on", "editor_note"):
        if not getattr(keep, name) and getattr(duplicate, name):
            setattr(keep, name, getattr(duplicate, name))
            filled.add(name)
    if "authors" not in edited and len(duplicate.authors) > len(keep.authors):
        keep.authors = list(duplicate.authors)
        filled.add("authors")
    if "links" not in edited and set(duplicate.links) - set(keep.links):
        keep.links = {**duplicate.links, **keep.links}
        filled.add("links")
    keep.edited_fields = sorted(edited | (filled & set(duplicate.edited_fields)))
    keep.upvotes = max(filter(None, (keep.upvotes, duplicate.upvotes)), default=keep.upvotes)
    keep.first_seen_at = min(keep.first_seen_at, duplicate.first_seen_at)
    keep.first_listed_on = min(filter(None, (keep.first_listed_on, duplicate.first_listed_on)), default=None)
    keep.last_listed_on = max(filter(None, (keep.last_listed_on, duplicate.last_listed_on)), default=None)
    keep.is_featured = keep.is_featured or duplicate.is_featured
    always = ("upvotes", "first_seen_at", "first_listed_on", "last_listed_on", "is_featured")
    return sorted(filled | set(always))


def dump_reingest(*, dump: Dump) -> DumpIngestResult:
    """Ingest a failed dump's file again, once it has been fixed; ReingestRefused says why not otherwise.

    A fixed file is a new dump (a new content hash); the failed record it supersedes held no papers and goes.
    """
    if dump.status != Dump.Status.FAILED:
        raise ReingestRefused("only a failed dump can be ingested again; this one was ingested.")
    if not dump.source_path:
        raise ReingestRefused("this dump was uploaded, not read from the dumps folder: upload the fixed file.")
    path = Path(dump.source_path)
    if not path.is_file():
        raise ReingestRefused(f"there is no file at {path} any more.")
    result = dump_ingest_file(path=path)
    if result.dump_id == dump.pk:
        raise ReingestRefused(f"the file at {path} has not changed since it failed. Fix it first: {dump.error}")
    if result.dump_id is not None and Dump.objects.filter(pk=result.dump_id, status=Dump.Status.INGESTED).exists():
        Dump.objects.filter(pk=dump.pk, status=Dump.Status.FAILED).delete()
    return result
