"""End to end: two Celery workers as two hosts (own hostnames, one queue, one Redis) send digests with many in
flight each, at one shared rate, through anymail's real HTTP path to the loopback ESP stand-in; one is killed
with SIGKILL mid-run and the other finishes: nobody gets two emails, at most W rows are in doubt, all settle."""

from __future__ import annotations

import bisect
import json
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings, settings

from newsletter.models import Delivery, Subscriber
from tests.e2e.conftest import WorkerProcess, wait_for
from tests.e2e.test_digest_delivery import FINAL, _kill_worker, _worker_env, esp  # noqa: F401  (a fixture)
from tests.esp_standin import EspStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WINDOW = 8
RATE = 40  # messages per second for both hosts together; unpaced they would send 2 x 8 / 0.1 s = 160/s


def _most_within(times: list[float], seconds: float) -> int:
    ordered = sorted(times)
    return max((bisect.bisect_left(ordered, t + seconds) - i for i, t in enumerate(ordered)), default=0)


@pytest.mark.skipif(not settings.REDIS_URL, reason="hosts share the rate through Redis (REDIS_URL)")
@pytest.mark.usefixtures("allow_sync_orm_in_event_loop", "seed_papers", "edition")
def test_two_hosts_share_the_rate_and_one_killed_mid_run_leaves_nobody_two_emails(
    start_worker: Callable[..., WorkerProcess],
    esp: EspStandIn,  # noqa: F811
    live_server: Any,
    tmp_path: Path,
    settings: LazySettings,
    test_output_dir: Path,
) -> None:
    from newsletter.send_rate import send_rate

    subscribers = 600
    Subscriber.objects.bulk_create(
        Subscriber(email=f"reader{n:03d}@example.org", status="active", interests=["language models"],
                   timezone="UTC", send_hour=0, frequency="daily")
        for n in range(subscribers)
    )  # fmt: skip
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    send_rate().reset()  # the schedule these workers share starts empty
    fleet = {
        "PAPERBOY_SEND_IN_FLIGHT": str(WINDOW),
        "PAPERBOY_SEND_RATE": str(RATE),
        "PAPERBOY_SEND_CHUNK": "50",
        "PAPERBOY_SENDING_LEASE_SECONDS": "8",  # longer than a batch of 50 takes at the rate: never a live one
        "PAPERBOY_PENDING_REDISPATCH_SECONDS": "0",
    }
    (tmp_path / "no-dumps").mkdir()
    queue = f"e2e-fleet-{uuid.uuid4().hex[:8]}"
    env = {**_worker_env(esp, live_server, tmp_path / "no-dumps", **fleet), "CELERY_TASK_DEFAULT_QUEUE": queue}
    esp.delay_seconds = 0.1

    doomed = start_worker(env=env, queues=(queue,), hostname=f"host-a-{queue}@%h")
    survivor = start_worker(beat=True, env=env, queues=(queue,), hostname=f"host-b-{queue}@%h")
    wait_for(lambda: len(esp.accepted) >= 200, timeout=120, worker=survivor, what="both hosts to be sending")
    assert doomed.process.poll() is None, doomed.log_tail()
    _kill_worker(doomed)
    killed_at = len(esp.accepted)

    wait_for(
        lambda: Delivery.objects.count() == subscribers and not Delivery.objects.exclude(status__in=FINAL).exists(),
        timeout=180,
        worker=survivor,
        what="the surviving host to finish and every delivery to settle",
    )
    counts = Counter(Delivery.objects.values_list("status", flat=True))
    per_address = Counter(m["To"] for m in esp.accepted)
    summary: dict[str, Any] = {
        "subscribers_due": subscribers,
        "window": WINDOW,
        "rate": RATE,
        "accepted_before_the_kill": killed_at,
        "emails_accepted_by_the_esp": len(esp.accepted),
        "deliveries_by_status": dict(counts),
        "addresses_with_two_or_more_emails": sum(1 for c in per_address.values() if c > 1),
        "most_accepted_in_any_5_s": _most_within(esp.accepted_at, 5.0),
        "hosts_in_the_log": "host-a" in doomed.log_path.read_text() and "host-b" in survivor.log_path.read_text(),
    }
    (test_output_dir / "fault-test-fleet-sigkill.json").write_text(json.dumps(summary, indent=2))

    assert max(per_address.values()) == 1, summary  # nobody got two
    assert counts["sent"] + counts["failed"] == subscribers, summary  # every row settled
    assert counts["failed"] <= WINDOW, summary  # at most the killed batch's window in doubt
    failed = Delivery.objects.filter(status="failed")
    assert all("in doubt" in d.error for d in failed), summary
    sent = set(Delivery.objects.filter(status="sent").values_list("subscriber__email", flat=True))
    assert sent == set(per_address), summary  # what reached the ESP is stamped sent (webhooks settle the doubt)
    # Both hosts together held the fleet's rate: 5 s at 40/s is 200, plus a second's worth for late wake-ups.
    assert summary["most_accepted_in_any_5_s"] <= 5 * RATE + RATE, summary
    assert summary["hosts_in_the_log"], summary
