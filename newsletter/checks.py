"""System checks: a production configuration that would serve the ESP webhooks unprotected does not start.

Registered in NewsletterConfig.ready(), so `manage.py check` (with or without --deploy), `migrate` and
`runserver` stop on it. gunicorn runs no checks: the webhook views refuse every call on their own as well
(newsletter/webhooks.py), so the error is the operator's notice, not the only lock.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from newsletter.webhooks import webhook_settings_problems


def webhook_settings_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    backend = str(settings.EMAIL_BACKEND)
    # Only an ESP sends webhooks: with SMTP or the .eml outbox there is nothing to receive, and in DEBUG the
    # developer's machine is no target.
    if settings.DEBUG or not backend.startswith("anymail.backends."):
        return []
    esp = backend.split(".")[2]  # anymail.backends.<esp>.EmailBackend
    return [
        checks.Error(
            problem,
            hint="Set it in the environment (.env.example lists it) and give the same value to the ESP's webhook.",
            id="paperboy.E001",
        )
        for problem in webhook_settings_problems(esp=esp)
    ]


def sending_domain_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every email's Message-ID is made on the domain of DEFAULT_FROM_EMAIL: without one, nothing could be sent."""
    from newsletter.mail_headers import sending_domain  # imports the models: not at app loading

    try:
        sending_domain()
    except ValueError as exc:
        return [checks.Error(str(exc), hint="Set DEFAULT_FROM_EMAIL to an address on your domain.", id="paperboy.E002")]
    return []
