"""Text normalisation shared by papers and interests: one pipeline, so both sides always agree.

A token keeps its character offsets in the normalised text (for snippets), its lower-cased surface form
(for exact phrases) and its stem (for everything else). Case never matters, every Unicode dash is a
hyphen, British and American spellings (-ise/-ize, -yse/-yze, -our/-or) meet, and a plural acronym
("LLMs") meets its singular.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

# Every character Unicode calls a dash or hyphen, plus the minus sign; the soft hyphen is dropped instead
# because it only marks where a line may break.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d"
_TRANSLATE = {ord(c): "-" for c in _DASHES} | {
    0x00AD: None,
    0x2018: "'",
    0x2019: "'",
    0x201C: '"',
    0x201D: '"',
}

_WORD = re.compile(r"[^\W_]+")
# A sentence ends at . ! ? followed by space and something that can start a sentence.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_NOT_SENTENCE_END = frozenset({"e", "g", "i", "al", "vs", "etc", "fig", "eq", "cf", "approx", "resp", "no"})

# Short on purpose: function words only. A content word a subscriber types must never be dropped.
STOP_WORDS = frozenset(
    """a about above after again against all also among an and any are as at be been being between both
    but by can could did do does doing during each either for from further had has have having how i if
    in into is it its itself may might more most must no nor not of on only or other our ours out over
    own same should so some such than that the their them then there these they this those through to
    too under until up upon us very via was we were what when where whether which while who whom why
    will with within without would yet you your s t""".split()  # noqa: SIM905 (a word list reads better)
)

# Spelling variants are folded before stemming. -ize goes to -ise (not the other way round) because
# Snowball strips "ize" but not "ise": "optimised", "optimized" and "optimisation" then share "optimis",
# while "supervised" keeps meeting "supervision" and "tokenization" stops meeting "token".
_SPELLING = (
    (re.compile(r"(?<=\w{3})(i|y)z(e|es|ed|ing|ation|ations|ational|er|ers)$"), r"\1s\2"),
    # -our: three letters before it at least, so "four", "hour" and "your" are untouched.
    (re.compile(r"(?<=\w{3})our(s|ed|ing|ite|ites|able|al|ally|ful|hood|hoods)?$"), r"or\1"),
)
_VOWELS = frozenset("aeiouy")

_stemmer = Stemmer.Stemmer("english")


@dataclass(frozen=True, slots=True)
class Token:
    start: int  # character offsets in the normalised text
    end: int
    surface: str  # lower-cased word as written
    stem: str
    hyphen_before: bool  # joined to the previous token by a single hyphen ("pre-training")


def normalise(text: str) -> str:
    """NFKC, every dash a hyphen, curly quotes straight, soft hyphens gone: all length changes are here."""
    return unicodedata.normalize("NFKC", text).translate(_TRANSLATE)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Stem one lower-cased word. Cached: a day's papers repeat a few thousand words endlessly."""
    if len(word) > 3 and word.endswith("s") and not _VOWELS.intersection(word[:-1]):
        return word[:-1]  # "llms", "cnns": vowel-less acronyms in the plural, which Snowball leaves alone
    for pattern, replacement in _SPELLING:
        word = pattern.sub(replacement, word)
    return str(_stemmer.stemWord(word))


def words_of(text: str) -> list[tuple[str, bool]]:
    """(lower-cased surface, joined to the previous word by a hyphen) for each word of normalised text."""
    return [(token.surface, token.hyphen_before) for token in _scan(text)]


def tokenise(text: str) -> list[Token]:
    """Split already-normalised text into word tokens ("GPT-4" is "gpt", "4")."""
    return [Token(t.start, t.end, t.surface, stem(t.surface), t.hyphen_before) for t in _scan(text)]


@dataclass(frozen=True, slots=True)
class _Word:
    start: int
    end: int
    surface: str
    hyphen_before: bool


def _scan(text: str) -> list[_Word]:
    words: list[_Word] = []
    previous_end = -2
    for found in _WORD.finditer(text):
        start, end = found.span()
        raw = found.group()
        surface = raw.lower()
        if len(raw) > 2 and raw[-1] == "s" and sum(ch.isupper() for ch in raw[:-1]) >= 2:
            surface = surface[:-1]  # "GANs", "ViTs": an acronym's plural is the acronym
        hyphen = start == previous_end + 1 and text[previous_end] == "-"
        words.append(_Word(start, end, surface, hyphen))
        previous_end = end
    return words


def sentence_starts(text: str, tokens: list[Token]) -> list[int]:
    """Index of the first token of every sentence after the first, in order."""
    starts: list[int] = []
    token_index = 0
    for found in _SENTENCE_END.finditer(text):
        boundary = found.end()
        while token_index < len(tokens) and tokens[token_index].start < boundary:
            token_index += 1
        if token_index == 0 or token_index >= len(tokens):
            continue
        if tokens[token_index - 1].surface in _NOT_SENTENCE_END:
            continue
        if not starts or starts[-1] != token_index:
            starts.append(token_index)
    return starts
