"""The public search: the form's syntax, the same results from PostgreSQL's full-text search and the matcher,
ranked, highlighted, and a clear answer to a query it cannot read.

On PostgreSQL every case runs on both engines over the same papers; on SQLite on the matcher (its only one).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from papers.models import Paper
from papers.search import (
    Engine,
    SearchSyntaxError,
    _postgres_results,
    _text_matcher,
    papers_search_ids,
    papers_search_page,
)
from tests.factories import paper_create

pytestmark = pytest.mark.django_db

ON_POSTGRES = connection.vendor == "postgresql"
ENGINES = [
    pytest.param("postgres", marks=pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's full-text search")),
    "matcher",
]

CORPUS = {
    "scaling": ("Scaling Laws for Sparse Models", "We fit scaling laws to sparse mixture models of many sizes."),
    "lm": ("A Large Language Model for Code", "A language model trained on code outperforms larger ones."),
    "inverted": ("Grammar Induction", "We study the model of language acquisition in children."),
    "survey": ("Diffusion Models: A Survey", "A survey of diffusion models for images and video."),
    "video": ("Video Diffusion Transformers", "Diffusion transformers generate long videos."),
    "speech": ("Speech Recognition at Scale", "Robust speech recognition trained on weak supervision."),
    "graphs": ("Graph Neural Networks for Molecules", "Message passing on molecular graphs predicts properties."),
}


@pytest.fixture
def corpus() -> dict[str, Paper]:
    return {key: paper_create(title=title, abstract=abstract) for key, (title, abstract) in CORPUS.items()}


def found(query: str, engine: Engine, corpus: dict[str, Paper]) -> set[str]:
    names = {paper.pk: key for key, paper in corpus.items()}
    return {names[pk] for pk in papers_search_ids(query=query, engine=engine)}


CASES = [
    # any form of a word: "model" finds "models", "recognize" finds "recognition"? no: stems differ; keep to forms
    ("model", {"scaling", "lm", "inverted", "survey"}),
    ("videos", {"survey", "video"}),
    # several words: all of them
    ("sparse scaling", {"scaling"}),
    # a quoted phrase: its words, in that order
    ('"language model"', {"lm"}),
    # -word leaves out the papers that mention it
    ("diffusion -survey", {"video"}),
    # commas: alternatives
    ("speech, graphs", {"speech", "graphs"}),
    # an item made only of exclusions applies to every alternative, as on the form
    ("diffusion, speech, -survey", {"video", "speech"}),
    # a hyphenated compound: its words, adjacent
    ("message-passing", {"graphs"}),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("query", "expected"), CASES)
def test_the_forms_syntax_finds_the_same_papers_on_either_engine(
    corpus: dict[str, Paper], engine: Engine, query: str, expected: set[str]
) -> None:
    assert found(query, engine, corpus) == expected


@pytest.mark.skipif(not ON_POSTGRES, reason="compares PostgreSQL's full-text search with the matcher")
@pytest.mark.parametrize("query", [q for q, _ in CASES] + ["diffusion transformers", '"speech recognition" -weak'])
def test_postgres_and_the_matcher_agree(corpus: dict[str, Paper], query: str) -> None:
    assert found(query, "postgres", corpus) == found(query, "matcher", corpus)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_title_hit_ranks_above_an_abstract_hit(engine: Engine) -> None:
    in_abstract = paper_create(title="Robust Estimation", abstract="We apply it to transformers.")
    in_title = paper_create(title="Transformers for Tabular Data", abstract="Tables are everywhere.")

    assert papers_search_ids(query="transformer", engine=engine) == [in_title.pk, in_abstract.pk]


@pytest.mark.parametrize("engine", ENGINES)
def test_hits_highlight_the_words_found(engine: Engine) -> None:
    paper_create(title="Video Diffusion Transformers", abstract="Diffusion transformers generate long videos.")

    _, hits = papers_search_page(query="videos", page=1, per_page=10, engine=engine)

    assert [text for text, marked in hits[0].title if marked] == ["Video"]
    assert "videos" in [text for text, marked in hits[0].snippet if marked]


@pytest.mark.parametrize("engine", ENGINES)
def test_authors_and_arxiv_ids_are_found_after_the_text_matches(engine: Engine) -> None:
    by_author = paper_create(title="Analytical Engines", abstract="Notes.", authors=["Ada Lovelace"])
    by_id = paper_create(title="Attention", abstract="Notes.", arxiv_id="1706.03762")
    by_text = paper_create(title="Lovelace Revisited", abstract="A history.")

    assert papers_search_ids(query="Lovelace", engine=engine) == [by_text.pk, by_author.pk]
    assert papers_search_ids(query="1706.03762", engine=engine) == [by_id.pk]


@pytest.mark.parametrize("engine", ENGINES)
def test_hidden_papers_are_never_found(engine: Engine) -> None:
    paper_create(title="Hidden Transformers", is_hidden=True)

    assert papers_search_ids(query="transformers", engine=engine) == []


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ('"unclosed phrase', "opening quote without a closing one"),
        ("graphs -a -b -c -d -e -f -g", "at most 6 per interest"),
        ("-survey", "-word only leaves papers out"),
        ("the of and", "only of common words"),
        ("price in $", "cannot be matched"),
        ("x" * 201, "at most 200 characters"),
    ],
)
def test_a_query_the_syntax_cannot_read_gets_a_400_that_says_why(client: Client, query: str, says: str) -> None:
    response = client.get(reverse("papers:list"), {"q": query})

    assert response.status_code == 400
    assert says in response.content.decode()


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_syntax_is_refused_alike_by_both_engines(engine: Engine) -> None:
    with pytest.raises(SearchSyntaxError):
        papers_search_page(query='"unclosed', page=1, per_page=10, engine=engine)


def test_the_results_page_shows_marks_and_escapes_the_text(client: Client) -> None:
    paper_create(title="Transformers <script>alert(1)</script>", abstract="x < y transformers")

    html = client.get(reverse("papers:list"), {"q": "transformers"}).content.decode()

    assert "<mark>Transformers</mark> &lt;script&gt;" in html
    assert "<script>alert" not in html
    assert "1 paper match" in html


@pytest.mark.parametrize("engine", ENGINES)
def test_the_search_page_costs_the_same_queries_for_few_or_many_results(
    client: Client, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("papers.search.search_engine_default", lambda: engine)

    def queries_for(n: int) -> int:
        Paper.objects.all().delete()
        for i in range(n):
            paper_create(title=f"Sparse Routing Study {i}", abstract="Routing in sparse models.", authors=["A B"])
        client.get(reverse("papers:list"), {"q": "routing"})  # the matcher indexes the new set of papers once
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("papers:list"), {"q": "routing"})
        assert response.status_code == 200
        assert response.content.decode().count('class="paper-card') == min(n, 25)
        return len(queries)

    few, many = queries_for(3), queries_for(40)

    assert few == many
    # PostgreSQL: count, page, highlights. The matcher: papers' version, authors and ids, the page's papers.
    assert many == 3


@pytest.mark.skipif(not ON_POSTGRES, reason="the GIN indexes exist on PostgreSQL only")
@pytest.mark.parametrize("query", ["diffusion -survey", "Lovelace"])
def test_postgres_searches_through_the_gin_indexes(corpus: dict[str, Paper], query: str) -> None:
    """The search reads the stored vector and the authors' expression word for word, or PostgreSQL would scan."""
    # Enough other papers that reading them all costs more than the index, as on a real site.
    Paper.objects.bulk_create(
        Paper(title=f"Filler {n}", title_key=f"filler {n}", abstract="Graph routing.", authors=["C D"])
        for n in range(3000)
    )
    sql, params = _postgres_results(query=query, parts=_text_matcher().parse(query)).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Paper._meta.db_table}")
        # With the vector stored, reading 3,000 small rows is about as cheap as the index: only ask whether the
        # index can serve the query (it cannot if the expressions differ).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Bitmap Index Scan on paper_search_vector" in plan
    if query == "Lovelace":  # a plain word may be an author's name: both indexes, OR-ed
        assert "Bitmap Index Scan on paper_author_vector" in plan


def test_the_index_migration_adds_gin_indexes_on_postgres_and_nothing_elsewhere() -> None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Paper._meta.db_table)
        columns = [column.name for column in connection.introspection.get_table_description(cursor, "papers_paper")]

    assert ("paper_search_vector" in constraints) is ON_POSTGRES
    assert ("paper_author_vector" in constraints) is ON_POSTGRES
    assert ("search_vector" in columns) is ON_POSTGRES


@pytest.mark.skipif(not ON_POSTGRES, reason="the stored vector exists on PostgreSQL only")
def test_the_stored_vector_follows_every_kind_of_write() -> None:
    """The trigger keeps it current however a paper is written: created, saved, updated in bulk, bulk-created."""
    saved = paper_create(title="Quantum Annealing", abstract="Nothing else.")
    updated = paper_create(title="Placeholder Title", abstract="Nothing else.")
    Paper.objects.bulk_create([Paper(title="Bulk Quantum Paper", title_key="bulk quantum paper")])
    assert len(papers_search_ids(query="quantum", engine="postgres")) == 2

    saved.title = "Classical Annealing"
    saved.save()
    Paper.objects.filter(pk=updated.pk).update(abstract="Quantum error correction.")

    found = papers_search_ids(query="quantum", engine="postgres")
    assert saved.pk not in found and updated.pk in found and len(found) == 2
    assert papers_search_ids(query="classical", engine="postgres") == [saved.pk]
