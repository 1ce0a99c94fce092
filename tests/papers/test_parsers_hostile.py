"""Decoding, format detection, and broken or hostile input: only a `DumpParseError` a person can act on."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from papers.parsers import DumpParseError, SourceFormat, detect_format, parse_dump
from tests.conftest import REALDATA_DIR, is_realdata, require_realdata
from tests.factories import seed_text

REPO = Path(__file__).resolve().parents[2]
REALDATA = REALDATA_DIR  # each test reading it skips (fails under CI) without it
SEEDS = REPO / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TODAY = date(2026, 11, 24)
ABSTRACT = "We study how small models learn from feedback, and we release the code and data."


def parse_error(data: bytes | str) -> str:
    """The message of the `DumpParseError` that parsing `data` must raise."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with pytest.raises(DumpParseError) as caught:
        parse_dump(raw, today=TODAY)
    return str(caught.value)


def api_json(*papers: object) -> str:
    return json.dumps([{"paper": paper} for paper in papers])


GOOD_PAPER = {"id": "2501.00001", "title": "A Title", "summary": "An abstract.", "upvotes": 3}


# --- decoding --------------------------------------------------------------------------------------------


def test_size_limit_is_checked_first_with_sizes_in_the_message() -> None:
    data = b"\x00" * int(25.3 * 1024 * 1024)

    assert parse_error(data) == "file is 25.3 MB; the limit is 20.0 MB"


def test_custom_size_limit_applies() -> None:
    with pytest.raises(DumpParseError, match=r"file is 0\.0 MB; the limit is 0\.0 MB"):
        parse_dump(b"x" * 100, today=TODAY, max_bytes=10)


def test_empty_and_whitespace_only_files_are_errors() -> None:
    assert parse_error(b"") == "file is empty; expected a daily papers dump"
    assert parse_error(b" \n\t\n") == "file holds only whitespace; expected a daily papers dump"


def test_binary_file_names_the_offset_of_the_first_non_text_byte() -> None:
    assert parse_error(b"hello world\x00\x01\x02") == (
        "byte 11: binary file: byte 0x00 is not text; expected a text, JSON, XML or HTML dump"
    )
    assert parse_error(b"\x89PNG\r\n\x1a\n").startswith("byte 6: binary file: byte 0x1a")


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
        lambda text: text.encode("utf-16"),  # with BOM
        lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
        lambda text: text.encode("utf-16-le"),  # no BOM: told apart from binary by its alternating NULs
        lambda text: text.encode("utf-16-be"),
        lambda text: text.encode("utf-8"),
    ],
    ids=["utf8-bom", "utf16-bom", "utf16be-bom", "utf16le-nobom", "utf16be-nobom", "utf8"],
)
def test_text_in_any_supported_encoding_parses_the_same(encode: Callable[[str], bytes]) -> None:
    dump = parse_dump(encode(seed_text("Café “Quotes” Title", ABSTRACT)), today=TODAY)

    assert [(p.title, p.abstract) for p in dump.items] == [("Café “Quotes” Title", ABSTRACT)]
    assert dump.warnings == ()


def test_windows_1252_file_is_read_with_a_warning() -> None:
    data = seed_text("Café “Quotes” Title", ABSTRACT).encode("cp1252")

    dump = parse_dump(data, today=TODAY)

    assert dump.items[0].title == "Café “Quotes” Title"
    first_bad = data.index("é".encode("cp1252"))
    assert dump.warnings == (f"byte {first_bad}: not valid UTF-8; read the file as CP1252",)


def test_bytes_undefined_in_windows_1252_fall_back_to_latin_1() -> None:
    dump = parse_dump(seed_text("Title \x81 with a stray byte", ABSTRACT).encode("latin-1"), today=TODAY)

    assert "read the file as LATIN-1" in dump.warnings[0]
    assert dump.items[0].title == "Title with a stray byte"  # the C1 control becomes a space, then collapses


def test_utf8_saved_again_as_windows_1252_mojibake_is_repaired() -> None:
    text = seed_text("Café – “Quotes Title", ABSTRACT)
    data = text.encode("utf-8").decode("cp1252").encode("utf-8")

    dump = parse_dump(data, today=TODAY)

    assert dump.items[0].title == "Café – “Quotes Title"
    assert dump.warnings == ("text was UTF-8 read as Windows-1252 and saved again; repaired",)


def test_mis_encoded_rss_still_parses() -> None:
    rss = (FIXTURES / "arxiv_rss.xml").read_text(encoding="utf-8")
    data = rss.replace("Hana Ito, Ivo Jel, Jan Kos", "Fabien Pöllÿ").encode("cp1252")  # still declares UTF-8

    dump = parse_dump(data, today=TODAY)

    assert dump.items[0].authors == ("Fabien Pöllÿ",)
    assert "read the file as CP1252" in dump.warnings[0]


def test_utf16_file_with_control_characters_is_binary() -> None:
    assert "binary file: control character 0x01" in parse_error("text\x01more text".encode("utf-16"))


# --- detection -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (SEEDS / "000_672c293092104e7e.txt", SourceFormat.HF_TEXT),
        (REALDATA / "hf_papers_page_text_capture_2026-07-28_excerpt.md", SourceFormat.HF_TEXT_CAPTURE),
        (REALDATA / "hf_api_daily_papers_2024-10-25_first4.json", SourceFormat.HF_API_JSON),
        (REALDATA / "hf_papers_page_jsonfeed_2025-06-20.json", SourceFormat.HF_JSONFEED),
        (REALDATA / "arxiv_api_atom_legacy_cs.RO_2025-10-17.xml", SourceFormat.ARXIV_ATOM),
        (REALDATA / "arxiv_rss_cs.LG+cs.AI+cs.CL+stat.ML_2026-09-24.xml", SourceFormat.ARXIV_RSS),
        (FIXTURES / "hf_papers_page_props.html", SourceFormat.HF_HTML),
        (FIXTURES / "hf_papers_page_articles.html", SourceFormat.HF_HTML),
        (FIXTURES / "hf_text_capture.md", SourceFormat.HF_TEXT_CAPTURE),
        (FIXTURES / "hf_api_daily_papers.json", SourceFormat.HF_API_JSON),
        (FIXTURES / "hf_jsonfeed.json", SourceFormat.HF_JSONFEED),
        (FIXTURES / "arxiv_atom.xml", SourceFormat.ARXIV_ATOM),
        (FIXTURES / "arxiv_rss.xml", SourceFormat.ARXIV_RSS),
    ],
    ids=lambda value: value.name if isinstance(value, Path) else str(value),
)
def test_format_is_detected_from_content(path: Path, expected: SourceFormat) -> None:
    if is_realdata(path):
        require_realdata()
    assert detect_format(text=path.read_text(encoding="utf-8")) is expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ('\n  <?xml version="1.0"?>\n<!-- a comment -->\n<feed xmlns="x">', SourceFormat.ARXIV_ATOM),
        ("<rss version='2.0'>", SourceFormat.ARXIV_RSS),
        ("<html><body>", SourceFormat.HF_HTML),
        ("<div class='x'>", SourceFormat.HF_HTML),
        ("<article>", SourceFormat.HF_HTML),
        ('{"dailyPapers": []}', SourceFormat.HF_API_JSON),
        ('{"items": [], "version": "https://jsonfeed.org/version/1.1"}', SourceFormat.HF_JSONFEED),
        ("[]", SourceFormat.HF_API_JSON),
        ("Mar 11\n\nA Title\n\nAn abstract.", SourceFormat.HF_TEXT),
    ],
)
def test_detection_looks_at_how_the_content_starts(start: str, expected: SourceFormat) -> None:
    assert detect_format(text=start) is expected


@pytest.mark.parametrize(
    "text", ["Lorem ipsum dolor sit amet\n\nfoo", '{"some": "json"}', '<?xml version="1.0"?><svg></svg>']
)
def test_unknown_format_error_lists_what_was_tried_and_how_the_file_starts(text: str) -> None:
    message = parse_error(text)

    assert message.startswith("unrecognised format; tried HF API JSON, HF JSON Feed, arXiv Atom, arXiv RSS,")
    assert message.endswith(f"the file starts with {' '.join(text.split())[:80]!r}")


# --- seed text -------------------------------------------------------------------------------------------


def test_truncated_seed_after_a_title_names_the_line_and_the_title() -> None:
    text = seed_text("A Title", ABSTRACT, "Foo Bar Baz: A Title Whose Abstract Was Cut Off By The Saver")

    assert parse_error(text) == (
        "line 15: title 'Foo Bar Baz: A Title Whose Abstract Was Cut Off By The Saver' has no abstract "
        "after it; expected an abstract paragraph"
    )


def test_real_seed_cut_after_a_title_is_an_error() -> None:
    lines = (SEEDS / "000_672c293092104e7e.txt").read_text().split("\n")

    # Paragraphs sit on odd lines and titles on lines 11, 15, 19...: line 55 is a title.
    message = parse_error("\n".join(lines[:55]))

    assert message.startswith(f"line 55: title '{lines[54][:20]}")
    assert message.endswith("has no abstract after it; expected an abstract paragraph")


def test_seed_paragraph_too_long_for_a_title_is_an_error() -> None:
    message = parse_error(seed_text(ABSTRACT * 5, ABSTRACT))

    assert message.startswith(f"line 11: a paragraph of {len(ABSTRACT * 5)} characters")
    assert message.endswith("expected a title of at most 300 characters")


def test_seed_with_an_impossible_date_line_is_an_error() -> None:
    assert parse_error(seed_text("A Title", ABSTRACT, date_line="Feb 30")) == (
        "line 9: 'Feb 30' is not a day of the year; expected a date line like 'Mar 11'"
    )


def test_seed_with_header_only_has_no_papers() -> None:
    assert parse_error(seed_text()) == (
        "no papers found; expected a title paragraph followed by an abstract paragraph, separated by blank lines"
    )


# --- JSON ------------------------------------------------------------------------------------------------


def test_truncated_json_names_line_and_column() -> None:
    text = api_json(GOOD_PAPER, GOOD_PAPER)[:-30]

    assert parse_error(text).startswith("line 1, column ")
    assert parse_error(text).endswith("the file ends too early (truncated?)")


def test_malformed_json_in_the_middle_names_line_and_column() -> None:
    assert parse_error('[{"paper": {"title": "A",\n  "summary": }}]') == (
        "line 2, column 14: Expecting value; expected valid JSON"
    )


def test_json_nested_100k_levels_deep_is_a_clear_error() -> None:
    assert parse_error("[" * 100_000) == "JSON is nested too deeply; expected a list of papers"


def test_json_item_missing_its_title_names_the_item() -> None:
    paper = {"id": "2501.00002", "summary": "An abstract."}

    assert parse_error(api_json(GOOD_PAPER, paper)) == "item 2: no title; expected paper.title"


@pytest.mark.parametrize(
    ("paper", "message"),
    [
        ({**GOOD_PAPER, "title": ["A"]}, "item 1: paper.title is a list; expected a string"),
        ({**GOOD_PAPER, "summary": None}, "item 1: no abstract; expected paper.summary"),
        ({**GOOD_PAPER, "upvotes": "lots"}, "item 1: paper.upvotes is 'lots'; expected a whole number"),
        ({**GOOD_PAPER, "upvotes": True}, "item 1: paper.upvotes is True; expected a whole number"),
        ({**GOOD_PAPER, "authors": "Ada"}, "item 1: paper.authors is a string; expected a list"),
        ({**GOOD_PAPER, "authors": ["Ada"]}, 'item 1: paper.authors[1] is a string; expected {"name": ...}'),
        (
            {**GOOD_PAPER, "publishedAt": "yesterday"},
            "item 1: paper.publishedAt is 'yesterday'; expected an ISO date like 2024-10-22T17:59:30Z",
        ),
        ({}, 'item 1: no "paper" object; expected {"paper": {"title", "summary", ...}}'),
        ("a string", "item 1: paper is a string; expected an object"),
    ],
)
def test_json_item_with_wrong_types_names_the_item_and_the_field(paper: object, message: str) -> None:
    assert parse_error(api_json(paper)) == message


def test_json_items_that_are_not_objects_are_errors() -> None:
    assert parse_error('[{"paper": {}}, 42]') == (
        'item 1: no "paper" object; expected {"paper": {"title", "summary", ...}}'
    )
    assert parse_error("[42]") == 'item 1: is a number; expected an object with a "paper" object'


def test_json_with_zero_items_is_an_error() -> None:
    assert parse_error("[]") == (
        'no papers found; expected a list of items like {"paper": {"id", "title", "summary", ...}}'
    )
    assert parse_error('{"dailyPapers": "none"}') == "top level: dailyPapers is a string; expected a list"


def test_json_title_that_is_only_a_script_is_an_error_and_scripts_never_survive() -> None:
    only_script = {**GOOD_PAPER, "title": "<script>alert(1)</script>"}
    mixed = {**GOOD_PAPER, "title": "Good <script>alert(1)</script>Title &amp;lt;b&amp;gt;"}

    assert parse_error(api_json(only_script)) == ("item 1: the title is empty once markup is removed; expected a title")
    assert parse_dump(api_json(mixed).encode(), today=TODAY).items[0].title == "Good Title"


def test_jsonfeed_item_without_title_names_the_item() -> None:
    feed = {"version": "https://jsonfeed.org/version/1", "items": [{"content_text": "x"}]}

    assert parse_error(json.dumps(feed)) == 'item 1: no title; expected a "title" string'


# --- XML -------------------------------------------------------------------------------------------------

ATOM_START = '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'


def test_truncated_xml_names_line_and_column() -> None:
    text = ATOM_START + "<entry>\n<title>A Title</title>\n<summary>An abs"

    assert parse_error(text) == "line 5, column 16: Premature end of data in tag summary; expected well-formed XML"


def test_deeply_nested_xml_is_a_clear_error() -> None:
    message = parse_error(ATOM_START + "<a>" * 100_000)

    assert message.endswith("the XML is nested more than 256 levels deep; expected a feed of entries or items")


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    ],
    ids=["xxe", "billion-laughs"],
)
def test_xml_with_a_dtd_is_refused_before_parsing(doctype: str) -> None:
    text = (
        '<?xml version="1.0"?>\n' + doctype + '\n<feed xmlns="http://www.w3.org/2005/Atom"><entry>'
        "<id>http://arxiv.org/abs/2510.00001v1</id><title>&xxe;&b;</title><summary>s</summary></entry></feed>"
    )

    assert parse_error(text).startswith("line 2: the XML declares a DTD or entities")


def test_atom_feed_without_entries_is_an_error() -> None:
    assert parse_error(ATOM_START + "</feed>") == (
        "no papers found; expected <entry> elements with <id>, <title> and <summary>"
    )


def test_atom_entry_without_summary_names_the_entry_and_line() -> None:
    text = ATOM_START + "<entry>\n<id>http://arxiv.org/abs/2510.00001v1</id><title>T</title>\n</entry></feed>"

    assert parse_error(text) == "entry 1 (line 3): no abstract; expected <summary>"


def test_arxiv_api_error_feed_is_reported() -> None:
    text = (
        ATOM_START + "<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_1234</id>"
        "<title>Error</title><summary>incorrect id format for 1234</summary></entry></feed>"
    )

    assert parse_error(text) == ("entry 1 (line 3): the arXiv API answered with an error: incorrect id format for 1234")


def test_rss_item_without_title_names_the_item() -> None:
    text = "<rss version='2.0'><channel>\n<item><description>arXiv:2501.00001v1 Announce Type: new\nAbstract: x"
    text += "</description></item></channel></rss>"

    assert parse_error(text) == "item 1 (line 2): no title; expected <title>"


# --- HTML ------------------------------------------------------------------------------------------------


def test_html_without_papers_is_an_error_saying_what_was_expected() -> None:
    assert parse_error("<html><body><p>Nothing here</p></body></html>") == (
        'no papers found; expected a <div data-target="DailyPapers" data-props="..."> with dailyPapers, '
        'or <article> cards with h3 a[href^="/papers/"]'
    )


def test_html_with_broken_data_props_names_the_spot_in_the_json() -> None:
    html = '<div class="SVELTE_HYDRATER contents" data-target="DailyPapers" data-props="{&quot;dailyPapers&quot;: [">'

    assert parse_error(html) == (
        "DailyPapers data-props, line 1, column 18: Expecting value; the file ends too early (truncated?)"
    )


@pytest.mark.timeout(60)
def test_deeply_nested_html_does_not_crash() -> None:
    html = '<html><body><article><h3><a href="/papers/2401.00001">T</a></h3>' + "<div>" * 50_000

    dump = parse_dump(html.encode(), today=TODAY)

    assert [p.arxiv_id for p in dump.items] == ["2401.00001"]


def test_script_inside_an_html_title_never_reaches_the_title() -> None:
    html = '<article><h3><a href="/papers/2401.00001">Real <script>evil()</script>Title</a></h3></article>'

    assert parse_dump(html.encode(), today=TODAY).items[0].title == "Real Title"


# --- anything else ---------------------------------------------------------------------------------------


def _samples() -> list[Path]:
    samples = [
        *sorted(REALDATA.glob("*.json")),
        *sorted(REALDATA.glob("*.xml")),
        *sorted(REALDATA.glob("*.md")),
    ]
    return [*samples, SEEDS / "004_4786a0c0cf4b3f2b.txt", *sorted(FIXTURES.iterdir())]


@pytest.mark.parametrize("path", _samples(), ids=lambda path: path.name)
def test_truncated_or_corrupted_real_files_fail_only_with_dump_parse_error(path: Path) -> None:
    data = path.read_bytes()
    rng = random.Random(path.name)  # deterministic per file
    variants = [data[: rng.randrange(len(data))] for _ in range(15)]
    for _ in range(15):
        corrupted = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            corrupted[rng.randrange(len(corrupted))] = rng.choice(b'<>&"{}[],:\n\\ax')
        variants.append(bytes(corrupted))

    # Parsing either succeeds or raises DumpParseError with a message; anything else fails the test.
    outcomes = [_outcome(variant) for variant in variants]

    assert all(outcome for outcome in outcomes)


def _outcome(data: bytes) -> str:
    try:
        return f"parsed {len(parse_dump(data, today=TODAY).items)} papers"
    except DumpParseError as exc:
        return str(exc).strip()
