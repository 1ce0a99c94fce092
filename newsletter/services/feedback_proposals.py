"""What a reader's "More like this" / "Not for me" could change: concrete edits of their interests, each with
what it would have changed over the last 30 days of papers.

For "Not for me": exclude a word of the paper from the interest that brought it, require the interest as an
exact phrase, or drop the interest. For "More like this": add a term of the paper that none of the reader's
interests matched (ranked by the semantic layer when it is on, else by where and how often the paper uses
it). Every candidate is percolated, with the reader's current interests, against one index of the window's
papers (each distinct interest evaluated once); only edits that would have changed this paper's fate are
proposed, and each says which papers the reader would have lost or gained, highlighted as the live preview
highlights them.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from newsletter.matching import (
    InterestError,
    PaperId,
    PaperIndex,
    compile_interest,
    parse_interest,
    parse_interests,
)
from newsletter.matching.interests import TermKind
from newsletter.matching.percolation import Percolation, PercolationMemo, percolate_memo, percolation_explain
from newsletter.matching.text import STOP_WORDS, normalise, stem, words_of
from newsletter.services.matching import _preview_paper, paper_index_build
from papers.models import Paper
from papers.selectors import papers_version

logger = logging.getLogger(__name__)

WINDOW_DAYS = 30
WINDOW_PAPERS_MAX = 3000  # the window's newest papers, a bound on the index built for it
EFFECT_PAPERS_SHOWN = 3
PROPOSALS_PER_INTEREST = 2  # exclusions offered per interest, the ones that keep most of its other papers
EXCLUSION_CANDIDATES = 8  # words of the paper tried as exclusions, per interest
ADDITION_CANDIDATES = 12  # terms of the paper tried as new interests
ADDITIONS_SHOWN = 3
# An added term that would have caught more than this share of the window is no topic ("model", "data").
ADDITION_MAX_SHARE = 0.1
_MIN_WORD_LENGTH = 3


@dataclass(frozen=True, slots=True)
class Edit:
    """One change to the reader's list of interests: `before` replaced by `after` ("" when absent)."""

    kind: str  # InterestEdit.Kind
    before: str = ""
    after: str = ""

    @property
    def key(self) -> str:
        # "|" is no character an interest can hold (interests.py): a safe separator for a form field.
        return f"{self.kind}|{self.before}|{self.after}"

    def applied_to(self, interests: list[str]) -> list[str]:
        result = [text for text in interests if text != self.after]
        if self.before in result:
            position = result.index(self.before)
            if self.after:
                result[position] = self.after
            else:
                del result[position]
        elif self.after:
            result.append(self.after)
        return result


@dataclass(slots=True)
class Effect:
    """What an edit would have changed over the window besides this paper: the other papers the reader would
    not have got and those they would also have got, counted, and the first few of each."""

    lost: int = 0
    gained: int = 0
    lost_papers: list[dict[str, Any]] = field(default_factory=list)
    gained_papers: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Proposal:
    edit: Edit
    label: str
    effect: Effect


@dataclass(slots=True)
class _Window:
    key: tuple[Any, ...] | None = None
    index: PaperIndex | None = None


_window = _Window()
_window_lock = threading.Lock()


def window_index(*, including: int | None = None) -> PaperIndex:
    """An index of the last WINDOW_DAYS days of visible papers, rebuilt when papers change or the day turns.
    `including`: a paper that must be in it (a digest older than the window); such an index is not kept."""
    since = (timezone.now() - timedelta(days=WINDOW_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = Paper.objects.filter(is_hidden=False, first_seen_at__gte=since).order_by("-id")
    key = (papers_version(), since)
    with _window_lock:
        if _window.key != key or _window.index is None:
            papers = list(rows.values_list("id", "title", "abstract")[:WINDOW_PAPERS_MAX])
            _window.index = paper_index_build(papers=papers)
            _window.key = key
        index = _window.index
    if including is None or any(indexed.paper.id == including for indexed in index.papers):
        return index
    with_it = Paper.objects.filter(pk__in=[including, *(p.paper.id for p in index.papers)]).order_by("-id")
    return paper_index_build(papers=list(with_it.values_list("id", "title", "abstract")))


# --- "Not for me" -----------------------------------------------------------------------------------------


def proposals_not_for_me(*, current: list[str], brought: list[str], paper: Paper) -> list[Proposal]:
    """Edits of the interests that brought `paper` (those of `brought` the reader still has, else any of theirs
    that matches it now) that would have kept it out, each with its effect."""
    index = window_index(including=paper.pk)
    memo = PercolationMemo(index=index)
    topical = [text for text in current if _is_topical(text)]
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
    return _with_effects(memo, current, paper.pk, _valid(current, edits))


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
    scored = _evaluate(memo, current, _valid(current, edits))
    number = _number_of(memo.index, paper.pk)
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
    proposals = _with_effects(memo, current, paper.pk, _valid(current, edits), needs="catch")
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


# --- percolating the edits over the window ----------------------------------------------------------------


def _is_topical(text: str) -> bool:
    try:
        return not parse_interest(text).exclusion_only
    except InterestError:
        return False


def _valid(current: list[str], edits: list[Edit]) -> list[Edit]:
    """Edits whose result the subscribe form would accept (at most 20 interests, 6 exclusions each ...)."""
    valid = []
    for edit in dict.fromkeys(edits):
        result = edit.applied_to(current)
        if result == current or not any(_is_topical(text) for text in result):
            continue
        try:
            parse_interests("\n".join(result))
        except InterestError:
            continue
        valid.append(edit)
    return valid


def _number_of(index: PaperIndex, paper_id: PaperId) -> int | None:
    return next((n for n, indexed in enumerate(index.papers) if indexed.paper.id == paper_id), None)


def _interests_matching(memo: PercolationMemo, interests: list[str], paper_id: int) -> list[str]:
    number = _number_of(memo.index, paper_id)
    if number is None:
        return []
    result = percolate_memo(memo=memo, subscribers=[(text, [text]) for text in interests])
    return [text for text in interests if result.paper_bits(text) >> number & 1]


def _matched_stems(memo: PercolationMemo, current: list[str], paper_id: int) -> set[str]:
    """The stems of the reader's interests and of the paper's words they matched."""
    stems = {stem(word) for text in current for word, _ in words_of(normalise(text))}
    result = percolate_memo(memo=memo, subscribers=[("now", current)])
    for text in current:
        match = _explain(result, paper_id, text)
        if match is not None:
            stems |= {stem(word) for found in match.explanation.words for word, _ in words_of(normalise(found))}
    return stems


def _evaluate(memo: PercolationMemo, current: list[str], edits: list[Edit]) -> list[tuple[Edit, int, int]]:
    """(edit, bits of the papers it loses, bits of those it gains) for each edit, in one percolation."""
    subscribers = [("now", current), *((str(n), edit.applied_to(current)) for n, edit in enumerate(edits))]
    result = percolate_memo(memo=memo, subscribers=subscribers)
    now = result.paper_bits("now")
    evaluated = []
    for n, edit in enumerate(edits):
        after = result.paper_bits(str(n))
        evaluated.append((edit, now & ~after, after & ~now))
    return evaluated


def _with_effects(
    memo: PercolationMemo, current: list[str], paper_id: int, edits: list[Edit], *, needs: str = "lose"
) -> list[Proposal]:
    """The edits that would have decided this paper, each with its effect, in the order given. `needs`: "lose"
    (the reader would not have got it) or "catch" (the added interest alone would have caught it)."""
    number = _number_of(memo.index, paper_id)
    if number is None:
        return []
    subscribers = [("now", current), *((str(n), edit.applied_to(current)) for n, edit in enumerate(edits))]
    subscribers += [(f"alone {n}", [edit.after]) for n, edit in enumerate(edits) if needs == "catch"]
    result = percolate_memo(memo=memo, subscribers=subscribers)
    now = result.paper_bits("now")
    proposals = []
    for n, edit in enumerate(edits):
        key = str(n)
        after = result.paper_bits(key)
        lost, gained = now & ~after, after & ~now
        decided = lost if needs == "lose" else result.paper_bits(f"alone {n}")
        if not decided >> number & 1:
            continue
        this_paper = 1 << number
        effect = Effect(
            lost=(lost & ~this_paper).bit_count(),
            gained=(gained & ~this_paper).bit_count(),
            lost_papers=_shown(result, "now", current, lost, skip=paper_id),
            gained_papers=_shown(result, key, edit.applied_to(current), gained, skip=paper_id),
        )
        proposals.append(Proposal(edit=edit, label=edit_label(edit), effect=effect))
    return proposals


def _shown(result: Percolation[str], key: str, interests: list[str], bits: int, *, skip: int) -> list[dict[str, Any]]:
    """The first few papers of `bits` (besides this paper), best first, highlighted as the live preview does."""
    if not bits:
        return []
    papers = result.index.papers
    titles = {indexed.paper.id: indexed.paper.title for indexed in papers}
    wanted = {papers[n].paper.id for n in range(len(papers)) if bits >> n & 1} - {skip}
    shown = []
    for item in result.matches(key, explain=False):
        if item.paper_id in wanted:
            match = next((m for text in interests if (m := _explain(result, item.paper_id, text))), None)
            if match is not None:
                shown.append(_preview_paper(match, titles))
        if len(shown) >= EFFECT_PAPERS_SHOWN:
            break
    return shown


def _explain(result: Percolation[str], paper_id: PaperId, text: str) -> Any:
    try:
        compiled = compile_interest(text, acronyms=result.index.acronyms).text
    except InterestError:
        return None
    return percolation_explain(result, paper_id=paper_id, interest=compiled)


def edit_label(edit: Edit) -> str:
    if edit.kind == "exclude":
        word = edit.after.rsplit(" -", 1)[-1]
        return f"Leave out papers that mention “{word}” from “{edit.before}”"
    if edit.kind == "phrase":
        return f"Match “{edit.before}” only as the exact phrase {edit.after}"
    if edit.kind == "drop":
        return f"Drop the interest “{edit.before}”"
    return f"Add the interest “{edit.after}”"
