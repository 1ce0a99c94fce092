"""The Celery app and the beat schedule. One beat process runs in production; `make run` embeds it."""

from __future__ import annotations

import os
from datetime import timedelta

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("paperboy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _install_beat_schedule(sender: Celery, **_: object) -> None:
    # Read at configure time, not import time, so a test or an operator can change the interval by setting.
    from django.conf import settings

    sender.conf.beat_schedule = {
        # Every PAPERBOY_DUMPS_SCAN_INTERVAL seconds (30 by default): ingest new or changed files in the dumps
        # folder. Unchanged files are skipped on size and mtime, so most runs read nothing.
        "dumps-scan": {
            "task": "papers.tasks.dumps_scan",
            "schedule": timedelta(seconds=settings.PAPERBOY_DUMPS_SCAN_INTERVAL),
        },
        # Every PAPERBOY_SOURCES_CHECK_SECONDS (an hour by default): warn when no new papers arrived for too
        # long on a weekday, or a source's dump repeats its previous one (logged; mailed once a day).
        "sources-check": {
            "task": "papers.tasks.sources_check",
            "schedule": timedelta(seconds=settings.PAPERBOY_SOURCES_CHECK_SECONDS),
        },
        # At minutes 0, 15, 30 and 45 of every hour: settle stuck sends, prepare today's edition, plan the
        # digests now due (subscribers' hours are whole hours in their zones) and queue their sending.
        "digest-tick": {
            "task": "newsletter.tasks.digest_tick",
            "schedule": (
                timedelta(seconds=settings.PAPERBOY_DIGEST_TICK_SECONDS)
                if settings.PAPERBOY_DIGEST_TICK_SECONDS
                else crontab(minute="*/15")
            ),
        },
    }
