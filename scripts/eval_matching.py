"""Measure matching quality on the judged interests: micro precision, recall and F1 of four methods.

    .venv/bin/python scripts/eval_matching.py                      # print the tables
    .venv/bin/python scripts/eval_matching.py --write docs/matching.md   # also refresh them in the doc
    .venv/bin/python scripts/eval_matching.py --misses              # list Paperboy's misses per interest
    .venv/bin/python scripts/eval_matching.py --ablation            # Paperboy with each technique off,
                                                                    # and the fused matcher with each feature off
    .venv/bin/python scripts/eval_matching.py --candidates          # the fused matcher with each candidate
                                                                    # feature added (measured, not kept)

Papers: the unique papers (by title, first dump wins) of seeds/*.txt, read with papers.parsers.parse_dump.
Judgements: ../shared/eval/relevance_dev.json (or --judgements). A paper listed "relevant" is a positive,
"disputed" counts neither way, every other paper is a negative.

Methods: plain case-insensitive substring; word-boundary regex; stemmed exact phrase (the interest's stems
adjacent, in order, within the title or within the abstract); Paperboy's matcher (newsletter.matching) with
the acronym table learned from the same papers; and the fused matcher (lexical + semantic evidence,
newsletter/matching/fusion.py), its weights fitted leaving each interest out with its acronym twin
(scripts/fit_fusion.py): each interest is judged by a model that never saw it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from newsletter.matching import (  # noqa: E402
    PaperText,
    build_index,
    compile_interest,
    hits,
    learn_acronyms,
    plans,
    scoring,
)
from newsletter.matching import index as index_module  # noqa: E402
from newsletter.matching.fusion import FEATURES, LEXICAL_FEATURES  # noqa: E402
from newsletter.matching.scoring import score_interest  # noqa: E402
from newsletter.matching.text import normalise, tokenise  # noqa: E402
from papers.parsers import parse_dump  # noqa: E402

DEFAULT_JUDGEMENTS = ROOT.parent / "shared" / "eval" / "relevance_dev.json"
BEGIN, END = "<!-- eval:begin -->", "<!-- eval:end -->"
ABLATION_BEGIN, ABLATION_END = "<!-- ablation:begin -->", "<!-- ablation:end -->"
FUSED_ABLATION_BEGIN, FUSED_ABLATION_END = "<!-- fused-ablation:begin -->", "<!-- fused-ablation:end -->"
CANDIDATES_BEGIN, CANDIDATES_END = "<!-- fused-candidates:begin -->", "<!-- fused-candidates:end -->"
FUSED = "Paperboy fused (leave-one-interest-out)"

Method = Callable[[str], set[str]]  # interest -> titles of the papers it matches


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_papers(seeds: Path) -> dict[str, str]:
    """Title -> abstract of each unique paper, first dump (in file-name order) wins."""
    papers: dict[str, str] = {}
    for path in sorted(seeds.glob("*.txt")):
        for item in parse_dump(path.read_bytes(), today=date(2025, 1, 1)).items:
            papers.setdefault(item.title, item.abstract)
    return papers


def substring_method(papers: dict[str, str]) -> Method:
    texts = {title: f"{title}\n{abstract}".lower() for title, abstract in papers.items()}
    return lambda interest: {t for t, text in texts.items() if interest.lower() in text}


def word_boundary_method(papers: dict[str, str]) -> Method:
    texts = {title: f"{title}\n{abstract}" for title, abstract in papers.items()}

    def run(interest: str) -> set[str]:
        pattern = re.compile(r"\b" + re.escape(interest) + r"\b", re.IGNORECASE)
        return {t for t, text in texts.items() if pattern.search(text)}

    return run


def stemmed_phrase_method(papers: dict[str, str]) -> Method:
    fields = {
        title: [[tok.stem for tok in tokenise(normalise(field))] for field in (title, abstract)]
        for title, abstract in papers.items()
    }

    def run(interest: str) -> set[str]:
        wanted = [tok.stem for tok in tokenise(normalise(interest))]
        size = len(wanted)
        return {
            title
            for title, stems_of in fields.items()
            if any(stems[i : i + size] == wanted for stems in stems_of for i in range(len(stems) - size + 1))
        }

    return run


def paperboy_method(papers: dict[str, str], *, acronyms: bool = True) -> Method:
    texts = [PaperText(id=title, title=title, abstract=abstract) for title, abstract in papers.items()]
    table = learn_acronyms(texts=(f"{p.title}\n{p.abstract}" for p in texts) if acronyms else ())
    index = build_index(papers=texts, acronyms=table)

    def run(interest: str) -> set[str]:
        compiled = compile_interest(interest, acronyms=index.acronyms)
        return {str(index.papers[number].paper.id) for number, _ in score_interest(index, compiled)}

    return run


# Each row switches one technique off, to show what it contributes on this set (module constants are
# read at call time, so patching them for one run is enough).
ABLATIONS: dict[str, dict[tuple[ModuleType, str], float]] = {
    "Paperboy": {},
    "words of web addresses indexed too": {(index_module, "SKIP_WEB_ADDRESSES"): False},
    "without proximity (words must be adjacent)": {(hits, "SLACK_PER_GAP"): 0},
    "words side by side in another order are a hit too": {(hits, "TURNED_ROUND_NEEDS_A_WORD"): False},
    'without coordination ("language and vision models")': {(hits, "COORDINATION"): False},
    "without the title weight (title = abstract)": {(scoring, "TITLE_WEIGHT"): 1.0},
    "without the relaxed title rule": {(plans, "RELAXED_COVERAGE"): 2.0},
    "relaxed title rule without its head condition": {(plans, "RELAXED_HEAD_MAX_SHARE"): -1.0},
    "without the theme rule (every word recurring in 3 sentences)": {(plans, "THEME_MIN_SENTENCES"): 10**6},
    "theme rule without a shared sentence": {(plans, "THEME_NEEDS_A_SHARED_SENTENCE"): False},
    "without the back-off (a long interest needs every word)": {(plans, "BACKOFF_MIN_UNITS"): 99},
    "one abstract mention is never enough (threshold 1.2)": {(scoring, "THRESHOLD"): 1.2},
}


def ablation(papers: dict[str, str], queries: list[dict[str, Any]]) -> str:
    lines = ["| variant | micro precision | micro recall | micro F1 |", "|---|---:|---:|---:|"]
    variants = [(name, patch, True) for name, patch in ABLATIONS.items()]
    variants.insert(1, ("without learned acronyms", {}, False))
    for name, patch, acronyms in variants:
        saved = {(module, key): getattr(module, key) for module, key in patch}
        for (module, key), value in patch.items():
            setattr(module, key, value)
        try:
            method = paperboy_method(papers, acronyms=acronyms)
            total = Counts()
            for query in queries:
                total.add(judge(method(str(query["query"])), set(query["relevant"]), set(query["disputed"])))
        finally:
            for (module, key), value in saved.items():
                setattr(module, key, value)
        lines.append(f"| {name} | {total.precision:.3f} | {total.recall:.3f} | {total.f1:.3f} |")
    return "\n".join(lines)


def judge(found: set[str], relevant: set[str], disputed: set[str]) -> Counts:
    counted = found - disputed
    return Counts(tp=len(counted & relevant), fp=len(counted - relevant), fn=len(relevant - found))


def fused_method(papers: dict[str, str], queries: list[dict[str, Any]]) -> Method:
    """The fused matcher's held-out picks: each interest by a model fitted without it (and its twin)."""
    import fit_fusion

    data, _ = fit_fusion.dataset(papers, queries)
    picked = fit_fusion.loio(data)
    titles = list(papers)
    found: dict[str, set[str]] = {}
    for row, interest in enumerate(data.interests):
        rows = picked[data.group == row]
        found[interest] = {titles[number] for number in np.flatnonzero(rows)}
    return lambda interest: found[interest]


def fused_ablation(papers: dict[str, str], queries: list[dict[str, Any]]) -> str:
    import fit_fusion

    data, _ = fit_fusion.dataset(papers, queries)
    lines = [
        "| variant | micro precision | micro recall | micro F1 | TP | FP | FN |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    variants = [("fused, all features", list(range(len(FEATURES))))]
    variants += [
        (f"without {name}", [i for i in range(len(FEATURES)) if i != off]) for off, name in enumerate(FEATURES)
    ]
    lexical = [FEATURES.index(name) for name in LEXICAL_FEATURES]
    variants += [("lexical features only", lexical)]
    variants += [("semantic features only", [i for i in range(len(FEATURES)) if i not in lexical])]
    for name, columns in variants:
        tp, fp, fn = fit_fusion.counts(fit_fusion.loio(data, columns), data.y)
        c = Counts(tp=tp, fp=fp, fn=fn)
        lines.append(f"| {name} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} | {tp} | {fp} | {fn} |")
    return "\n".join(lines)


def fused_candidates(papers: dict[str, str], queries: list[dict[str, Any]]) -> str:
    """The fused matcher with each candidate feature added (fit_fusion.candidate_rows), leaving one interest out;
    the last column is what its held-out ranking would reach cut at each interest's best rank."""
    import fit_fusion

    data, _ = fit_fusion.dataset(papers, queries)
    lines = [
        "| variant | micro precision | micro recall | micro F1 | TP | FP | FN | F1, best cut per interest |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (tp, fp, fn), best in fit_fusion.candidate_rows(data):
        c = Counts(tp=tp, fp=fp, fn=fn)
        cut = f"{best:.3f}" if best else ""
        lines.append(f"| {name} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} | {tp} | {fp} | {fn} | {cut} |")
    return "\n".join(lines)


def evaluate(papers: dict[str, str], queries: list[dict[str, Any]]) -> tuple[dict[str, Counts], list[dict[str, Any]]]:
    methods = {
        "substring (case-insensitive)": substring_method(papers),
        "word boundary": word_boundary_method(papers),
        "stemmed exact phrase": stemmed_phrase_method(papers),
        "Paperboy": paperboy_method(papers),
        FUSED: fused_method(papers, queries),
    }
    totals = {name: Counts() for name in methods}
    rows: list[dict[str, Any]] = []
    for query in queries:
        interest = str(query["query"])
        relevant, disputed = set(query["relevant"]), set(query["disputed"])
        row: dict[str, Any] = {"interest": interest, "relevant": len(relevant), "disputed": len(disputed)}
        for name, method in methods.items():
            found = method(interest)
            counts = judge(found, relevant, disputed)
            totals[name].add(counts)
            row[name] = counts
            if name == FUSED:
                row["misses"] = sorted(relevant - found)
                row["false"] = sorted(found - relevant - disputed)
        rows.append(row)
    return totals, rows


def markdown(totals: dict[str, Counts], rows: list[dict[str, Any]], papers: int, judgements: str) -> str:
    lines = [
        f"Produced by `scripts/eval_matching.py` over the {papers} unique seed papers and {len(rows)} judged "
        f"interests of `{judgements}` (disputed papers counted neither way).",
        "",
        "| method | micro precision | micro recall | micro F1 | TP | FP | FN |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, c in totals.items():
        lines.append(f"| {name} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} | {c.tp} | {c.fp} | {c.fn} |")
    names = list(totals)
    lines += [
        "",
        "Per interest (F1 of each method; the lexical and the fused matcher's TP/FP/FN):",
        "",
        "| interest | relevant | disputed | " + " | ".join(names) + " | Paperboy TP/FP/FN | fused TP/FP/FN |",
        "|---|---:|---:|" + "---:|" * len(names) + "---:|---:|",
    ]
    for row in rows:
        f1s = " | ".join(f"{row[name].f1:.2f}" for name in names)
        pb, fu = row["Paperboy"], row[FUSED]
        lines.append(
            f"| {row['interest']} | {row['relevant']} | {row['disputed']} | {f1s} | {pb.tp}/{pb.fp}/{pb.fn} "
            f"| {fu.tp}/{fu.fp}/{fu.fn} |"
        )
    return "\n".join(lines)


def write_between_markers(path: Path, text: str, begin: str = BEGIN, end: str = END) -> None:
    document = path.read_text(encoding="utf-8")
    start, stop = document.index(begin) + len(begin), document.index(end)
    path.write_text(document[:start] + "\n" + text + "\n" + document[stop:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    parser.add_argument("--judgements", type=Path, default=DEFAULT_JUDGEMENTS)
    parser.add_argument("--write", type=Path, help=f"replace the text between {BEGIN} and {END} in this file")
    parser.add_argument("--misses", action="store_true", help="list the fused matcher's false negatives and positives")
    parser.add_argument("--ablation", action="store_true", help="also score Paperboy with each technique off")
    parser.add_argument("--candidates", action="store_true", help="also score the fused matcher's candidate features")
    args = parser.parse_args()
    papers = load_papers(args.seeds)
    queries = json.loads(args.judgements.read_text(encoding="utf-8"))["queries"]
    totals, rows = evaluate(papers, queries)
    shown = "shared/eval/" + args.judgements.name
    table = markdown(totals, rows, len(papers), shown)
    print(table)
    if args.misses:
        for row in rows:
            print(f"\n## {row['interest']}")
            for title in row["misses"]:
                print(f"  missed: {title}")
            for title in row["false"]:
                print(f"  wrong:  {title}")
    if args.write:
        write_between_markers(args.write, table)
    if args.ablation:
        ablated = ablation(papers, queries)
        print("\n" + ablated)
        if args.write:
            write_between_markers(args.write, ablated, ABLATION_BEGIN, ABLATION_END)
        fused = fused_ablation(papers, queries)
        print("\n" + fused)
        if args.write:
            write_between_markers(args.write, fused, FUSED_ABLATION_BEGIN, FUSED_ABLATION_END)
    if args.candidates:
        candidates = fused_candidates(papers, queries)
        print("\n" + candidates)
        if args.write:
            write_between_markers(args.write, candidates, CANDIDATES_BEGIN, CANDIDATES_END)


if __name__ == "__main__":
    main()
