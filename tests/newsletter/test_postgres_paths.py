"""Every PostgreSQL fast path against its portable twin (newsletter/services/postgres/), and their own checks.

The equality tests run the same work twice on PostgreSQL, once through `portable_paths()` (the code that
runs on SQLite) and once through the fast paths, and compare what was written or sent.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from newsletter.models import Delivery, DigestExplanation, Edition, Subscriber
from newsletter.services import sending
from newsletter.services.indexing import acronyms_learn
from newsletter.services.planning import digest_plan
from newsletter.services.postgres import portable_paths
from newsletter.services.postgres.claims import _DirectStatements, claim_sql
from newsletter.services.sending import deliveries_send
from tests.esp_standin import EspStandIn
from tests.newsletter.conftest import subscriber_create

pytestmark = pytest.mark.django_db

PEOPLE = (
    ("ada@example.org", ["in-context learning", "agents"]),
    ("bob@example.org", ["language models", "-survey"]),
    ("cy@example.org", ["reasoning", "diffusion", "benchmark"]),
)


def _planned(*emails_and_interests: tuple[str, list[str]]) -> list[int]:
    for email, interests in emails_and_interests:
        subscriber_create(email, interests)
    return digest_plan().pending_ids


def _ledger() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    deliveries = Delivery.objects.order_by("subscriber_id").values_list(
        "subscriber_id", "period", "status", "papers", "edition_id", "covers_after_id", "attempts", "claim"
    )
    explanations = DigestExplanation.objects.order_by("paper_id", "interest").values_list(
        "edition_id", "paper_id", "interest", "words", "title", "snippet", "kind"
    )
    subscribers = Subscriber.objects.order_by("pk").values_list("pk", "last_edition_id")
    return list(deliveries), list(explanations), list(subscribers)


@pytest.mark.usefixtures("edition")
def test_planning_writes_the_same_ledger_through_copy_as_through_bulk_create() -> None:
    """ledger_copy, explanations_copy and last_edition_set against bulk_create, bulk_create and update()."""
    if connection.vendor != "postgresql":
        pytest.skip("the fast paths are PostgreSQL's")
    for email, interests in PEOPLE:
        subscriber_create(email, interests)
    acronyms_learn()  # both runs then read the same stored table (the first run would store it otherwise)
    with portable_paths():
        portable_report = digest_plan()
    portable = _ledger()
    Delivery.objects.all().delete()
    DigestExplanation.objects.all().delete()
    Subscriber.objects.update(last_edition=None)

    fast_report = digest_plan()

    assert (fast_report.due, fast_report.planned, fast_report.skipped) == (
        portable_report.due,
        portable_report.planned,
        portable_report.skipped,
    )
    assert portable[0] and portable[1]  # something was planned and explained
    assert _ledger() == portable


def _sent_one(delivery_id: int, esp: EspStandIn) -> tuple[dict[str, Any], tuple[Any, ...]]:
    sending._renderers.clear()  # the renderer reads the stored explanations again, through this path
    assert deliveries_send(delivery_ids=[delivery_id]).sent == 1
    row = Delivery.objects.values_list("status", "error", "attempts", "claim").get(pk=delivery_id)
    message = esp.accepted[-1]
    # Signed links carry the second they were signed: compare them without it.
    unsigned = {key: _SIGNED.sub(":TIME:SIGNATURE", message[key]) for key in ("TextBody", "HtmlBody")}
    headers = sorted(header["Name"] for header in message["Headers"])
    return {**unsigned, "Subject": message["Subject"], "Metadata": message["Metadata"], "Headers": headers}, row[:3]


_SIGNED = re.compile(r":[0-9A-Za-z]+:[A-Za-z0-9_-]{43}")


@pytest.mark.usefixtures("edition")
def test_a_digest_is_claimed_rendered_and_stamped_the_same_through_either_path(esp: EspStandIn) -> None:
    """claim_returning, Stamps and explanations_as_one_json against the ORM's claim, update() and values_list."""
    if connection.vendor != "postgresql":
        pytest.skip("the fast paths are PostgreSQL's")
    (delivery_id,) = _planned(PEOPLE[0])
    with portable_paths():
        portable_message, portable_row = _sent_one(delivery_id, esp)
    sent_at = Delivery.objects.get(pk=delivery_id).sent_at
    Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.PENDING, attempts=0, sent_at=None)

    fast_message, fast_row = _sent_one(delivery_id, esp)

    assert sent_at is not None and Delivery.objects.get(pk=delivery_id).sent_at is not None
    assert fast_row == portable_row == (Delivery.Status.SENT, "", 1)
    assert fast_message == portable_message


@pytest.mark.usefixtures("edition")
def test_stamps_on_postgresql_are_prepared_and_leave_the_session_as_it_was(esp: EspStandIn) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements and synchronous_commit are PostgreSQL's")
    ids = _planned(("ada@example.org", ["agents"]), ("bob@example.org", ["in-context learning"]))

    assert deliveries_send(delivery_ids=ids).sent == 2

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)
    assert any(sql.startswith('UPDATE "newsletter_delivery" SET "status"') for sql in prepared), prepared


@pytest.mark.usefixtures("edition")
def test_stamps_survive_prepared_statements_dropped_between_batches(esp: EspStandIn) -> None:
    """psycopg deallocates every prepared statement after a failed transaction; stamps prepare theirs again."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    first = _planned(("ada@example.org", ["agents"]))
    assert deliveries_send(delivery_ids=first).sent == 1
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")

    second = _planned(("bob@example.org", ["in-context learning"]))
    assert deliveries_send(delivery_ids=second).sent == 1

    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}
    assert all(sent_at is not None for sent_at in Delivery.objects.values_list("sent_at", flat=True))


@pytest.mark.usefixtures("edition")
def test_stamps_run_unprepared_when_prepared_statements_are_off(esp: EspStandIn) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    ids = _planned(("ada@example.org", ["agents"]), ("bob@example.org", ["in-context learning"]))
    raw = connection.connection
    before = _prepared_statement_names()
    threshold, raw.prepare_threshold = raw.prepare_threshold, None  # as DATABASE_PREPARED_STATEMENTS=false
    try:
        assert deliveries_send(delivery_ids=ids).sent == 2
    finally:
        raw.prepare_threshold = threshold
    assert _prepared_statement_names() == before
    assert list(Delivery.objects.values_list("status", flat=True)) == [Delivery.Status.SENT] * 2


def _prepared_statement_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def test_a_failed_direct_statement_raises_djangos_database_error() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the direct path is PostgreSQL's")
    connection.ensure_connection()
    direct = _DirectStatements(connection.connection)

    with pytest.raises(DatabaseError, match="no_such_table"):
        direct.execute("UPDATE no_such_table SET x = $1", ["1"])


@pytest.mark.usefixtures("edition")
def test_a_claim_finds_its_rows_by_id_whatever_the_statistics_say_of_pending_rows() -> None:
    """Statistics taken while few rows were pending (as before a plan run) once led PostgreSQL to AND the ids
    with the whole partial index of pending rows: a claim read every pending row of the ledger."""
    if connection.vendor != "postgresql":
        pytest.skip("the claim's UPDATE ... RETURNING is PostgreSQL's")
    subscriber = subscriber_create("ada@example.org", ["agents"])
    edition = Edition.objects.get()
    rows = [
        Delivery(subscriber=subscriber, period=f"p{n}", edition=edition, status=Delivery.Status.SENT)
        for n in range(5_000)
    ]
    ids = [row.pk for row in Delivery.objects.bulk_create(rows)]
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Delivery._meta.db_table}")
    Delivery.objects.update(status=Delivery.Status.PENDING)

    with connection.cursor() as cursor:
        params: list[Any] = [Delivery.Status.SENDING, "c", timezone.now(), ids[:500], Delivery.Status.PENDING]
        cursor.execute(f"EXPLAIN {claim_sql()}", params)
        plan = "\n".join(line for (line,) in cursor.fetchall())

    assert "delivery_pending_since" not in plan, plan
    assert "newsletter_delivery_pkey" in plan, plan


@pytest.mark.usefixtures("edition")
def test_the_ledgers_picks_are_written_and_read_back_with_lz4_on_postgresql(esp: EspStandIn) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("column compression is PostgreSQL's")
    many = ["language models", "agents", "reasoning", "diffusion", "video", "benchmark", "reinforcement learning"]
    ids = _planned(("ada@example.org", many))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_compression(papers), length(papers::text) FROM newsletter_delivery WHERE id = %s",
            ids,
        )
        compression, length = cursor.fetchone()
    assert length > 2_100, length  # beyond the size PostgreSQL compresses at: what is read back was compressed
    assert compression == "lz4"

    assert deliveries_send(delivery_ids=ids).sent == 1
    assert Delivery.objects.get().papers[0]["paper_id"] in {p.pk for p in Edition.objects.get().papers.all()}
