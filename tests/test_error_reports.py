"""Django's error pages and error emails show no ESP secret and no password inside a URL."""

from __future__ import annotations

import json
import sys

from django.conf import LazySettings
from django.test import RequestFactory
from django.views.debug import get_default_exception_reporter_filter, technical_500_response

SECRETS = ["pm-token-secret", "aws-secret-value", "brevo-secret-value", "redis-pass-secret", "db-pass-secret"]
ENVIRONMENT = {  # as runserver puts the process environment into request.META
    "ANYMAIL_SETTINGS_JSON": json.dumps({"BREVO_API_KEY": "brevo-secret-value"}),
    "AMAZON_SES_CLIENT_PARAMS": json.dumps({"aws_secret_access_key": "aws-secret-value"}),
    "DATABASE_URL": "postgres://paperboy:db-pass-secret@db:5432/paperboy",
    "REDIS_URL": "redis://:redis-pass-secret@redis:6379/0",
}


def _with_secrets_in_settings(settings: LazySettings) -> None:
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": "pm-token-secret",
        "AMAZON_SES_CLIENT_PARAMS": {"aws_secret_access_key": "aws-secret-value", "region_name": "eu-west-1"},
        "BREVO_SOMETHING_NEW": "brevo-secret-value",  # a name no pattern foresees
        "POSTMARK_API_URL": "https://api.postmarkapp.com/",
        "REQUESTS_TIMEOUT": 30.0,
    }
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "redis://:redis-pass-secret@redis:6379/0",
        }
    }
    settings.CELERY_BROKER_URL = "redis://:redis-pass-secret@redis:6379/0"


def test_safe_settings_hide_the_esp_secrets_and_url_passwords(settings: LazySettings) -> None:
    _with_secrets_in_settings(settings)

    safe = get_default_exception_reporter_filter().get_safe_settings()

    shown = repr(safe)
    assert not [secret for secret in SECRETS if secret in shown]
    assert safe["ANYMAIL"]["REQUESTS_TIMEOUT"] == 30.0  # what is harmless stays readable
    assert safe["ANYMAIL"]["POSTMARK_API_URL"] == "https://api.postmarkapp.com/"
    assert safe["CELERY_BROKER_URL"] == "redis://:********************@redis:6379/0"


def test_the_debug_error_page_shows_no_esp_secret(settings: LazySettings) -> None:
    settings.DEBUG = True
    _with_secrets_in_settings(settings)
    request = RequestFactory().get("/papers/")
    request.META.update(ENVIRONMENT)

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        response = technical_500_response(request, *sys.exc_info())

    page = response.content.decode()
    assert "RuntimeError" in page and "ANYMAIL_SETTINGS_JSON" in page  # the page and the variable are there...
    assert not [secret for secret in SECRETS if secret in page]  # ...but no value that matters
