"""Ingestion runs on a queue of its own: a long parse never sits in front of an email (issue 15, item 3)."""

from __future__ import annotations

import pytest
from django.conf import settings

import newsletter.tasks
import papers.tasks
from config.celery import app

TASK_MODULES = (papers.tasks, newsletter.tasks)  # imported so every task is registered with the app

INGEST_TASKS = [
    "papers.tasks.dumps_scan",
    "papers.tasks.papers_embed",  # the encoder is CPU-bound: kept off the worker that sends emails
    "papers.tasks.sources_check",  # a few queries an hour, beside the scans it watches
    "newsletter.tasks.interest_vectors_compute",
]
EMAIL_TASKS = [
    "newsletter.tasks.signup_process",
    "newsletter.tasks.confirmation_send",
    "newsletter.tasks.manage_link_send",
    "newsletter.tasks.edition_prepare",
    "newsletter.tasks.digest_tick",
    "newsletter.tasks.digest_plan_shard",
    "newsletter.tasks.deliveries_send",
    "newsletter.tasks.first_digest_send",
]


def _queue_of(task_name: str) -> str:
    """The queue Celery's own router picks for a task, as `apply_async` would."""
    route = app.amqp.router.route({}, task_name)
    return str(route["queue"].name)


@pytest.mark.parametrize("task_name", INGEST_TASKS)
def test_ingestion_tasks_go_to_the_ingest_queue(task_name: str) -> None:
    assert task_name in app.tasks
    assert _queue_of(task_name) == settings.PAPERBOY_INGEST_QUEUE == "ingest"


@pytest.mark.parametrize("task_name", EMAIL_TASKS)
def test_email_and_digest_tasks_stay_on_the_default_queue(task_name: str) -> None:
    assert task_name in app.tasks
    assert _queue_of(task_name) == settings.CELERY_TASK_DEFAULT_QUEUE == "paperboy"


def test_every_registered_task_is_routed_to_a_queue_some_worker_consumes() -> None:
    ours = [name for name in app.tasks if name.startswith(("papers.", "newsletter."))]

    assert sorted(ours) == sorted(INGEST_TASKS + EMAIL_TASKS)  # a new task is classified here on purpose
