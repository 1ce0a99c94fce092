"""Editions and digest planning: who is due, what their digest holds, the ledger written before sending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import LazySettings
from django.utils import timezone
from kombu.exceptions import OperationalError

from newsletter import tasks
from newsletter.models import Delivery, DigestExplanation, Edition, EditionPaper, Subscriber
from newsletter.schedule import subscribers_due
from newsletter.services import planning
from newsletter.services.editions import edition_approve, edition_prepare
from newsletter.services.planning import digest_plan
from papers.models import Paper
from papers.services import dump_ingest
from tests.factories import seed_dump
from tests.newsletter.conftest import subscriber_create

pytestmark = pytest.mark.django_db


def test_an_edition_holds_the_new_papers_featured_first_and_none_hidden(seed_papers: None) -> None:
    featured = Paper.objects.order_by("id")[10]
    hidden = Paper.objects.order_by("id")[11]
    Paper.objects.filter(pk=featured.pk).update(is_featured=True)
    Paper.objects.filter(pk=hidden.pk).update(is_hidden=True)

    edition = edition_prepare()

    assert edition is not None and edition.status == Edition.Status.APPROVED
    entries = list(EditionPaper.objects.filter(edition=edition).order_by("position"))
    assert len(entries) == 286
    assert entries[0].paper_id == featured.pk and entries[0].is_featured
    assert hidden.pk not in {e.paper_id for e in entries}


def test_no_new_papers_means_no_edition() -> None:
    assert edition_prepare() is None
    assert Edition.objects.count() == 0


def test_papers_that_arrive_once_digests_went_out_wait_for_the_next_edition(edition: Edition) -> None:
    subscriber_create("a@example.org", ["in-context learning"])
    digest_plan()
    dump_ingest(data=seed_dump(("A Late Paper on Agents", "Agents, late.")), name="late.txt")

    same_day = edition_prepare()
    tomorrow = edition_prepare(at=timezone.now() + timedelta(days=1))

    assert same_day == edition
    assert not EditionPaper.objects.filter(edition=edition, paper__title="A Late Paper on Agents").exists()
    assert tomorrow is not None and tomorrow != edition
    assert list(tomorrow.papers.values_list("title", flat=True)) == ["A Late Paper on Agents"]


def test_with_review_required_nothing_is_planned_until_an_editor_approves(
    seed_papers: None, settings: LazySettings
) -> None:
    settings.EDITION_REVIEW_REQUIRED = True
    edition = edition_prepare()
    assert edition is not None and edition.status == Edition.Status.AWAITING_REVIEW
    subscriber_create("a@example.org", ["in-context learning"])

    assert digest_plan().planned == 0
    edition_approve(edition=edition)

    assert digest_plan().planned == 1


def test_a_due_subscriber_gets_a_ledger_row_with_scored_explained_papers(edition: Edition) -> None:
    subscriber = subscriber_create("a@example.org", ["in-context learning", "-survey"])

    report = digest_plan()

    delivery = Delivery.objects.get(subscriber=subscriber)
    assert report.planned == 1 and report.pending_ids == [delivery.pk]
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.period == timezone.now().date().isoformat()
    assert delivery.edition == edition
    items = delivery.papers
    assert len(items) >= 10
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    first = items[0]
    assert first["interests"] == ["in-context learning"]
    explanation = DigestExplanation.objects.get(
        edition=edition, paper_id=first["paper_id"], interest=first["interests"][0]
    )
    assert any("context" in word.lower() for word in explanation.words)
    titles = Paper.objects.filter(pk__in=[i["paper_id"] for i in items]).values_list("title", flat=True)
    assert not any("survey" in title.lower() for title in titles)


def test_a_subscriber_with_nothing_matching_gets_a_skipped_row_and_no_email(edition: Edition) -> None:
    subscriber = subscriber_create("a@example.org", ["protein folding"])

    report = digest_plan()

    assert (report.planned, report.skipped, report.pending_ids) == (0, 1, [])
    assert Delivery.objects.get(subscriber=subscriber).status == Delivery.Status.SKIPPED


def test_subscribers_are_due_at_their_hour_in_their_own_zone(edition: Edition) -> None:
    at = datetime.combine(edition.issue_date, datetime.min.time(), tzinfo=UTC) + timedelta(hours=1, minutes=5)
    tokyo = subscriber_create("tokyo@example.org", ["agents"], timezone="Asia/Tokyo", send_hour=10)  # 10:05 there
    not_yet = subscriber_create("later@example.org", ["agents"], timezone="Asia/Tokyo", send_hour=11)
    new_york = subscriber_create("ny@example.org", ["agents"], timezone="America/New_York", send_hour=20)

    due = set(subscribers_due(at=at, latest=edition).values_list("email", flat=True))

    assert tokyo.email in due
    assert not_yet.email not in due
    assert new_york.email in due  # 20:05 of the previous day in New York: its hour has come


def test_weekly_subscribers_are_due_on_their_weekday_only(edition: Edition) -> None:
    at = timezone.now()
    today = subscriber_create("w1@example.org", ["agents"], frequency="weekly", weekday=at.weekday())
    other_day = subscriber_create("w2@example.org", ["agents"], frequency="weekly", weekday=(at.weekday() + 1) % 7)

    due = set(subscribers_due(at=at, latest=edition).values_list("pk", flat=True))

    assert today.pk in due and other_day.pk not in due
    digest_plan(at=at)
    year, week, _ = at.isocalendar()
    assert Delivery.objects.get(subscriber=today).period == f"{year}-W{week:02d}"


def test_only_active_subscribers_are_planned(edition: Edition) -> None:
    subscriber_create("pending@example.org", ["agents"], status=Subscriber.Status.PENDING, confirmed_at=None)
    subscriber_create("paused@example.org", ["agents"], status=Subscriber.Status.PAUSED)
    subscriber_create("gone@example.org", ["agents"], status=Subscriber.Status.UNSUBSCRIBED)

    assert digest_plan().due == 0
    assert Delivery.objects.count() == 0


def test_planning_twice_plans_nothing_new(edition: Edition) -> None:
    subscriber_create("a@example.org", ["agents"])
    subscriber_create("b@example.org", ["protein folding"])
    digest_plan()
    rows = list(Delivery.objects.values_list("pk", "status"))

    again = digest_plan()

    assert again.due == 0 and again.planned == 0
    assert list(Delivery.objects.values_list("pk", "status")) == rows


def test_planning_costs_the_same_queries_for_10_or_60_subscribers(
    edition: Edition, django_assert_max_num_queries: object
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(count: int, offset: int) -> int:
        for n in range(count):
            subscriber_create(f"s{offset + n}@example.org", ["agents", "in-context learning", f"topic {n}"])
        with CaptureQueriesContext(connection) as captured:
            digest_plan()
        return len(captured.captured_queries)

    small, large = queries_for(10, 0), queries_for(60, 100)

    assert large <= small  # no query per subscriber
    assert Delivery.objects.count() == 70


def test_due_subscribers_are_found_with_one_condition_per_zone_not_per_subscriber(edition: Edition) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(30):
        subscriber_create(f"s{n}@example.org", ["agents"], timezone="Europe/Paris" if n % 2 else "UTC")

    with CaptureQueriesContext(connection) as captured:
        due = list(subscribers_due(at=timezone.now(), latest=edition).values_list("pk", flat=True))

    assert len(due) == 30
    assert max(query["sql"].count("EXISTS") for query in captured.captured_queries) == 4  # 2 zones x 2 frequencies


def _readers_in_chunks_of_two(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """`count` subscribers due, whom planning writes two at a time."""
    monkeypatch.setattr(planning, "PLAN_CHUNK", 2)
    for n in range(count):
        subscriber_create(f"reader{n}@example.org", ["in-context learning"])


@pytest.mark.django_db(transaction=True)  # on PostgreSQL, outside a transaction, the ledger writer is threaded
def test_each_chunk_of_the_ledger_is_handed_on_once_committed(
    edition: Edition, monkeypatch: pytest.MonkeyPatch
) -> None:
    _readers_in_chunks_of_two(monkeypatch, 5)
    handed: list[tuple[list[int], int]] = []

    def on_written(ids: list[int]) -> None:  # this connection sees the writer thread's rows once committed
        handed.append((list(ids), Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING).count()))

    report = digest_plan(on_written=on_written)

    assert [len(ids) for ids, _ in handed] == [2, 2, 1]
    assert all(len(ids) == visible for ids, visible in handed)
    assert sorted(pk for ids, _ in handed for pk in ids) == sorted(report.pending_ids)


@pytest.mark.django_db(transaction=True)
def test_the_first_chunks_are_small_so_sending_starts_early(edition: Edition, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planning, "PLAN_FIRST_CHUNK", 1)
    monkeypatch.setattr(planning, "PLAN_CHUNK", 4)
    for n in range(10):
        subscriber_create(f"reader{n}@example.org", ["in-context learning"])
    handed: list[list[int]] = []

    report = digest_plan(on_written=lambda ids: handed.append(list(ids)))

    assert [len(ids) for ids in handed] == [1, 2, 4, 3]
    assert [pk for ids in handed for pk in ids] == sorted(report.pending_ids)


@pytest.mark.django_db(transaction=True)
def test_the_tick_queues_each_chunk_once_as_it_is_written_then_what_was_left_pending(
    edition: Edition, monkeypatch: pytest.MonkeyPatch
) -> None:
    _readers_in_chunks_of_two(monkeypatch, 3)
    earlier = subscriber_create("earlier@example.org", ["agents"])
    stranded = Delivery.objects.create(subscriber=earlier, edition=edition, period="2026-11-01", papers=[])
    Delivery.objects.filter(pk=stranded.pk).update(created_at=timezone.now() - timedelta(days=1))
    queued: list[list[int]] = []
    monkeypatch.setattr(tasks.deliveries_send, "delay_on_commit", lambda ids: queued.append(list(ids)))

    result = tasks.digest_tick()

    pending = Delivery.objects.filter(status=Delivery.Status.PENDING).exclude(pk=stranded.pk)
    planned = list(pending.values_list("pk", flat=True))
    *as_written, left_over = queued
    assert len(planned) >= 3 and len(as_written) >= 2 and all(len(ids) <= 2 for ids in as_written)
    flat = [pk for ids in queued for pk in ids]
    assert sorted(flat) == sorted([*planned, stranded.pk]) and len(flat) == len(set(flat))
    assert left_over == [stranded.pk]
    assert result["dispatched"] == len(flat)


@pytest.mark.django_db(transaction=True)
def test_a_broker_down_while_planning_leaves_the_rows_pending_and_plans_the_rest(
    edition: Edition, monkeypatch: pytest.MonkeyPatch
) -> None:
    _readers_in_chunks_of_two(monkeypatch, 4)
    queued: list[list[int]] = []

    def broker_down_once(ids: list[int]) -> None:
        if not queued:
            queued.append([])
            raise OperationalError("connection refused")
        queued.append(list(ids))

    monkeypatch.setattr(tasks.deliveries_send, "delay_on_commit", broker_down_once)

    result = tasks.digest_tick()

    assert result["planned"] == 4 and Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 4
    assert [len(ids) for ids in queued] == [0, 2]  # the first chunk waits for a later tick; the second went
