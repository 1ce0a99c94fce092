"""Evaluating distinct interests against a paper index: each parsed, compiled and scored once (in one process
or shared out to forked ones), and why one of them picked a paper. Percolation (percolation.py) builds on it.
"""

from __future__ import annotations

import gc
import multiprocessing
import operator
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import reduce
from multiprocessing.connection import Connection

from threadpoolctl import threadpool_limits

from newsletter.matching.explain import Match, build_matches, related_explanation
from newsletter.matching.index import PaperIndex
from newsletter.matching.interests import InterestError, parse_interest
from newsletter.matching.query import CompiledInterest, compile_interest
from newsletter.matching.scoring import excluded, score_interest
from newsletter.matching.semantic import SemanticLayer, fused_verdicts


@dataclass(slots=True)
class Evaluated:
    text: str  # one text that compiles to it: compiled again only to explain a match
    bits: int  # papers matched (0 for an exclusion-only interest)
    scored: dict[int, float]  # paper number -> score
    excludes: int  # papers excluded for every interest of the subscriber (exclusion-only interests)
    compiled: CompiledInterest | None = None
    # With the semantic layer: the picks the vectors brought (no word hit), and each one's closest sentence.
    related: int = 0
    sentences: dict[int, int] | None = None


@dataclass(slots=True)
class Shard:
    numbers: list[int]  # per text: its evaluated interest within the shard, -1 if invalid
    evaluated: list[Evaluated]
    invalid: dict[str, str]


def evaluate_shard(
    index: PaperIndex, texts: Sequence[str], *, keep_compiled: bool, semantic: SemanticLayer | None = None
) -> Shard:
    """Parse and compile each distinct text once, evaluate each distinct compiled interest once."""
    shard = Shard(numbers=[], evaluated=[], invalid={})
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
) -> list[Evaluated]:
    """The fused matcher's verdicts, all interests with clauses at once (in blocks); exclusion-only ones as ever."""
    positive = [compiled for compiled, _ in fresh if compiled.clauses]
    verdicts = iter(fused_verdicts(index, semantic, positive))
    evaluated: list[Evaluated] = []
    for compiled, text in fresh:
        if not compiled.clauses:
            evaluated.append(_evaluate(index, compiled, text, keep_compiled))
            continue
        verdict = next(verdicts)
        bits = reduce(operator.or_, (1 << number for number in verdict.scored), 0)
        evaluated.append(
            Evaluated(
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


def _evaluate(index: PaperIndex, compiled: CompiledInterest, text: str, keep_compiled: bool) -> Evaluated:
    kept = compiled if keep_compiled else None
    if not compiled.clauses:  # "-survey" alone: applies to all of the subscriber's interests
        return Evaluated(text=text, bits=0, scored={}, excludes=excluded(index, compiled), compiled=kept)
    scored = dict(score_interest(index, compiled))
    bits = reduce(operator.or_, (1 << number for number in scored), 0)
    return Evaluated(text=text, bits=bits, scored=scored, excludes=0, compiled=kept)


# Set just before forking, read by the forked children: the index and texts are inherited, not pickled.
_FORKED: tuple[PaperIndex, list[str], int, SemanticLayer | None] | None = None


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def evaluate_parallel(
    index: PaperIndex, texts: list[str], workers: int, semantic: SemanticLayer | None = None
) -> list[Shard]:
    """Shard i (texts i, i + workers, ...) in process i; this process does shard 0 meanwhile."""
    global _FORKED
    context = multiprocessing.get_context("fork")
    _FORKED = (index, texts, workers, semantic)
    # The processes already fill the cores: a BLAS thread pool per process (the fused matcher's products)
    # would only make them take turns. Set before forking, so the children start with it too.
    one_blas_thread: AbstractContextManager[object] = nullcontext()
    if semantic is not None:
        one_blas_thread = threadpool_limits(limits=1, user_api="blas")
    try:
        with one_blas_thread:
            children = []
            for shard_number in range(1, workers):
                receiver, sender = context.Pipe(duplex=False)
                process = context.Process(target=_child, args=(sender, shard_number), daemon=True)
                process.start()
                sender.close()
                children.append((process, receiver))
            shards = [evaluate_shard(index, texts[0::workers], keep_compiled=False, semantic=semantic)]
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
    with threadpool_limits(limits=1, user_api="blas"):  # as the parent (evaluate_parallel), to be sure
        shard = evaluate_shard(index, texts[shard_number::workers], keep_compiled=False, semantic=semantic)
    sender.send(shard)
    sender.close()


def compiled_of(index: PaperIndex, item: Evaluated) -> CompiledInterest:
    if item.compiled is None:
        item.compiled = compile_interest(parse_interest(item.text), acronyms=index.acronyms)
    return item.compiled


def explained_match(
    index: PaperIndex, semantic: SemanticLayer | None, item: Evaluated, number: int, score: float
) -> Match:
    """Why `item` picked paper `number`: its words, or (a related pick) the paper's closest sentence."""
    compiled = compiled_of(index, item)
    if item.related >> number & 1 and semantic is not None:
        sentence = semantic.sentence((item.sentences or {}).get(number, -1))
        explanation = related_explanation(index, number, interest=compiled.text, sentence=sentence)
        return Match(paper_id=index.papers[number].paper.id, score=score, explanation=explanation)
    return build_matches(index, compiled, [(number, score)])[0]
