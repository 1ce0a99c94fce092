"""Why each paper matched, stored once per edition: written by planning, read by rendering and the ledger views.

A digest's paper block shows the matcher's explanation of its best interest. A million digests share a few
hundred thousand (paper, interest) pairs, so planning explains each pair once and stores it per edition
(DigestExplanation); the send workers, the admin and the data export read it instead of matching again, and
ledger rows hold only paper ids, scores and interests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
from django.db import connection

from newsletter.matching import Explanation, PaperId
from newsletter.models import DigestExplanation, Edition
from newsletter.services.staging import staged_copy

# (paper id, interest text, words JSON, title segments JSON, snippet segments JSON, kind: "words" or "related")
ExplanationRow = tuple[PaperId, str, str, str, str, str]

_STAGING = "paperboy_explanation_staging"


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
    if connection.vendor != "postgresql":
        DigestExplanation.objects.bulk_create(
            [
                DigestExplanation(edition=edition, paper_id=paper_id, interest=interest, words=json.loads(words),
                                  title=json.loads(title), snippet=json.loads(snippet), kind=kind)
                for paper_id, interest, words, title, snippet, kind in rows
            ],
            batch_size=2000,
            ignore_conflicts=True,
        )  # fmt: skip
        return
    # PostgreSQL: COPY sends the JSON text as it is (an INSERT would adapt every value), then one INSERT with
    # the conflict rule, as the ledger rows go in (digests._ledger_copy).
    table = connection.ops.quote_name(DigestExplanation._meta.db_table)
    with connection.cursor() as cursor:
        staging = staged_copy(
            cursor,
            staging=_STAGING,
            columns="paper_id bigint, interest text, words jsonb, title jsonb, snippet jsonb, kind varchar(8)",
            rows=rows,
        )
        cursor.execute(
            f"INSERT INTO {table} (edition_id, paper_id, interest, words, title, snippet, kind) "
            f"SELECT %s, paper_id, interest, words, title, snippet, kind FROM {staging} ON CONFLICT DO NOTHING",
            [edition.pk],
        )


def digest_explanations(*, edition_id: int) -> dict[tuple[int, str], Explanation]:
    """Every explanation stored for `edition_id`'s digests, by (paper id, interest): one query."""
    return digest_explanations_after(edition_id=edition_id, after_id=0)[0]


def digest_explanations_after(*, edition_id: int, after_id: int) -> tuple[dict[tuple[int, str], Explanation], int]:
    """The explanations stored for `edition_id` with an id above `after_id` (those a later plan run of the same
    edition added), and the highest id read (`after_id` if none)."""
    if connection.vendor == "postgresql":
        rows = _explanations_as_one_json(edition_id, after_id)
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


def _explanations_as_one_json(edition_id: int, after_id: int) -> Iterator[tuple[int, int, str, Any]]:
    """PostgreSQL: the three JSON columns as one array, decoded once per row (a send worker reads them all:
    a few hundred thousand rows; Django's three JSON converters per row took twice as long)."""
    table = connection.ops.quote_name(DigestExplanation._meta.db_table)
    sql = (
        f"SELECT id, paper_id, interest, json_build_array(words, title, snippet, kind)::text FROM {table} "
        "WHERE edition_id = %s AND id > %s"
    )
    loads = orjson.loads  # the same values as json.loads for what PostgreSQL wrote, about 3x faster
    with connection.cursor() as cursor:
        cursor.execute(sql, [edition_id, after_id])
        while batch := cursor.fetchmany(10_000):
            for pk, paper_id, interest, data in batch:
                yield pk, paper_id, interest, loads(data)
