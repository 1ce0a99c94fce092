"""Every format Paperboy reads, checked against the seeds, the real third-party samples and our fixtures."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from papers.parsers import ParsedDump, SourceFormat, parse_dump, title_key
from tests.conftest import REALDATA_DIR, is_realdata, require_realdata
from tests.factories import seed_text

REPO = Path(__file__).resolve().parents[2]
REALDATA = REALDATA_DIR  # read in place when present; each test using it skips (fails under CI) without it
SEEDS = REPO / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# A fixed "today" keeps the year of "Mar 11" deterministic.
TODAY = date(2026, 11, 24)

# file name -> (format, number of papers kept, listing date)
REALDATA_EXPECTED = {
    "arxiv_api_atom_legacy_cs.RO_2025-10-17.xml": (SourceFormat.ARXIV_ATOM, 2, date(2025, 10, 17)),
    "arxiv_api_atom_legacy_idlist_1601.00001.xml": (SourceFormat.ARXIV_ATOM, 1, date(2020, 9, 4)),
    "arxiv_rss_cs.LG+cs.AI+cs.CL+stat.ML_2026-09-24.xml": (SourceFormat.ARXIV_RSS, 3, date(2026, 9, 24)),
    "hf_api_daily_papers_2024-10-25_first4.json": (SourceFormat.HF_API_JSON, 4, date(2024, 10, 25)),
    "hf_papers_page_jsonfeed_2025-06-20.json": (SourceFormat.HF_JSONFEED, 4, date(2025, 6, 20)),
    "hf_papers_page_text_capture_2026-07-28_excerpt.md": (SourceFormat.HF_TEXT_CAPTURE, 4, date(2026, 3, 25)),
}
# seed file -> (papers, listing date)
SEEDS_EXPECTED = {
    "000_672c293092104e7e.txt": (56, date(2026, 3, 11)),
    "001_a5cf91813e7d014e.txt": (98, date(2026, 3, 11)),
    "002_400cb6fe9e6dd768.txt": (76, date(2026, 3, 14)),
    "003_d086bbf737563325.txt": (77, date(2026, 9, 12)),
    "004_4786a0c0cf4b3f2b.txt": (65, date(2026, 3, 11)),
}
# `<` is only dirt before an HTML tag name: one seed abstract says "the last <EOS> token" and means it.
HTML_TAG = re.compile(r"</?(?:a|b|i|p|br|div|span|script|style|em|strong|sub|sup|h\d|article)\b", re.I)
ENTITY = re.compile(r"&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")


def parse_file(path: Path, *, today: date = TODAY) -> ParsedDump:
    if is_realdata(path):
        require_realdata()
    return parse_dump(path.read_bytes(), today=today)


def parse_text(text: str, *, today: date = TODAY) -> ParsedDump:
    return parse_dump(text.encode("utf-8"), today=today)


def dirt_in(text: str) -> list[str]:
    """The cleaning rules `text` breaks; empty when it is clean."""
    checks = {
        "html tag": bool(HTML_TAG.search(text)),
        "html entity": bool(ENTITY.search(text)),
        "line break or tab": "\n" in text or "\t" in text,
        "unnormalised whitespace": "  " in text or text != text.strip(),
        "latex quotes": "``" in text or "''" in text,
        "{link} artefact": bool(re.search(r"\{(?:link|here)\}", text)),
    }
    return [rule for rule, broken in checks.items() if broken]


ABSTRACT = (
    "We study how small models learn from feedback. Our method improves accuracy on three benchmarks "
    "while using less compute than prior work, and we release the code and data."
)


# --- seeds (HF_TEXT) -------------------------------------------------------------------------------------


def test_seed_dumps_hold_372_listings_of_287_papers() -> None:
    dumps = [parse_file(path) for path in sorted(SEEDS.glob("*.txt"))]

    assert len(dumps) == 5
    assert sum(len(dump.items) for dump in dumps) == 372
    assert len({title_key(paper.title) for dump in dumps for paper in dump.items}) == 287


@pytest.mark.parametrize(("name", "expected"), SEEDS_EXPECTED.items())
def test_each_seed_parses_as_hf_text_with_its_count_and_listing_date(name: str, expected: tuple[int, date]) -> None:
    dump = parse_file(SEEDS / name)

    assert dump.source_format is SourceFormat.HF_TEXT
    assert (len(dump.items), dump.listing_date) == expected
    assert [paper.rank for paper in dump.items] == list(range(1, expected[0] + 1))
    assert dump.warnings == ()


def test_seed_papers_carry_title_and_abstract_only() -> None:
    first = parse_file(SEEDS / "000_672c293092104e7e.txt").items[0]

    assert first.title == (
        "Understanding In-Context Learning in Transformers and LLMs by Learning to Learn Discrete Functions"
    )
    assert first.abstract.startswith("In order to understand the in-context learning phenomenon,")
    assert (first.rank, first.arxiv_id, first.upvotes, first.authors, first.links) == (1, None, None, (), {})


def test_seed_with_daily_papers_header_line_skips_it() -> None:
    dump = parse_file(SEEDS / "003_d086bbf737563325.txt")

    assert dump.items[0].title == "Gradient-Based Post-Training Quantization: Challenging the Status Quo"


def test_seed_latex_leftovers_are_cleaned() -> None:
    abstracts = " ".join(p.abstract for p in parse_file(SEEDS / "001_a5cf91813e7d014e.txt").items)

    assert "in this https://github.com/ChengyinLee/MulModSeg_2024." in abstracts
    assert "an apparently naïve ensembling technique" in abstracts
    assert "task-specific “skills,” but" in abstracts
    assert "less than 1% of the original" in abstracts


def test_seed_pseudo_tag_eos_survives_cleaning() -> None:
    abstracts = " ".join(p.abstract for p in parse_file(SEEDS / "002_400cb6fe9e6dd768.txt").items)

    assert "using the last <EOS> token embedding" in abstracts


def test_hf_text_year_of_listing_date_is_the_last_one_not_after_today() -> None:
    dump = parse_file(SEEDS / "003_d086bbf737563325.txt", today=date(2026, 9, 11))

    assert dump.listing_date == date(2025, 9, 12)


def test_hf_text_joins_an_abstract_split_over_two_paragraphs_with_a_warning() -> None:
    text = seed_text("First Title", ABSTRACT, "A second paragraph of the same abstract, ending.", "Next", ABSTRACT)

    dump = parse_text(text)

    assert [p.title for p in dump.items] == ["First Title", "Next"]
    assert dump.items[0].abstract == f"{ABSTRACT} A second paragraph of the same abstract, ending."
    assert len(dump.warnings) == 1
    assert dump.warnings[0].startswith("line 15: paragraph joined to the abstract of 'First Title'")


def test_hf_text_short_tail_after_an_abstract_is_not_taken_for_a_title() -> None:
    text = seed_text("First Title", ABSTRACT, "Code: https://github.com/example/repo", "Next", ABSTRACT)

    dump = parse_text(text)

    assert [p.title for p in dump.items] == ["First Title", "Next"]
    assert dump.items[0].abstract.endswith("Code: https://github.com/example/repo")


def test_hf_text_hard_wrapped_paragraph_lines_are_joined() -> None:
    dump = parse_text(seed_text("A Title Wrapped\nOver Two Lines", "An abstract\nwrapped by the saver."))

    assert (dump.items[0].title, dump.items[0].abstract) == (
        "A Title Wrapped Over Two Lines",
        "An abstract wrapped by the saver.",
    )


def test_hf_text_without_date_line_has_no_listing_date_and_says_so() -> None:
    text = "new\n\nSubscribe\n\nA Title\n\n" + ABSTRACT + "\n"

    dump = parse_text(text)

    assert dump.listing_date is None
    assert dump.warnings == ("line 5: no date line like 'Mar 11' after the header; listing date unknown",)


def test_hf_text_with_front_matter_and_crlf_line_ends_parses() -> None:
    text = "---\ntitle: saved page\n---\n" + seed_text("A Title", ABSTRACT)

    dump = parse_dump(text.replace("\n", "\r\n").encode(), today=TODAY)

    assert [(p.title, p.abstract) for p in dump.items] == [("A Title", ABSTRACT)]


# --- HF text capture -------------------------------------------------------------------------------------

CAPTURE = REALDATA / "hf_papers_page_text_capture_2026-07-28_excerpt.md"


def test_text_capture_gives_ids_upvotes_links_and_publish_dates() -> None:
    dump = parse_file(CAPTURE)

    assert dump.source_format is SourceFormat.HF_TEXT_CAPTURE
    assert [p.arxiv_id for p in dump.items] == ["2410.05434", "2306.14898", "2502.06858", "1802.08979"]
    assert [p.upvotes for p in dump.items] == [1, None, None, None]
    assert [p.published_on for p in dump.items] == [
        date(2024, 10, 7),
        date(2023, 6, 26),
        date(2025, 2, 7),
        date(2018, 2, 24),
    ]
    first = dump.items[0]
    assert first.title == "Better than Your Teacher: LLM Agents that learn from Privileged AI Feedback"
    assert first.links == {"paper": "https://huggingface.co/papers/2410.05434"}
    assert first.authors == ()


def test_text_capture_abstract_stops_before_the_url_and_author_count() -> None:
    abstract = parse_file(CAPTURE).items[0].abstract

    assert abstract.startswith("While large language models (LLMs) show impressive decision-making abilities")
    assert abstract.endswith("Our code is available at https://leap-llm.github.io")
    assert "authors" not in abstract and "huggingface.co" not in abstract


def test_text_capture_listing_date_year_comes_from_today() -> None:
    assert parse_file(CAPTURE, today=date(2026, 3, 24)).listing_date == date(2025, 3, 25)


# --- HF API JSON -----------------------------------------------------------------------------------------

API = REALDATA / "hf_api_daily_papers_2024-10-25_first4.json"


def test_api_json_gives_ids_authors_upvotes_and_dates() -> None:
    dump = parse_file(API)

    assert dump.source_format is SourceFormat.HF_API_JSON
    assert dump.listing_date == date(2024, 10, 25)
    assert [p.arxiv_id for p in dump.items] == ["2410.17243", "2410.16251", "2410.18533", "2410.18693"]
    assert [p.upvotes for p in dump.items] == [64, 41, 37, 35]
    first = dump.items[0]
    assert first.title == "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    assert first.authors[:2] == ("Zesen Cheng", "Hang Zhang")
    assert len(first.authors) == 9
    assert first.published_on == date(2024, 10, 22)
    assert first.links == {"paper": "https://huggingface.co/papers/2410.17243"}


def test_api_json_accepts_a_daily_papers_object_with_github_and_project_links() -> None:
    item = {
        "paper": {
            "id": "2503.00001",
            "title": "T",
            "summary": "S.",
            "githubRepo": "https://github.com/x/y",
            "projectPage": "https://x.github.io/y",
            "submittedOnDailyAt": "2025-03-02T08:00:00.000Z",
        }
    }
    dump = parse_text(json.dumps({"dailyPapers": [item]}))

    assert dump.items[0].links == {
        "paper": "https://huggingface.co/papers/2503.00001",
        "github": "https://github.com/x/y",
        "project": "https://x.github.io/y",
    }
    assert dump.listing_date == date(2025, 3, 2)  # from submittedOnDailyAt when publishedAt is absent


# --- JSON Feed -------------------------------------------------------------------------------------------

FEED = REALDATA / "hf_papers_page_jsonfeed_2025-06-20.json"


def test_jsonfeed_keeps_only_the_abstract_after_the_ai_summary() -> None:
    dump = parse_file(FEED)

    assert dump.source_format is SourceFormat.HF_JSONFEED
    assert dump.listing_date == date(2025, 6, 20)
    assert [p.arxiv_id for p in dump.items] == ["2506.14965", "2506.15154", "2506.09827", "2506.14837"]
    first = dump.items[0]
    assert first.title == "Revisiting Reinforcement Learning for LLM Reasoning from A Cross-Domain Perspective"
    assert first.abstract.startswith("Reinforcement learning (RL) has emerged as a promising approach")
    assert all("AI-generated summary" not in p.abstract for p in dump.items)
    assert all(not p.abstract.startswith(("Guru", "SonicVerse", "EmoNet", "ChartIR")) for p in dump.items)
    assert first.links == {"paper": "https://huggingface.co/papers/2506.14965"}


def test_jsonfeed_item_without_the_marker_keeps_its_whole_content() -> None:
    feed = (
        '{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "x", "title": "T",'
        ' "content_text": "Just the abstract.", "url": "https://huggingface.co/papers/2506.00001",'
        ' "authors": [{"name": "Ada"}]}]}'
    )

    paper = parse_text(feed).items[0]

    assert (paper.abstract, paper.arxiv_id, paper.authors) == ("Just the abstract.", "2506.00001", ("Ada",))


# --- arXiv Atom ------------------------------------------------------------------------------------------


def test_atom_gives_versionless_ids_authors_links_and_dates() -> None:
    dump = parse_file(REALDATA / "arxiv_api_atom_legacy_cs.RO_2025-10-17.xml")

    assert dump.source_format is SourceFormat.ARXIV_ATOM
    assert dump.listing_date == date(2025, 10, 17)
    assert [p.arxiv_id for p in dump.items] == ["2510.14968", "2510.14827"]
    first = dump.items[0]
    assert first.title == ("RDD: Retrieval-Based Demonstration Decomposer for Planner Alignment in Long-Horizon Tasks")
    assert first.authors == ("Mingxuan Yan", "Yuping Wang", "Zechun Liu", "Jiachen Li")
    assert first.published_on == date(2025, 10, 16)
    assert first.links == {
        "arxiv": "http://arxiv.org/abs/2510.14968v1",
        "pdf": "http://arxiv.org/pdf/2510.14968v1",
    }
    assert first.abstract.startswith("To tackle long-horizon tasks, recent hierarchical vision-language-action")


def test_atom_id_list_response_decodes_latex_accents() -> None:
    dump = parse_file(REALDATA / "arxiv_api_atom_legacy_idlist_1601.00001.xml")

    paper = dump.items[0]
    assert (paper.arxiv_id, paper.published_on) == ("1601.00001", date(2015, 12, 26))
    assert paper.abstract.startswith("We extend the Landauer-Büttiker probe formalism")


def atom_feed(entry_id: str, *, title: str = "A Title", summary: str = "An abstract.") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        "<updated>2025-01-02T00:00:00-05:00</updated>\n"
        f"<entry><id>{entry_id}</id><title>{title}</title><summary>{summary}</summary>"
        "<author><name>A. Author</name></author></entry>\n</feed>\n"
    )


@pytest.mark.parametrize(
    ("entry_id", "expected"),
    [
        ("http://arxiv.org/abs/2510.12345v2", "2510.12345"),
        ("http://arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001"),
        ("http://arxiv.org/abs/math.GT/0309136v3", "math.GT/0309136"),
        ("http://arxiv.org/abs/0704.0001v1", "0704.0001"),
    ],
)
def test_atom_ids_lose_their_version(entry_id: str, expected: str) -> None:
    assert parse_text(atom_feed(entry_id)).items[0].arxiv_id == expected


# --- arXiv RSS -------------------------------------------------------------------------------------------

RSS = REALDATA / "arxiv_rss_cs.LG+cs.AI+cs.CL+stat.ML_2026-09-24.xml"


def test_rss_keeps_new_and_cross_and_skips_replacements_with_a_warning() -> None:
    dump = parse_file(RSS)

    assert dump.source_format is SourceFormat.ARXIV_RSS
    assert dump.listing_date == date(2026, 9, 24)
    assert [p.arxiv_id for p in dump.items] == ["2609.26811", "2609.26820", "2205.06398"]
    assert len(dump.warnings) == 1
    assert "Random Polytope Descriptors" in dump.warnings[0]
    assert "announce type 'replace'" in dump.warnings[0]


def test_rss_abstract_loses_the_announce_prefix_and_authors_are_split() -> None:
    dump = parse_file(RSS)

    first, second, cross = dump.items
    assert first.title == "The Drift Contract: Spectral Updates for Depth-Robust Local Learning"
    assert first.abstract.startswith("Local learning trains each layer with its own auxiliary loss")
    assert all("Announce Type" not in p.abstract and "arXiv:" not in p.abstract for p in dump.items)
    assert second.authors == ("Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan")
    assert first.links == {"arxiv": "https://arxiv.org/abs/2609.26811"}
    assert (first.published_on, cross.published_on) == (date(2026, 9, 24), None)


def test_rss_skips_replace_cross_items_too() -> None:
    require_realdata()
    rss = RSS.read_text().replace(
        "<arxiv:announce_type>cross</arxiv:announce_type>",
        "<arxiv:announce_type>replace-cross</arxiv:announce_type>",
    )

    dump = parse_text(rss)

    assert [p.arxiv_id for p in dump.items] == ["2609.26811", "2609.26820"]
    assert len(dump.warnings) == 2


# --- HF page HTML ----------------------------------------------------------------------------------------


def test_html_data_props_items_are_read_like_the_api() -> None:
    dump = parse_file(FIXTURES / "hf_papers_page_props.html")

    assert dump.source_format is SourceFormat.HF_HTML
    assert dump.listing_date == date(2025, 3, 11)
    assert [p.arxiv_id for p in dump.items] == ["2503.07365", "2503.05592", "2503.04625"]
    assert [p.upvotes for p in dump.items] == [42, 17, 0]
    first = dump.items[0]
    assert first.title == "Chain-of-Thought Tokens Are Computer Program Variables"
    assert first.authors == ("Ada Lovelace", "Alan Turing")
    assert first.abstract.endswith(
        "answer & has been proven effective. We call this “program variables” and release code at "
        "https://github.com/example/cot-vars."
    )
    assert first.links["github"] == "https://github.com/example/cot-vars"
    assert dump.items[1].title.endswith("via Reinforcement Learning")
    assert "x < y holds for A/B tests" in dump.items[1].abstract


def test_html_older_article_markup_gives_titles_ids_and_upvotes() -> None:
    dump = parse_file(FIXTURES / "hf_papers_page_articles.html")

    assert dump.listing_date == date(2024, 3, 11)
    assert [(p.arxiv_id, p.upvotes) for p in dump.items] == [
        ("2403.05530", 173),
        ("2403.03507", None),
        ("2403.04132", 58),
    ]
    assert dump.items[0].title == (
        "Gemini 1.5: Unlocking multimodal understanding across millions of tokens of context"
    )
    assert dump.items[1].title == "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection"
    assert dump.items[1].abstract.endswith("the growing size of weights & optimizer states.")
    assert any("article 3: no h3" in warning for warning in dump.warnings)
    assert any("2 of 3 papers have no abstract" in warning for warning in dump.warnings)


@pytest.mark.parametrize("name", ["hf_papers_page_props.html", "hf_papers_page_articles.html"])
def test_html_script_and_style_content_never_leaks_into_papers(name: str) -> None:
    dump = parse_file(FIXTURES / name)

    text = " ".join(f"{p.title} {p.abstract}" for p in dump.items)
    for leak in (
        "Injected",
        "Fake Styled",
        "Leaked",
        "Script Paper",
        "Script abstract",
        "alert",
        "0000.00000",
    ):
        assert leak not in text


# --- across formats --------------------------------------------------------------------------------------


def test_every_realdata_sample_is_known_and_parses_as_expected() -> None:
    require_realdata()
    samples = sorted(p.name for p in REALDATA.iterdir() if p.name != "README.md")

    assert samples == sorted(REALDATA_EXPECTED)
    for name, (source_format, count, listing_date) in REALDATA_EXPECTED.items():
        dump = parse_file(REALDATA / name)
        assert (dump.source_format, len(dump.items), dump.listing_date) == (
            source_format,
            count,
            listing_date,
        )


@pytest.mark.parametrize(
    "path",
    [
        *sorted(SEEDS.glob("*.txt")),
        *(REALDATA / name for name in REALDATA_EXPECTED),
        *sorted(FIXTURES.iterdir()),
    ],
    ids=lambda path: path.name,
)
def test_titles_abstracts_and_authors_come_out_clean(path: Path) -> None:
    dump = parse_file(path)

    for paper in dump.items:
        for text in (paper.title, paper.abstract, *paper.authors):
            assert dirt_in(text) == [], (paper.rank, text[:120])
        assert paper.title


def test_in_dump_duplicates_are_dropped_keeping_the_first_and_ranks_close_up() -> None:
    items = [
        ("2501.00001", "Chain-of-Thought: Reasoning"),
        ("2501.00002", "Another Paper"),
        ("2501.00001", "A retitled copy of the first"),
        ("2501.00003", "chain of thought — reasoning"),
        ("2501.00004", "Last Paper"),
    ]
    body = ", ".join(
        f'{{"paper": {{"id": "{arxiv_id}", "title": "{title}", "summary": "S."}}}}' for arxiv_id, title in items
    )

    dump = parse_text(f"[{body}]")

    assert [(p.rank, p.arxiv_id) for p in dump.items] == [
        (1, "2501.00001"),
        (2, "2501.00002"),
        (3, "2501.00004"),
    ]
    assert len(dump.warnings) == 2
    assert dump.warnings[0].startswith("item 3: 'A retitled copy of the first' repeats item 1")
    assert dump.warnings[1].startswith("item 4: 'chain of thought — reasoning' repeats item 1")
