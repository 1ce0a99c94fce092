"""Interests as the reader typed them ("RLHF"), beside the canonical text the matcher reads ("rlhf").

The canonical text is what is stored, matched and explained once for everyone who shares it; a reader's
own spelling is kept beside it, only where it differs, and shown wherever the reader sees their interests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from newsletter.matching.interests import _SPLIT_ITEMS, InterestError, parse_interest


def interest_labels(raw: str) -> dict[str, str]:
    """{canonical text: the item as typed (spaces collapsed)} for the items of `raw` whose typed form differs
    from their canonical one. The first spelling of an interest typed twice is kept."""
    labels: dict[str, str] = {}
    for item in _SPLIT_ITEMS.split(raw):
        typed = " ".join(item.split())
        if not typed:
            continue
        try:
            canonical = parse_interest(typed).text
        except InterestError:
            continue  # the form reports it; nothing to label
        labels.setdefault(canonical, typed)
    return {canonical: typed for canonical, typed in labels.items() if typed != canonical}


def interests_as_typed(interests: Sequence[str], labels: Mapping[str, str] | None) -> list[str]:
    """The reader's interests in their own spelling, in their order."""
    if not labels:
        return list(interests)
    return [labels.get(interest, interest) for interest in interests]
