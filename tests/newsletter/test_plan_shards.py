"""Planning in shards (id ranges any worker plans): together they plan what one run plans, once."""

from __future__ import annotations

import itertools

import pytest
from django.conf import LazySettings
from django.utils import timezone

from newsletter import tasks
from newsletter.models import Delivery, Subscriber
from newsletter.services.plan_shards import Shard, digest_plan_shard, plan_shards
from newsletter.services.planning import digest_plan
from tests.newsletter.conftest import subscriber_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("edition")]

INTERESTS = (["agents"], ["in-context learning"], ["protein folding"], ["chain-of-thought"])


def _readers(count: int) -> None:
    for n in range(count):
        subscriber_create(f"reader{n:02d}@example.org", INTERESTS[n % len(INTERESTS)])


def _ledger() -> set[tuple[str, str, str, str]]:
    rows = Delivery.objects.values_list("subscriber__email", "period", "status", "papers")
    return {(email, period, status, str(papers)) for email, period, status, papers in rows}


def test_shards_cover_every_active_subscriber_once() -> None:
    _readers(10)
    ids = sorted(Subscriber.objects.values_list("pk", flat=True))

    shards = plan_shards(subscribers_per_shard=3)

    assert len(shards) == 4
    covered = [pk for pk in ids if any(s.id_from <= pk < s.id_to for s in shards)]
    assert covered == ids
    assert all(a.id_to == b.id_from for a, b in itertools.pairwise(shards))  # no overlap, no gap
    assert plan_shards(subscribers_per_shard=100) == [Shard(ids[0], ids[-1] + 1)]


def test_no_active_subscriber_means_no_shard() -> None:
    assert plan_shards(subscribers_per_shard=5) == []
    with pytest.raises(ValueError, match="at least 1"):
        plan_shards(subscribers_per_shard=0)


def test_shards_plan_what_one_run_plans_and_running_them_again_plans_nothing() -> None:
    _readers(9)
    at = timezone.now()
    whole = digest_plan(at=at)
    expected = _ledger()
    Delivery.objects.all().delete()
    Subscriber.objects.update(last_edition=None)

    reports = [digest_plan_shard(at=at, shard=shard) for shard in plan_shards(subscribers_per_shard=2)]
    again = [digest_plan_shard(at=at, shard=shard) for shard in plan_shards(subscribers_per_shard=4)]

    assert _ledger() == expected
    assert sum(r.planned for r in reports) == whole.planned and sum(r.skipped for r in reports) == whole.skipped
    assert sum(r.planned + r.skipped for r in again) == 0  # the ledger's unique key: nobody twice


def test_the_tick_queues_one_planning_task_per_shard(settings: LazySettings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.PAPERBOY_PLAN_SHARD_SUBSCRIBERS = 3
    _readers(7)
    queued: list[tuple[str, int, int]] = []
    monkeypatch.setattr(tasks.digest_plan_shard, "delay", lambda *args: queued.append(args))

    result = tasks.digest_tick()

    assert result["shards"] == 3 == len(queued) and not Delivery.objects.exists()  # planned by the shards
    assert len({at for at, _, _ in queued}) == 1  # one instant, so the same periods
    for at, id_from, id_to in queued:
        tasks.digest_plan_shard(at, id_from, id_to)
    assert Delivery.objects.count() == 7
