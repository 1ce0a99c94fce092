"""The wording of a digest that is not template text: which listings it covers, its count, its "why" words.

Pure functions (no Django): the renderer calls them once per coverage, per block or per digest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from newsletter.matching.text import normalise, tokenise


def listings_label(dates: Iterable[date], *, this_year: int) -> str:
    """The listing dates a digest covers, as a reader says them: "Mar 11–14", "Mar 30 – Apr 2", "Mar 11".

    The year is named when it is not `this_year` (papers of last year's listings), or when the range spans two.
    """
    days = sorted(set(dates))
    if not days:
        raise ValueError("a digest covers at least one listing date")
    first, last = days[0], days[-1]
    with_year = first.year != last.year or last.year != this_year
    if first == last:
        return _day(first) + (f", {first.year}" if with_year else "")
    if first.year != last.year:
        return f"{_day(first)}, {first.year} – {_day(last)}, {last.year}"
    year = f", {last.year}" if with_year else ""
    if first.month == last.month:
        return f"{_day(first)}–{last.day}{year}"
    return f"{_day(first)} – {_day(last)}{year}"


def _day(day: date) -> str:
    return f"{day:%b} {day.day}"


def shown_count(items: Sequence[dict[str, Any]], picks: Sequence[Any]) -> int:
    """The papers a digest shows: its own, and the editor's picks that are not among them."""
    if not picks:
        return len(items)
    own = {item["paper_id"] for item in items}
    return len(own) + sum(1 for pick in picks if pick.id not in own)


def words_distinct(words: Sequence[str]) -> list[str]:
    """The matched words without repeats: a word or phrase is left out when another one listed holds it
    (same stems, in order) or says it again ("Diffusion, diffusion models, models, model" is "diffusion
    models"). Order kept; the longer form wins."""
    stems = [_stems(word) for word in words]
    kept: list[str] = []
    for i, (word, own) in enumerate(zip(words, stems, strict=True)):
        if not own:
            continue
        covered = any(
            j != i and (len(other) > len(own) or (other == own and j < i)) and _contains(other, own)
            for j, other in enumerate(stems)
        )
        if not covered:
            kept.append(word)
    return kept


@lru_cache(maxsize=65_536)  # a day's digests list the same few thousand matched words again and again
def _stems(word: str) -> tuple[str, ...]:
    return tuple(token.stem for token in tokenise(normalise(word).lower()))


def _contains(longer: tuple[str, ...], part: tuple[str, ...]) -> bool:
    size = len(part)
    return any(longer[k : k + size] == part for k in range(len(longer) - size + 1))


def why_words(words: Sequence[str]) -> str:
    return ", ".join(words_distinct(words))
