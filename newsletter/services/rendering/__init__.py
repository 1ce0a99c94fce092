"""Rendering digests (the renderer's API). renderer.py: DigestRenderer; shell.py: the shell split on its slots;
skeletons.py: the fast path for paper blocks, checked against the templates; cache.py: per-process caches and
the one garbage-collector policy.
"""

from __future__ import annotations

from newsletter.services.rendering.renderer import DigestRenderer
from newsletter.services.rendering.shell import PaperView, RenderedDigest

__all__ = ["DigestRenderer", "PaperView", "RenderedDigest"]
