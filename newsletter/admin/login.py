"""The admin's login form, throttled: after a few failures from one address, or for one account, it refuses.

A small throttle in the shared cache rather than django-axes: Paperboy's only login is the admin's, the shared
cache (Redis in production) already counts its other limits across web processes, and axes would bring a
database table, a middleware, an authentication backend and its own idea of the client's address, which must be
the one the rest of Paperboy uses (`newsletter.views.client_ip`, proxy-aware).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import cache
from django.forms import ValidationError

from newsletter.views import client_ip


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    """Counts failures per client address and per username; over the limit, not even the right password works."""

    def clean(self) -> dict[str, Any]:
        keys = _failure_keys(ip=client_ip(self.request) if self.request else None, username=self.data.get("username"))
        limit = settings.PAPERBOY_ADMIN_LOGIN_FAILURES
        if any(count >= limit for count in cache.get_many(keys).values()):
            minutes = max(1, settings.PAPERBOY_ADMIN_LOGIN_LOCKOUT_SECONDS // 60)
            raise ValidationError(
                f"Too many failed logins for this account or from this address. Try again in {minutes} minutes.",
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            for key in keys:
                _count_failure(key)
            raise
        cache.delete_many(keys)  # a successful login starts its counts afresh
        return cleaned


def _failure_keys(*, ip: str | None, username: object) -> list[str]:
    parts = [f"ip:{ip}" if ip else "", f"user:{str(username).strip().lower()}" if username else ""]
    return [f"admin-login:{hashlib.sha256(part.encode()).hexdigest()[:32]}" for part in parts if part]


def _count_failure(key: str) -> None:
    # The window runs from the first failure; add() starts it, incr() is atomic in Redis.
    cache.add(key, 0, timeout=settings.PAPERBOY_ADMIN_LOGIN_LOCKOUT_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.PAPERBOY_ADMIN_LOGIN_LOCKOUT_SECONDS)


def install(site: AdminSite) -> None:
    site.login_form = ThrottledAdminLoginForm
