from __future__ import annotations

from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = "Newsletter"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from newsletter import webhooks  # noqa: F401 - connects the anymail tracking receiver
        from newsletter.checks import sending_domain_check, webhook_settings_check

        checks.register(webhook_settings_check, checks.Tags.security)
        checks.register(sending_domain_check)
