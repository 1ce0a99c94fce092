"""Many messages in flight per batch (PAPERBOY_SEND_IN_FLIGHT), through anymail's real HTTP path to the loopback
ESP stand-in: the window's bound, stamps, a transient failure mid-window, a 429, recovery of a window's claim."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.conf import LazySettings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from newsletter.models import Delivery, TrackingEvent
from newsletter.send_rate import send_rate
from newsletter.services.inflight import claim_new, claim_window
from newsletter.services.planning import digest_plan
from newsletter.services.sending import deliveries_recover, deliveries_send
from tests.esp_standin import EspStandIn
from tests.newsletter.conftest import subscriber_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("edition")]


def _planned(count: int) -> list[int]:
    for n in range(count):
        subscriber_create(f"reader{n:02d}@example.org", ["agents"])
    ids = digest_plan().pending_ids
    assert len(ids) == count
    return ids


def test_a_batch_keeps_up_to_the_window_in_flight_and_stamps_each_message_with_its_id(
    esp: EspStandIn, settings: LazySettings
) -> None:
    settings.PAPERBOY_SEND_IN_FLIGHT = 4
    esp.delay_seconds = 0.3  # each answer waits: the messages overlap only if the batch keeps several open
    ids = _planned(12)

    report = deliveries_send(delivery_ids=ids)

    assert report.sent == 12 and not report.retry_ids
    assert 1 < esp.most_in_flight <= 4
    stamped = dict(Delivery.objects.values_list("esp_message_id", "subscriber__email"))
    assert stamped == {m["MessageID"]: m["To"] for m in esp.accepted}  # each row has its own message's id
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


def test_with_a_window_of_one_no_two_messages_overlap(esp: EspStandIn, settings: LazySettings) -> None:
    settings.PAPERBOY_SEND_IN_FLIGHT = 1
    esp.delay_seconds = 0.05
    ids = _planned(5)

    assert deliveries_send(delivery_ids=ids).sent == 5
    assert esp.most_in_flight == 1


def test_answers_that_arrive_together_are_stamped_in_one_statement_on_postgresql(
    esp: EspStandIn, settings: LazySettings
) -> None:
    settings.PAPERBOY_SEND_IN_FLIGHT = 8
    esp.delay_seconds = 0.2
    ids = _planned(8)

    with CaptureQueriesContext(connection) as queries:
        report = deliveries_send(delivery_ids=ids)

    assert report.sent == 8
    assert Delivery.objects.filter(status=Delivery.Status.SENT, sent_at__isnull=False).count() == 8
    assert len(set(Delivery.objects.values_list("esp_message_id", flat=True))) == 8
    if connection.vendor != "postgresql":
        assert sum("UPDATE" in q["sql"] for q in queries.captured_queries) >= 8  # one stamp per message
    # (PostgreSQL's stamps go straight through libpq, not the cursor: test_sending pins that they are prepared.)


def test_a_transient_failure_in_the_window_starts_nothing_more_and_puts_the_unsent_back(
    esp: EspStandIn, settings: LazySettings
) -> None:
    settings.PAPERBOY_SEND_IN_FLIGHT = 3
    esp.delay_seconds = 0.2
    esp.fail_next(1, status=503)  # the first message fails at once; the two beside it are in flight
    ids = _planned(8)

    first = deliveries_send(delivery_ids=ids)

    assert first.sent + len(first.retry_ids) == 8
    assert first.sent <= 3  # only those already in flight when the failure came back
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == first.sent
    assert set(Delivery.objects.filter(pk__in=first.retry_ids).values_list("status", flat=True)) == {"pending"}
    second = deliveries_send(delivery_ids=first.retry_ids)
    assert second.sent == len(first.retry_ids)
    assert max(Counter(m["To"] for m in esp.accepted).values()) == 1 and len(esp.accepted) == 8


def test_a_429_with_a_short_retry_after_pauses_the_fleet_and_the_message_goes_after_it(
    esp: EspStandIn, settings: LazySettings
) -> None:
    settings.PAPERBOY_SEND_IN_FLIGHT = 2
    esp.fail_next(1, status=429, retry_after=1)
    ids = _planned(3)

    report = deliveries_send(delivery_ids=ids)

    assert report.sent == 3 and not report.retry_ids  # offered again in the batch, not put back
    assert esp.requests == 4 and len(esp.accepted) == 3


def test_a_429_longer_than_a_worker_waits_puts_the_batch_back_and_holds_every_batch(
    esp: EspStandIn, settings: LazySettings
) -> None:
    settings.PAPERBOY_SEND_IN_FLIGHT = 1
    settings.PAPERBOY_SEND_THROTTLE_WAIT_SECONDS = 5
    esp.fail_next(1, status=429, retry_after=60)
    ids = _planned(2)

    first = deliveries_send(delivery_ids=ids[:1])
    second = deliveries_send(delivery_ids=ids[1:])  # another batch (any worker): the fleet is paused

    assert first.retry_ids == ids[:1] and first.retry_after == 60
    assert second.sent == 0 and second.retry_ids == ids[1:] and (second.retry_after or 0) > 5
    assert esp.requests == 1  # the second batch did not call the ESP during the pause
    send_rate().reset()
    assert deliveries_send(delivery_ids=ids).sent == 2


def test_a_claim_carries_its_window_and_fits_the_column() -> None:
    claim = claim_new(window=64)
    assert claim_window(claim) == 64 and len(claim) == Delivery._meta.get_field("claim").max_length
    assert claim_new(window=64) != claim
    assert claim_window("dead") == 1 and claim_window("0" * 32) == 1  # claims made before windows


def test_recovery_of_a_window_settles_its_lowest_unstamped_rows_and_puts_the_others_back(esp: EspStandIn) -> None:
    ids = sorted(_planned(7))
    stale = timezone.now() - timedelta(hours=1)
    claim = claim_new(window=3)
    Delivery.objects.filter(pk__in=ids).update(status=Delivery.Status.SENDING, claim=claim, sending_at=stale)
    Delivery.objects.filter(pk=ids[0]).update(status=Delivery.Status.SENT)  # stamped before the crash
    TrackingEvent.objects.create(event_id="e1", event_type="delivered", esp_message_id="m-2", delivery_id=ids[2])

    counts = deliveries_recover()

    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses[ids[2]] == Delivery.Status.SENT  # the ESP reported it
    assert [statuses[pk] for pk in (ids[1], ids[3], ids[4])] == ["failed"] * 3  # the window: in doubt
    assert [statuses[pk] for pk in ids[5:]] == ["pending"] * 2  # never handed over
    assert counts == {"sent": 1, "in_doubt": 3, "pending": 2}


def test_requests_look_in_the_environment_only_when_something_is_there(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    import os

    from newsletter.services.inflight import requests_environment_used

    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name.lower() in {"requests_ca_bundle", "curl_ca_bundle", "netrc"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no .netrc there
    requests_environment_used.cache_clear()
    try:
        assert requests_environment_used() is False
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
        requests_environment_used.cache_clear()
        assert requests_environment_used() is True  # then every session keeps trust_env and uses the proxy
    finally:
        requests_environment_used.cache_clear()


def test_a_digest_that_cannot_be_rendered_fails_alone_and_the_rest_go(
    esp: EspStandIn, settings: LazySettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsletter.services import sending

    settings.PAPERBOY_SEND_IN_FLIGHT = 4
    ids = sorted(_planned(4))
    build = sending._digest_message

    def broken_for_the_second(delivery: Delivery, links_at: tuple[str, str]) -> object:
        if delivery.pk == ids[1]:
            raise ValueError("a template error")
        return build(delivery, links_at)

    monkeypatch.setattr(sending, "_digest_message", broken_for_the_second)

    report = deliveries_send(delivery_ids=ids)

    assert (report.sent, report.failed) == (3, 1)
    broken = Delivery.objects.get(pk=ids[1])
    assert broken.status == Delivery.Status.FAILED and "a template error" in broken.error
    assert len(esp.accepted) == 3
