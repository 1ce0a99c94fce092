"""Ranking a subscriber's matched papers: the one rule, and the views of it planning and previews use.

The rule (`rank_key`): papers on the subscriber's own words before related ones (the semantic layer's, fused
matching only); the best score first; a paper more of the subscriber's interests matched wins a tie; then
index order. A paper's interests are listed best first (ties in evaluation order). `Percolation.matches`
ranks with explanations; `percolation_iter_ranked` without; `percolation_iter_formatted` formats each item
once for a million subscribers; `percolation_explain` explains one (paper, interest) pair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from newsletter.matching.evaluation import Evaluated, compiled_of, explained_match
from newsletter.matching.explain import Match
from newsletter.matching.index import PaperId, iter_bits

if TYPE_CHECKING:  # percolation.py ranks with this module: the types only, no import at run time
    from newsletter.matching.percolation import Percolation

K = TypeVar("K")


def rank_key(related: bool, best: float, matched: int, number: int) -> tuple[bool, float, int, int]:
    """The ranking rule, as a sort key: (related last, best score first, more interests first, index order)."""
    return (related, -best, -matched, number)


def rank_found(
    per_paper: dict[int, list[tuple[Evaluated, float]]], *, fused: bool = False
) -> list[tuple[int, list[tuple[Evaluated, float]]]]:
    """Papers (number -> each matching interest and its score) in the order of `rank_key`."""

    def key(kv: tuple[int, list[tuple[Evaluated, float]]]) -> tuple[bool, float, int, int]:
        related = fused and all(item.related >> kv[0] & 1 for item, _ in kv[1])
        return rank_key(related, max(s for _, s in kv[1]), len(kv[1]), kv[0])

    return sorted(per_paper.items(), key=key)


# paper, best score, interests that matched (best first), related: no interest's words are in the paper (the
# semantic layer brought it). Papers on the subscriber's own words rank first, related ones after them.
RankedPaper = tuple[PaperId, float, tuple[str, ...], bool]


def _is_related(evaluated: list[Evaluated], number: int, interests: Iterable[int]) -> bool:
    return all(evaluated[interest].related >> number & 1 for interest in interests)


def _ranked_of(
    result: Percolation[Any], numbers: list[int], bits: int, texts: list[str | None], limit: int | None
) -> list[RankedPaper]:
    """What `matches(key, explain=False, limit=...)` ranks, with each match's interest text and no explanation.

    The same order as `matches`: best score first, more interests matched wins a tie, then index order; a
    paper's interests best first (ties in evaluation order). The text of an interest is its compiled form's
    (as `Match.interest` is), looked up once per evaluated interest in `texts`.
    """
    evaluated = result.evaluated
    per_paper: dict[int, list[tuple[float, int]]] = {}
    for position, interest in enumerate(numbers):
        item = evaluated[interest]
        matched = item.bits & bits
        if not matched:
            continue
        scored = item.scored
        for number in iter_bits(matched):
            found = per_paper.get(number)
            if found is None:
                per_paper[number] = [(scored[number], position)]
            else:
                found.append((scored[number], position))
    fused = result.semantic is not None
    related = {
        number: fused and _is_related(evaluated, number, (numbers[position] for _, position in found))
        for number, found in per_paper.items()
    }
    ranked = sorted(per_paper.items(), key=lambda kv: rank_key(related[kv[0]], max(kv[1])[0], len(kv[1]), kv[0]))
    ranked = ranked[:limit]
    papers = result.index.papers
    out: list[RankedPaper] = []
    for number, found in ranked:
        found.sort(key=lambda pair: (-pair[0], pair[1]))  # stable on evaluation order, as matches() sorts
        names = tuple(_text_of(result, texts, numbers[position]) for _, position in found)
        out.append((papers[number].paper.id, found[0][0], names, related[number]))
    return out


def _text_of(result: Percolation[Any], texts: list[str | None], interest: int) -> str:
    text = texts[interest]
    if text is None:
        text = texts[interest] = compiled_of(result.index, result.evaluated[interest]).text
    return text


def _ranking_texts(result: Percolation[Any]) -> list[str | None]:
    caches = result.view_caches
    if caches.texts is None:
        caches.texts = [None] * len(result.evaluated)
    return caches.texts


def percolation_ranked(result: Percolation[K], key: K, *, limit: int | None = None) -> list[RankedPaper]:
    """One subscriber's matched papers, best first, as (paper id, score, interest texts): no explanation."""
    row = result.row(key)
    bits = result.row_bits(row)
    return _ranked_of(result, result.interest_numbers(row), bits, _ranking_texts(result), limit) if bits else []


def percolation_iter_ranked(
    result: Percolation[K], *, limit: int | None = None
) -> Iterator[tuple[K, list[RankedPaper]]]:
    """(subscriber, ranked papers) for every subscriber with at least one match, in input order."""
    texts = _ranking_texts(result)
    for key, bits, numbers in result.iter_matched():
        yield key, _ranked_of(result, numbers, bits, texts, limit)


def percolation_explain(result: Percolation[Any], *, paper_id: PaperId, interest: str) -> Match | None:
    """Why `paper_id` matched `interest` (a text `ranked` reported), as `matches` would explain it; None if it
    did not match. Each interest is compiled once per result; the explanation itself is built on every call."""
    caches = result.view_caches
    numbers = caches.paper_numbers
    if numbers is None:
        numbers = caches.paper_numbers = {indexed.paper.id: n for n, indexed in enumerate(result.index.papers)}
    by_text = caches.evaluated_by_text
    if by_text is None:
        by_text = caches.evaluated_by_text = {}
        for item in result.evaluated:
            by_text.setdefault(compiled_of(result.index, item).text, item)
    number = numbers.get(paper_id)
    found = by_text.get(interest)
    if number is None or found is None or number not in found.scored:
        return None
    return explained_match(result.index, result.semantic, found, number, found.scored[number])


def percolation_iter_formatted(
    result: Percolation[K], *, limit: int | None, item: Callable[[PaperId, float, tuple[str, ...], bool], str]
) -> Iterator[tuple[K, list[str], list[tuple[PaperId, str]]]]:
    """`percolation_iter_ranked` for a million subscribers: each ranked paper as `item(paper id, score, interest
    texts, related)` formats it, and the (paper id, best interest) of each, for every subscriber with a match.

    The same ranking and order. A paper matched by one interest of the subscriber (most of them) is formatted
    once per (interest, paper) however many subscribers share it, and one several interests matched once per
    (paper, those interests) (bounded: such combinations are many more). No explanation is built.
    """
    formatter = _Formatter(result, item)
    evaluated = result.evaluated
    fused = result.semantic is not None
    for key, bits, numbers in result.iter_matched():
        per_paper = _gathered(evaluated, numbers, bits)
        order = sorted(  # rank_key, inlined: a call per paper and subscriber showed in planning a million
            (
                fused and _is_related(evaluated, number, entry[1::2]),
                -(entry[0] if len(entry) == 2 else max(entry[0::2])),
                -len(entry),
                number,
            )
            for number, entry in per_paper.items()
        )[:limit]
        formatted: list[str] = []
        tops: list[tuple[PaperId, str]] = []
        single, one = formatter.single, formatter.one
        for related, _, _, number in order:
            entry = per_paper[number]
            cached = (single.get((entry[1], number)) or one(number, entry, related)) if len(entry) == 2 else None
            if cached is None:
                cached = formatter.several(number, entry, related)
            formatted.append(cached[0])
            tops.append(cached[1])
        yield key, formatted, tops


def _gathered(evaluated: list[Evaluated], numbers: list[int], bits: int) -> dict[int, list[Any]]:
    """Paper number -> [score, interest, score, interest, ...] over the subscriber's interests `numbers`."""
    per_paper: dict[int, list[Any]] = {}
    for interest in numbers:
        found = evaluated[interest]
        matched = found.bits & bits
        if not matched:
            continue
        pairs = found.scored.items() if matched == found.bits else _scored_in(found.scored, matched)
        for number, score in pairs:
            entry = per_paper.get(number)
            if entry is None:
                per_paper[number] = [score, interest]
            else:
                entry += (score, interest)
    return per_paper


class _Formatter:
    """The formatted items, each made once: (interest, paper number) -> item, pair; (paper number, *interests)
    -> the same. Kept across the results of one PercolationMemo (their interests are numbered alike), else
    for one call."""

    def __init__(self, result: Percolation[Any], item: Callable[[PaperId, float, tuple[str, ...], bool], str]) -> None:
        memo = result.formatting_memo
        self.single: dict[tuple[int, int], tuple[str, tuple[PaperId, str]]] = memo.single if memo else {}
        self._several: dict[tuple[Any, ...], tuple[str, tuple[PaperId, str]]] = memo.several if memo else {}
        self._result, self._texts, self._item = result, _ranking_texts(result), item
        self._papers = result.index.papers

    def one(self, number: int, entry: list[Any], related: bool) -> tuple[str, tuple[PaperId, str]]:
        """A paper one of the subscriber's interests matched: entry is [score, interest]."""
        text = _text_of(self._result, self._texts, entry[1])
        paper_id = self._papers[number].paper.id
        made = self.single[entry[1], number] = (self._item(paper_id, entry[0], (text,), related), (paper_id, text))
        return made

    def several(self, number: int, entry: list[Any], related: bool) -> tuple[str, tuple[PaperId, str]]:
        combination = (number, *entry[1::2])  # the scores follow from the paper and the interests
        cached = self._several.get(combination)
        if cached is None:
            ranked = sorted(zip(entry[0::2], entry[1::2], strict=True), key=lambda pair: (-pair[0], pair[1]))
            names = tuple(_text_of(self._result, self._texts, interest) for _, interest in ranked)
            paper_id = self._papers[number].paper.id
            if len(self._several) >= _SEVERAL_CACHE:
                self._several.clear()
            formatted_item = self._item(paper_id, ranked[0][0], names, related)
            cached = self._several[combination] = (formatted_item, (paper_id, names[0]))
        return cached


_SEVERAL_CACHE = 1_000_000  # formatted items of papers several interests matched: ~200 bytes each


def _scored_in(scored: dict[int, float], bits: int) -> list[tuple[int, float]]:
    return [(number, score) for number, score in scored.items() if bits >> number & 1]
