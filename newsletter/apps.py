from __future__ import annotations

from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = "Newsletter"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from newsletter import tasks, webhooks  # noqa: F401 - webhooks connects the anymail tracking receiver
        from newsletter.checks import sending_domain_check, webhook_settings_check
        from papers.signals import papers_added

        # Registers the tasks with the Celery app: services queue them by name (newsletter.queueing).
        papers_added.connect(tasks.papers_added_receiver, dispatch_uid="newsletter.edition_prepare")

        checks.register(webhook_settings_check, checks.Tags.security)
        checks.register(sending_domain_check)

        from newsletter.search_matcher import MatcherSearch
        from papers.search import text_matcher_register

        # The public paper search reads queries, and searches where PostgreSQL is not, with the digests' matcher.
        text_matcher_register(MatcherSearch())
