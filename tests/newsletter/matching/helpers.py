"""Small builders shared by the matcher tests (plain functions: no Django, no database)."""

from __future__ import annotations

from newsletter.matching import (
    Match,
    PaperIndex,
    PaperText,
    build_index,
    compile_interest,
    learn_acronyms,
    match_interest,
)

FILLER = (
    "We evaluate on standard benchmarks and report strong results. The method is simple to implement. "
    "Experiments cover several datasets and model sizes. Code and data are released for others to use."
)


def index_of(*papers: tuple[str, str], learn: bool = True) -> PaperIndex:
    """Index (title, abstract) pairs; paper ids are their positions. Acronyms learned from them."""
    texts = [PaperText(id=number, title=title, abstract=abstract) for number, (title, abstract) in enumerate(papers)]
    table = learn_acronyms(texts=(f"{p.title}\n{p.abstract}" for p in texts)) if learn else None
    return build_index(papers=texts, acronyms=table)


def matches(index: PaperIndex, interest: str) -> list[Match]:
    return match_interest(index, compile_interest(interest, acronyms=index.acronyms))


def matched_ids(index: PaperIndex, interest: str) -> set[object]:
    return {match.paper_id for match in matches(index, interest)}


def score_of(index: PaperIndex, interest: str, paper_id: object) -> float:
    found = [match.score for match in matches(index, interest) if match.paper_id == paper_id]
    return found[0] if found else 0.0
