"""PostgreSQL's bulk writes of planning (COPY into a temporary table, then one INSERT ... SELECT that keeps the
table's conflict rule; the subscribers' last edition by an array), and the explanations read back as one JSON
array a row. Each names its portable twin; services.postgres lists the tests that pin them equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from django.db import connection, models

from newsletter.models import Delivery, DigestExplanation, Edition, Subscriber

# --- COPY: rows into a temporary table, then one INSERT ... SELECT that keeps the table's conflict rule ------
# COPY sends each value as text, JSON included, where an INSERT (or bulk_create) adapts every value as a
# parameter.


def staged_copy(cursor: Any, *, staging: str, columns: str, rows: Iterable[Sequence[Any]]) -> str:
    """COPY `rows` into the temporary table `staging` (created once per connection, emptied each time) and
    return its quoted name, for the INSERT ... SELECT that moves them to their table."""
    name = connection.ops.quote_name(staging)
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({columns})")
    cursor.execute(f"TRUNCATE {name}")
    with cursor.cursor.copy(f"COPY {name} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return name


def column_compression(model: type[models.Model], field_name: str) -> str:
    """The clause that compresses a staging column as the field's column is: " COMPRESSION lz4", or "".

    INSERT ... SELECT keeps a value compressed as the staging table compressed it, so a staging column must
    compress as its target does (the ledger's picks use LZ4: without this they arrived compressed with pglz).
    """
    field = model._meta.get_field(field_name)
    assert isinstance(field, models.Field)
    table, column = model._meta.db_table, field.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s", [table, column]
        )
        row = cursor.fetchone()
    method = {"l": "lz4", "p": "pglz"}.get(row[0] if row else "")
    return f" COMPRESSION {method}" if method else ""


# --- the ledger ------------------------------------------------------------------------------------------

# Rows of one group, before they join the ledger (per connection; emptied before each use).
_LEDGER_STAGING = "paperboy_ledger_staging"
_LEDGER_STAGING_COLUMNS = (
    "subscriber_id bigint, period varchar(16), status varchar(12), papers jsonb{papers_compression}, "
    "created_at timestamptz"
)


def ledger_copy(
    *, rows: Iterable[tuple[int, str, str, str, datetime]], latest: Edition, covers_after_id: int | None
) -> list[int]:
    """COPY the ledger rows (subscriber id, period, status, picks JSON, created at) into a temporary table, then
    INSERT ... SELECT ... ON CONFLICT DO NOTHING. Twin: ledger._ledger_write's bulk_create.

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
            rows=rows,
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


def last_edition_set(*, subscriber_ids: list[int], latest: Edition) -> None:
    """The subscribers' last edition, with the ids as one array parameter: an IN list of 20,000 literals took
    PostgreSQL longer to parse and plan than to run. Twin: ledger._last_edition_set's .update()."""
    table = connection.ops.quote_name(Subscriber._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET last_edition_id = %s WHERE id = ANY(%s)", [latest.pk, subscriber_ids])


# --- the explanations digests show ------------------------------------------------------------------------

_EXPLANATION_STAGING = "paperboy_explanation_staging"


def explanations_copy(*, edition: Edition, rows: Sequence[tuple[Any, ...]]) -> None:
    """COPY the explanations (their JSON as text, as it is: an INSERT would adapt every value), then one
    INSERT with the conflict rule, as the ledger rows go in. Twin: explanations.explanations_store's bulk_create."""
    table = connection.ops.quote_name(DigestExplanation._meta.db_table)
    with connection.cursor() as cursor:
        staging = staged_copy(
            cursor,
            staging=_EXPLANATION_STAGING,
            columns="paper_id bigint, interest text, words jsonb, title jsonb, snippet jsonb, kind varchar(8)",
            rows=rows,
        )
        cursor.execute(
            f"INSERT INTO {table} (edition_id, paper_id, interest, words, title, snippet, kind) "
            f"SELECT %s, paper_id, interest, words, title, snippet, kind FROM {staging} ON CONFLICT DO NOTHING",
            [edition.pk],
        )


def explanations_as_one_json(edition_id: int, after_id: int) -> Iterator[tuple[int, int, str, Any]]:
    """The three JSON columns as one array, decoded once per row (a send worker reads them all:
    a few hundred thousand rows; Django's three JSON converters per row took twice as long).
    Twin: the values_list in explanations.digest_explanations_after."""
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
