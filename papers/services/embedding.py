"""Vectors of papers, computed once: at ingest (papers.tasks.papers_embed) and by `manage.py embed_papers`."""

from __future__ import annotations

import hashlib
import logging

from django.db import transaction
from django.db.models import Q

from papers.embedding import MODEL_ID, EncoderUnavailable, get_encoder, paper_sentences, paper_texts, vectors_to_bytes
from papers.models import Paper, PaperVector

logger = logging.getLogger(__name__)
# Papers encoded per transaction: about 10 texts each, a few seconds of work on two cores, so a crash
# loses little and the rows of one chunk commit together.
CHUNK = 50


def paper_text_hash(*, title: str, abstract: str) -> str:
    """Recorded with the vectors: what was encoded, for an audit of stale rows."""
    return hashlib.sha1(f"{title}\n{abstract}".encode()).hexdigest()


def papers_embed(*, limit: int | None = None) -> int:
    """Encode every paper whose vectors are missing or of another model; returns how many (an editor's edit
    of a title or abstract drops the paper's vectors, papers.services.curation, so it is encoded again).

    A missing model is logged once and nothing is encoded: matching falls back to the words for those
    papers, and the next run (after `make install`) catches up.
    """
    try:
        encoder = get_encoder()
    except EncoderUnavailable as error:
        logger.error("paper vectors not computed: %s", error)
        return 0
    done = 0
    while limit is None or done < limit:
        chunk = _stale_papers(size=CHUNK if limit is None else min(CHUNK, limit - done))
        if not chunk:
            break
        texts = [paper_texts(paper.title, paper.abstract) for paper in chunk]
        vectors = encoder.encode([text for group in texts for text in group])
        rows, start = [], 0
        for paper, group in zip(chunk, texts, strict=True):
            rows.append(
                PaperVector(
                    paper=paper,
                    model_id=MODEL_ID,
                    text_hash=paper_text_hash(title=paper.title, abstract=paper.abstract),
                    vectors=vectors_to_bytes(vectors[start : start + len(group)]),
                    sentences=paper_sentences(paper.title, paper.abstract),
                )
            )
            start += len(group)
        with transaction.atomic():
            PaperVector.objects.filter(paper__in=chunk).delete()
            PaperVector.objects.bulk_create(rows)
        done += len(chunk)
    return done


def _stale_papers(*, size: int) -> list[Paper]:
    """Papers without vectors, or with vectors of another model."""
    stale = Paper.objects.filter(Q(vector__isnull=True) | ~Q(vector__model_id=MODEL_ID))
    return list(stale.order_by("id")[:size])
