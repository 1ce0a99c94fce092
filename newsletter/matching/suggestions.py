"""Related terms for an interest, found in the papers themselves: the live preview's suggestions while typing.

No hand-written list. The candidates are the phrases of the index's papers (1-3 words of a title or an
abstract sentence, no stop word at either end, in at least MIN_PAPERS papers and not in most of them), and
two kinds of evidence choose among them:

- **co-occurrence**: phrases over-represented among the papers the interest picks (their share there
  against their share of the whole index: the lift), in at least MIN_PAPERS of those papers;
- **the same vectors as the matcher**: the phrases of the papers closest to the interest's vector, then
  every candidate ranked by the cosine of its own vector to the interest's (when an encoder is given).

A phrase that only repeats the interest's words ("learning" for `in-context learning`, or the interest in
other company) is left out.
Pure Python and numpy: vectors come in through `encode` (cached by the caller), the index from the matcher.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from newsletter.matching.index import PaperIndex
from newsletter.matching.text import STOP_WORDS, normalise, stem

MIN_PAPERS = 2  # a phrase in one paper is that paper's wording, not a term of the field
MAX_SHARE = 0.3  # ... and one in most papers says nothing ("results", "propose")
MAX_WORDS = 3
NEAREST_PAPERS = 10  # the papers closest to the interest's vector whose phrases are candidates
CANDIDATES = 40  # at most this many phrases are encoded per suggestion (the preview's cost bound)
MIN_COSINE = 0.35  # a candidate this far from the interest is not related, whatever it co-occurs with
SHOWN = 5

_WORDS = re.compile(r"[^\W\d_][\w]*(?:-[\w]+)*")
_SENTENCES = re.compile(r"(?<=[.!?;:])\s+")


@dataclass(frozen=True, slots=True)
class PhraseTable:
    """The candidate phrases of one index: each phrase's display form and bit set of papers."""

    papers_of: dict[str, int]  # phrase key (lower case) -> papers holding it
    display: dict[str, str]  # phrase key -> as first written (acronyms keep their capitals)
    papers: int

    @classmethod
    def build(cls, index: PaperIndex) -> PhraseTable:
        papers_of: dict[str, int] = {}
        display: dict[str, str] = {}
        for number, indexed in enumerate(index.papers):
            bit = 1 << number
            for key, shown in _phrases(f"{indexed.paper.title}. {indexed.paper.abstract}"):
                papers_of[key] = papers_of.get(key, 0) | bit
                display.setdefault(key, shown)
        most = max(MIN_PAPERS, int(MAX_SHARE * len(index.papers)))
        kept = {key: bits for key, bits in papers_of.items() if MIN_PAPERS <= bits.bit_count() <= most}
        return cls(papers_of=kept, display={key: display[key] for key in kept}, papers=len(index.papers))


def _phrases(text: str) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for sentence in _SENTENCES.split(normalise(text)):
        words = _WORDS.findall(sentence)
        for size in range(1, MAX_WORDS + 1):
            for start in range(len(words) - size + 1):
                gram = words[start : start + size]
                first, last = gram[0].casefold(), gram[-1].casefold()
                if first in STOP_WORDS or last in STOP_WORDS or len(" ".join(gram)) < 4:
                    continue
                found.add((" ".join(gram).casefold(), " ".join(_shown(word) for word in gram)))
    return found


def _shown(word: str) -> str:
    """An acronym or a name with capitals inside ("RLHF", "GPT-4", "LoRA") as written, other words lower case."""
    return word if any(c.isupper() for c in word[1:]) else word.lower()


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(word.casefold()) for word in _WORDS.findall(normalise(text)))


def suggest(
    *,
    table: PhraseTable,
    interest: str,
    picked: int,
    closest_papers: Sequence[int] = (),
    encode: Callable[[list[str]], np.ndarray] | None = None,
    shown: int = SHOWN,
) -> list[str]:
    """Up to `shown` related terms for `interest`, best first.

    `picked`: bit set of the papers the interest picks (co-occurrence); `closest_papers`: paper numbers
    closest to the interest's vector, best first; `encode`: texts -> unit vectors (the interest's and the
    candidates'), or None to rank by co-occurrence alone.
    """
    own = _stems(interest)
    candidates = _co_occurring(table, picked, own) + _near(table, closest_papers, own)
    candidates = list(dict.fromkeys(candidates))[:CANDIDATES]
    if not candidates:
        return []
    if encode is None:
        return [table.display[key] for key in candidates[:shown]]
    vectors = encode([interest, *(table.display[key] for key in candidates)])
    cosines = vectors[1:] @ vectors[0]
    ranked = sorted(range(len(candidates)), key=lambda i: (-cosines[i], candidates[i]))
    return [table.display[candidates[i]] for i in ranked if cosines[i] >= MIN_COSINE][:shown]


def _co_occurring(table: PhraseTable, picked: int, own: frozenset[str]) -> list[str]:
    count = picked.bit_count()
    if count < MIN_PAPERS:
        return []
    scored: list[tuple[float, str]] = []
    for key, bits in table.papers_of.items():
        shared = (bits & picked).bit_count()
        if shared < MIN_PAPERS or _only_own_words(key, own):
            continue
        lift = (shared / count) / (bits.bit_count() / table.papers)
        if lift > 1.5:
            scored.append((lift * math.log1p(shared), key))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [key for _, key in scored[: CANDIDATES // 2]]


def _near(table: PhraseTable, closest_papers: Sequence[int], own: frozenset[str]) -> list[str]:
    """Phrases of the closest papers that at least two of them share, most shared first."""
    near = 0
    for number in closest_papers[:NEAREST_PAPERS]:
        near |= 1 << number
    counts = Counter[str]()
    for key, bits in table.papers_of.items():
        shared = (bits & near).bit_count()
        if shared >= MIN_PAPERS and not _only_own_words(key, own):
            counts[key] = shared
    return [key for key, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: CANDIDATES // 2]]


def _only_own_words(key: str, own: frozenset[str]) -> bool:
    """The phrase is part of the interest ("learning") or the interest in other company ("in-context
    learning ability"): nothing new to suggest."""
    stems = _stems(key)
    return stems <= own or own <= stems


def closest_papers(interest_vector: np.ndarray, doc_vectors: np.ndarray, present: np.ndarray) -> list[int]:
    """Paper numbers by cosine of their title + abstract to the interest, best first (papers with vectors)."""
    cosines = np.where(present, doc_vectors @ interest_vector, -np.inf)
    order = np.argsort(-cosines, kind="stable")[:NEAREST_PAPERS]
    return [int(number) for number in order if np.isfinite(cosines[number])]
