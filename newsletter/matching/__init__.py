"""Paperboy's matcher: subscribers' keyword interests against a day's papers. Pure Python, no Django.

Typical run (what `manage.py match` does around it)::

    table = AcronymTable.from_json(stored).merge(learn_acronyms(texts=new_paper_texts))
    index = build_index(papers=[PaperText(id=p.pk, title=p.title, abstract=p.abstract) ...], acronyms=table)
    result = percolate(index=index, subscribers=((s.pk, s.interests) for s in subscribers))
    for key in result:                       # a lookup per subscriber, no query
        for item in result.matches(key):     # PaperMatch(paper_id, score, matches)
            for match in item.matches:       # Match(paper_id, score, explanation)
                match.explanation.words, match.explanation.title, match.explanation.snippet

Live preview of one interest::

    matches = match_interest(index, compile_interest("in-context learning", acronyms=index.acronyms))

The public API:

- ``parse_interests(raw) -> tuple[Interest, ...]``: a subscriber's text (one interest per line or comma)
  validated; raises ``InterestError`` whose ``errors`` list says what is wrong, for the form.
  ``Interest.text`` is the canonical form to store: equal interests have equal texts.
- ``learn_acronyms(texts=...) -> AcronymTable``: pairs such as LLM = large language model, learned from
  papers; ``table.merge(other)``, ``table.to_json()``, ``AcronymTable.from_json(data)``.
- ``PaperText(id, title, abstract)``; ``build_index(papers=..., acronyms=table) -> PaperIndex``.
- ``compile_interest(text, acronyms=index.acronyms) -> CompiledInterest`` (hashable).
- ``match_interest(index, compiled) -> list[Match]``, best first.
- ``Match(paper_id, score, explanation)``; ``Explanation(interest, words, title, snippet)`` where
  ``title`` and ``snippet`` are ``(text, is_highlight)`` segments of unescaped text.
- ``percolate(index=..., subscribers=[(key, [interest, ...]), ...]) -> Percolation``: every subscriber at
  once; ``result.matches(key) -> list[PaperMatch]``, ``result.paper_ids(key)``, ``result.paper_bits(key)``,
  ``result.iter_paper_bits()``, ``result.stats``.

How it decides is in docs/matching.md; its speed in docs/performance.md.
"""

from __future__ import annotations

from newsletter.matching.acronyms import AcronymTable, learn_acronyms
from newsletter.matching.explain import Explanation, Match, Segment, match_interest
from newsletter.matching.index import PaperId, PaperIndex, PaperText, build_index
from newsletter.matching.interests import (
    MAX_INTEREST_LENGTH,
    MAX_INTERESTS,
    Interest,
    InterestError,
    parse_interest,
    parse_interests,
)
from newsletter.matching.percolation import PaperMatch, Percolation, PercolationStats, percolate
from newsletter.matching.query import CompiledInterest, compile_interest

__all__ = [
    "MAX_INTERESTS",
    "MAX_INTEREST_LENGTH",
    "AcronymTable",
    "CompiledInterest",
    "Explanation",
    "Interest",
    "InterestError",
    "Match",
    "PaperId",
    "PaperIndex",
    "PaperMatch",
    "PaperText",
    "Percolation",
    "PercolationStats",
    "Segment",
    "build_index",
    "compile_interest",
    "learn_acronyms",
    "match_interest",
    "parse_interest",
    "parse_interests",
    "percolate",
]
