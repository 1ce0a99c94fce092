"""What a subscriber types, parsed into interests, validated, and given a canonical form.

One interest per line or comma; inside one: plain words, hyphenated compounds ("chain-of-thought"),
"quoted phrases" (exact) and -exclusions (-survey, -"medical imaging"). An item made only of exclusions
applies to all of the subscriber's interests. Canonical text is lower-case with normalised dashes, quotes
and spaces, so equal interests are stored and evaluated once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from newsletter.matching.text import STOP_WORDS, normalise, words_of

MAX_INTEREST_LENGTH = 100
MAX_INTERESTS = 20
# Bounds on the work one subscriber's text can ask for (each term is looked up and scored, each exclusion
# checked against every candidate paper): 20 interests of `word -x -y ...` cost the live preview 16 times an
# ordinary text. Real interests use a word or three and an exclusion or two.
MAX_EXCLUSIONS_PER_INTEREST = 6
MAX_TERMS = 100  # words, compounds and phrases, exclusions included, over all the interests

# Letters and digits of any script, spaces, and the punctuation that occurs in technical terms.
_DISALLOWED = re.compile(r"[^\w\s\-'\".,+/&]|_")  # a comma only survives inside quotes
_CHUNK = re.compile(r'-?"[^"]*"|\S+')
_SPLIT_ITEMS = re.compile(r'\n|,(?=(?:[^"]*"[^"]*")*[^"]*$)')  # commas outside quotes


class TermKind(StrEnum):
    WORD = "word"
    COMPOUND = "compound"  # hyphenated: its words must be adjacent, and the closed form matches too
    PHRASE = "phrase"  # quoted: exact words in order, no stemming


@dataclass(frozen=True, slots=True)
class Term:
    kind: TermKind
    words: tuple[str, ...]  # lower-cased surface words

    def __str__(self) -> str:
        if self.kind is TermKind.PHRASE:
            return '"' + " ".join(self.words) + '"'
        return "-".join(self.words)


@dataclass(frozen=True, slots=True)
class Interest:
    """One parsed interest. `text` is canonical: parse_interest(interest.text) == interest."""

    terms: tuple[Term, ...]
    excludes: tuple[Term, ...]

    @property
    def text(self) -> str:
        return " ".join([str(t) for t in self.terms] + ["-" + str(t) for t in self.excludes])

    @property
    def exclusion_only(self) -> bool:
        return not self.terms


class InterestError(ValueError):
    """The subscriber's text cannot be used; `errors` holds one sentence per problem, for the form."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


def parse_interests(raw: str, *, limits: bool = True) -> tuple[Interest, ...]:
    """Parse a subscriber's whole text, dropping duplicates; raises InterestError listing every problem.

    `limits=False` leaves the bounds on their number and size to the caller (the live preview cuts the text
    to them with `interests_truncate` and says so, rather than showing nothing).
    """
    items = [item.strip() for item in _SPLIT_ITEMS.split(raw)]
    items = [item for item in items if item]
    errors: list[str] = []
    parsed: dict[str, Interest] = {}
    for item in items:
        try:
            interest = parse_interest(item)
        except InterestError as error:
            errors.extend(error.errors)
            continue
        parsed.setdefault(interest.text, interest)
    if limits:
        errors += _limit_problems(tuple(parsed.values()))
    if errors:
        raise InterestError(errors)
    return tuple(parsed.values())


def _terms_of(interest: Interest) -> int:
    return len(interest.terms) + len(interest.excludes)


def _limit_problems(interests: tuple[Interest, ...]) -> list[str]:
    problems = [
        f"“{_shown(interest.text)}” leaves out {len(interest.excludes)} things; at most "
        f"{MAX_EXCLUSIONS_PER_INTEREST} per interest, please."
        for interest in interests
        if len(interest.excludes) > MAX_EXCLUSIONS_PER_INTEREST
    ]
    if len(interests) > MAX_INTERESTS:
        problems.append(f"At most {MAX_INTERESTS} interests, please (you have {len(interests)}).")
    terms = sum(map(_terms_of, interests))
    if terms > MAX_TERMS:
        problems.append(f"At most {MAX_TERMS} words and exclusions in all, please (you have {terms}).")
    return problems


def interests_truncate(interests: tuple[Interest, ...]) -> tuple[tuple[Interest, ...], list[str]]:
    """The interests cut to the bounds `parse_interests` enforces (the first ones kept), and a sentence for
    each cut, for a caller that shows what it can rather than refusing (the live preview)."""
    notices: list[str] = []
    kept: list[Interest] = []
    cut_excludes = 0
    for interest in interests[:MAX_INTERESTS]:
        if len(interest.excludes) > MAX_EXCLUSIONS_PER_INTEREST:
            cut_excludes += 1
            interest = Interest(terms=interest.terms, excludes=interest.excludes[:MAX_EXCLUSIONS_PER_INTEREST])
        kept.append(interest)
    if cut_excludes:
        notices.append(
            f"Only the first {MAX_EXCLUSIONS_PER_INTEREST} exclusions of an interest are used "
            f"({cut_excludes} interests have more); the form will ask you to shorten them."
        )
    if len(interests) > MAX_INTERESTS:
        notices.append(f"Only the first {MAX_INTERESTS} of your {len(interests)} interests are previewed.")
    total = 0
    for position, interest in enumerate(kept):
        total += _terms_of(interest)
        if total > MAX_TERMS:
            notices.append(
                f"Only the first {position} interests are previewed: at most {MAX_TERMS} words and exclusions in all."
            )
            kept = kept[:position]
            break
    return tuple(kept), notices


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


# Most stored interests are canonical already: lower-case ASCII words, spaces and inner hyphens. They
# need none of the checks below (their result is the same), which matters at a million subscribers.
_PLAIN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*(?: [a-z0-9]+(?:-[a-z0-9]+)*)*")


def parse_interest(item: str) -> Interest:
    """Parse one interest (one line of the form)."""
    if _PLAIN.fullmatch(item) and len(item) <= MAX_INTEREST_LENGTH:
        plain = [term for chunk in item.split(" ") for term in _terms(chunk)]
        if not all(t.kind is TermKind.WORD and t.words[0] in STOP_WORDS for t in plain):
            return Interest(terms=tuple(dict.fromkeys(plain)), excludes=())
    text = " ".join(normalise(item).split())
    shown = text if len(text) <= 40 else text[:37] + "..."
    if len(text) > MAX_INTEREST_LENGTH:
        raise InterestError([f"“{shown}” is longer than {MAX_INTEREST_LENGTH} characters."])
    bad = sorted(set(_DISALLOWED.findall(text)))
    if bad:
        listed = " ".join(bad)
        raise InterestError([f"“{shown}” contains characters that cannot be matched: {listed}"])
    if text.count('"') % 2:
        raise InterestError([f"“{shown}” has an opening quote without a closing one."])
    terms: list[Term] = []
    excludes: list[Term] = []
    for chunk in _CHUNK.findall(text):
        exclude = chunk.startswith("-") and len(chunk) > 1
        target = excludes if exclude else terms
        target.extend(_terms(chunk[1:] if exclude else chunk))
    if not terms and not excludes:
        raise InterestError([f"“{shown}” has no words to match."])
    if terms and all(t.kind is TermKind.WORD and t.words[0] in STOP_WORDS for t in terms):
        raise InterestError([f"“{shown}” is made only of common words like “{terms[0]}”."])
    return Interest(terms=tuple(dict.fromkeys(terms)), excludes=tuple(dict.fromkeys(excludes)))


@lru_cache(maxsize=100_000)  # the same words recur across subscribers; terms are immutable
def _terms(chunk: str) -> tuple[Term, ...]:
    words = words_of(chunk)
    if chunk.startswith('"'):
        return (Term(TermKind.PHRASE, tuple(surface for surface, _ in words)),) if words else ()
    if len(words) > 1 and all(hyphen for _, hyphen in words[1:]):
        return (Term(TermKind.COMPOUND, tuple(surface for surface, _ in words)),)
    return tuple(Term(TermKind.WORD, (surface,)) for surface, _ in words)
