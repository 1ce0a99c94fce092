"""What Django's error pages and error emails may show of the settings and the environment.

Django's own filter hides settings whose names contain API, KEY, SECRET, TOKEN, PASS... That misses what
Paperboy keeps elsewhere: the ESP settings as JSON (ANYMAIL_SETTINGS_JSON, AMAZON_SES_CLIENT_PARAMS, which a
DEBUG page lists among the environment it shows in META), passwords inside URLs (DATABASE_URL, REDIS_URL and
the CACHES / broker settings made from it), and ESP settings whose names Django does not expect.
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# Keys of the ANYMAIL dict that are safe to show; every other value in it is hidden (an ESP may name a secret in
# a way no pattern foresees).
_ANYMAIL_HARMLESS = re.compile(r"^(REQUESTS_TIMEOUT|[A-Z_]+_API_URL|[A-Z_]+_SENDER_DOMAIN)$")
# The password in scheme://user:password@host.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+(?P<at>@)", re.IGNORECASE)


class SecretsHiddenFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|SIGNING|HTTP_COOKIE|CREDENTIAL|PRIVATE|DSN|ANYMAIL_|PARAMS",
        flags=re.IGNORECASE,
    )

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        if key == "ANYMAIL" and isinstance(value, dict):
            return {
                name: item if _ANYMAIL_HARMLESS.match(str(name)) else self.cleansed_substitute
                for name, item in value.items()
            }
        cleansed = super().cleanse_setting(key, value)  # recurses into dicts, lists and tuples through this method
        if isinstance(cleansed, str):
            return _URL_PASSWORD.sub(rf"\g<head>{self.cleansed_substitute}\g<at>", cleansed)
        return cleansed
