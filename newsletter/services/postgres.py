"""Bulk writes on PostgreSQL through COPY: rows into a temporary table, then one INSERT ... SELECT from it.

COPY sends each value as text, JSON included, where an INSERT (or bulk_create) adapts every value as a
parameter; the INSERT ... SELECT that follows keeps the table's conflict rule (ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


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
