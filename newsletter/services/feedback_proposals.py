"""What a reader's "More like this" / "Not for me" could change: concrete edits of their interests, each with
what it would have changed over the last 30 days of papers.

For "Not for me": exclude a word of the paper from the interest that brought it, require the interest as an
exact phrase, or drop the interest. For "More like this": add a term of the paper that none of the reader's
interests matched (ranked by the semantic layer when it is on, else by where and how often the paper uses
it). Every candidate is percolated with the reader's current interests over the window's papers
(`feedback_effects`); only edits that would have decided this paper are proposed, each with the papers the
reader would have lost or gained, highlighted as the live preview highlights them.
"""

from __future__ import annotations

import logging
from collections import Counter

from django.conf import settings

from newsletter.matching import InterestError, parse_interest
from newsletter.matching.interests import TermKind
from newsletter.matching.percolation import PercolationMemo, percolate_memo
from newsletter.matching.text import STOP_WORDS, normalise, stem, words_of
from newsletter.services.feedback_effects import (
    Edit,
    Proposal,
    edits_evaluate,
    edits_valid,
    is_topical,
    match_explained,
    paper_number,
    proposals_with_effects,
    window_index,
)
from newsletter.services.indexing import plans_bound
from papers.models import Paper

logger = logging.getLogger(__name__)

PROPOSALS_PER_INTEREST = 2  # exclusions offered per interest, the ones that keep most of its other papers
EXCLUSION_CANDIDATES = 8  # words of the paper tried as exclusions, per interest
ADDITION_CANDIDATES = 12  # terms of the paper tried as new interests
ADDITIONS_SHOWN = 3
# An added term that would have caught more than this share of the window is no topic ("model", "data").
ADDITION_MAX_SHARE = 0.1
_MIN_WORD_LENGTH = 3


# --- "Not for me" -----------------------------------------------------------------------------------------


def proposals_not_for_me(*, current: list[str], brought: list[str], paper: Paper) -> list[Proposal]:
    """Edits of the interests that brought `paper` (those of `brought` the reader still has, else any of theirs
    that matches it now) that would have kept it out, each with its effect."""
    index = window_index(including=paper.pk)
    plans_bound(index)  # every candidate word is planned on the shared index: keep its memo bounded
    memo = PercolationMemo(index=index)
    topical = [text for text in current if is_topical(text)]
    matching_now = _interests_matching(memo, topical, paper.pk)
    interests = [text for text in topical if text in brought and text in matching_now] or matching_now
    edits: list[Edit] = []
    for interest in interests:
        edits += _exclusions(memo, current, interest, paper)
        phrase = _as_phrase(interest)
        if phrase:
            edits.append(Edit(kind="phrase", before=interest, after=phrase))
        if len(topical) > 1:
            edits.append(Edit(kind="drop", before=interest))
    return proposals_with_effects(memo, current, paper.pk, edits_valid(current, edits))


def _exclusions(memo: PercolationMemo, current: list[str], interest: str, paper: Paper) -> list[Edit]:
    """`interest -word` for the words of the paper that keep most of the interest's other papers."""
    own = {stem(word) for word, _ in words_of(normalise(interest))}
    words = [word for word in _content_words(paper.title) if stem(word) not in own]
    words += [word for word, _ in Counter(_content_words(paper.abstract)).most_common() if stem(word) not in own]
    edits = []
    for word in list(dict.fromkeys(words))[:EXCLUSION_CANDIDATES]:
        try:
            after = parse_interest(f"{interest} -{word}").text
        except InterestError:
            continue
        edits.append(Edit(kind="exclude", before=interest, after=after))
    scored = edits_evaluate(memo, current, edits_valid(current, edits))
    number = paper_number(memo.index, paper.pk)
    kept = [(lost.bit_count(), edit) for edit, lost, _ in scored if number is not None and lost >> number & 1]
    return [edit for _, edit in sorted(kept, key=lambda pair: pair[0])[:PROPOSALS_PER_INTEREST]]


def _as_phrase(interest: str) -> str | None:
    """The interest's words as one quoted phrase (its exclusions kept); None for one word or a phrase already."""
    parsed = parse_interest(interest)
    words = [word for term in parsed.terms for word in term.words]
    if len(words) < 2 or any(term.kind is TermKind.PHRASE for term in parsed.terms):
        return None
    excludes = " ".join("-" + str(term) for term in parsed.excludes)
    try:
        return parse_interest(f'"{" ".join(words)}" {excludes}'.strip()).text
    except InterestError:
        return None


# --- "More like this" -------------------------------------------------------------------------------------


def proposals_more_like_this(*, current: list[str], paper: Paper) -> list[Proposal]:
    """New interests from the paper's own terms that none of the reader's interests matched, each of which
    would have caught this paper, with what else it would have brought."""
    index = window_index(including=paper.pk)
    plans_bound(index)
    memo = PercolationMemo(index=index)
    matched = _matched_stems(memo, current, paper.pk)
    candidates = [term for term in _paper_terms(paper) if not {stem(w) for w in term.split()} & matched]
    ranked = _semantic_rank(paper, candidates) or candidates
    edits = []
    for term in ranked[:ADDITION_CANDIDATES]:
        try:
            edits.append(Edit(kind="add", after=parse_interest(term).text))
        except InterestError:
            continue
    proposals = proposals_with_effects(memo, current, paper.pk, edits_valid(current, edits), needs="catch")
    broad = ADDITION_MAX_SHARE * max(len(index), 1)
    return [p for p in proposals if p.effect.gained <= broad][:ADDITIONS_SHOWN]


def _paper_terms(paper: Paper) -> list[str]:
    """Two-word terms of the title, its words, then two-word terms the abstract repeats: in that order, each
    group by how often the paper uses it."""
    title, abstract = _content_runs(paper.title), _content_runs(paper.abstract)
    counts = Counter(_pairs(abstract)) + Counter(_pairs(title)) + Counter(w for run in abstract for w in run)
    title_pairs = sorted(dict.fromkeys(_pairs(title)), key=lambda t: -counts[t])
    title_words = sorted(dict.fromkeys(w for run in title for w in run), key=lambda t: -counts[t])
    repeated = [pair for pair, n in Counter(_pairs(abstract)).most_common() if n > 1]
    return list(dict.fromkeys([*title_pairs, *title_words, *repeated]))


def _content_runs(text: str) -> list[list[str]]:
    """The text's runs of content words (stop words, numbers and short words end a run)."""
    runs: list[list[str]] = [[]]
    for word, hyphen in words_of(normalise(text)):
        if hyphen and runs[-1]:
            runs[-1][-1] = f"{runs[-1][-1]}-{word}"  # "chain-of-thought" stays one term
        elif word in STOP_WORDS or len(word) < _MIN_WORD_LENGTH or word.isdigit():
            runs.append([])
        else:
            runs[-1].append(word)
    return [run for run in runs if run]


def _content_words(text: str) -> list[str]:
    return [w for run in _content_runs(text) for w in run if "-" not in w]


def _pairs(runs: list[list[str]]) -> list[str]:
    return [f"{run[i]} {run[i + 1]}" for run in runs for i in range(len(run) - 1)]


def _semantic_rank(paper: Paper, terms: list[str]) -> list[str] | None:
    """The terms closest to the paper's own vector first, when the semantic layer is on; else None."""
    if not settings.PAPERBOY_EMBED_PAPERS or not terms:
        return None
    from papers.embedding import MODEL_ID, EncoderUnavailable, get_encoder, vectors_from_bytes
    from papers.models import PaperVector

    stored = PaperVector.objects.filter(paper=paper, model_id=MODEL_ID).first()
    if stored is None:
        return None
    try:
        vectors = get_encoder().encode(terms)
    except EncoderUnavailable as error:
        logger.warning("feedback terms ranked without the semantic layer: %s", error)
        return None
    closeness = vectors @ vectors_from_bytes(bytes(stored.vectors))[0]  # row 0: title + abstract
    return [terms[i] for i in sorted(range(len(terms)), key=lambda i: -float(closeness[i]))]


# --- helpers --------------------------------------------------------------------------------------------


def _interests_matching(memo: PercolationMemo, interests: list[str], paper_id: int) -> list[str]:
    number = paper_number(memo.index, paper_id)
    if number is None:
        return []
    result = percolate_memo(memo=memo, subscribers=[(text, [text]) for text in interests])
    return [text for text in interests if result.paper_bits(text) >> number & 1]


def _matched_stems(memo: PercolationMemo, current: list[str], paper_id: int) -> set[str]:
    """The stems of the reader's interests and of the paper's words they matched."""
    stems = {stem(word) for text in current for word, _ in words_of(normalise(text))}
    result = percolate_memo(memo=memo, subscribers=[("now", current)])
    for text in current:
        match = match_explained(result, paper_id, text)
        if match is not None:
            stems |= {stem(word) for found in match.explanation.words for word, _ in words_of(normalise(found))}
    return stems
