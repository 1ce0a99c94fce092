"""A day's papers, tokenised and indexed once: token positions per stem, per paper.

Title and abstract share one token sequence per paper (the title first), with a sentence number per
token so that proximity never reaches across a sentence or from title into abstract. Hyphenated
compounds are also indexed closed ("pre-training" as "pretraining") so either spelling finds the other.
Each paper's own acronym definitions are kept: they decide what its acronyms mean.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from newsletter.matching.acronyms import AcronymLookup, AcronymTable, ExpansionKey, find_definitions
from newsletter.matching.text import Token, normalise, sentence_starts, stem, tokenise

PaperId = int | str


@dataclass(slots=True)
class Posting:
    spans: list[tuple[int, int]]
    sentences: int
    title: int  # how many of the spans are in the title (they come first)


# A web address: a scheme or "www." and everything up to the next space. Its words name a repository or a
# page, whatever the paper is about, so they are not indexed (the text, and so snippets, keep it).
SKIP_WEB_ADDRESSES = True
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)

# Closed forms are indexed for hyphen chains up to this many parts: "state-of-the-art" has four.
_MAX_COMPOUND_PARTS = 4


@dataclass(frozen=True, slots=True)
class PaperText:
    id: PaperId
    title: str
    abstract: str


@dataclass(slots=True)
class IndexedPaper:
    paper: PaperText
    text: str  # normalised title, a newline, normalised abstract; token offsets point into it
    title_chars: int  # text[:title_chars] is the title
    title_tokens: int  # tokens [0, title_tokens) are the title, the rest the abstract
    surfaces: list[str]
    stems: list[str]
    starts: list[int]
    ends: list[int]
    sentences: list[int]  # sentence number of each token; the title is sentence 0
    definitions: dict[str, ExpansionKey]  # acronym key -> what this paper says it stands for
    abstract_tokens: int = 0


@dataclass(slots=True)
class PaperIndex:
    papers: list[IndexedPaper]
    acronyms: AcronymLookup
    # stem -> paper number -> posting: its token spans [start, end) and a bit set of its sentences (so
    # whether two words share a sentence is one AND). A closed compound spans its parts.
    postings: dict[str, dict[int, Posting]] = field(default_factory=dict)
    # stem -> bit set of the papers that contain it, for cheap candidate selection.
    bits: dict[str, int] = field(default_factory=dict)
    title_bits: dict[str, int] = field(default_factory=dict)  # the same, counting titles only
    # stem -> bit set of the sentences (numbered across all papers) that hold it: words that never share
    # a sentence are ruled out with one AND, before any paper is looked at.
    sentence_bits: dict[str, int] = field(default_factory=dict)
    sentence_paper_bit: list[int] = field(default_factory=list)  # sentence number -> 1 << its paper
    average_abstract_tokens: float = 1.0
    # The scorer's plan of each unit it has seen, kept for the index's life: the same words recur across
    # thousands of interests ("model", "learning"), and their postings and bit sets do not change.
    unit_plans: dict[Any, Any] = field(default_factory=dict)
    # Each interest's clause plans, for explanations: a daily plan explains a few hundred thousand (paper,
    # interest) pairs, several papers per interest, and planning an interest costs more than explaining one.
    interest_plans: dict[Any, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.papers)


def build_index(*, papers: Iterable[PaperText], acronyms: AcronymTable | None = None) -> PaperIndex:
    """Index papers once. `acronyms` should already include these papers' definitions (learn them first)."""
    index = PaperIndex(papers=[], acronyms=(acronyms or AcronymTable()).lookup())
    interned: dict[str, str] = {}
    sentences: dict[str, list[int]] = {}
    for number, paper in enumerate(papers):
        indexed = _index_paper(paper, interned)
        index.papers.append(indexed)
        _post(index, number, indexed, sentences)
    index.sentence_bits = {stem_: _bit_set(numbers) for stem_, numbers in sentences.items()}
    total = sum(p.abstract_tokens for p in index.papers)
    index.average_abstract_tokens = max(1.0, total / max(1, len(index.papers)))
    return index


def _index_paper(paper: PaperText, interned: dict[str, str]) -> IndexedPaper:
    title = " ".join(normalise(paper.title).split())  # one line, so the first newline ends it
    abstract = normalise(paper.abstract)
    text = f"{title}\n{abstract}"
    tokens = _prose(text, tokenise(text))
    title_tokens = sum(1 for token in tokens if token.start < len(title))
    starts = [start - title_tokens for start in sentence_starts(text, tokens) if start > title_tokens]
    sentences = [0] * title_tokens + _sentence_numbers(len(tokens) - title_tokens, starts)
    return IndexedPaper(
        paper=paper,
        text=text,
        title_chars=len(title),
        title_tokens=title_tokens,
        surfaces=[interned.setdefault(t.surface, t.surface) for t in tokens],
        stems=[interned.setdefault(t.stem, t.stem) for t in tokens],
        starts=[t.start for t in tokens],
        ends=[t.end for t in tokens],
        sentences=sentences,
        definitions={d.acronym_key: d.expansion_key for d in find_definitions(text)},
        abstract_tokens=len(tokens) - title_tokens,
    )


def _prose(text: str, tokens: list[Token]) -> list[Token]:
    """The tokens outside web addresses: "github.com/org/Federated-Learning" is a link, not a topic."""
    links = [found.span() for found in _URL.finditer(text)] if SKIP_WEB_ADDRESSES else []
    if not links:
        return tokens
    return [token for token in tokens if not any(start <= token.start < end for start, end in links)]


def _sentence_numbers(count: int, starts: list[int]) -> list[int]:
    numbers: list[int] = []
    sentence = 1
    boundaries = iter([*starts, count])
    next_start = next(boundaries)
    for position in range(count):
        while position >= next_start:
            sentence += 1
            next_start = next(boundaries)
        numbers.append(sentence)
    return numbers


def _bit_set(numbers: list[int]) -> int:
    """An int with these bits set, built through a bytearray (OR-ing big ints one bit at a time is slow)."""
    data = bytearray(max(numbers) // 8 + 1)
    for number in numbers:
        data[number >> 3] |= 1 << (number & 7)
    return int.from_bytes(data, "little")


def _post(index: PaperIndex, number: int, paper: IndexedPaper, sentences: dict[str, list[int]]) -> None:
    bit = 1 << number
    first_sentence = len(index.sentence_paper_bit)
    index.sentence_paper_bit.extend([bit] * (paper.sentences[-1] + 1 if paper.sentences else 1))
    occurrences = [(stem_, position, position + 1) for position, stem_ in enumerate(paper.stems)]
    occurrences += [(closed, start, start + parts) for closed, start, parts in _closed_compounds(paper)]
    title = paper.title_tokens
    touched: list[Posting] = []
    for stem_, start, end in occurrences:
        by_paper = index.postings.get(stem_)
        if by_paper is None:
            by_paper = index.postings[stem_] = {}
        posting = by_paper.get(number)
        if posting is None:
            posting = by_paper[number] = Posting(spans=[], sentences=0, title=0)
            touched.append(posting)
            index.bits[stem_] = index.bits.get(stem_, 0) | bit
        posting.spans.append((start, end))
        posting.sentences |= 1 << paper.sentences[start]
        sentences.setdefault(stem_, []).append(first_sentence + paper.sentences[start])
        if start < title:
            posting.title += 1
            index.title_bits[stem_] = index.title_bits.get(stem_, 0) | bit
    for posting in touched:  # closed compounds were appended after the words: keep spans in order
        posting.spans.sort()


def _closed_compounds(paper: IndexedPaper) -> Iterator[tuple[str, int, int]]:
    """Every run of 2..4 hyphen-joined tokens, written closed: "self-supervised" -> "selfsupervised"."""
    text = paper.text
    for start in range(len(paper.stems) - 1):
        for parts in range(2, _MAX_COMPOUND_PARTS + 1):
            last = start + parts - 1
            if last >= len(paper.stems) or not _hyphen_joined(text, paper, last):
                break
            yield stem("".join(paper.surfaces[start : last + 1])), start, parts


def _hyphen_joined(text: str, paper: IndexedPaper, position: int) -> bool:
    return paper.starts[position] == paper.ends[position - 1] + 1 and text[paper.ends[position - 1]] == "-"


_NONZERO_BYTE = re.compile(b"[^\x00]")


def papers_of_sentences(index: PaperIndex, sentences: int) -> int:
    """Bit set of the papers owning any of these sentences (bits of `sentence_bits`)."""
    if not sentences:
        return 0
    data = sentences.to_bytes((sentences.bit_length() + 7) // 8, "little")
    owners = index.sentence_paper_bit
    found = 0
    for nonzero in _NONZERO_BYTE.finditer(data):
        base = nonzero.start() * 8
        byte = data[nonzero.start()]
        while byte:
            low = byte & -byte
            found |= owners[base + low.bit_length() - 1]
            byte ^= low
    return found


def iter_bits(bits: int) -> Iterator[int]:
    """Numbers of the set bits, lowest first."""
    while bits:
        low = bits & -bits
        yield low.bit_length() - 1
        bits ^= low
