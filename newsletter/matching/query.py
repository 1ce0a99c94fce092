"""Compile a parsed interest into what the scorer evaluates: alternative clauses of units.

A unit is one word, hyphenated compound, quoted phrase or acronym, with its spelling variants
("pre-training" is also "pretraining"). A clause is the units that must all occur close together, in one
sentence. An interest compiles to the clause as typed plus one clause per acronym substitution, learned
from the papers: "large language model agents" also reads "LLM agents", and "CoT" also reads
"chain of thought". Compiled interests are hashable, so equal ones are evaluated once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from newsletter.matching.acronyms import AcronymLookup, Expansion, ExpansionKey
from newsletter.matching.interests import Interest, InterestError, Term, TermKind, parse_interest
from newsletter.matching.text import STOP_WORDS, stem

# An acronym can stand for several things; past this many substitutions an interest is not getting
# more precise, only slower.
_MAX_CLAUSES = 6


@dataclass(frozen=True, slots=True)
class Variant:
    tokens: tuple[str, ...]  # consecutive stems, or surfaces when exact
    exact: bool = False  # quoted phrase: compare the words as written, not their stems


@dataclass(frozen=True, slots=True)
class AcronymUse:
    """An acronym standing in for an expansion; trusted only where the paper does not say otherwise."""

    expansion: ExpansionKey
    dominant: bool  # the table says the acronym almost always means this expansion


@dataclass(frozen=True, slots=True)
class Unit:
    variants: tuple[Variant, ...]
    label: str  # how the subscriber (or the acronym table) wrote it, for explanations
    acronym: AcronymUse | None = None
    stop_word: bool = False  # a function word: counts for the phrase's length, is not searched for
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Hashed again and again (caches, de-duplication); a frozen dataclass would rehash the tree.
        object.__setattr__(self, "_hash", hash((self.variants, self.label, self.acronym, self.stop_word)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[Unit], tuple[object, ...]]:
        return Unit, (self.variants, self.label, self.acronym, self.stop_word)  # hash again where unpickled


@dataclass(frozen=True, slots=True)
class Clause:
    units: tuple[Unit, ...]
    length: int  # tokens of the clause as written, stop words included: the span of a perfect hit
    # Which unit is the head of the noun phrase, the word the others qualify: the last one ("generation" in
    # "video generation"), or the last before a function word ("learning" in "learning with noisy labels").
    head: int = -1
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Hashed again and again (caches, de-duplication); a frozen dataclass would rehash the tree.
        object.__setattr__(self, "_hash", hash((self.units, self.length, self.head)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[Clause], tuple[object, ...]]:
        return Clause, (self.units, self.length, self.head)


@dataclass(frozen=True, slots=True)
class CompiledInterest:
    clauses: tuple[Clause, ...]
    excludes: tuple[Clause, ...]
    text: str = field(compare=False)  # canonical interest text; equal compiled forms share one evaluation
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Hashed again and again (caches, de-duplication); a frozen dataclass would rehash the tree.
        object.__setattr__(self, "_hash", hash((self.clauses, self.excludes)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[CompiledInterest], tuple[object, ...]]:
        return CompiledInterest, (self.clauses, self.excludes, self.text)


def compile_interest(text: str | Interest, *, acronyms: AcronymLookup | None = None) -> CompiledInterest:
    """Compile one interest (raw text or parsed). Raises InterestError if the text is not valid."""
    interest = text if isinstance(text, Interest) else parse_interest(text)
    excludes = tuple(_clause(list(term_units)) for term_units in ([_unit(t)] for t in interest.excludes))
    if not interest.terms:
        return CompiledInterest(clauses=(), excludes=excludes, text=interest.text)
    units = [_unit(term) for term in interest.terms]
    clauses = [_clause(units)]
    if acronyms is not None:
        clauses.extend(_acronym_clauses(interest.terms, units, acronyms))
    unique = tuple(dict.fromkeys(clauses))[:_MAX_CLAUSES]
    return CompiledInterest(clauses=unique, excludes=excludes, text=interest.text)


@lru_cache(maxsize=100_000)  # words recur across thousands of interests; units are immutable
def _unit(term: Term) -> Unit:
    label = str(term)
    if term.kind is TermKind.PHRASE:
        return Unit(variants=(Variant(term.words, exact=True),), label=label)
    parts = tuple(stem(word) for word in term.words)
    if term.kind is TermKind.WORD:
        return Unit(variants=(Variant(parts),), label=label, stop_word=term.words[0] in STOP_WORDS)
    # "in-context" matches "in context", "in-context" and "incontext"; the index records closed
    # compounds of hyphenated text too, so "pretraining" here also finds "pre-training" there.
    closed = Variant((stem("".join(term.words)),))
    return Unit(variants=(Variant(parts), closed), label=label)


def _clause(units: list[Unit]) -> Clause:
    length = sum(len(unit.variants[0].tokens) for unit in units)
    content = [unit for unit in units if not unit.stop_word] or units
    # "models that model" looks for one word, not two: units that search for the same thing are one.
    unique = {(unit.variants, unit.acronym): unit for unit in reversed(content)}
    kept = tuple(reversed(unique.values()))
    head = _head(units)
    return Clause(units=kept, length=length, head=kept.index(head) if head in kept else len(kept) - 1)


def _head(units: list[Unit]) -> Unit:
    """The head of an English noun phrase: its last word, or the last before a function word that follows
    a content word ("learning" in "learning with noisy labels", "models" in "large language models")."""
    head = units[-1]
    for position, unit in enumerate(units):
        if unit.stop_word and position and not units[position - 1].stop_word:
            return units[position - 1]
    return head


def _acronym_clauses(terms: tuple[Term, ...], units: list[Unit], acronyms: AcronymLookup) -> list[Clause]:
    """Replace a run of words by its acronym, or an acronym by its expansion, one at a time."""
    clauses: list[Clause] = []
    keys = [_content_key(term) for term in terms]
    for start, key in enumerate(keys):
        if not key or key[0] not in acronyms.first_stems:
            continue  # no expansion starts with this word: the common case, decided in one look-up
        run: tuple[str, ...] = ()
        for end in range(start, len(terms)):
            following = keys[end]
            if following is None:
                break
            run += following
            for expansion in (*acronyms.by_expansion.get(run, ()), *acronyms.containing.get(run, ())):
                clauses.append(_clause([*units[:start], _acronym_unit(expansion), *units[end + 1 :]]))
    for position, term in enumerate(terms):
        if term.kind is not TermKind.WORD or (key := keys[position]) is None or len(key) != 1:
            continue
        for expansion in acronyms.by_acronym.get(key[0], ()):
            spelled = _spelled_out(expansion) if expansion.dominant else None
            if spelled:
                clauses.append(_clause([*units[:position], *spelled, *units[position + 1 :]]))
                for longer in acronyms.containing.get(expansion.key, ()):  # RLHF for RL
                    clauses.append(_clause([*units[:position], _acronym_unit(longer), *units[position + 1 :]]))
    return clauses


def _spelled_out(expansion: Expansion) -> list[Unit] | None:
    try:
        return [_unit(term) for term in parse_interest(expansion.expansion).terms]
    except InterestError:  # learned from a paper, so it can hold anything; such an expansion is skipped
        return None


@lru_cache(maxsize=100_000)
def _content_key(term: Term) -> tuple[str, ...] | None:
    if term.kind is TermKind.PHRASE:
        return None  # a quoted phrase asks for those exact words, never an acronym
    return tuple(stem(word) for word in term.words if word not in STOP_WORDS)


def _acronym_unit(expansion: Expansion) -> Unit:
    use = AcronymUse(expansion=expansion.key, dominant=expansion.dominant)
    return Unit(variants=(Variant((expansion.acronym_key,)),), label=expansion.acronym, acronym=use)
