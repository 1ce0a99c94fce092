"""Planning in shards: the due subscribers cut into id ranges, each planned by a Celery task any worker runs.

One process plans about a thousand subscribers a second (docs/performance.md): ten million would take hours
on one core. Cut by subscriber id, each range is planned by `digest_plan` as a whole run is (its own paper
index and per-interest memo, its chunks written and handed to the senders as they commit), so shards run on
every worker of every host at once. They need nothing from each other: the ledger's unique key (subscriber,
period) and its ON CONFLICT DO NOTHING make a shard run twice, or two overlapping ranges, plan each
subscriber once, and every shard gets the same `at` (so the same periods) from the tick that cut them.

Ranges are equal spans of ids between the lowest and highest active subscriber: ids are given in order and
rarely deleted, so a span holds about as many subscribers as another, with one aggregate query (no list of
ten million ids read to cut them). Distinct-interest groups would share more matching work per shard, but
the memo is cheap to rebuild (each distinct interest once per shard) next to writing the rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Min

from newsletter.models import Subscriber
from newsletter.services.ledger import PlanReport
from newsletter.services.planning import digest_plan


@dataclass(frozen=True)
class Shard:
    """Subscribers with id_from <= id < id_to."""

    id_from: int
    id_to: int


def plan_shards(*, subscribers_per_shard: int) -> list[Shard]:
    """Id ranges covering every active subscriber, about `subscribers_per_shard` each (one if fewer)."""
    if subscribers_per_shard < 1:
        raise ValueError(f"subscribers_per_shard must be at least 1, not {subscribers_per_shard}")
    active = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
    bounds = active.aggregate(low=Min("pk"), high=Max("pk"), count=Count("pk"))
    if not bounds["count"]:
        return []
    low, high = bounds["low"], bounds["high"] + 1
    shards = max(1, math.ceil(bounds["count"] / subscribers_per_shard))
    span = math.ceil((high - low) / shards)
    return [Shard(start, min(start + span, high)) for start in range(low, high, span)]


def digest_plan_shard(
    *, at: datetime, shard: Shard, on_written: Callable[[list[int]], object] | None = None
) -> PlanReport:
    """Plan the due subscribers of one shard, as `digest_plan` plans all of them."""
    return digest_plan(at=at, on_written=on_written, id_range=(shard.id_from, shard.id_to))
