"""The effect of an edit of a reader's interests over the last 30 days of papers: the window's paper index
(rebuilt when papers change or the day turns), the edits percolated with the reader's current interests in one
run (each distinct interest evaluated once), and which papers each would have taken away or added, explained
and highlighted as the live preview does. The edits themselves are proposed by `feedback_proposals`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from newsletter.matching import InterestError, PaperId, PaperIndex, compile_interest, parse_interest, parse_interests
from newsletter.matching.percolation import Percolation, PercolationMemo, percolate_memo
from newsletter.matching.ranking import percolation_explain
from newsletter.paper_indexes import paper_index_build
from newsletter.services.indexing import preview_paper
from papers.models import Paper
from papers.selectors import papers_version

WINDOW_DAYS = 30
WINDOW_PAPERS_MAX = 3000  # the window's newest papers, a bound on the index built for it
EFFECT_PAPERS_SHOWN = 3


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


# --- percolating the edits over the window ----------------------------------------------------------------


def is_topical(text: str) -> bool:
    try:
        return not parse_interest(text).exclusion_only
    except InterestError:
        return False


def edits_valid(current: list[str], edits: list[Edit]) -> list[Edit]:
    """Edits whose result the subscribe form would accept (at most 20 interests, 6 exclusions each ...)."""
    valid = []
    for edit in dict.fromkeys(edits):
        result = edit.applied_to(current)
        if result == current or not any(is_topical(text) for text in result):
            continue
        try:
            parse_interests("\n".join(result))
        except InterestError:
            continue
        valid.append(edit)
    return valid


def paper_number(index: PaperIndex, paper_id: PaperId) -> int | None:
    return next((n for n, indexed in enumerate(index.papers) if indexed.paper.id == paper_id), None)


def edits_evaluate(memo: PercolationMemo, current: list[str], edits: list[Edit]) -> list[tuple[Edit, int, int]]:
    """(edit, bits of the papers it loses, bits of those it gains) for each edit, in one percolation."""
    subscribers = [("now", current), *((str(n), edit.applied_to(current)) for n, edit in enumerate(edits))]
    result = percolate_memo(memo=memo, subscribers=subscribers)
    now = result.paper_bits("now")
    evaluated = []
    for n, edit in enumerate(edits):
        after = result.paper_bits(str(n))
        evaluated.append((edit, now & ~after, after & ~now))
    return evaluated


def proposals_with_effects(
    memo: PercolationMemo, current: list[str], paper_id: int, edits: list[Edit], *, needs: str = "lose"
) -> list[Proposal]:
    """The edits that would have decided this paper, each with its effect, in the order given. `needs`: "lose"
    (the reader would not have got it) or "catch" (the added interest alone would have caught it)."""
    number = paper_number(memo.index, paper_id)
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
            match = next((m for text in interests if (m := match_explained(result, item.paper_id, text))), None)
            if match is not None:
                shown.append(preview_paper(match, titles))
        if len(shown) >= EFFECT_PAPERS_SHOWN:
            break
    return shown


def match_explained(result: Percolation[str], paper_id: PaperId, text: str) -> Any:
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
