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

import gc
import multiprocessing
import operator
from array import array
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import reduce
from itertools import accumulate, chain, count, islice
from multiprocessing.connection import Connection
from operator import itemgetter
from typing import Any, Generic, TypeVar

from newsletter.matching.explain import Match, build_matches
from newsletter.matching.index import PaperId, PaperIndex, iter_bits
from newsletter.matching.interests import InterestError, parse_interest
from newsletter.matching.query import CompiledInterest, compile_interest
from newsletter.matching.scoring import excluded, score_interest

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
class _Evaluated:
    text: str  # one text that compiles to it: compiled again only to explain a match
    bits: int  # papers matched (0 for an exclusion-only interest)
    scored: dict[int, float]  # paper number -> score
    excludes: int  # papers excluded for every interest of the subscriber (exclusion-only interests)
    compiled: CompiledInterest | None = None


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

    def __init__(self, index: PaperIndex) -> None:
        self.index = index
        self.stats = PercolationStats()
        self._keys: list[K] = []
        self._rows_by_key: dict[K, int] | None = None  # built on the first lookup by key
        self._explained: dict[tuple[int, int], Match] = {}
        self._sizes = array("H")  # per subscriber: how many interests
        self._offsets = array("q", [0])  # per subscriber: where their interests start in _slots
        self._slots = array("i")  # per interest use: its text's number
        self._text_to_interest = array("i")  # text number -> evaluated interest number, -1 if invalid
        self._evaluated: list[_Evaluated] = []
        # Per text number: the papers it matches, OR-ed with the papers it excludes shifted above them,
        # so that one OR over a subscriber's texts gathers both.
        self._combined: list[int] = []

    def __iter__(self) -> Iterator[K]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def _row(self, key: K) -> int:
        if self._rows_by_key is None:
            self._rows_by_key = {key: row for row, key in enumerate(self._keys)}
        return self._rows_by_key[key]

    def paper_bits(self, key: K) -> int:
        """Bit set of the subscriber's matched papers (bit n = paper n of the index): the cheap path."""
        return self._row_bits(self._row(key))

    def _row_bits(self, row: int) -> int:
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
        row = self._row(key)
        bits = self._row_bits(row)
        if not bits:
            return []
        slots = self._slots[self._offsets[row] : self._offsets[row + 1]]
        evaluated = {self._text_to_interest[slot] for slot in slots} - {-1}
        per_paper: dict[int, list[tuple[_Evaluated, float]]] = defaultdict(list)
        for interest in sorted(evaluated):
            item = self._evaluated[interest]
            for number in iter_bits(item.bits & bits):
                per_paper[number].append((item, item.scored[number]))
        ranked = _ranked(per_paper)[:limit]
        return [self._paper_match(number, found, explain) for number, found in ranked]

    def _match(self, item: _Evaluated, number: int, score: float) -> Match:
        # Subscribers who share an interest get the same papers explained the same way: explain once.
        cache_key = (id(item), number)
        match = self._explained.get(cache_key)
        if match is None:
            if len(self._explained) >= _EXPLAINED_CACHE:
                self._explained.clear()  # bounded: a digest run walks subscribers, not back and forth
            compiled = _compiled_of(self.index, item)
            match = self._explained[cache_key] = build_matches(self.index, compiled, [(number, score)])[0]
        return match

    def _paper_match(self, number: int, found: list[tuple[_Evaluated, float]], explain: bool) -> PaperMatch:
        paper_id = self.index.papers[number].paper.id
        best = max(score for _, score in found)
        if not explain:
            return PaperMatch(paper_id=paper_id, score=best, matches=())
        matches = [self._match(item, number, score) for item, score in found]
        matches.sort(key=lambda match: -match.score)
        return PaperMatch(paper_id=paper_id, score=best, matches=tuple(matches))


def _compiled_of(index: PaperIndex, item: _Evaluated) -> CompiledInterest:
    if item.compiled is None:
        item.compiled = compile_interest(parse_interest(item.text), acronyms=index.acronyms)
    return item.compiled


def _ranked(
    per_paper: dict[int, list[tuple[_Evaluated, float]]],
) -> list[tuple[int, list[tuple[_Evaluated, float]]]]:
    # Best score first; a paper matching more of the subscriber's interests wins a tie; then index order.
    return sorted(per_paper.items(), key=lambda kv: (-max(s for _, s in kv[1]), -len(kv[1]), kv[0]))


def percolate(*, index: PaperIndex, subscribers: Iterable[tuple[K, Sequence[str]]], workers: int = 1) -> Percolation[K]:
    """Match every subscriber. Each value is that subscriber's interests, one string per interest.

    `workers` > 1 evaluates the distinct interests in that many processes (forked, so the index is
    shared, not copied); it needs the "fork" start method and falls back to one process without it.
    An invalid interest string is skipped (and reported in `stats.invalid`), never fatal: interests are
    validated when typed, so one here means the rules changed since.
    """
    result: Percolation[K] = Percolation(index)
    texts: defaultdict[str, int] = defaultdict(count().__next__)
    pairs = subscribers if isinstance(subscribers, Sequence) else list(subscribers)
    # Done by C loops (zip, map, chain, accumulate): at a million subscribers a Python loop here would
    # cost more than all the matching.
    result._keys = list(map(itemgetter(0), pairs))
    lists = list(map(itemgetter(1), pairs))
    result._sizes = array("H", map(len, lists))
    result._slots = array("i", map(texts.__getitem__, chain.from_iterable(lists)))
    result._offsets.extend(accumulate(result._sizes))
    del lists
    distinct = list(texts)
    del texts
    shards = _evaluate_parallel(index, distinct, workers) if workers > 1 and _can_fork() else None
    for shard in shards or [_evaluate_shard(index, distinct, keep_compiled=True)]:
        _absorb(result, shard)
    if shards:  # shard i held texts i, i + n, i + 2n, ...: put the numbers back in text order
        order = [i for shard_number in range(len(shards)) for i in range(shard_number, len(distinct), len(shards))]
        result._text_to_interest = _reorder(result._text_to_interest, order)
        result._combined = _reorder(result._combined, order)
    stats = result.stats
    stats.subscribers = len(result._keys)
    stats.interest_uses = len(result._slots)
    stats.distinct_texts = len(distinct)
    stats.distinct_interests = len(result._evaluated)
    stats.interest_matches = sum(len(item.scored) for item in result._evaluated)
    return result


_T = TypeVar("_T")


def _reorder(values: Sequence[_T], order: list[int]) -> Any:
    placed: list[_T] = [values[0]] * len(values) if values else []
    for position, original in enumerate(order):
        placed[original] = values[position]
    return array("i", placed) if isinstance(values, array) else placed


@dataclass(slots=True)
class _Shard:
    numbers: list[int]  # per text: its evaluated interest within the shard, -1 if invalid
    evaluated: list[_Evaluated]
    invalid: dict[str, str]


def _absorb(result: Percolation[K], shard: _Shard) -> None:
    offset = len(result._evaluated)
    papers = len(result.index)
    result._evaluated.extend(shard.evaluated)
    result.stats.invalid.update(shard.invalid)
    for number in shard.numbers:
        if number < 0:
            result._text_to_interest.append(-1)
            result._combined.append(0)
        else:
            item = shard.evaluated[number]
            result._text_to_interest.append(offset + number)
            result._combined.append(item.bits | item.excludes << papers)


def _evaluate_shard(index: PaperIndex, texts: Sequence[str], *, keep_compiled: bool) -> _Shard:
    """Parse and compile each distinct text once, evaluate each distinct compiled interest once."""
    shard = _Shard(numbers=[], evaluated=[], invalid={})
    by_compiled: dict[CompiledInterest, int] = {}
    for text in texts:
        try:
            compiled = compile_interest(parse_interest(text), acronyms=index.acronyms)
        except InterestError as error:
            shard.invalid[text] = str(error)
            shard.numbers.append(-1)
            continue
        number = by_compiled.get(compiled)
        if number is None:
            number = by_compiled[compiled] = len(shard.evaluated)
            shard.evaluated.append(_evaluate(index, compiled, text, keep_compiled))
        shard.numbers.append(number)
    return shard


def _evaluate(index: PaperIndex, compiled: CompiledInterest, text: str, keep_compiled: bool) -> _Evaluated:
    kept = compiled if keep_compiled else None
    if not compiled.clauses:  # "-survey" alone: applies to all of the subscriber's interests
        return _Evaluated(text=text, bits=0, scored={}, excludes=excluded(index, compiled), compiled=kept)
    scored = dict(score_interest(index, compiled))
    bits = reduce(operator.or_, (1 << number for number in scored), 0)
    return _Evaluated(text=text, bits=bits, scored=scored, excludes=0, compiled=kept)


# Set just before forking, read by the forked children: the index and texts are inherited, not pickled.
_FORKED: tuple[PaperIndex, list[str], int] | None = None


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _evaluate_parallel(index: PaperIndex, texts: list[str], workers: int) -> list[_Shard]:
    """Shard i (texts i, i + workers, ...) in process i; this process does shard 0 meanwhile."""
    global _FORKED
    context = multiprocessing.get_context("fork")
    _FORKED = (index, texts, workers)
    try:
        children = []
        for shard_number in range(1, workers):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(sender, shard_number), daemon=True)
            process.start()
            sender.close()
            children.append((process, receiver))
        shards = [_evaluate_shard(index, texts[0::workers], keep_compiled=False)]
        for process, receiver in children:
            shards.append(receiver.recv())
            process.join()
        return shards
    finally:
        _FORKED = None


def _child(sender: Connection, shard_number: int) -> None:
    # The child shares the parent's heap copy-on-write; a garbage collection would write to every object
    # header in it (a million subscribers' interests) and so copy it all. It is short-lived: no GC.
    gc.disable()
    assert _FORKED is not None
    index, texts, workers = _FORKED
    sender.send(_evaluate_shard(index, texts[shard_number::workers], keep_compiled=False))
    sender.close()
