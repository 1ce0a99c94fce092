"""Queue a Celery task by its name once the current transaction commits.

Services queue follow-up work (a sign-up to process, a confirmation to mail) through here, never by importing
newsletter.tasks: the tasks call the services, so a service importing the tasks would be an import cycle. A
task's name is its public address (config/settings.py routes tasks by the same names); newsletter.apps
imports newsletter.tasks at start-up, so every name here is registered with the Celery app.
"""

from __future__ import annotations

from celery import current_app


def task_queue_on_commit(name: str, *args: object) -> None:
    """`delay_on_commit` of the task registered as `name`: queued after the commit, never for a rollback."""
    current_app.tasks[name].delay_on_commit(*args)  # type: ignore[attr-defined]  # celery-types predates it
