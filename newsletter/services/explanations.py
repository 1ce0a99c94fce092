"""Why each paper matched, stored once per edition: written by planning, read by rendering and the ledger views.

A digest's paper block shows the matcher's explanation of its best interest. A million digests share a few
hundred thousand (paper, interest) pairs, so planning explains each pair once and stores it per edition
(DigestExplanation); the send workers, the admin and the data export read it instead of matching again, and
ledger rows hold only paper ids, scores and interests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from newsletter.matching import Explanation, PaperId
from newsletter.models import DigestExplanation, Edition
from newsletter.services import postgres

# (paper id, interest text, words JSON, title segments JSON, snippet segments JSON, kind: "words" or "related")
ExplanationRow = tuple[PaperId, str, str, str, str, str]


def explanation_rows(explained: Iterable[tuple[PaperId, str, Explanation]]) -> list[ExplanationRow]:
    """Explanations as rows to store, their JSON encoded (in the planning thread: encoding holds the GIL)."""
    dumps = json.dumps
    return [
        (paper_id, interest, dumps(e.words), dumps(e.title), dumps(e.snippet), e.kind)  # tuples: JSON arrays
        for paper_id, interest, e in explained
    ]


def explanations_store(*, edition: Edition, rows: Sequence[ExplanationRow]) -> None:
    """Store the explanations of `edition`'s digests; a (paper, interest) pair already stored stays as it is."""
    if not rows:
        return
    if postgres.fast_paths_on():
        postgres.explanations_copy(edition=edition, rows=rows)
        return
    DigestExplanation.objects.bulk_create(
        [
            DigestExplanation(edition=edition, paper_id=paper_id, interest=interest, words=json.loads(words),
                              title=json.loads(title), snippet=json.loads(snippet), kind=kind)
            for paper_id, interest, words, title, snippet, kind in rows
        ],
        batch_size=2000,
        ignore_conflicts=True,
    )  # fmt: skip


def digest_explanations(*, edition_id: int) -> dict[tuple[int, str], Explanation]:
    """Every explanation stored for `edition_id`'s digests, by (paper id, interest): one query."""
    return digest_explanations_after(edition_id=edition_id, after_id=0)[0]


def digest_explanations_after(*, edition_id: int, after_id: int) -> tuple[dict[tuple[int, str], Explanation], int]:
    """The explanations stored for `edition_id` with an id above `after_id` (those a later plan run of the same
    edition added), and the highest id read (`after_id` if none)."""
    if postgres.fast_paths_on():
        rows = postgres.explanations_as_one_json(edition_id, after_id)
    else:
        query = DigestExplanation.objects.filter(edition_id=edition_id, pk__gt=after_id)
        fields = ("pk", "paper_id", "interest", "words", "title", "snippet", "kind")
        rows = ((pk, p, i, (w, t, s, k)) for pk, p, i, w, t, s, k in query.values_list(*fields))
    found: dict[tuple[int, str], Explanation] = {}
    last = after_id
    for pk, paper_id, interest, (words, title, snippet, kind) in rows:
        found[paper_id, interest] = Explanation(
            interest=interest,
            words=tuple(words),
            title=tuple((text, lit) for text, lit in title),
            snippet=tuple((text, lit) for text, lit in snippet),
            kind=kind,
        )
        last = max(last, pk)
    return found, last
