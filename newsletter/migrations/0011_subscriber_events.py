"""Subscribers' status history as events, backfilled from the dates each subscriber row holds today."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

BACKFILLED = "backfilled from the subscriber's dates"
_KIND_OF = {"active": "resumed", "paused": "paused", "unsubscribed": "unsubscribed", "pending": "resubscribed"}


def _events_of(row):  # (id, status, created_at, confirmed_at, unsubscribed_at, updated_at) -> event tuples
    pk, status, created_at, confirmed_at, unsubscribed_at, updated_at = row
    events = [("subscribed", "", "pending", created_at)]
    if confirmed_at is not None:
        events.append(("confirmed", "pending", "active", confirmed_at))
    if status == "unsubscribed":
        events.append(("unsubscribed", events[-1][2], "unsubscribed", unsubscribed_at or updated_at))
    elif events[-1][2] != status:  # paused, or asked again after an unsubscription: the last step, when known
        events.append((_KIND_OF.get(status, status), events[-1][2], status, updated_at))
    return [(pk, *event) for event in events]


def events_backfill(apps, schema_editor):
    Subscriber = apps.get_model("newsletter", "Subscriber")
    SubscriberEvent = apps.get_model("newsletter", "SubscriberEvent")
    rows = Subscriber.objects.order_by("pk").values_list(
        "pk", "status", "created_at", "confirmed_at", "unsubscribed_at", "updated_at"
    )
    batch = []
    for row in rows.iterator(chunk_size=5000):
        for pk, kind, previous, status, at in _events_of(row):
            batch.append(
                SubscriberEvent(subscriber_id=pk, kind=kind, previous=previous, status=status, cause=BACKFILLED, at=at)
            )
        if len(batch) >= 5000:
            SubscriberEvent.objects.bulk_create(batch)
            batch = []
    SubscriberEvent.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0010_interest_labels"),
    ]

    operations = [
        migrations.CreateModel(
            name="SubscriberEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("subscribed", "subscribed"),
                            ("confirmed", "confirmed"),
                            ("paused", "paused"),
                            ("resumed", "resumed"),
                            ("unsubscribed", "unsubscribed"),
                            ("resubscribed", "resubscribed"),
                            ("suppressed", "suppressed"),
                        ],
                        max_length=16,
                    ),
                ),
                ("previous", models.CharField(blank=True, max_length=16)),
                ("status", models.CharField(max_length=16)),
                ("cause", models.CharField(max_length=200)),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "subscriber",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="newsletter.subscriber",
                    ),
                ),
            ],
            options={
                "ordering": ["-at", "-id"],
                "indexes": [
                    models.Index(fields=["subscriber", "at"], name="subscriber_event_history"),
                    models.Index(fields=["at"], name="subscriber_event_at"),
                ],
            },
        ),
        migrations.RunPython(events_backfill, migrations.RunPython.noop),
    ]
