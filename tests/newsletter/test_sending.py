"""Sending through anymail's real HTTP path to a loopback ESP stand-in: content, faults, retries, recovery."""

from __future__ import annotations

import base64
import gc
import json
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import LazySettings
from django.test import Client
from django.utils import timezone

from newsletter import tokens
from newsletter.emails import retry_delay
from newsletter.models import Delivery, Edition, Subscriber, Suppression, TrackingEvent
from newsletter.services.planning import digest_plan
from newsletter.services.sending import deliveries_recover, deliveries_send, renderer_for
from newsletter.services.suppressions import email_is_suppressed, email_suppress
from tests.esp_standin import EspStandIn
from tests.newsletter.conftest import subscriber_create

pytestmark = pytest.mark.django_db


def _planned(*emails_and_interests: tuple[str, list[str]]) -> list[int]:
    for email, interests in emails_and_interests:
        subscriber_create(email, interests)
    return digest_plan().pending_ids


@pytest.mark.usefixtures("edition")
def test_a_digest_goes_out_with_highlights_headers_plain_text_and_metadata(esp: EspStandIn) -> None:
    ids = _planned(("ada@example.org", ["in-context learning"]))

    report = deliveries_send(delivery_ids=ids)

    assert report.sent == 1
    (message,) = esp.accepted
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT and delivery.esp_message_id == message["MessageID"]
    count = len(delivery.papers)
    assert message["Subject"].startswith(f"{count} new papers for you, listed Mar 11 – Sep 12: ")
    assert "<mark" in message["HtmlBody"] and 'style="' in message["HtmlBody"]
    assert "Editor" not in message["HtmlBody"] or "Editor's picks" in message["HtmlBody"]
    assert "YOUR PAPERS" in message["TextBody"] and "<" not in message["TextBody"].replace("<EOS>", "")
    headers = {h["Name"]: h["Value"] for h in message["Headers"]}
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in headers["List-Unsubscribe"] and "mailto:" in headers["List-Unsubscribe"]
    assert headers["List-Id"].startswith("Paperboy digest")
    assert message["Metadata"] == {"delivery_id": str(delivery.pk)}
    assert message["Tag"] == "digest"
    assert "in-context learning" in message["TextBody"]  # which interest each paper matched
    assert len(message["HtmlBody"].encode()) + len(message["TextBody"].encode()) < 100 * 1024


@pytest.mark.usefixtures("edition")
def test_a_long_digest_stays_under_100_kb_and_lists_the_rest_by_title(esp: EspStandIn) -> None:
    ids = _planned(("ada@example.org", ["language models", "learning", "transformers"]))

    deliveries_send(delivery_ids=ids)

    (message,) = esp.accepted
    assert len(Delivery.objects.get().papers) > 60
    assert len(message["HtmlBody"].encode()) < 100 * 1024
    assert "More matches" in message["HtmlBody"] and "MORE MATCHES" in message["TextBody"]


@pytest.mark.usefixtures("edition")
def test_sending_again_sends_nothing_more(esp: EspStandIn) -> None:
    ids = _planned(("ada@example.org", ["agents"]), ("bob@example.org", ["in-context learning"]))
    deliveries_send(delivery_ids=ids)

    again = deliveries_send(delivery_ids=ids)

    assert (again.sent, again.failed, again.retry_ids) == (0, 0, [])
    assert len(esp.accepted) == 2


@pytest.mark.usefixtures("edition")
def test_a_renderers_memos_stay_set_aside_from_collections_after_a_batch(esp: EspStandIn) -> None:
    """After each batch gc.freeze() sets the worker's memos aside. A plain dict of tuple keys was untracked by the
    collection before it, then tracked again among the youngest objects by the next batch's first new block, so
    every later collection walked the whole memo."""
    first = _planned(("ada@example.org", ["agents"]))
    assert deliveries_send(delivery_ids=first).sent == 1
    second = Delivery.objects.select_related("subscriber", "edition").get(
        pk__in=_planned(("bob@example.org", ["in-context learning"]))
    )
    renderer = renderer_for(second)
    blocks_before = len(renderer._blocks)

    renderer.render(delivery_id=second.pk, subscriber=second.subscriber, items=second.papers)

    assert len(renderer._blocks) > blocks_before  # new (paper, interest) pairs were memoized
    collected = {id(tracked) for tracked in gc.get_objects()}
    assert id(renderer._blocks) not in collected
    assert id(renderer._subjects) not in collected


@pytest.mark.usefixtures("edition")
def test_a_5xx_puts_the_batch_back_for_a_retry_that_then_sends_it(esp: EspStandIn, settings: LazySettings) -> None:
    settings.PAPERBOY_SEND_IN_FLIGHT = 1  # one at a time: the second never starts (see test_sending_in_flight)
    ids = _planned(("ada@example.org", ["agents"]), ("bob@example.org", ["in-context learning"]))
    esp.fail_next(1, status=503)

    first = deliveries_send(delivery_ids=ids)

    assert first.sent == 0 and sorted(first.retry_ids) == sorted(ids)
    assert set(Delivery.objects.values_list("status", "attempts")) == {(Delivery.Status.PENDING, 1)}
    assert "503" in Delivery.objects.first().error  # type: ignore[union-attr]
    second = deliveries_send(delivery_ids=first.retry_ids)
    assert second.sent == 2 and len(esp.accepted) == 2


@pytest.mark.usefixtures("edition")
def test_a_429_with_retry_after_is_honoured(esp: EspStandIn) -> None:
    ids = _planned(("ada@example.org", ["agents"]))
    esp.fail_next(1, status=429, retry_after=42)

    report = deliveries_send(delivery_ids=ids)

    assert report.retry_ids == ids and report.retry_after == 42
    assert retry_delay(attempts=1, retry_after=report.retry_after) >= 42


@pytest.mark.usefixtures("edition")
def test_a_timeout_is_retried_not_failed(esp: EspStandIn) -> None:
    ids = _planned(("ada@example.org", ["agents"]))
    esp.fail_next(1, status=500, hang_seconds=2.5)  # the client gives up after 1 s

    report = deliveries_send(delivery_ids=ids)

    assert report.retry_ids == ids
    assert Delivery.objects.get().status == Delivery.Status.PENDING


@pytest.mark.usefixtures("edition")
def test_a_refused_recipient_fails_is_suppressed_and_is_not_retried(esp: EspStandIn) -> None:
    ids = _planned(("bounced@example.org", ["agents"]), ("ok@example.org", ["agents"]))
    esp.inactive.add("bounced@example.org")

    report = deliveries_send(delivery_ids=ids)

    assert (report.sent, report.failed, report.retry_ids) == (1, 1, [])
    failed = Delivery.objects.get(subscriber__email="bounced@example.org")
    assert failed.status == Delivery.Status.FAILED and "refused" in failed.error
    assert email_is_suppressed(email="bounced@example.org")


@pytest.mark.usefixtures("edition")
def test_suppression_is_checked_again_right_before_sending(esp: EspStandIn) -> None:
    ids = _planned(("ada@example.org", ["agents"]), ("bob@example.org", ["agents"]))
    email_suppress(email="ada@example.org", reason=Suppression.Reason.COMPLAINED)
    Subscriber.objects.filter(email="bob@example.org").update(status=Subscriber.Status.UNSUBSCRIBED)

    report = deliveries_send(delivery_ids=ids)

    assert (report.sent, report.suppressed) == (0, 2)
    assert not esp.accepted
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SUPPRESSED}


@pytest.mark.usefixtures("edition")
def test_a_suppression_made_before_a_secret_key_rotation_still_stops_the_send(
    esp: EspStandIn, settings: LazySettings
) -> None:
    ids = _planned(("Ada@Example.org", ["agents"]), ("bob@example.org", ["agents"]))
    old_key = settings.SECRET_KEY
    email_suppress(email="ada@example.org", reason=Suppression.Reason.BOUNCED)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "rotated-" * 8, [old_key]

    report = deliveries_send(delivery_ids=ids)

    assert (report.sent, report.suppressed) == (1, 1)
    assert [m["To"] for m in esp.accepted] == ["bob@example.org"]


@pytest.mark.usefixtures("edition")
def test_nothing_retries_forever(esp: EspStandIn, settings: LazySettings) -> None:
    settings.PAPERBOY_SEND_MAX_ATTEMPTS = 3
    ids = _planned(("ada@example.org", ["agents"]))
    esp.fail_next(10, status=500)

    for _ in range(3):
        ids = deliveries_send(delivery_ids=ids).retry_ids or ids

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 3
    assert "gave up after 3 attempts" in delivery.error
    assert deliveries_send(delivery_ids=[delivery.pk]).retry_ids == []


def test_retry_delays_grow_with_jitter_and_stay_under_the_cap(settings: LazySettings) -> None:
    settings.PAPERBOY_RETRY_BACKOFF_CAP_SECONDS = 600
    delays = [[retry_delay(attempts=n) for _ in range(50)] for n in range(1, 9)]

    assert all(15 <= d <= 30 for d in delays[0])
    assert max(delays[2]) <= 120 and min(delays[2]) >= 60
    assert all(d <= 600 for row in delays for d in row)
    assert len({round(d, 3) for d in delays[3]}) > 40  # jittered, so retries do not stampede
    assert retry_delay(attempts=1, retry_after=5000) == 600  # even Retry-After stays under the cap


@pytest.mark.usefixtures("edition")
def test_recovery_settles_a_crashed_batch_from_tracking_events_without_resending(esp: EspStandIn) -> None:
    ids = _planned(*((f"user{n}@example.org", ["agents"]) for n in range(4)))
    stale = timezone.now() - timedelta(hours=1)
    Delivery.objects.filter(pk__in=ids).update(status=Delivery.Status.SENDING, claim="dead", sending_at=stale)
    first, second, *rest = sorted(ids)
    TrackingEvent.objects.create(event_id="e1", event_type="delivered", esp_message_id="m-1", delivery_id=first)

    counts = deliveries_recover()

    assert counts == {"sent": 1, "in_doubt": 1, "pending": 2}
    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses[first] == Delivery.Status.SENT
    assert statuses[second] == Delivery.Status.FAILED  # the one in flight when the worker died
    assert all(statuses[pk] == Delivery.Status.PENDING for pk in rest)
    assert "in doubt" in Delivery.objects.get(pk=second).error
    assert deliveries_send(delivery_ids=ids).sent == 2 and len(esp.accepted) == 2


def _postmark_webhook(client: Client, event: dict[str, object]) -> int:
    auth = "Basic " + base64.b64encode(b"hook:secret").decode()
    response = client.post(
        "/anymail/postmark/tracking/", data=json.dumps(event), content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    return response.status_code


@pytest.mark.usefixtures("edition")
def test_a_hard_bounce_or_complaint_suppresses_the_address_once(client: Client, esp: EspStandIn) -> None:
    ids = _planned(("ada@example.org", ["agents"]), ("bob@example.org", ["agents"]))
    deliveries_send(delivery_ids=ids)
    ada = Delivery.objects.get(subscriber__email="ada@example.org")
    bounce = {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "MessageID": ada.esp_message_id,
        "Email": "ada@example.org",
        "BouncedAt": "2026-11-24T07:10:00Z",
        "Metadata": {"delivery_id": str(ada.pk)},
        "Description": "Mailbox does not exist",
    }
    complaint = {
        "RecordType": "SpamComplaint",
        "ID": 42,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "MessageID": "x",
        "Email": "bob@example.org",
        "BouncedAt": "2026-11-24T07:11:00Z",
    }

    assert _postmark_webhook(client, bounce) == 200
    assert _postmark_webhook(client, bounce) == 200  # the ESP retries its webhook
    assert _postmark_webhook(client, complaint) == 200

    assert email_is_suppressed(email="ada@example.org") and email_is_suppressed(email="bob@example.org")
    assert TrackingEvent.objects.filter(event_type="bounced").count() == 1
    assert Suppression.objects.count() == 2


@pytest.mark.usefixtures("edition")
def test_a_webhook_without_the_secret_is_refused(client: Client, esp: EspStandIn) -> None:
    response = client.post("/anymail/postmark/tracking/", data="{}", content_type="application/json")

    assert response.status_code in (400, 401, 403)
    assert not TrackingEvent.objects.exists()


@pytest.mark.usefixtures("edition")
def test_the_view_in_browser_link_shows_the_same_digest(
    client: Client, esp: EspStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The page signs its links afresh: made in the next second, their timestamps would differ from the email's.
    this_second = float(int(time.time()))
    monkeypatch.setattr(tokens, "time", SimpleNamespace(time=lambda: this_second))
    ids = _planned(("ada@example.org", ["in-context learning"]))
    deliveries_send(delivery_ids=ids)
    (message,) = esp.accepted
    view_link = next(line for line in message["TextBody"].splitlines() if line.startswith("View in browser: "))

    page = client.get("/" + view_link.split("://", 1)[1].split("/", 1)[1])

    assert page.status_code == 200
    assert page.content.decode() == message["HtmlBody"]
    assert client.get("/digest/forged:token/").status_code == 400


def test_an_edition_held_by_an_editor_is_not_sent(seed_papers: None, settings: LazySettings) -> None:
    from newsletter.services.editions import edition_hold, edition_prepare

    edition = edition_prepare()
    assert edition is not None
    edition_hold(edition=edition)
    subscriber_create("ada@example.org", ["agents"])

    assert digest_plan().due == 0
    assert Edition.objects.get().status == Edition.Status.HELD
