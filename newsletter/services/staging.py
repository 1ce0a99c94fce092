"""Bulk writes on PostgreSQL through COPY: rows into a temporary table, then one INSERT ... SELECT from it.

COPY sends each value as text, JSON included, where an INSERT (or bulk_create) adapts every value as a
parameter; the INSERT ... SELECT that follows keeps the table's conflict rule (ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection


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
