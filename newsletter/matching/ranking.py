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
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import reduce
from itertools import accumulate, chain, count, islice
from multiprocessing.connection import Connection
from operator import itemgetter
from typing import Any, Generic, TypeVar

from newsletter.matching.explain import Match, build_matches, related_explanation
from newsletter.matching.index import PaperId, PaperIndex, iter_bits
from newsletter.matching.interests import InterestError, parse_interest
from newsletter.matching.query import CompiledInterest, compile_interest
from newsletter.matching.scoring import excluded, score_interest
from newsletter.matching.semantic import SemanticLayer, fused_verdicts

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
    # With the semantic layer: the picks the vectors brought (no word hit), and each one's closest sentence.
    related: int = 0
    sentences: dict[int, int] | None = None


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
        ranked = _ranked(per_paper, fused=self.semantic is not None)[:limit]
        return [self._paper_match(number, found, explain) for number, found in ranked]

    def _match(self, item: _Evaluated, number: int, score: float) -> Match:
        # Subscribers who share an interest get the same papers explained the same way: explain once.
        cache_key = (id(item), number)
        match = self._explained.get(cache_key)
        if match is None:
            if len(self._explained) >= _EXPLAINED_CACHE:
                self._explained.clear()  # bounded: a digest run walks subscribers, not back and forth
            match = self._explained[cache_key] = _explained(self, item, number, score)
        return match

    def _paper_match(self, number: int, found: list[tuple[_Evaluated, float]], explain: bool) -> PaperMatch:
        paper_id = self.index.papers[number].paper.id
        best = max(score for _, score in found)
        if not explain:
            return PaperMatch(paper_id=paper_id, score=best, matches=())
        matches = [self._match(item, number, score) for item, score in found]
        matches.sort(key=lambda match: -match.score)
        return PaperMatch(paper_id=paper_id, score=best, matches=tuple(matches))


def _explained(result: Percolation[Any], item: _Evaluated, number: int, score: float) -> Match:
    """Why `item` picked paper `number`: its words, or (a related pick) the paper's closest sentence."""
    compiled = _compiled_of(result.index, item)
    if item.related >> number & 1 and result.semantic is not None:
        sentence = result.semantic.sentence((item.sentences or {}).get(number, -1))
        explanation = related_explanation(result.index, number, interest=compiled.text, sentence=sentence)
        return Match(paper_id=result.index.papers[number].paper.id, score=score, explanation=explanation)
    return build_matches(result.index, compiled, [(number, score)])[0]


def _compiled_of(index: PaperIndex, item: _Evaluated) -> CompiledInterest:
    if item.compiled is None:
        item.compiled = compile_interest(parse_interest(item.text), acronyms=index.acronyms)
    return item.compiled


def _ranked(
    per_paper: dict[int, list[tuple[_Evaluated, float]]], *, fused: bool = False
) -> list[tuple[int, list[tuple[_Evaluated, float]]]]:
    # Papers on the subscriber's own words before related ones (fused only); best score first; a paper
    # matching more of the subscriber's interests wins a tie; then index order.
    def key(kv: tuple[int, list[tuple[_Evaluated, float]]]) -> tuple[bool, float, int, int]:
        related = fused and all(item.related >> kv[0] & 1 for item, _ in kv[1])
        return (related, -max(s for _, s in kv[1]), -len(kv[1]), kv[0])

    return sorted(per_paper.items(), key=key)


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
    shards = _evaluate_parallel(index, distinct, workers, semantic) if workers > 1 and _can_fork() else None
    for shard in shards or [_evaluate_shard(index, distinct, keep_compiled=True, semantic=semantic)]:
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


def _evaluate_shard(
    index: PaperIndex, texts: Sequence[str], *, keep_compiled: bool, semantic: SemanticLayer | None = None
) -> _Shard:
    """Parse and compile each distinct text once, evaluate each distinct compiled interest once."""
    shard = _Shard(numbers=[], evaluated=[], invalid={})
    by_compiled: dict[CompiledInterest, int] = {}
    fresh: list[tuple[CompiledInterest, str]] = []
    for text in texts:
        try:
            compiled = compile_interest(parse_interest(text), acronyms=index.acronyms)
        except InterestError as error:
            shard.invalid[text] = str(error)
            shard.numbers.append(-1)
            continue
        number = by_compiled.get(compiled)
        if number is None:
            number = by_compiled[compiled] = len(fresh)
            fresh.append((compiled, text))
        shard.numbers.append(number)
    if semantic is None:
        shard.evaluated = [_evaluate(index, compiled, text, keep_compiled) for compiled, text in fresh]
    else:
        shard.evaluated = _evaluate_fused(index, fresh, keep_compiled, semantic)
    return shard


def _evaluate_fused(
    index: PaperIndex, fresh: list[tuple[CompiledInterest, str]], keep_compiled: bool, semantic: SemanticLayer
) -> list[_Evaluated]:
    """The fused matcher's verdicts, all interests with clauses at once (in blocks); exclusion-only ones as ever."""
    positive = [compiled for compiled, _ in fresh if compiled.clauses]
    verdicts = iter(fused_verdicts(index, semantic, positive))
    evaluated: list[_Evaluated] = []
    for compiled, text in fresh:
        if not compiled.clauses:
            evaluated.append(_evaluate(index, compiled, text, keep_compiled))
            continue
        verdict = next(verdicts)
        bits = reduce(operator.or_, (1 << number for number in verdict.scored), 0)
        evaluated.append(
            _Evaluated(
                text=text,
                bits=bits,
                scored=verdict.scored,
                excludes=0,
                compiled=compiled if keep_compiled else None,
                related=verdict.related,
                sentences=verdict.sentences or None,
            )
        )
    return evaluated


def _evaluate(index: PaperIndex, compiled: CompiledInterest, text: str, keep_compiled: bool) -> _Evaluated:
    kept = compiled if keep_compiled else None
    if not compiled.clauses:  # "-survey" alone: applies to all of the subscriber's interests
        return _Evaluated(text=text, bits=0, scored={}, excludes=excluded(index, compiled), compiled=kept)
    scored = dict(score_interest(index, compiled))
    bits = reduce(operator.or_, (1 << number for number in scored), 0)
    return _Evaluated(text=text, bits=bits, scored=scored, excludes=0, compiled=kept)


# Set just before forking, read by the forked children: the index and texts are inherited, not pickled.
_FORKED: tuple[PaperIndex, list[str], int, SemanticLayer | None] | None = None


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _evaluate_parallel(
    index: PaperIndex, texts: list[str], workers: int, semantic: SemanticLayer | None = None
) -> list[_Shard]:
    """Shard i (texts i, i + workers, ...) in process i; this process does shard 0 meanwhile."""
    global _FORKED
    context = multiprocessing.get_context("fork")
    _FORKED = (index, texts, workers, semantic)
    try:
        children = []
        for shard_number in range(1, workers):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(sender, shard_number), daemon=True)
            process.start()
            sender.close()
            children.append((process, receiver))
        shards = [_evaluate_shard(index, texts[0::workers], keep_compiled=False, semantic=semantic)]
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
    index, texts, workers, semantic = _FORKED
    sender.send(_evaluate_shard(index, texts[shard_number::workers], keep_compiled=False, semantic=semantic))
    sender.close()


# --- ranking without explanations, and explaining one pair (for digest planning) ---------------------------

# paper, best score, interests that matched (best first), related: no interest's words are in the paper (the
# semantic layer brought it). Papers on the subscriber's own words rank first, related ones after them.
RankedPaper = tuple[PaperId, float, tuple[str, ...], bool]


def _is_related(evaluated: list[_Evaluated], number: int, interests: Iterable[int]) -> bool:
    return all(evaluated[interest].related >> number & 1 for interest in interests)


def _ranked_of(
    result: Percolation[Any], row: int, bits: int, texts: list[str | None], limit: int | None
) -> list[RankedPaper]:
    """What `matches(key, explain=False, limit=...)` ranks, with each match's interest text and no explanation.

    The same order as `matches`: best score first, more interests matched wins a tie, then index order; a
    paper's interests best first (ties in evaluation order). The text of an interest is its compiled form's
    (as `Match.interest` is), looked up once per evaluated interest in `texts`.
    """
    slots = result._slots[result._offsets[row] : result._offsets[row + 1]]
    numbers = sorted({result._text_to_interest[slot] for slot in slots} - {-1})
    evaluated = result._evaluated
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
    ranked = sorted(per_paper.items(), key=lambda kv: (related[kv[0]], -max(kv[1])[0], -len(kv[1]), kv[0]))[:limit]
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
        text = texts[interest] = _compiled_of(result.index, result._evaluated[interest]).text
    return text


def _ranking_texts(result: Percolation[Any]) -> list[str | None]:
    texts: list[str | None] | None = getattr(result, "_ranking_texts_memo", None)
    if texts is None:
        texts = [None] * len(result._evaluated)
        result._ranking_texts_memo = texts  # type: ignore[attr-defined]
    return texts


def percolation_ranked(result: Percolation[K], key: K, *, limit: int | None = None) -> list[RankedPaper]:
    """One subscriber's matched papers, best first, as (paper id, score, interest texts): no explanation."""
    row = result._row(key)
    bits = result._row_bits(row)
    return _ranked_of(result, row, bits, _ranking_texts(result), limit) if bits else []


def percolation_iter_ranked(
    result: Percolation[K], *, limit: int | None = None
) -> Iterator[tuple[K, list[RankedPaper]]]:
    """(subscriber, ranked papers) for every subscriber with at least one match, in input order."""
    texts = _ranking_texts(result)
    for row, (key, bits) in enumerate(result.iter_paper_bits()):
        if bits:
            yield key, _ranked_of(result, row, bits, texts, limit)


def percolation_explain(result: Percolation[Any], *, paper_id: PaperId, interest: str) -> Match | None:
    """Why `paper_id` matched `interest` (a text `ranked` reported), as `matches` would explain it; None if it
    did not match. Each interest is compiled once per result; the explanation itself is built on every call."""
    numbers: dict[PaperId, int] | None = getattr(result, "_explain_numbers_memo", None)
    if numbers is None:
        numbers = {indexed.paper.id: n for n, indexed in enumerate(result.index.papers)}
        result._explain_numbers_memo = numbers  # type: ignore[attr-defined]
    by_text: dict[str, _Evaluated] | None = getattr(result, "_explain_items_memo", None)
    if by_text is None:
        by_text = {}
        for item in result._evaluated:
            by_text.setdefault(_compiled_of(result.index, item).text, item)
        result._explain_items_memo = by_text  # type: ignore[attr-defined]
    number = numbers.get(paper_id)
    found = by_text.get(interest)
    if number is None or found is None or number not in found.scored:
        return None
    return _explained(result, found, number, found.scored[number])


def percolation_iter_formatted(
    result: Percolation[K], *, limit: int | None, item: Callable[[PaperId, float, tuple[str, ...], bool], str]
) -> Iterator[tuple[K, list[str], list[tuple[PaperId, str]]]]:
    """`percolation_iter_ranked` for a million subscribers: each ranked paper as `item(paper id, score, interest
    texts, related)` formats it, and the (paper id, best interest) of each, for every subscriber with a match.

    The same ranking and order. A paper matched by one interest of the subscriber (most of them) is formatted
    once per (interest, paper) however many subscribers share it, and one several interests matched once per
    (paper, those interests) (bounded: such combinations are many more). No explanation is built.
    """
    texts = _ranking_texts(result)
    evaluated = result._evaluated
    text_to_interest = result._text_to_interest
    papers = result.index.papers
    # (interest, paper number) -> item, pair; (paper number, *interests) -> the same. Kept across the results
    # of one PercolationMemo (their interests are numbered alike), else for this call.
    memo: PercolationMemo | None = getattr(result, "_formatting_memo", None)
    single: dict[tuple[int, int], tuple[str, tuple[PaperId, str]]] = memo.single if memo is not None else {}
    several: dict[tuple[Any, ...], tuple[str, tuple[PaperId, str]]] = memo.several if memo is not None else {}
    slots, offsets = result._slots, result._offsets
    fused = result.semantic is not None
    for row, (key, bits) in enumerate(result.iter_paper_bits()):
        if not bits:
            continue
        numbers = sorted({text_to_interest[slot] for slot in slots[offsets[row] : offsets[row + 1]]})
        per_paper: dict[int, list[Any]] = {}  # paper number -> [score, interest, score, interest, ...]
        for interest in numbers:
            if interest < 0:
                continue
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
        order = sorted(
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
        for related, _, _, number in order:
            entry = per_paper[number]
            if len(entry) == 2:
                cached = single.get((entry[1], number))
                if cached is None:
                    text = _text_of(result, texts, entry[1])
                    paper_id = papers[number].paper.id
                    formatted_item = item(paper_id, entry[0], (text,), related)
                    cached = single[entry[1], number] = (formatted_item, (paper_id, text))
                formatted.append(cached[0])
                tops.append(cached[1])
                continue
            combination = (number, *entry[1::2])  # the scores follow from the paper and the interests
            cached = several.get(combination)
            if cached is None:
                ranked = sorted(zip(entry[0::2], entry[1::2], strict=True), key=lambda pair: (-pair[0], pair[1]))
                names = tuple(_text_of(result, texts, interest) for _, interest in ranked)
                paper_id = papers[number].paper.id
                if len(several) >= _SEVERAL_CACHE:
                    several.clear()
                formatted_item = item(paper_id, ranked[0][0], names, related)
                cached = several[combination] = (formatted_item, (paper_id, names[0]))
            formatted.append(cached[0])
            tops.append(cached[1])
        yield key, formatted, tops


_SEVERAL_CACHE = 1_000_000  # formatted items of papers several interests matched: ~200 bytes each


def _scored_in(scored: dict[int, float], bits: int) -> list[tuple[int, float]]:
    return [(number, score) for number, score in scored.items() if bits >> number & 1]


# --- percolating in chunks against one index: each distinct interest evaluated once for all chunks ----------


@dataclass(slots=True)
class PercolationMemo:
    """What `percolate_memo` keeps between calls on one index: each distinct interest's evaluation, and the
    items `percolation_iter_formatted` formatted (use one `item` formatter per memo). Subscribers percolated
    in chunks then evaluate each interest once in all, not once per chunk (a million subscribers in chunks
    of 20,000 met most of the day's interests in every chunk)."""

    index: PaperIndex
    semantic: SemanticLayer | None = None  # the fused matcher's vectors (see percolate)
    evaluated: list[_Evaluated] = field(default_factory=list)  # shared by every result made with this memo
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
    shard = _evaluate_shard(index, new, keep_compiled=True, semantic=semantic)
    memo.invalid.update(shard.invalid)
    for text, number in zip(new, shard.numbers, strict=True):
        memo.by_text[text] = -1 if number < 0 else _memo_add(memo, shard.evaluated[number])
    result._evaluated = memo.evaluated
    numbers = [memo.by_text[text] for text in distinct]
    result._text_to_interest = array("i", numbers)
    result._combined = [memo.combined[number] if number >= 0 else 0 for number in numbers]
    stats = result.stats
    stats.subscribers = len(result._keys)
    stats.interest_uses = len(result._slots)
    stats.distinct_texts = len(distinct)
    stats.distinct_interests = len({number for number in numbers if number >= 0})
    stats.invalid = {text: memo.invalid[text] for text in distinct if text in memo.invalid}
    result._formatting_memo = memo  # type: ignore[attr-defined]  # read by percolation_iter_formatted
    return result


def _memo_add(memo: PercolationMemo, item: _Evaluated) -> int:
    assert item.compiled is not None  # evaluated with keep_compiled
    number = memo.by_compiled.get(item.compiled)
    if number is None:  # equal compiled forms share one evaluation, as in percolate
        number = memo.by_compiled[item.compiled] = len(memo.evaluated)
        memo.evaluated.append(item)
        memo.combined.append(item.bits | item.excludes << len(memo.index))
    return number
