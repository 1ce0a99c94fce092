"""End to end: a real worker and beat ingest a dump, prepare the edition, plan and send digests through
anymail's real HTTP code path to a loopback ESP stand-in; then a worker is killed in the middle of a batch."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings

from newsletter.models import Delivery, Edition, Subscriber
from tests.e2e.conftest import WorkerProcess, wait_for
from tests.esp_standin import EspStandIn
from tests.newsletter.conftest import subscriber_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
FINAL = {Delivery.Status.SENT, Delivery.Status.FAILED, Delivery.Status.SKIPPED, Delivery.Status.SUPPRESSED}


@pytest.fixture
def esp(settings: LazySettings, live_server: Any) -> Iterator[EspStandIn]:
    standin = EspStandIn().start()
    # The stand-in reports deliveries back to the app's anymail webhook, as Postmark would.
    standin.webhook_url = f"{live_server.url}/anymail/postmark/tracking/"
    standin.webhook_auth = "hook:secret"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "t", "WEBHOOK_SECRET": "hook:secret"}
    yield standin
    standin.stop()


def _worker_env(esp: EspStandIn, live_server: Any, dumps: Path, **extra: str) -> dict[str, str]:
    return {
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "POSTMARK_SERVER_TOKEN": "t",
        "POSTMARK_API_URL": esp.api_url,
        "ANYMAIL_WEBHOOK_SECRET": "hook:secret",
        "ANYMAIL_REQUESTS_TIMEOUT": "5",
        "PAPERBOY_SITE_URL": live_server.url,
        "PAPERBOY_DUMPS_DIR": str(dumps),
        "PAPERBOY_DUMPS_SCAN_INTERVAL": "1",
        "PAPERBOY_DIGEST_TICK_SECONDS": "2",
        **extra,
    }


@pytest.mark.usefixtures("allow_sync_orm_in_event_loop")
def test_worker_and_beat_ingest_plan_and_deliver_digests(
    start_worker: Callable[..., WorkerProcess],
    esp: EspStandIn,
    live_server: Any,
    tmp_path: Path,
    seed_files: list[Path],
) -> None:
    readers = {
        "icl@example.org": ["in-context learning"],
        "cot@example.org": ["chain-of-thought", "-survey"],
        "nothing@example.org": ["protein folding"],
    }
    for email, interests in readers.items():
        subscriber_create(email, interests)
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    shutil.copy(seed_files[1], dumps / seed_files[1].name)

    worker = start_worker(beat=True, env=_worker_env(esp, live_server, dumps))
    wait_for(
        lambda: (
            len(esp.accepted) >= 2
            and not Delivery.objects.exclude(status__in=FINAL).exists()
            and Delivery.objects.count() == 3
        ),
        timeout=90,
        worker=worker,
        what="the digests to go out",
    )

    assert Edition.objects.count() == 1
    statuses = dict(Delivery.objects.values_list("subscriber__email", "status"))
    assert statuses == {
        "icl@example.org": "sent",
        "cot@example.org": "sent",
        "nothing@example.org": "skipped",
    }
    for email in ("icl@example.org", "cot@example.org"):
        (message,) = esp.accepted_to(email)
        delivery = Delivery.objects.get(subscriber__email=email)
        assert delivery.esp_message_id == message["MessageID"]
        assert "<mark" in message["HtmlBody"]
        assert readers[email][0] in message["TextBody"]
        headers = {h["Name"]: h["Value"] for h in message["Headers"]}
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert live_server.url + "/unsubscribe/" in headers["List-Unsubscribe"]
        assert message["Metadata"] == {"delivery_id": str(delivery.pk)}
    assert esp.accepted_to("nothing@example.org") == []

    time.sleep(5)  # two more beat ticks and several scans: every job runs again
    assert len(esp.accepted) == 2
    assert Delivery.objects.count() == 3


def _kill_worker(worker: WorkerProcess) -> None:
    """SIGKILL the worker and its pool children at once: no warm shutdown, no acknowledgement, no cleanup."""
    children = _children(worker.process.pid)  # before the kill: orphans are re-parented and lost from view
    for pid in [worker.process.pid, *children]:
        os.kill(pid, signal.SIGKILL)
    worker.process.wait(timeout=10)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.usefixtures("allow_sync_orm_in_event_loop", "seed_papers", "edition")
def test_a_worker_killed_mid_batch_leaves_every_subscriber_one_email_or_a_recorded_failure(
    start_worker: Callable[..., WorkerProcess],
    esp: EspStandIn,
    live_server: Any,
    tmp_path: Path,
    settings: LazySettings,
    test_output_dir: Path,
) -> None:
    from newsletter.models import EditionPaper

    subscribers = 500
    Subscriber.objects.bulk_create(
        Subscriber(
            email=f"reader{n:03d}@example.org",
            status="active",
            interests=["language models"],
            timezone="UTC",
            send_hour=0,
            frequency="daily",
        )
        for n in range(subscribers)
    )
    assert EditionPaper.objects.exists()
    esp_slowly = {
        "PAPERBOY_SEND_CHUNK": "500",
        "PAPERBOY_SENDING_LEASE_SECONDS": "1",
        "PAPERBOY_PENDING_REDISPATCH_SECONDS": "0",
    }
    (tmp_path / "no-dumps").mkdir()
    env = _worker_env(esp, live_server, tmp_path / "no-dumps", **esp_slowly)
    esp.delay_seconds = 0.02  # ~10 s for the batch: time to kill the worker in the middle of it

    first = start_worker(beat=True, env=env)
    wait_for(lambda: len(esp.accepted) >= 150, timeout=90, worker=first, what="the batch to be under way")
    _kill_worker(first)
    killed_at = len(esp.accepted)
    sending_after_kill = Delivery.objects.filter(status="sending").count()

    second = start_worker(beat=True, env=env)
    wait_for(
        lambda: not Delivery.objects.exclude(status__in=FINAL).exists(),
        timeout=120,
        worker=second,
        what="every delivery to settle",
    )
    time.sleep(6)  # every job runs again (ticks, scans): nothing more may be sent
    counts = Counter(Delivery.objects.values_list("status", flat=True))
    per_address = Counter(m["To"] for m in esp.accepted)
    summary = {
        "subscribers_due": subscribers,
        "emails_accepted_by_the_esp": len(esp.accepted),
        "accepted_before_the_kill": killed_at,
        "rows_sending_at_the_kill": sending_after_kill,
        "deliveries_by_status": dict(counts),
        "addresses_with_two_or_more_emails": sum(1 for c in per_address.values() if c > 1),
    }
    (test_output_dir / "fault-test-sigkill.json").write_text(json.dumps(summary, indent=2))

    assert Delivery.objects.count() == subscribers
    assert max(per_address.values()) == 1, summary  # nobody got two
    sent = set(Delivery.objects.filter(status="sent").values_list("subscriber__email", flat=True))
    assert sent == set(per_address), summary  # every email sent is stamped sent, and vice versa
    failed = Delivery.objects.filter(status="failed")
    assert all("in doubt" in d.error for d in failed)
    assert counts["sent"] + counts["failed"] == subscribers, summary
