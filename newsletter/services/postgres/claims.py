"""PostgreSQL's fast paths of sending: the claim as one UPDATE ... RETURNING, and stamps prepared once per
database session and run through libpq. Each names its portable twin in services/sending.py; the tests
that pin them equal are listed in services/postgres/__init__.py.
"""

from __future__ import annotations

import itertools
import weakref
from datetime import datetime
from functools import cache
from typing import Any

import orjson
import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from psycopg import pq

from newsletter.models import Delivery, Subscriber

# What sending reads of a claimed row and its subscriber; the other fields stay deferred (loaded if touched).
# In the models' field order, as Model.from_db() takes them.
_CLAIMED_DELIVERY = tuple(
    field.attname
    for field in Delivery._meta.concrete_fields
    if field.attname
    in {"id", "status", "claim", "attempts", "papers", "edition_id", "covers_after_id", "subscriber_id"}
)
_CLAIMED_SUBSCRIBER = tuple(
    field.attname
    for field in Subscriber._meta.concrete_fields
    if field.attname in {"id", "email", "status", "interests", "interest_labels", "link_nonce"}
)


def claim_returning(delivery_ids: list[int], claim: str) -> list[Delivery]:
    """The claim's lock (FOR UPDATE SKIP LOCKED), claim and read as one UPDATE ... RETURNING.
    Twin: sending._claim's select_for_update(skip_locked=True), update() and select_related read.

    The ORM path took five round trips and built three full models per row, every column converted:
    about 250 µs per message, a quarter of the whole send. Rows come back with the fields sending reads.
    """
    params: list[Any] = [Delivery.Status.SENDING, claim, timezone.now(), list(delivery_ids), Delivery.Status.PENDING]
    with connection.cursor() as cursor:
        cursor.execute(claim_sql(), params)
        rows = sorted(cursor.fetchall())
    return [_claimed(row) for row in rows]


@cache
def claim_sql() -> str:
    """The claim's UPDATE ... RETURNING: params status, claim, sending_at, ids, and the status claimed from.

    The rows are found by primary key only and their status checked. Written as an index condition, the
    status let PostgreSQL's planner (its statistics taken while few rows were pending) AND the ids with the
    whole partial index of pending rows: a million entries read per claim early in a large run, which made
    a claim's share of a digest twice what it is at a tenth of the size.
    """
    quote = connection.ops.quote_name
    table, subscribers = quote(Delivery._meta.db_table), quote(Subscriber._meta.db_table)
    returning = [f"d.{quote(name)}" for name in _CLAIMED_DELIVERY] + [
        f"s.{quote(name)}" for name in _CLAIMED_SUBSCRIBER
    ]
    return (
        f"UPDATE {table} AS d SET status = %s, claim = %s, sending_at = %s, attempts = d.attempts + 1 "
        f"FROM {subscribers} AS s WHERE s.id = d.subscriber_id AND d.id IN ("
        f"SELECT id FROM {table} WHERE id = ANY(%s) AND (status = %s) IS TRUE FOR UPDATE SKIP LOCKED) "
        f"RETURNING {', '.join(returning)}"
    )


def _claimed(row: tuple[Any, ...]) -> Delivery:
    """A Delivery and its Subscriber from one RETURNING row, JSON decoded as the fields themselves do."""
    split = len(_CLAIMED_DELIVERY)
    values, subscriber_values = list(row[:split]), list(row[split:])
    # JSON arrives as text (Django's jsonb loader). The fields would decode it with json.loads and no custom
    # decoder; orjson gives the same values for JSON that PostgreSQL stored, about 3x faster (26 picks a digest).
    values[_CLAIMED_DELIVERY.index("papers")] = orjson.loads(values[_CLAIMED_DELIVERY.index("papers")])
    for name in ("interests", "interest_labels"):
        at = _CLAIMED_SUBSCRIBER.index(name)
        if subscriber_values[at] is not None:  # labels are NULL on rows written in bulk without them
            subscriber_values[at] = orjson.loads(subscriber_values[at])
    delivery = Delivery.from_db(connection.alias, _CLAIMED_DELIVERY, values)
    delivery.subscriber = Subscriber.from_db(connection.alias, _CLAIMED_SUBSCRIBER, subscriber_values)
    return delivery


class Stamps:
    """Each message's outcome recorded at once through a statement prepared once per database session and run
    straight through libpq (psycopg's `pgconn`): no parse and plan per message, and none of the cursor's
    per-call Python (half of a stamp's client time). Errors are still raised as Django's. Twin: sending's
    Stamper without it (an ORM update() with the same guard).

    Commits need not wait for the disk flush (synchronous_commit off, for the batch): a killed worker loses
    nothing, since the commit reached the server; only a crash of the database server itself could lose the
    last stamps, and recovery treats those rows as in doubt.
    """

    def __init__(self) -> None:
        connection.ensure_connection()
        self._cursor: psycopg.Cursor[Any] | None = psycopg.Cursor(connection.connection)
        with connection.wrap_database_errors:
            self._cursor.execute("SET synchronous_commit TO off", prepare=False)
        self._direct = _DirectStatements(connection.connection)
        self._sql = {sent: _stamp_sql(sent=sent) for sent in (False, True)}

    def stamp(self, values: list[Any], *, sent: bool) -> None:
        """`values`: status, error, ESP message id, [sent_at,] id, claim, the status guarded (see _stamp_sql)."""
        self._direct.execute(self._sql[sent], values)

    def stamp_sent_many(self, sent: list[tuple[Delivery, str]], *, claim: str) -> None:
        """Many rows sent (delivery, its ESP message id) as one UPDATE from two arrays. Twin: the portable
        Stamper's one ORM update() per message."""
        ids = "{" + ",".join(str(delivery.pk) for delivery, _ in sent) + "}"
        message_ids = "{" + ",".join(_array_text(message_id[:255]) for _, message_id in sent) + "}"
        self._direct.execute(_stamp_sent_many_sql(), [ids, message_ids, timezone.now(), claim])

    def close(self, *, raising: bool) -> None:
        """Back to waiting for the flush (other work does); `raising`: no error of the batch's own to raise."""
        cursor, self._cursor = self._cursor, None
        if cursor is None:
            return
        try:
            with connection.wrap_database_errors:
                cursor.execute("RESET synchronous_commit", prepare=False)
        except Exception:
            if raising:  # otherwise the batch's own error (a lost connection, say) is the one to raise
                raise
        finally:
            cursor.close()


_statement_numbers = itertools.count()
_COMMAND_OK = pq.ExecStatus.COMMAND_OK


class _DirectStatements:
    """Runs one-row writes through libpq itself, each statement prepared once per database session.

    Values go as text (str, int or an aware datetime); the server types them from the statement. With
    DATABASE_PREPARED_STATEMENTS off (a pooler that cannot keep them) each runs unnamed, parsed every time.
    """

    _prepared: weakref.WeakKeyDictionary[psycopg.Connection[Any], dict[str, bytes]] = weakref.WeakKeyDictionary()

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        """Made once per batch: one query checks which of this session's statements are still there."""
        self._raw = raw
        self._pgconn = raw.pgconn
        self._db = connections[DEFAULT_DB_ALIAS]  # the wrapper of `raw`, looked up once, not per statement
        self._encoding = raw.info.encoding
        self._names: dict[str, bytes] | None = None
        if raw.prepare_threshold is not None:
            self._names = self._prepared.setdefault(raw, {})
            if self._names:
                self._forget_deallocated()

    def _forget_deallocated(self) -> None:
        """psycopg sends DEALLOCATE ALL after a rolled-back transaction that prepared statements of its own."""
        assert self._names is not None
        with connection.wrap_database_errors, self._raw.cursor() as cursor:
            cursor.execute("SELECT name FROM pg_prepared_statements", prepare=False)
            there = {name.encode() for (name,) in cursor.fetchall()}
        for sql, name in list(self._names.items()):
            if name not in there:
                del self._names[sql]

    def execute(self, sql: str, values: list[Any]) -> None:
        """Errors are raised as Django's; the wrapper that turns them is entered only when one comes (a stamp a
        message: its per-call cost showed)."""
        encoding = self._encoding
        # timestamptz input: ISO 8601 with its offset
        params = [v.isoformat().encode() if isinstance(v, datetime) else str(v).encode(encoding) for v in values]
        try:
            if self._names is None:
                result = self._pgconn.exec_params(sql.encode(encoding), params)
            else:
                result = self._pgconn.exec_prepared(self._names.get(sql) or self._name(sql), params)
            if result.status != _COMMAND_OK:
                raise psycopg.errors.error_from_result(result, encoding=encoding)
        except Exception:
            with self._db.wrap_database_errors:
                raise

    def _name(self, sql: str) -> bytes:
        assert self._names is not None
        name = self._names.get(sql)
        if name is None:
            name = f"paperboy_direct_{next(_statement_numbers)}".encode()  # psycopg's own are _pg3_N
            result = self._raw.pgconn.prepare(name, sql.encode(self._encoding))
            if result.status != pq.ExecStatus.COMMAND_OK:
                raise psycopg.errors.error_from_result(result, encoding=self._encoding)
            self._names[sql] = name
        return name


@cache
def _stamp_sql(*, sent: bool) -> str:
    """UPDATE delivery SET status, error, esp_message_id[, sent_at] WHERE id, claim, status, with PostgreSQL's
    own $1, $2, ... placeholders (for libpq)."""
    fields = {field.name: field for field in Delivery._meta.concrete_fields}
    column = {name: connection.ops.quote_name(field.column or name) for name, field in fields.items()}
    assigned = ["status", "error", "esp_message_id", *(["sent_at"] if sent else [])]
    sets = ", ".join(f"{column[name]} = %s" for name in assigned)
    # Found by primary key, the guard only checked. Written as an index condition, PostgreSQL's planner took a
    # claim id it had no statistics for as rare and scanned the whole batch through the claim index for every
    # stamp (1 ms of server time per message, growing with the batch).
    guard = f"({column['claim']} = %s AND {column['status']} = %s) IS TRUE"
    where = f"{column['id']} = %s AND {guard}"
    sql = f"UPDATE {connection.ops.quote_name(Delivery._meta.db_table)} SET {sets} WHERE {where}"
    pieces = sql.split("%s")
    return pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], start=1))


def _array_text(value: str) -> str:
    """One element of a PostgreSQL text array literal, quoted."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@cache
def _stamp_sent_many_sql() -> str:
    """Stamp rows sent, by id with their message ids ($1, $2 arrays), at $3, guarded by claim $4."""
    quote = connection.ops.quote_name
    return (
        f"UPDATE {quote(Delivery._meta.db_table)} AS d SET status = 'sent', error = '', esp_message_id = v.message_id, "
        "sent_at = $3 FROM unnest($1::bigint[], $2::text[]) AS v(id, message_id) "
        "WHERE d.id = v.id AND (d.claim = $4 AND d.status = 'sending') IS TRUE"
    )
