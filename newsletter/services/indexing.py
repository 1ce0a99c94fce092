"""Glue between stored papers and the pure matcher: acronym learning, interest vectors, picks, the live preview.

Reads (the learned table, a paper index) are in newsletter.selectors; the writes here are named for them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.urls import reverse

from newsletter.digest_wording import words_distinct
from newsletter.matching import (
    AcronymTable,
    Explanation,
    InterestError,
    Match,
    PaperId,
    PaperIndex,
    compile_interest,
    match_interest,
    parse_interests,
    percolate,
)
from newsletter.matching.fusion import interest_vector_text
from newsletter.matching.interests import interests_truncate
from newsletter.matching.labels import interest_labels
from newsletter.matching.percolation import PercolationMemo, percolate_memo
from newsletter.matching.ranking import percolation_explain, percolation_iter_formatted, percolation_iter_ranked
from newsletter.models import AcronymState, InterestVector
from newsletter.paper_indexes import acronyms_current, acronyms_pending, paper_index_build
from newsletter.services.fusion import interest_vectors_stored
from newsletter.services.preview import preview_semantic, preview_suggestions, preview_why
from papers.embedding import MODEL_ID, EncoderUnavailable
from papers.selectors import paper_texts, papers_version

logger = logging.getLogger(__name__)
PREVIEW_PAPERS = 300  # the preview shows what the interests would have caught among this many recent papers
PREVIEW_MATCHES_SHOWN = 3
# A preview stops evaluating interests once this is spent (the first one is always shown); with the bounds
# of parse_interests an ordinary call takes 10-20 ms here, so only texts of many broad interests, each with
# exclusions not met before, reach it.
PREVIEW_TIME_BUDGET_SECONDS = 0.1
PREVIEW_PLANS_KEPT = 20_000  # memoised word and clause plans on the preview index, before they are dropped
# A digest holds at most this many papers, best first: ~50 fit in full under Gmail's 100 KB clip, the rest
# are listed by title. Only these are explained, which is most of the cost of matching a subscriber.
DIGEST_MAX_PAPERS = 100


def acronyms_learn() -> AcronymTable:
    """The learned acronym table, extended with every paper that arrived since it was last stored, and stored.

    The one write of learning: planning calls it once a run. Reads use `selectors.acronyms_current`, which
    learns the same papers in memory and writes nothing.
    """
    state, table, new_papers = acronyms_pending()
    if new_papers:
        with transaction.atomic():
            AcronymState.objects.update_or_create(
                pk=state.pk,
                defaults={"table": table.to_json(), "learned_through_paper_id": max(p[0] for p in new_papers)},
            )
    return table


def interest_vectors_compute(*, interests: list[str]) -> int:
    """Store the vectors of these interests (canonical texts) as the planner will ask for them, when first seen
    (subscribe time, a task); returns how many were new. Without the model, nothing (the planner catches up)."""
    acronyms = acronyms_current().lookup()
    texts = []
    for text in interests:
        try:
            compiled = compile_interest(text, acronyms=acronyms)
        except InterestError:
            continue
        if compiled.clauses:
            texts.append(interest_vector_text(compiled.text, acronyms))
    known = set(InterestVector.objects.filter(model_id=MODEL_ID, text__in=texts).values_list("text", flat=True))
    fresh = [text for text in dict.fromkeys(texts) if text not in known]
    if fresh:
        try:
            interest_vectors_stored(texts=fresh)
        except EncoderUnavailable as error:
            logger.error("interest vectors not computed: %s", error)
            return 0
    return len(fresh)


def interest_matches(*, index: PaperIndex, interest: str) -> list[Match]:
    return match_interest(index, compile_interest(interest, acronyms=index.acronyms))


# --- the live preview -----------------------------------------------------------------------------------


@dataclass
class _CachedIndex:
    version: tuple[int, int, str] | None = None
    index: PaperIndex | None = None


_preview_cache = _CachedIndex()
_preview_lock = threading.Lock()


def preview_index() -> PaperIndex:
    """An index of the most recent papers, rebuilt only when papers change (one cheap query to check)."""
    version = papers_version()
    with _preview_lock:
        if _preview_cache.index is None or _preview_cache.version != version:
            _preview_cache.index = paper_index_build(papers=paper_texts(limit=PREVIEW_PAPERS))
            _preview_cache.version = version
        return _preview_cache.index


def interests_preview(*, raw: str) -> dict[str, Any]:
    """What these interests would have caught among recent papers, as JSON-ready data for the form.

    The work per call is bounded, since anyone may call it 120 times a minute: the text is cut to the form's
    bounds (interests, exclusions, terms; `notices` says what was cut), only the papers shown are explained
    (explaining every match of 20 broad interests cost 16 times an ordinary call), and interests are
    evaluated one by one until PREVIEW_TIME_BUDGET_SECONDS is spent.
    """
    index = preview_index()  # a rebuild (papers changed) is not this caller's doing: the budget starts after it
    semantic, _ = preview_semantic(index)  # built with the index, once per papers version, like it
    deadline = time.monotonic() + PREVIEW_TIME_BUDGET_SECONDS
    try:
        interests, notices = interests_truncate(parse_interests(raw, limits=False))
        errors: list[str] = []
    except InterestError as exc:
        interests, notices, errors = (), [], list(exc.errors)
    # As in a digest, exclusion-only items apply to every interest: each interest is percolated with them, as
    # one subscriber, against a memo that evaluates each of them once.
    everywhere = [interest.text for interest in interests if interest.exclusion_only]
    shown = [interest.text for interest in interests if not interest.exclusion_only]
    labels = interest_labels(raw)  # shown as typed ("RLHF"), matched as canonical ("rlhf")
    # The fused matcher where the papers have vectors (services/preview.py), else the words alone.
    memo = PercolationMemo(index=index, semantic=semantic)
    titles = {indexed.paper.id: indexed.paper.title for indexed in index.papers}
    results = []
    last: tuple[str, int] | None = None  # the interest being typed, and its picks: what suggestions follow
    for position, text in enumerate(shown):
        if position and time.monotonic() > deadline:
            notices.append(f"Only the first {position} interests are previewed: the rest took too long.")
            break
        result = percolate_memo(memo=memo, subscribers=[("preview", [*everywhere, text])])
        count = result.paper_bits("preview").bit_count()
        top = result.matches("preview", limit=PREVIEW_MATCHES_SHOWN)
        papers = [preview_paper(paper.matches[0], titles) for paper in top]
        results.append({"interest": labels.get(text, text), "count": count, "papers": papers})
        last = (text, result.paper_bits("preview"))
    plans_bound(index)
    suggestions = preview_suggestions(index=index, interest=last[0], picked=last[1]) if last else []
    return {
        "papers_considered": len(index.papers),
        "interests": results,
        "errors": errors,
        "notices": notices,
        "suggestions": {"interest": labels.get(last[0], last[0]), "terms": suggestions} if last else None,
    }


def plans_bound(index: PaperIndex) -> None:
    # The index memoises the plan of every word and clause it has scored, for its life (until papers change):
    # right for the day's digests, unbounded for a public endpoint that anyone can send new words to.
    if len(index.unit_plans) > PREVIEW_PLANS_KEPT or len(index.interest_plans) > PREVIEW_PLANS_KEPT:
        index.unit_plans.clear()
        index.interest_plans.clear()


def preview_paper(match: Match, titles: dict[Any, str]) -> dict[str, Any]:
    explanation = match.explanation
    return {
        "title": titles.get(match.paper_id, ""),
        "url": reverse("papers:detail", kwargs={"pk": match.paper_id}),
        "score": round(match.score, 3),
        "words": words_distinct(explanation.words),
        "snippet": [list(segment) for segment in (explanation.snippet or explanation.title)],
        "why": preview_why(match),
    }


@dataclass
class ExplanationLog:
    """The (paper, interest) pairs explained so far in one plan run; `fresh` holds those not stored yet."""

    done: set[tuple[PaperId, str]] = field(default_factory=set)
    fresh: list[tuple[PaperId, str, Explanation]] = field(default_factory=list)

    def take(self) -> list[tuple[PaperId, str, Explanation]]:
        fresh, self.fresh = self.fresh, []
        return fresh


def subscriber_picks(*, index: PaperIndex, subscribers: list[tuple[int, list[str]]]) -> dict[int, list[dict[str, Any]]]:
    """Each subscriber's matched papers, best first, as ledger items: paper, score, the interests matched.

    One percolation for all of them: every distinct interest is evaluated once, each subscriber is a lookup.
    """
    result = percolate(index=index, subscribers=subscribers)
    return {
        key: [ledger_item(paper_id, score, interests, related) for paper_id, score, interests, related in ranked]
        for key, ranked in percolation_iter_ranked(result, limit=DIGEST_MAX_PAPERS)
    }


def ledger_item(paper_id: PaperId, score: float, interests: tuple[str, ...], related: bool = False) -> dict[str, Any]:
    """One paper of a digest as the ledger stores it (Delivery.papers); why it matched is stored per edition.

    `related`: the semantic layer picked it, none of the interests' words are in it (the digest shows it
    under its own heading, after the papers on the reader's own words); the key is absent otherwise.
    """
    item: dict[str, Any] = {"paper_id": paper_id, "score": round(score, 4), "interests": list(interests)}
    if related:
        item["related"] = True
    return item


def _ledger_item_json(paper_id: PaperId, score: float, interests: tuple[str, ...], related: bool) -> str:
    return json.dumps(ledger_item(paper_id, score, interests, related))


def subscriber_picks_json(
    *, memo: PercolationMemo, subscribers: list[tuple[int, list[str]]], explained: ExplanationLog
) -> dict[int, str]:
    """`subscriber_picks` on `memo.index` as the ledger's JSON text, for planning a million digests in chunks
    (the same items).

    Each distinct interest is evaluated once for all the chunks planned with `memo`. Ranking needs no
    explanation, and an item is encoded once however many digests hold it. The pairs the digests' paper
    blocks show (each paper with its best interest; blocks average ~750 bytes, so all 100 papers can fit the
    HTML budget) are explained into `explained`, each pair once per log: a day has a few hundred thousand
    such pairs, shared by a million digests.
    """
    result = percolate_memo(memo=memo, subscribers=subscribers)
    picks: dict[int, str] = {}
    done, fresh = explained.done, explained.fresh
    for key, items, tops in percolation_iter_formatted(result, limit=DIGEST_MAX_PAPERS, item=_ledger_item_json):
        picks[key] = f"[{', '.join(items)}]"
        for pair in tops:
            if pair not in done:
                done.add(pair)
                match = percolation_explain(result, paper_id=pair[0], interest=pair[1])
                if match is not None:
                    fresh.append((pair[0], pair[1], match.explanation))
    return picks
