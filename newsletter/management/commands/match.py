"""`manage.py match --interest TEXT [...] [--json]`: what the matcher picks among the stored papers, and why."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from newsletter.matching import InterestError, Match, parse_interest
from newsletter.paper_indexes import paper_index_build
from newsletter.services.fusion import FusedMatch, fused_interest_matches
from papers.selectors import paper_texts


class Command(BaseCommand):
    help = (
        "Match interests against every stored (visible) paper with the fused matcher (words + meaning): picks on "
        "the interest's own words first, then related ones, best first, each with why."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interest", action="append", required=True, help="an interest; repeat for more")
        parser.add_argument("--json", action="store_true", help='print {"<interest>": [{title, score, why}]}')
        parser.add_argument("--limit", type=int, default=0, help="at most this many papers per interest")

    def handle(self, *args: Any, **options: Any) -> None:
        interests = [_canonical(text) for text in options["interest"]]
        papers = paper_texts()
        index = paper_index_build(papers=papers)
        titles = {pk: title for pk, title, _ in papers}
        fused = fused_interest_matches(index=index, interests=interests)
        results = {}
        for raw, canonical in zip(options["interest"], interests, strict=True):
            matches = fused[canonical]
            results[raw] = matches[: options["limit"]] if options["limit"] else matches
        if options["json"]:
            data = {raw: [_as_json(m, titles) for m in matches] for raw, matches in results.items()}
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        for raw, matches in results.items():
            self.stdout.write(self.style.MIGRATE_HEADING(f"{raw}: {len(matches)} of {len(papers)} papers"))
            for match in matches:
                self.stdout.write(f"  {match.score:6.2f}  {titles[int(match.paper_id)]}")
                self.stdout.write(f"          {why_line(match)}")


def _canonical(text: str) -> str:
    try:
        return parse_interest(text).text
    except InterestError as exc:
        raise CommandError(f"{text!r}: {'; '.join(exc.errors)}") from exc


def why_line(fused: FusedMatch) -> str:
    """One line: the words found (highlights in [brackets]), or the interest it relates to and the sentence."""
    if fused.match is not None:
        return why(fused.match)
    return f"related to {fused.interest}: “{fused.sentence}”"


def why(match: Match) -> str:
    """One line: the words found, and the passage they were found in (highlights in [brackets])."""
    explanation = match.explanation
    where = "title" if explanation.in_title else "abstract"
    passage = explanation.snippet_text(mark="") if explanation.snippet else ""
    highlighted = "".join(f"[{text}]" if lit else text for text, lit in explanation.snippet)
    words = ", ".join(explanation.words)
    return f"matched {words} in the {where}" + (f": {highlighted}" if passage else "")


def _as_json(match: FusedMatch, titles: dict[int, str]) -> dict[str, Any]:
    return {
        "paper_id": match.paper_id,
        "title": titles[int(match.paper_id)],
        "score": round(match.score, 4),
        "why": {**match.why(), "text": why_line(match)},
        "matched_words": list(match.match.explanation.words) if match.match else [],
    }
