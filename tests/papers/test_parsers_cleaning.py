"""The shared text rules (cleaning, the title key) and year resolution of "Mar 11"-style dates."""

from __future__ import annotations

from datetime import date

import pytest

from papers.parsers import clean_text, resolve_month_day, title_key
from papers.parsers.dates import most_common_date, parse_month_day, parse_month_day_year, parse_rfc822_date
from papers.parsers.identifiers import arxiv_id_from

# --- title_key -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "Chain‑of‑Thought: X",  # non-breaking hyphens
        "Chain–of—Thought: X",  # en and em dashes
        "chain of thought x",
        "  CHAIN-OF-THOUGHT  x. ",
        "Chain-of-Thought:\n  X",
        "Chain&#8209;of&#8209;Thought: X",
        "Ｃｈａｉｎ-of-Thought: X",  # full-width letters fold under NFKC
        "“Chain-of-Thought”: X!",
    ],
)
def test_title_key_folds_dashes_punctuation_case_and_width(variant: str) -> None:
    assert title_key(variant) == "chain of thought x"


def test_title_key_keeps_letters_and_digits_of_every_script() -> None:
    assert title_key("TÜLU 3: Pushing Frontiers") == "tülu 3 pushing frontiers"
    assert title_key("GPT-4o vs. GPT-4") == "gpt 4o vs gpt 4"


def test_title_key_tells_different_titles_apart() -> None:
    assert title_key("Attention Is All You Need") != title_key("Attention Is Not All You Need")


# --- clean_text ------------------------------------------------------------------------------------------


def test_clean_text_joins_arxiv_hard_line_breaks() -> None:
    assert clean_text("Scaling for\n  Contrastive Loss") == "Scaling for Contrastive Loss"
    assert clean_text("  To tackle tasks,\nrecent work\n") == "To tackle tasks, recent work"


def test_clean_text_turns_latex_quotes_into_typographic_quotes() -> None:
    assert clean_text("the traditional ``index-retrieve-then-rank'' pipeline") == (
        "the traditional “index-retrieve-then-rank” pipeline"
    )
    assert clean_text("under a mild ''informative'' condition") == "under a mild “informative” condition"


def test_clean_text_leaves_primes_and_apostrophes_alone() -> None:
    assert clean_text("f''(x) is the learners' second derivative") == "f''(x) is the learners' second derivative"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (
            "code at https://example.org/r/TangleNAS-527C{here}",
            "code at https://example.org/r/TangleNAS-527C",
        ),
        ("in this {https://github.com/a/b{link}}.", "in this https://github.com/a/b."),
        ("see https://x.org/y{this URL}", "see https://x.org/y"),
        ("a set {without} labels", "a set {without} labels"),  # not a link artefact: left as written
    ],
)
def test_clean_text_removes_link_markup_artefacts(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_clean_text_decodes_entities_even_when_escaped_twice() -> None:
    assert clean_text("R&amp;D &#8211; A&amp;amp;B &eacute;t&eacute;") == "R&D – A&B été"


def test_clean_text_removes_tags_and_the_content_of_script_and_style() -> None:
    raw = 'A <b>bold</b> <a href="/x">claim</a><script>alert("x")</script><style>p{}</style><!-- note --> here'

    assert clean_text(raw) == "A bold claim here"


def test_inline_tags_vanish_inside_words_while_other_tags_separate_words() -> None:
    assert clean_text("H<sub>2</sub>O and E=mc<sup>2</sup>") == "H2O and E=mc2"
    assert clean_text("one line<br>another<p>paragraph</p>") == "one line another paragraph"


def test_clean_text_removes_tags_that_were_html_escaped_in_the_source() -> None:
    assert clean_text("Title &lt;script&gt;alert(1)&lt;/script&gt; end") == "Title end"
    assert clean_text("Title &lt;i&gt;italic&lt;/i&gt;") == "Title italic"


def test_clean_text_removes_an_unclosed_script_to_the_end() -> None:
    assert clean_text("Title <script>alert(1)") == "Title"


@pytest.mark.parametrize(
    "legit",
    ["x < y and y > z", "A/B testing", "the last <EOS> token", "p<0.05", "1 <2 and 3> 2", "a <-> b"],
)
def test_clean_text_keeps_comparisons_slashes_and_pseudo_tags(legit: str) -> None:
    assert clean_text(legit) == legit


def test_clean_text_normalises_whitespace_invisible_characters_and_nfc() -> None:
    raw = "Cafe\u0301\u00a0au\tlait\u200b \u00adsoft\x07 bell"

    assert clean_text(raw) == "Café au lait soft bell"


def test_clean_text_unescapes_latex_specials_and_accents() -> None:
    assert clean_text(r"87.0\% on Embedding\&MLP") == "87.0% on Embedding&MLP"
    assert clean_text(r"Landauer-B\"uttiker, na\"{\i}ve, Erd\H{o}s") == r"Landauer-Büttiker, naïve, Erd\H{o}s"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (r"Lion (Evo\textbf{Lved Sign Momentum})", "Lion (EvoLved Sign Momentum)"),
        (r"a quantity {\Psi} and {\tau}", "a quantity Ψ and τ"),
        (r"weights \alpha and \lambda_1", "weights α and λ_1"),
        (r"(\eg GPT-4), regularization, \etc. Then", "(e.g. GPT-4), regularization, etc. Then"),
        (r"the (Polyak-\L ojasiewicz) condition", "the (Polyak-Łojasiewicz) condition"),
        (r"$I$-$V$ and mathcal{O}(n) \frac{a}{b}", r"$I$-$V$ and mathcal{O}(n) \frac{a}{b}"),  # maths stays
    ],
)
def test_clean_text_turns_unambiguous_latex_commands_into_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


# --- dates -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "day", "today", "expected"),
    [
        (3, 11, date(2026, 11, 24), date(2026, 3, 11)),  # earlier this year
        (3, 11, date(2026, 3, 11), date(2026, 3, 11)),  # today itself
        (12, 30, date(2026, 1, 2), date(2025, 12, 30)),  # still to come this year: last year
        (2, 29, date(2026, 3, 1), date(2024, 2, 29)),  # back to the last leap year
        (2, 29, date(2024, 2, 28), date(2020, 2, 29)),  # this leap year's is still to come
        (2, 29, date(2100, 3, 1), date(2096, 2, 29)),  # 2100 is not a leap year
    ],
)
def test_resolve_month_day_gives_the_latest_such_day_not_after_today(
    month: int, day: int, today: date, expected: date
) -> None:
    assert resolve_month_day(month=month, day=day, today=today) == expected


def test_resolve_month_day_of_an_impossible_day_is_none() -> None:
    assert resolve_month_day(month=2, day=30, today=date(2026, 1, 1)) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mar 11", date(2026, 3, 11)),
        ("Sep 12", date(2026, 9, 12)),
        ("Sept. 12", date(2026, 9, 12)),
        ("march 11", date(2026, 3, 11)),
        ("Dec 25", date(2025, 12, 25)),
        ("Foo 11", None),
        ("Mar 11, 2024", None),
    ],
)
def test_parse_month_day_reads_the_listing_date_line(text: str, expected: date | None) -> None:
    assert parse_month_day(text=text, today=date(2026, 11, 24)) == expected


def test_other_date_shapes_parse() -> None:
    assert parse_month_day_year(text="Oct 7, 2024") == date(2024, 10, 7)
    assert parse_month_day_year(text="Feb 30, 2024") is None
    assert parse_rfc822_date("Thu, 24 Sep 2026 00:00:00 -0400") == date(2026, 9, 24)
    assert parse_rfc822_date("not a date") is None


def test_most_common_date_prefers_the_majority_then_the_later_day() -> None:
    d1, d2 = date(2025, 1, 1), date(2025, 1, 2)
    assert most_common_date([d1, d1, d2, None]) == d1
    assert most_common_date([d1, d2]) == d2
    assert most_common_date([None]) is None


# --- identifiers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://arxiv.org/abs/2510.12345v2", "2510.12345"),
        ("https://arxiv.org/pdf/2510.1234", "2510.1234"),
        ("arXiv:2609.26811v1", "2609.26811"),
        ("hep-th/9901001v1", "hep-th/9901001"),
        ("https://huggingface.co/papers/2410.05434", "2410.05434"),
        ("not an id 12345", None),
    ],
)
def test_arxiv_ids_are_found_without_version(text: str, expected: str | None) -> None:
    assert arxiv_id_from(text) == expected
