"""A digest's shell: a rendered template with slot markers ("⟦papers⟧"), split once, filled per subscriber
with a join; and the plain data a digest is assembled from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from django.utils.safestring import mark_safe

SLOTS = (
    "heading", "papers", "more", "interests", "manage_url", "unsubscribe_url", "view_url", "archive_url", "feedback",
)  # fmt: skip


SLOT_PATTERN = re.compile("⟦([a-z_]+)⟧")


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    paper_count: int


@dataclass(frozen=True, slots=True)
class PaperView:
    id: int
    title: str
    abstract: str
    authors: str
    url: str
    note: str


class Shell:
    """A rendered template with slot markers, split once, filled per subscriber with a join."""

    __slots__ = ("parts", "size")

    def __init__(self, rendered: str) -> None:
        self._set_parts(SLOT_PATTERN.split(rendered))  # literal, slot name, literal, slot name, ...

    @classmethod
    def of(cls, parts: list[str]) -> Shell:
        """A shell from parts already split (literal, slot name, literal, ...)."""
        shell = cls.__new__(cls)
        shell._set_parts(parts)
        return shell

    def _set_parts(self, parts: list[str]) -> None:
        self.parts = parts
        self.size = sum(len(part) for part in parts)  # slot names included: the size budget always counted them

    def fill(self, values: dict[str, str]) -> str:
        parts = self.parts
        return "".join(part if i % 2 == 0 else values[part] for i, part in enumerate(parts))


@cache  # one dict, read by every block context: never changed by its readers
def slot_markers() -> dict[str, str]:
    return {name: mark_safe(f"⟦{name}⟧") for name in SLOTS}  # fixed markers, no user data


# A (paper, interest) block as digests use it: its HTML cut where the interests it matched go and where each of
# its two feedback links takes the digest's token (four parts), the same for its text, and the length of the
# HTML parts.
Block = tuple[str, str, str, str, str, str, str, str, int]
BLOCK_SLOTS = ["interests", "feedback", "feedback"]


def block_around_slots(html: Shell, text: Shell) -> Block:
    """The block's parts around its slots, which the digest_paper templates must show in this order: the
    interests once, then the feedback token in the "More like this" and the "Not for me" links."""
    if html.parts[1::2] != BLOCK_SLOTS or text.parts[1::2] != BLOCK_SLOTS:
        raise ValueError("the digest_paper templates must show {{ slots.interests }} once, then the two feedback links")
    h, t = html.parts[0::2], text.parts[0::2]
    return h[0], h[1], h[2], h[3], t[0], t[1], t[2], t[3], sum(len(part) for part in h)
