"""Percolation: match every subscriber at once by evaluating each distinct interest once.

Search would run one query per subscriber: subscribers x papers. Here the papers are indexed once
(build_index), the subscribers' interest strings are deduplicated, each distinct one is parsed, compiled
and deduplicated again (equal compiled forms, such as "LLMs" and "llm", share one evaluation), and
evaluated once against the index. A subscriber's result is then a lookup: the union of their interests'
paper sets (Python ints used as bit sets, one bit per paper) minus their exclusions.

Memory stays lean: per subscriber only a slice of one flat array of interest numbers; per distinct interest
a bit set and its (paper, score) pairs. Explanations are built only for the subscribers asked about.
"""

from __future__ import annotations

import operator
from array import array
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import reduce
from itertools import accumulate, chain, count, islice
from operator import itemgetter
from typing import Any, Generic, TypeVar

from newsletter.matching.evaluation import (
    Evaluated,
    Shard,
    can_fork,
    evaluate_parallel,
    evaluate_shard,
    explained_match,
)
from newsletter.matching.explain import Match
from newsletter.matching.index import PaperId, PaperIndex, iter_bits
from newsletter.matching.query import CompiledInterest
from newsletter.matching.ranking import rank_found
from newsletter.matching.semantic import SemanticLayer

K = TypeVar("K", bound=Hashable)


# Explained (interest, paper) pairs kept for reuse across subscribers; a day has a few hundred thousand.
_EXPLAINED_CACHE = 200_000


@dataclass(frozen=True, slots=True)
class PaperMatch:
    """One paper of a subscriber's digest: the best score among their interests, and each match."""

    paper_id: PaperId
    score: float
    matches: tuple[Match, ...]  # one per interest of the subscriber that matched, best first


@dataclass(slots=True)
class PercolationStats:
    subscribers: int = 0
    interest_uses: int = 0  # interest strings over all subscribers
    distinct_texts: int = 0  # distinct interest strings
    distinct_interests: int = 0  # distinct compiled interests, each evaluated once
    interest_matches: int = 0  # (distinct interest, paper) pairs that matched
    invalid: dict[str, str] = field(default_factory=dict)  # interest text -> why it was skipped


class Percolation(Generic[K]):
    """The result of one run: ask it about any subscriber."""

    def __init__(self, index: PaperIndex, semantic: SemanticLayer | None = None) -> None:
        self.index = index
        self.semantic = semantic
        self.stats = PercolationStats()
        self._keys: list[K] = []
        self._rows_by_key: dict[K, int] | None = None  # built on the first lookup by key
        self._explained: dict[tuple[int, int], Match] = {}
        self._sizes = array("H")  # per subscriber: how many interests
        self._offsets = array("q", [0])  # per subscriber: where their interests start in _slots
        self._slots = array("i")  # per interest use: its text's number
        self._text_to_interest = array("i")  # text number -> evaluated interest number, -1 if invalid
        # Each distinct compiled interest's evaluation, by its number (what `interest_numbers` gives).
        self.evaluated: list[Evaluated] = []
        # Per text number: the papers it matches, OR-ed with the papers it excludes shifted above them,
        # so that one OR over a subscriber's texts gathers both.
        self._combined: list[int] = []
        self.view_caches = ViewCaches()  # kept by the ranking views (ranking.py), per result
        # The memo this result was made with (percolate_memo): its formatted items are shared across chunks.
        self.formatting_memo: PercolationMemo | None = None

    def __iter__(self) -> Iterator[K]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def row(self, key: K) -> int:
        """The subscriber's row: its place in the input order."""
        if self._rows_by_key is None:
            self._rows_by_key = {key: row for row, key in enumerate(self._keys)}
        return self._rows_by_key[key]

    def paper_bits(self, key: K) -> int:
        """Bit set of the subscriber's matched papers (bit n = paper n of the index): the cheap path."""
        return self.row_bits(self.row(key))

    def interest_numbers(self, row: int) -> list[int]:
        """The numbers (in `evaluated`) of the row's valid interests, ascending: evaluation order."""
        slots = self._slots[self._offsets[row] : self._offsets[row + 1]]
        return sorted({self._text_to_interest[slot] for slot in slots} - {-1})

    def iter_matched(self) -> Iterator[tuple[K, int, list[int]]]:
        """(subscriber, bit set of matched papers, `interest_numbers`) for every subscriber with a match, in
        input order: what the ranking views walk, a million times a day (so written out, not by row)."""
        text_to_interest, slots, offsets = self._text_to_interest, self._slots, self._offsets
        for row, (key, bits) in enumerate(self.iter_paper_bits()):
            if bits:
                numbers = sorted({text_to_interest[slot] for slot in slots[offsets[row] : offsets[row + 1]]})
                if numbers[0] < 0:  # an invalid interest (-1) sorts first
                    del numbers[0]
                yield key, bits, numbers

    def row_bits(self, row: int) -> int:
        slots = self._slots[self._offsets[row] : self._offsets[row + 1]]
        return self._split(reduce(operator.or_, map(self._combined.__getitem__, slots), 0))

    def _split(self, combined: int) -> int:
        excluded = combined >> len(self.index)
        return combined & ~excluded & ((1 << len(self.index)) - 1) if excluded else combined

    def iter_paper_bits(self) -> Iterator[tuple[K, int]]:
        """(subscriber, bit set of matched papers) for every subscriber, in input order."""
        slots = iter(self._slots)
        combined = self._combined.__getitem__
        split = self._split
        for key, size in zip(self._keys, self._sizes, strict=True):
            yield key, split(reduce(operator.or_, map(combined, islice(slots, size)), 0))

    def paper_ids(self, key: K) -> list[PaperId]:
        """The subscriber's matched papers, best first."""
        return [item.paper_id for item in self.matches(key, explain=False)]

    def matches(self, key: K, *, explain: bool = True, limit: int | None = None) -> list[PaperMatch]:
        """The subscriber's digest: matched papers, best first, each with every interest that matched.

        Ranking is cheap; explaining is not (a snippet per interest and paper), so pass `limit` when the
        digest shows only the first few papers: only those are explained.
        """
        row = self.row(key)
        bits = self.row_bits(row)
        if not bits:
            return []
        per_paper: dict[int, list[tuple[Evaluated, float]]] = defaultdict(list)
        for interest in self.interest_numbers(row):
            item = self.evaluated[interest]
            for number in iter_bits(item.bits & bits):
                per_paper[number].append((item, item.scored[number]))
        ranked = rank_found(per_paper, fused=self.semantic is not None)[:limit]
        return [self._paper_match(number, found, explain) for number, found in ranked]

    def _match(self, item: Evaluated, number: int, score: float) -> Match:
        # Subscribers who share an interest get the same papers explained the same way: explain once.
        cache_key = (id(item), number)
        match = self._explained.get(cache_key)
        if match is None:
            if len(self._explained) >= _EXPLAINED_CACHE:
                self._explained.clear()  # bounded: a digest run walks subscribers, not back and forth
            match = self._explained[cache_key] = explained_match(self.index, self.semantic, item, number, score)
        return match

    def _paper_match(self, number: int, found: list[tuple[Evaluated, float]], explain: bool) -> PaperMatch:
        paper_id = self.index.papers[number].paper.id
        best = max(score for _, score in found)
        if not explain:
            return PaperMatch(paper_id=paper_id, score=best, matches=())
        matches = [self._match(item, number, score) for item, score in found]
        matches.sort(key=lambda match: -match.score)
        return PaperMatch(paper_id=paper_id, score=best, matches=tuple(matches))


def percolate(
    *,
    index: PaperIndex,
    subscribers: Iterable[tuple[K, Sequence[str]]],
    workers: int = 1,
    semantic: SemanticLayer | None = None,
) -> Percolation[K]:
    """Match every subscriber. Each value is that subscriber's interests, one string per interest.

    With `semantic` (papers' vectors, see semantic.py) each distinct interest is judged by the fused matcher
    (fusion.py): its words and its vectors together, a block of interests at a time; without it (or when
    no paper of the index has vectors) by its words alone.

    `workers` > 1 evaluates the distinct interests in that many processes (forked, so the index is
    shared, not copied); it needs the "fork" start method and falls back to one process without it.
    An invalid interest string is skipped (and reported in `stats.invalid`), never fatal: interests are
    validated when typed, so one here means the rules changed since.
    """
    semantic = semantic if semantic is not None and semantic.usable else None
    result: Percolation[K] = Percolation(index, semantic)
    pairs = subscribers if isinstance(subscribers, Sequence) else list(subscribers)
    distinct = _lay_out(result, pairs)
    shards = evaluate_parallel(index, distinct, workers, semantic) if workers > 1 and can_fork() else None
    for shard in shards or [evaluate_shard(index, distinct, keep_compiled=True, semantic=semantic)]:
        _absorb(result, shard)
    if shards:  # shard i held texts i, i + n, i + 2n, ...: put the numbers back in text order
        order = [i for shard_number in range(len(shards)) for i in range(shard_number, len(distinct), len(shards))]
        result._text_to_interest = _reorder(result._text_to_interest, order)
        result._combined = _reorder(result._combined, order)
    stats = result.stats
    stats.subscribers = len(result._keys)
    stats.interest_uses = len(result._slots)
    stats.distinct_texts = len(distinct)
    stats.distinct_interests = len(result.evaluated)
    stats.interest_matches = sum(len(item.scored) for item in result.evaluated)
    return result


def _lay_out(result: Percolation[K], subscribers: Sequence[tuple[K, Sequence[str]]]) -> list[str]:
    """Fill in the subscribers' keys and interest slots (text numbers); return the distinct texts, in order.

    Done by C loops (zip, map, chain, accumulate): at a million subscribers a Python loop here would cost
    more than all the matching.
    """
    texts: defaultdict[str, int] = defaultdict(count().__next__)
    result._keys = list(map(itemgetter(0), subscribers))
    lists = list(map(itemgetter(1), subscribers))
    result._sizes = array("H", map(len, lists))
    result._slots = array("i", map(texts.__getitem__, chain.from_iterable(lists)))
    result._offsets.extend(accumulate(result._sizes))
    return list(texts)


_T = TypeVar("_T")


def _reorder(values: Sequence[_T], order: list[int]) -> Any:
    placed: list[_T] = [values[0]] * len(values) if values else []
    for position, original in enumerate(order):
        placed[original] = values[position]
    return array("i", placed) if isinstance(values, array) else placed


def _absorb(result: Percolation[K], shard: Shard) -> None:
    offset = len(result.evaluated)
    papers = len(result.index)
    result.evaluated.extend(shard.evaluated)
    result.stats.invalid.update(shard.invalid)
    for number in shard.numbers:
        if number < 0:
            result._text_to_interest.append(-1)
            result._combined.append(0)
        else:
            item = shard.evaluated[number]
            result._text_to_interest.append(offset + number)
            result._combined.append(item.bits | item.excludes << papers)


@dataclass(slots=True)
class ViewCaches:
    """What the ranking views (ranking.py) keep per result, each made on first use: the interest texts by
    evaluated number, the paper numbers by id, and the evaluated interests by text (for explanations)."""

    texts: list[str | None] | None = None
    paper_numbers: dict[PaperId, int] | None = None
    evaluated_by_text: dict[str, Evaluated] | None = None


@dataclass(slots=True)
class PercolationMemo:
    """What `percolate_memo` keeps between calls on one index: each distinct interest's evaluation, and the
    items `percolation_iter_formatted` formatted (use one `item` formatter per memo). Subscribers percolated
    in chunks then evaluate each interest once in all, not once per chunk (a million subscribers in chunks
    of 20,000 met most of the day's interests in every chunk)."""

    index: PaperIndex
    semantic: SemanticLayer | None = None  # the fused matcher's vectors (see percolate)
    evaluated: list[Evaluated] = field(default_factory=list)  # shared by every result made with this memo
    combined: list[int] = field(default_factory=list)  # per evaluated interest: as Percolation._combined
    by_text: dict[str, int] = field(default_factory=dict)  # text -> evaluated number, -1 if invalid
    by_compiled: dict[CompiledInterest, int] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)
    single: dict[tuple[int, int], tuple[str, tuple[PaperId, str]]] = field(default_factory=dict)
    several: dict[tuple[Any, ...], tuple[str, tuple[PaperId, str]]] = field(default_factory=dict)


def percolate_memo(*, memo: PercolationMemo, subscribers: Sequence[tuple[K, Sequence[str]]]) -> Percolation[K]:
    """`percolate(index=memo.index, subscribers=...)`, evaluating only the interests `memo` has not seen.

    The result is the same as percolate's for these subscribers (its evaluated interests are numbered in
    the memo's order, so ties between interests of equal score follow the order they were first met).
    """
    index = memo.index
    semantic = memo.semantic if memo.semantic is not None and memo.semantic.usable else None
    result: Percolation[K] = Percolation(index, semantic)
    distinct = _lay_out(result, subscribers)
    new = [text for text in distinct if text not in memo.by_text]
    shard = evaluate_shard(index, new, keep_compiled=True, semantic=semantic)
    memo.invalid.update(shard.invalid)
    for text, number in zip(new, shard.numbers, strict=True):
        memo.by_text[text] = -1 if number < 0 else _memo_add(memo, shard.evaluated[number])
    result.evaluated = memo.evaluated
    numbers = [memo.by_text[text] for text in distinct]
    result._text_to_interest = array("i", numbers)
    result._combined = [memo.combined[number] if number >= 0 else 0 for number in numbers]
    stats = result.stats
    stats.subscribers = len(result._keys)
    stats.interest_uses = len(result._slots)
    stats.distinct_texts = len(distinct)
    stats.distinct_interests = len({number for number in numbers if number >= 0})
    stats.invalid = {text: memo.invalid[text] for text in distinct if text in memo.invalid}
    result.formatting_memo = memo
    return result


def _memo_add(memo: PercolationMemo, item: Evaluated) -> int:
    assert item.compiled is not None  # evaluated with keep_compiled
    number = memo.by_compiled.get(item.compiled)
    if number is None:  # equal compiled forms share one evaluation, as in percolate
        number = memo.by_compiled[item.compiled] = len(memo.evaluated)
        memo.evaluated.append(item)
        memo.combined.append(item.bits | item.excludes << len(memo.index))
    return number
