"""Every format, read from the project's own small fixtures: these run on any clone.

The real third-party samples (../shared/realdata, tests/papers/test_parsers_formats.py) are richer but are not
part of the repository; these fixtures, written for the project in the same shapes, keep every parser covered
without them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from papers.parsers import ParsedDump, SourceFormat, parse_dump

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TODAY = date(2026, 11, 24)


def parse_fixture(name: str, *, today: date = TODAY) -> ParsedDump:
    return parse_dump((FIXTURES / name).read_bytes(), today=today)


def test_text_capture_fixture_gives_ids_votes_dates_and_the_abstract_between_the_urls() -> None:
    dump = parse_fixture("hf_text_capture.md")

    assert (dump.source_format, dump.listing_date) == (SourceFormat.HF_TEXT_CAPTURE, date(2026, 3, 25))
    assert [(p.arxiv_id, p.upvotes, p.published_on) for p in dump.items] == [
        ("2501.01234", 7, date(2025, 1, 3)),
        ("2309.00042", None, date(2023, 9, 1)),
    ]
    first, second = dump.items
    assert first.abstract == (
        "We prune decision trees with feedback from a critic model and keep “only” the branches that matter. "
        "Our code is available at https://example.org/gardens"
    )
    assert first.links == {"paper": "https://huggingface.co/papers/2501.01234"}
    assert (second.title, second.abstract) == ("Tiny Lamps & Long Shadows", "")
    assert dump.warnings == ("1 of 2 papers have no abstract (line 40); kept without one",)


def test_api_json_fixture_gives_authors_votes_links_and_the_listing_day() -> None:
    dump = parse_fixture("hf_api_daily_papers.json")

    assert (dump.source_format, dump.listing_date) == (SourceFormat.HF_API_JSON, date(2024, 10, 25))
    first, second = dump.items
    assert (first.arxiv_id, first.upvotes, first.published_on) == ("2410.20001", 12, date(2024, 10, 22))
    assert first.authors == ("Ada Quill", "Bo Reed")
    assert first.abstract == "We route messages on sparse graphs in near linear time. The method folds the map twice."
    assert first.links == {
        "paper": "https://huggingface.co/papers/2410.20001",
        "github": "https://github.com/example/folding-maps",
    }
    assert second.abstract == "Some tokens say nothing; we find them with one probe (87.0% recall)."


def test_jsonfeed_fixture_keeps_only_the_abstract_after_the_ai_summary() -> None:
    dump = parse_fixture("hf_jsonfeed.json")

    assert (dump.source_format, dump.listing_date) == (SourceFormat.HF_JSONFEED, date(2025, 6, 20))
    assert [(p.arxiv_id, p.authors) for p in dump.items] == [("2506.30001", ("Dee Marsh",)), ("2506.30002", ())]
    assert [p.abstract for p in dump.items] == [
        "We evaluate language models on floating tasks and report that small boats win.",
        "Slow clocks keep time in distributed systems without a leader.",
    ]


def test_atom_fixture_gives_versionless_ids_links_and_decoded_latex() -> None:
    dump = parse_fixture("arxiv_atom.xml")

    assert (dump.source_format, dump.listing_date) == (SourceFormat.ARXIV_ATOM, date(2025, 10, 17))
    assert [p.arxiv_id for p in dump.items] == ["2510.40001", "hep-th/9901001"]
    first = dump.items[0]
    assert first.title == "Walking Robots Learn to Climb Stairs"
    assert first.abstract == (
        "We teach walking robots to climb stairs with a naïve policy and a Landauer-Büttiker style probe; "
        "the success rate is 87.0% on real stairs."
    )
    assert (first.authors, first.published_on) == (("Eve Stone", "Finn Hale"), date(2025, 10, 16))
    assert first.links == {"arxiv": "http://arxiv.org/abs/2510.40001v1", "pdf": "http://arxiv.org/pdf/2510.40001v1"}


def test_rss_fixture_keeps_new_and_cross_skips_replacements_and_splits_authors() -> None:
    dump = parse_fixture("arxiv_rss.xml")

    assert (dump.source_format, dump.listing_date) == (SourceFormat.ARXIV_RSS, date(2026, 9, 24))
    new, cross = dump.items
    assert (new.arxiv_id, cross.arxiv_id) == ("2609.50001", "2205.50002")
    assert new.abstract == "Local learning trains each layer on its own; gentle gradients keep it stable."
    assert new.authors == ("Hana Ito", "Ivo Jel", "Jan Kos")
    assert cross.authors == ("Kai Lund", "Lia Moe")
    assert (new.published_on, cross.published_on) == (date(2026, 9, 24), None)
    assert len(dump.warnings) == 1 and "announce type 'replace'" in dump.warnings[0]


@pytest.mark.parametrize("source_format", list(SourceFormat))
def test_every_format_has_a_fixture_of_the_projects_own(source_format: SourceFormat) -> None:
    formats = {parse_dump(path.read_bytes(), today=TODAY).source_format for path in FIXTURES.iterdir()}
    seeds = Path(__file__).resolve().parents[2] / "seeds"

    assert source_format in formats or (source_format is SourceFormat.HF_TEXT and any(seeds.glob("*.txt")))
