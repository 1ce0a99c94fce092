"""Every PostgreSQL fast path of the newsletter, each beside the name of its portable twin and of the test
that pins their equal results. The business rules (planning, ledger, sending) read plainly and ask
`fast_paths_on()`; everything vendor-specific is in this package: copy.py (planning's bulk writes and the
explanations read back), claims.py (sending's claim and stamps).

Fast path (here) -> its portable twin; the equality test (tests/newsletter/test_postgres_paths.py unless said):
- ledger_copy (COPY, INSERT ... SELECT ... ON CONFLICT) -> ledger._ledger_write's bulk_create; test: planning.
- column_compression (LZ4 on the staging column) -> the column's own; test_sending: ..._with_lz4_on_postgresql.
- last_edition_set (UPDATE ... WHERE id = ANY(array)) -> ledger._last_edition_set's update(); test: planning.
- explanations_copy (COPY, INSERT ... SELECT) -> explanations.explanations_store's bulk_create; test: planning.
- explanations_as_one_json (one JSON array a row) -> explanations.digest_explanations_after's values_list;
  test: sending (the digests rendered from them).
- claim_returning (UPDATE ... RETURNING) -> sending._claim's select_for_update and update(); test: sending.
- Stamper (a prepared UPDATE through libpq; stamp_sent_many: one UPDATE from arrays) -> sending's stamp through
  the ORM, one update() a message; test: sending.

`portable_paths()` turns them off for a block, on PostgreSQL too: how the tests compare both ways.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection

_portable: ContextVar[bool] = ContextVar("newsletter_portable_paths", default=False)


def fast_paths_on() -> bool:
    """True on PostgreSQL, unless a test asked for the portable paths (`portable_paths`)."""
    return connection.vendor == "postgresql" and not _portable.get()


@contextmanager
def portable_paths() -> Iterator[None]:
    """The portable twin of every fast path, for this block: what the equality tests compare against."""
    token = _portable.set(True)
    try:
        yield
    finally:
        _portable.reset(token)


# After fast_paths_on: the submodules read nothing of this one at import time.
from newsletter.services.postgres.claims import Stamps, claim_returning, claim_sql  # noqa: E402
from newsletter.services.postgres.copy import (  # noqa: E402
    column_compression,
    explanations_as_one_json,
    explanations_copy,
    last_edition_set,
    ledger_copy,
    staged_copy,
)

__all__ = [
    "Stamps",
    "claim_returning",
    "claim_sql",
    "column_compression",
    "explanations_as_one_json",
    "explanations_copy",
    "fast_paths_on",
    "last_edition_set",
    "ledger_copy",
    "portable_paths",
    "staged_copy",
]
