"""Small builders for test data: dumps in the seed text format, and papers."""

from __future__ import annotations

from itertools import count
from typing import Any

from papers.models import Paper
from papers.parsers import title_key

SEED_HEADER = (
    "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n{date}\n\n"
)
_numbers = count(1)


def seed_text(*paragraphs: str, date_line: str = "Mar 11") -> str:
    """Text in the seed format: the page header, the date line, then the paragraphs as given."""
    return "\n\n".join([SEED_HEADER.format(date=date_line).rstrip("\n"), *paragraphs]) + "\n"


def seed_dump(*papers: tuple[str, str], date: str = "Mar 11") -> bytes:
    """A dump in the seed text format: the page header, the date line, then title / abstract paragraphs."""
    return seed_text(*(part for paper in papers for part in paper), date_line=date).encode("utf-8")


def a_paper_text(n: int | None = None) -> tuple[str, str]:
    n = n if n is not None else next(_numbers)
    title = f"Scaling Study Number {n} of Sparse Mixture Models"
    abstract = (
        f"We study sparse mixture models in setting {n}. Our experiments cover many tasks and show "
        "that routing matters more than expert count. We release code and data."
    )
    return title, abstract


def paper_create(**fields: Any) -> Paper:
    n = next(_numbers)
    values: dict[str, Any] = {"title": f"A Paper About Topic {n}", "abstract": f"Abstract number {n}."}
    values.update(fields)
    values.setdefault("title_key", title_key(values["title"]))
    return Paper.objects.create(**values)
