"""Acronyms learned from the papers: "large language models (LLMs)" teaches LLM = large language model.

Definitions are found with the Schwartz-Hearst algorithm (Schwartz & Hearst, PSB 2003): every letter of the
short form must appear, in order, in the words just before the parenthesis, and its first letter must
start a word. No hand-written list: the table grows as papers arrive, is merged incrementally and stored as
JSON, and counts each (acronym, expansion) pair once per paper so an ambiguous acronym ("CL": continual,
contrastive or curriculum learning) shows up as ambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from newsletter.matching.text import STOP_WORDS, normalise, tokenise

# Expansion keys are the stems of the content words, so "chain of thought" and "chain-of-thought" agree.
ExpansionKey = tuple[str, ...]

_PARENTHESISED = re.compile(r"\(([^()]{1,60})\)")
_SHORT_FORM = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,9}$")
# A long form never runs across these; a spaced dash ("modalities -- vision") is a break, a hyphen is not.
_CLAUSE_BREAK = re.compile(r"[.;:!?()\[\]]|\s-+\s")
# How many JSON versions we can read; bump when the stored shape changes.
_JSON_VERSION = 1

# Used to resolve an acronym in a paper that does not define it: the global pair must have been seen at
# least this often, and make up this share of all the acronym's expansions, to count as unambiguous.
MIN_SUPPORT = 2
DOMINANT_SHARE = 2 / 3


@dataclass(frozen=True, slots=True)
class Definition:
    acronym: str  # as written, without a plural s: "LLM"
    expansion: str  # as written: "large language models"

    @property
    def acronym_key(self) -> str:
        return acronym_key(self.acronym)

    @property
    def expansion_key(self) -> ExpansionKey:
        return expansion_key(self.expansion)


def acronym_key(acronym: str) -> str:
    """The token an acronym becomes in the index ("LLMs" and "llm" are both "llm")."""
    tokens = tokenise(normalise(acronym))
    return "".join(token.stem for token in tokens)


def expansion_key(expansion: str) -> ExpansionKey:
    tokens = tokenise(normalise(expansion))
    return tuple(token.stem for token in tokens if token.surface not in STOP_WORDS)


def find_definitions(text: str) -> list[Definition]:
    """Every "long form (SF)" and "SF (long form)" definition in a text, in order."""
    text = normalise(text)
    found: list[Definition] = []
    for paren in _PARENTHESISED.finditer(text):
        inside = re.split(r"[;,]", paren.group(1), maxsplit=1)[0].strip()
        before = _clause_before(text, paren.start())
        definition = _long_form_first(inside, before) or _short_form_first(inside, before)
        if definition is not None:
            found.append(definition)
    return found


def _clause_before(text: str, end: int) -> str:
    """The text between the last clause break and a parenthesis: where a long form can be."""
    start = max((m.end() for m in _CLAUSE_BREAK.finditer(text, max(0, end - 200), end)), default=0)
    return text[max(start, end - 200) : end]


def _long_form_first(short: str, before: str) -> Definition | None:
    short = _singular(short)
    if not _looks_like_acronym(short):
        return None
    words = before.split()
    window = min(len(short) + 5, 2 * len(short))
    candidate = " ".join(words[-window:])
    long_form = _best_long_form(short, candidate)
    return _accept(short, long_form)


def _short_form_first(inside: str, before: str) -> Definition | None:
    words = before.split()
    if not words or len(inside.split()) < 2:
        return None
    short = _singular(words[-1].strip("\"'"))
    if not _looks_like_acronym(short):
        return None
    long_form = _best_long_form(short, inside)
    return _accept(short, long_form) if long_form == inside.strip() else None


def _singular(short: str) -> str:
    return short[:-1] if len(short) > 2 and short.endswith("s") and short[-2].isupper() else short


def _looks_like_acronym(short: str) -> bool:
    return bool(_SHORT_FORM.match(short)) and sum(ch.isupper() for ch in short) >= 2


def _best_long_form(short: str, candidate: str) -> str | None:
    """Schwartz-Hearst: match the short form's letters right to left; the first must start a word."""
    s_index = len(short) - 1
    l_index = len(candidate) - 1
    while s_index >= 0:
        char = short[s_index].lower()
        if not char.isalnum():
            s_index -= 1
            continue
        while l_index >= 0 and (
            candidate[l_index].lower() != char or (s_index == 0 and l_index > 0 and candidate[l_index - 1].isalnum())
        ):
            l_index -= 1
        if l_index < 0:
            return None
        l_index -= 1
        s_index -= 1
    start = max(candidate.rfind(" ", 0, l_index + 1), candidate.rfind("-", 0, l_index + 1)) + 1
    if candidate[start - 1 : start] == "-":  # keep a hyphenated compound whole: "in-context learning"
        start = candidate.rfind(" ", 0, start) + 1
    return candidate[start:].strip()


def _accept(short: str, long_form: str | None) -> Definition | None:
    if not long_form:
        return None
    tokens = tokenise(normalise(long_form))
    content = [token for token in tokens if token.surface not in STOP_WORDS]
    # One word cannot be the expansion of a several-letter acronym, and the short form must not simply
    # repeat itself inside the long form ("the LLM (LLM)").
    if len(tokens) < 2 or not content or short.lower() in {token.surface for token in tokens}:
        return None
    if long_form.split()[0].lower() in STOP_WORDS:  # "the model (TM)"; but "in-context learning" is fine
        return None
    return Definition(acronym=short, expansion=long_form)


@dataclass(slots=True)
class _Entry:
    acronym: str  # display forms, from the first paper that defined the pair
    expansion: str
    count: int


@dataclass(slots=True)
class AcronymTable:
    """Acronym -> expansions with the number of papers that defined each pair. Mergeable and JSON-able."""

    _entries: dict[tuple[str, ExpansionKey], _Entry] = field(default_factory=dict)

    def learn(self, *, texts: Iterable[str]) -> None:
        """Count each text's definitions once (a text is one paper's title and abstract)."""
        for text in texts:
            seen: dict[tuple[str, ExpansionKey], Definition] = {}
            for definition in find_definitions(text):
                key = (definition.acronym_key, definition.expansion_key)
                seen.setdefault(key, definition)
            for key, definition in seen.items():
                self._add(key, definition.acronym, definition.expansion, 1)

    def merge(self, other: AcronymTable) -> AcronymTable:
        """A new table holding both tables' counts (for storing today's pairs on top of yesterday's)."""
        merged = AcronymTable()
        for table in (self, other):
            for key, entry in table._entries.items():
                merged._add(key, entry.acronym, entry.expansion, entry.count)
        return merged

    def _add(self, key: tuple[str, ExpansionKey], acronym: str, expansion: str, count: int) -> None:
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = _Entry(acronym, expansion, count)
        else:
            entry.count += count

    def to_json(self) -> dict[str, Any]:
        entries = sorted(self._entries.values(), key=lambda e: (e.acronym.lower(), -e.count, e.expansion))
        return {
            "version": _JSON_VERSION,
            "pairs": [{"acronym": e.acronym, "expansion": e.expansion, "count": e.count} for e in entries],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AcronymTable:
        """Keys are recomputed from the display forms, so a stemmer upgrade never leaves stale keys."""
        if data.get("version") != _JSON_VERSION:
            raise ValueError(f"unsupported acronym table version: {data.get('version')!r}")
        table = cls()
        for pair in data["pairs"]:
            definition = Definition(acronym=str(pair["acronym"]), expansion=str(pair["expansion"]))
            key = (definition.acronym_key, definition.expansion_key)
            table._add(key, definition.acronym, definition.expansion, int(pair["count"]))
        return table

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[tuple[str, str, int]]:
        for entry in self._entries.values():
            yield entry.acronym, entry.expansion, entry.count

    def lookup(self) -> AcronymLookup:
        """Indexes for matching, built once per run."""
        return AcronymLookup.build(self._entries)


@dataclass(frozen=True, slots=True)
class Expansion:
    acronym_key: str
    acronym: str
    expansion: str
    key: ExpansionKey
    dominant: bool  # unambiguous enough to resolve the acronym where a paper does not define it


@dataclass(slots=True)
class AcronymLookup:
    by_acronym: dict[str, list[Expansion]]
    by_expansion: dict[ExpansionKey, list[Expansion]]
    first_stems: frozenset[str] = frozenset()  # first stem of every expansion, to skip runs quickly
    # A run of two or more words inside a longer dominant expansion -> that expansion's acronym: RLHF
    # (reinforcement learning from human feedback) is a kind of RL (reinforcement learning), so the
    # interest `RL` or `reinforcement learning` also finds a paper that writes only "RLHF".
    containing: dict[ExpansionKey, list[Expansion]] = field(default_factory=dict)

    @classmethod
    def build(cls, entries: dict[tuple[str, ExpansionKey], _Entry]) -> AcronymLookup:
        totals: dict[str, int] = {}
        for (a_key, _), entry in entries.items():
            totals[a_key] = totals.get(a_key, 0) + entry.count
        lookup = cls(by_acronym={}, by_expansion={})
        for (a_key, e_key), entry in entries.items():
            dominant = entry.count >= MIN_SUPPORT and entry.count >= DOMINANT_SHARE * totals[a_key]
            item = Expansion(a_key, entry.acronym, entry.expansion, e_key, dominant)
            lookup.by_acronym.setdefault(a_key, []).append(item)
            lookup.by_expansion.setdefault(e_key, []).append(item)
        lookup.first_stems = frozenset(key[0] for key in lookup.by_expansion if key)
        for items in lookup.by_expansion.values():
            for item in items:
                if item.dominant:
                    for run in _inner_runs(item.key):
                        lookup.containing.setdefault(run, []).append(item)
        return lookup


def _inner_runs(key: ExpansionKey) -> set[ExpansionKey]:
    """Every run of at least two consecutive stems of a key, shorter than the key."""
    return {key[i:j] for i in range(len(key)) for j in range(i + 2, len(key) + 1) if j - i < len(key)}


def learn_acronyms(*, texts: Iterable[str]) -> AcronymTable:
    table = AcronymTable()
    table.learn(texts=texts)
    return table
