"""A digest's shell: a rendered template with slot markers ("⟦papers⟧"), split once, filled per subscriber
with a join; and the plain data a digest is assembled from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from django.utils.safestring import mark_safe

SLOTS = ("heading", "papers", "more", "interests", "manage_url", "unsubscribe_url", "view_url")


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


# A (paper, interest) block as digests use it: its HTML before and after the interests it matched, the same for
# its text, and the length of the HTML around them.
Block = tuple[str, str, str, str, int]


def block_around_interests(html: Shell, text: Shell) -> Block:
    """The block's two parts around its one interests slot, which the digest_paper templates must have."""
    if html.parts[1::2] != ["interests"] or text.parts[1::2] != ["interests"]:
        raise ValueError("the digest_paper templates must show {{ slots.interests }} exactly once")
    before, after = html.parts[0], html.parts[2]
    return before, after, text.parts[0], text.parts[2], len(before) + len(after)
