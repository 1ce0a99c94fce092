"""Fixed-window rate limits in the shared cache (Redis in production, so every web process counts together)."""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def rate_limit_hit(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt; True when this attempt is over `limit` within the current window."""
    cache_key = f"rl:{scope}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
    cache.add(cache_key, 0, timeout=window_seconds)  # starts the window; a no-op while one is running
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the window expired between add and incr: this is the first attempt of a new one
        cache.set(cache_key, 1, timeout=window_seconds)
        count = 1
    return count > limit
