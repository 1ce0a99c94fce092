"""Reads for papers."""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import QuerySet

from papers.models import Dump, Paper

# SQLite allows at most 32,766 parameters in one query; stay well under it.
_IN_CHUNK = 5000


def paper_list_public() -> QuerySet[Paper]:
    """Visible papers, newest first (the search is papers.search)."""
    return Paper.objects.filter(is_hidden=False).order_by("-first_listed_on", "-is_featured", "-upvotes", "id")


def paper_get_public(*, pk: int) -> Paper | None:
    return Paper.objects.filter(pk=pk, is_hidden=False).first()


def dump_find_unchanged_file(*, source_path: str, size_bytes: int, mtime_ns: int) -> Dump | None:
    return Dump.objects.filter(source_path=source_path, size_bytes=size_bytes, mtime_ns=mtime_ns).first()


def papers_by_natural_keys(
    *, arxiv_ids: Collection[str], title_keys: Collection[str]
) -> tuple[dict[str, Paper], dict[str, list[Paper]]]:
    """Existing papers by arXiv id, and by title key (several papers with ids may share one title)."""
    by_arxiv_id: dict[str, Paper] = {}
    by_title_key: dict[str, list[Paper]] = {}
    for chunk in _chunks(sorted(arxiv_ids)):
        by_arxiv_id.update({p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=chunk) if p.arxiv_id})
    for chunk in _chunks(sorted(title_keys)):
        for paper in Paper.objects.filter(title_key__in=chunk).order_by("id"):
            by_title_key.setdefault(paper.title_key, []).append(paper)
    return by_arxiv_id, by_title_key


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + _IN_CHUNK] for i in range(0, len(values), _IN_CHUNK)]


def paper_texts(
    *, after_id: int = 0, ids: Collection[int] | None = None, limit: int | None = None
) -> list[tuple[int, str, str]]:
    """(id, title, abstract) of visible papers, for the matcher; newest ids first when `limit` is given."""
    papers = Paper.objects.filter(is_hidden=False, id__gt=after_id)
    if ids is not None:
        papers = papers.filter(id__in=list(ids))
    rows = papers.order_by("-id").values_list("id", "title", "abstract")
    return list(rows[:limit] if limit else rows)


def papers_version() -> tuple[int, int, str]:
    """Changes whenever a paper is added, edited, hidden or removed: a cache key for derived indexes."""
    from django.db.models import Count, Max

    stats = Paper.objects.aggregate(n=Count("id"), top=Max("id"), changed=Max("updated_at"))
    return stats["n"], stats["top"] or 0, str(stats["changed"])


# --- curation (admin) -----------------------------------------------------------------------------------


def paper_titles(*, ids: Collection[int]) -> dict[int, str]:
    """Titles by id, in one query per 5,000 ids (papers merged away or deleted are simply absent)."""
    titles: dict[int, str] = {}
    for chunk in [sorted(ids)[i : i + _IN_CHUNK] for i in range(0, len(ids), _IN_CHUNK)]:
        titles.update(Paper.objects.filter(pk__in=chunk).values_list("pk", "title"))
    return titles


def dump_latest() -> Dump | None:
    return Dump.objects.order_by("-ingested_at", "-id").first()


def dumps_recent(*, limit: int = 30) -> list[tuple[int, str]]:
    """(id, name) of the latest ingested dumps, for choosing one in a filter."""
    rows = Dump.objects.filter(status=Dump.Status.INGESTED).order_by("-ingested_at", "-id")
    return [(pk, f"{name} ({when:%b %-d})") for pk, name, when in rows.values_list("pk", "name", "ingested_at")[:limit]]


def paper_vector_rows(*, ids: Collection[int]) -> dict[int, tuple[bytes, list[str]]]:
    """paper id -> (its stored vectors as bytes, its sentences), for the papers that have current vectors."""
    from papers.embedding import MODEL_ID
    from papers.models import PaperVector

    rows = PaperVector.objects.filter(paper_id__in=list(ids), model_id=MODEL_ID)
    return {
        pk: (bytes(data), sentences) for pk, data, sentences in rows.values_list("paper_id", "vectors", "sentences")
    }
